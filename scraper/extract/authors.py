"""Reading the author block that closes an answer.

On RealSelf the block is a short run of lines right after the answer body:
a display name ending in credentials (``Harold J. Kaplan, MD``), a
``<location> <specialty>`` line (``Los Angeles Facial Plastic Surgeon``) and a
``4.4 out of 5 stars 7 reviews`` line.  Any of the three may be missing.  A
body's own sign-off ("Best, Dr. Smith MD") is prose, so a line only counts as a
name when it reads like a display name, and a block only counts when every
line in it is an author line in that order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scraper.extract.numbers import count_from_text, to_rating
from scraper.extract.vocabulary import SpecialtyVocabulary, credentials, split_location_specialty

__all__ = ["AuthorBlock", "is_name_line", "parse_author_block", "parse_rating_line", "split_name_credentials"]

_RATING = re.compile(
    r"(?P<rating>\d(?:[.,]\d+)?)\s*(?:out\s+of|/)\s*5(?:\.0)?\s*stars?"
    r"(?:\s*[(\u00b7|,-]?\s*(?P<reviews>\d[\d,]*)\s+reviews?\s*\)?)?",
    re.I,
)
_REVIEWS_ONLY = re.compile(r"\(?(?P<reviews>\d[\d,]*)\s+reviews?\)?", re.I)
# What a line cut off inside a rating line looks like ("4.8 out of", "4.8 out of 5 st").
_RATING_PREFIX = re.compile(r"\d(?:\.\d*)?(?:\s+o(?:u(?:t(?:\s+o(?:f(?:\s+5?(?:\s+s\w*)?)?)?)?)?)?)?\s*", re.I)

_GENERATIONAL = {"JR", "SR", "II", "III", "IV", "V"}
_PARTICLES = {"de", "da", "del", "della", "der", "di", "do", "dos", "du", "el", "la", "le", "van", "von", "bin", "ibn", "al", "y", "st"}
_NAME_WORD = re.compile(r"[A-Z\u00c0-\u00de][\w'\u2019.-]*|[A-Z]\.?|\(?[A-Z][a-z]+\)?")
_SIGN_OFF = re.compile(
    r"^(best|regards|kind regards|warm regards|sincerely|thanks|thank you|cheers|warmly|good luck|"
    r"all the best|respectfully|yours)\b|^(dr|doctor|prof)\b\.?",
    re.I,
)
_ELIDED = re.compile(r"[a-z]{1,3}['\u2019][A-Z]")  # "d'Alene", "l'Islet"
_DIGIT = re.compile(r"\d")
_BRACKETED = re.compile(r"\s*\([^)]*\)")
# ASCII characters that are no digit ("" too): a line starting with one cannot match a
# pattern that starts with \d.  Other characters may be Unicode digits: the regex decides.
_NOT_DIGIT_START = frozenset(chr(c) for c in range(128) if not chr(c).isdigit()) | {""}
_NOT_REVIEWS_START = _NOT_DIGIT_START - {"("}
_MAX_NAME_WORDS = 6
_MAX_AUTHOR_LINE = 120  # name, "location specialty" and rating lines are short; paragraphs are not


@dataclass
class AuthorBlock:
    """What an author block says; every part optional."""

    name: str | None = None
    location: str | None = None
    specialty: str | None = None
    rating: float | None = None
    review_count: int | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.name is None and self.location is None and self.specialty is None


def parse_rating_line(line: str) -> tuple[float, int | None] | None:
    """(rating, review count) from ``4.9 out of 5 stars 38 reviews``; None if not such a line."""
    line = line.strip()
    if line[:1] in _NOT_DIGIT_START:  # a rating line starts with a digit (\d): most lines are ruled out here
        return None
    found = _RATING.fullmatch(line)
    if found is None:
        return None
    rating = to_rating(found.group("rating").replace(",", "."))
    if rating is None:  # "9 out of 5 stars" is no rating
        return None
    reviews = found.group("reviews")
    return rating, (count_from_text(reviews) if reviews else None)


def is_rating_fragment(line: str) -> bool:
    """True for the start of a rating line cut off by the end of the page."""
    return bool(_RATING_PREFIX.fullmatch(line.strip())) and line.strip()[:1].isdigit()


def _is_credential(token: str) -> bool:
    if "(" in token:
        token = _BRACKETED.sub("", token)
    words = token.strip().strip(",").replace(".", "").split()
    if not words:
        return False
    known = credentials()
    return all(w.upper() in known and w[:1].isupper() for w in words)


def _is_name(words: list[str]) -> bool:
    if not 1 <= len(words) <= _MAX_NAME_WORDS:
        return False
    capitalised = 0
    for word in words:
        bare = word.strip(",")
        if bare.lower() in _PARTICLES:
            continue
        if bare.upper().rstrip(".") in _GENERATIONAL or _NAME_WORD.fullmatch(bare):
            capitalised += 1
            continue
        return False
    return capitalised >= 1


def split_name_credentials(line: str) -> tuple[str, list[str]] | None:
    """(bare name, credentials) when ``line`` is a display name ending in credentials."""
    line = line.strip()
    # _SIGN_OFF is anchored at the start (every branch begins with ^): match() is its search().
    if not line or line[-1] in "!?:;" or _SIGN_OFF.match(line) or _DIGIT.search(line) is not None:
        return None
    if "," in line:
        head, _, tail = line.partition(",")
        parts = [p.strip() for p in tail.split(",") if p.strip()]
        tokens: list[str] = []
        for part in parts:
            words = part.split()
            while words and words[0].rstrip(".").upper() in _GENERATIONAL:
                words.pop(0)  # "Jr., MD", "III MD" after the comma
            if words:
                tokens.append(" ".join(words))
        if tokens and all(_is_credential(t) for t in tokens) and _is_name(head.split()):
            return head.strip(), tokens
    # No comma before the credentials: "Sami Nizam III MD", "John Smith MD MPH".
    words = line.replace(",", " ").split()
    creds: list[str] = []
    while len(words) > 1 and _is_credential(words[-1]):
        creds.insert(0, words.pop())
    if creds and len(words) >= 2 and _is_name(words):
        return " ".join(words), creds
    return None


def is_name_line(line: str, *, require_credentials: bool = True) -> bool:
    """True when ``line`` reads like a doctor's display name."""
    if split_name_credentials(line) is not None:
        return True
    if require_credentials:
        return False
    line = line.strip()
    if not line or _SIGN_OFF.search(line) or line[-1] in ".!?:;," or _DIGIT.search(line) is not None:
        return False
    words = line.split()
    return 2 <= len(words) <= 5 and _is_name(words)


def _place_like(location: str | None) -> bool:
    """A location is a few capitalised words ("St. Louis", "Coeur d'Alene", "Winston-Salem")."""
    if location is None:
        return True
    words = location.replace(",", " ").split()
    if not 1 <= len(words) <= 6 or any(c in location for c in "!?;:"):
        return False
    return all(w[:1].isupper() or w.lower() in _PARTICLES or w[:1].isdigit() or _ELIDED.match(w) for w in words)


_RATING_WORDS = frozenset({"review", "reviews", "star", "stars"})


def _may_end_author_line(line: str, vocabulary: SpecialtyVocabulary) -> bool:
    """False when ``line`` cannot be a whole author block: its last word is no credential,
    specialty or rating word."""
    words = line.rsplit(None, 1)  # the last word is all that is needed
    if not words or line.endswith(")"):
        return True
    last = words[-1]
    lower = last.lower()
    return lower in vocabulary.last_words or lower in _RATING_WORDS or last.replace(".", "").upper() in credentials()


def parse_author_block(lines: list[str], vocabulary: SpecialtyVocabulary) -> AuthorBlock | None:
    """An :class:`AuthorBlock` when every line of ``lines`` is an author line, else None."""
    if not 1 <= len(lines) <= 3 or any(len(line) > _MAX_AUTHOR_LINE for line in lines):
        return None
    if len(lines) == 1 and not _may_end_author_line(lines[0], vocabulary):
        return None  # most one-line blocks are headlines or short paragraphs: decided cheaply
    block = AuthorBlock()
    rest = list(lines)
    rating = parse_rating_line(rest[-1])
    if rating is None:
        last = rest[-1].strip()
        reviews = None if last[:1] in _NOT_REVIEWS_START else _REVIEWS_ONLY.fullmatch(last)
        if reviews:
            block.review_count = count_from_text(reviews.group("reviews"))
            rest.pop()
    else:
        block.rating, block.review_count = rating
        rest.pop()
    strong = block.rating is not None or block.review_count is not None
    if len(rest) > 2:
        return None
    if len(rest) == 2:
        name, place = rest
        credentialed = split_name_credentials(name) is not None
        if not credentialed and not is_name_line(name, require_credentials=False):
            return None
        block.name = name
        return _with_place(block, place, vocabulary, fallback=strong or credentialed)
    if len(rest) == 1:
        line = rest[0]
        if split_name_credentials(line) is not None:
            block.name = line
            return block
        return _with_place(block, line, vocabulary, fallback=strong)
    return block if strong else None


def _with_place(block: AuthorBlock, line: str, vocabulary: SpecialtyVocabulary, *, fallback: bool) -> AuthorBlock | None:
    split = split_location_specialty(line, vocabulary)
    if split is not None and _place_like(split[0]):
        block.location, block.specialty = split
        return block
    if fallback and _place_like(line) and len(line) <= 80:
        block.location = line
        block.warnings.append(
            ("location_unsplit", f"no known specialty at the end of {line!r}: the whole line is kept as location")
        )
        return block
    return None
