"""Word lists the extractors match against, loaded from plain text files.

Vocabularies are data, not code branches: adding a specialty or a credential is
one line in a ``.txt`` file, and the matcher stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

__all__ = ["SpecialtyVocabulary", "credentials", "load_word_list", "split_location_specialty"]


def load_word_list(package: str, name: str) -> tuple[str, ...]:
    """Non-empty, non-comment lines of a packaged text file, in file order."""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


@lru_cache(maxsize=1)
def credentials() -> frozenset[str]:
    """Post-nominal credentials, upper-cased and without dots (``M.D.`` is ``MD``)."""
    return frozenset(c.replace(".", "").upper() for c in load_word_list("scraper.extract", "credentials.txt"))


def _key(words: list[str]) -> str:
    # "Oral & Maxillofacial Surgeon" and "oral and maxillofacial surgeon" are one specialty;
    # so are "Otolaryngologist – Head and Neck Surgeon" and "... - Head and Neck Surgeon".
    return " ".join(words).lower().replace("&", "and").replace("\u2013", "-").replace("\u2014", "-")


@dataclass(frozen=True)
class SpecialtyVocabulary:
    """Specialties matched at the end of a "location specialty" line, longest first.

    Matching looks up the line's last one, two, ... words in a table, so its
    cost does not grow with the size of the vocabulary.
    """

    specialties: tuple[str, ...]
    _table: dict[str, str] = field(init=False, repr=False, compare=False)
    _max_words: int = field(init=False, repr=False, compare=False)
    last_words: frozenset[str] = field(init=False, repr=False, compare=False)
    """The words a specialty can end with ("surgeon", "dermatologist"): a cheap first test."""
    _sizes: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    """Key of a specialty's last word -> the word counts of the specialties ending so, longest first."""

    def __post_init__(self) -> None:
        table = {_key(_tokens(s)): s for s in self.specialties}
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_max_words", max((len(_tokens(s)) for s in self.specialties), default=0))
        object.__setattr__(self, "last_words", frozenset(_tokens(s)[-1].lower() for s in self.specialties))
        sizes: dict[str, set[int]] = {}
        for key in table:
            # A key's words are the specialty's tokens, each lower-cased on its own (no token
            # holds a space), so its last word is the key of the last token.
            words = key.split(" ")
            sizes.setdefault(words[-1], set()).add(len(words))
        object.__setattr__(self, "_sizes", {last: tuple(sorted(n, reverse=True)) for last, n in sizes.items()})

    def match(self, line: str) -> tuple[str, str] | None:
        """Split ``line`` into (location, specialty) by the longest specialty it ends with."""
        words = _tokens(line)
        if not words:
            return None
        # Only the lengths of the specialties that end with the line's last word are tried.
        for size in self._sizes.get(_key(words[-1:]), ()):
            if size <= len(words) and _key(words[-size:]) in self._table:
                location = " ".join(words[:-size]).strip(" ,-\u2013\u2014|\u00b7")
                return location, " ".join(words[-size:])
        return None


def _tokens(text: str) -> list[str]:
    return text.replace("&", " & ").split()


def split_location_specialty(line: str, vocabulary: SpecialtyVocabulary) -> tuple[str | None, str] | None:
    """(location or None, specialty) when ``line`` ends with a known specialty."""
    found = vocabulary.match(line)
    if found is None:
        return None
    location, specialty = found
    return (location or None), specialty
