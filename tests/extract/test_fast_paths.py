"""The cleaner's and the author reader's fast paths say exactly what the plain forms they stand for say.

Each fast path (a substring test for a regex scan, a whole-text pass for a per-line one, a
lookup for a loop) is checked against the plain form it replaces, on the cases that decide
it and on generated text.
"""

from __future__ import annotations

import re
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper.extract import authors, clean
from scraper.extract.vocabulary import SpecialtyVocabulary, _key, _tokens
from scraper.models import _OPENERS, _has_opener
from scraper.sites import SITES

PIECES = [
    "{{", "}}", "{%", "%}", "{#", "#}", "<%", "%>", "${", "}", "{", "[[", "]]", "<<", ">>", "{{{", "}}}", "%", "#", "$", "<", "[",
    "\n", "\n\n", " \n ", clean._MARK, " ", "  ", "\t", "\xa0", "\u2003", "\u2028", "\x85", "\x0b", "\r", "\x00", "\u200b",
    "\ufeff", "\xad", "\u200e", "voteCount", "a.b", "x", "?", "(", ")", "0", "+1", "Helpful", "Read more", "\u00e9", "\u65e5",
]
TEXT = st.one_of(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), st.text(max_size=200))
BOUND = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_other_spaces_are_every_space_but_space_and_newline() -> None:
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(clean._OTHER_SPACES) == spaces - {" ", "\n"}
    assert all(not c.isprintable() for c in clean._OTHER_SPACES)  # what _is_plain relies on


def test_every_odd_character_is_non_printable() -> None:
    odd = [chr(c) for c in range(sys.maxunicode + 1) if clean._ODD_CHARS.match(chr(c))]
    assert odd and all(not c.isprintable() for c in odd)
    assert not clean._MARK.isprintable()


# The plain form the delimiter scanner stands for: one lazy, bounded regex per delimiter pair,
# whose body may not start a blank line (what the cleaner used before it was made linear).
_REFERENCE_BODY = r"(?:(?!\n\s*\n).){0,400}?"
REFERENCE_PATTERNS = [re.compile(re.escape(o) + _REFERENCE_BODY + re.escape(c), re.S) for o, c in clean.TEMPLATE_DELIMITERS]


def _reference_spans(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


@BOUND
@given(TEXT)
def test_delimiter_scanner_finds_what_the_regexes_find(text: str) -> None:
    for (opener, closer), pattern in zip(clean.TEMPLATE_DELIMITERS, REFERENCE_PATTERNS):
        assert clean._delimited_spans(text, opener, closer) == _reference_spans(text, pattern)


def test_delimiter_scanner_on_the_cases_that_decide_it() -> None:
    cases = [
        "{{ a }}", "{{{ a }}}", "{{ a }} b {{ c }}", "{{ a \n\n b }}", "{{ a \n \n b }}", "{{ a \n b }}",
        "{{" + "x" * 400 + "}}", "{{" + "x" * 401 + "}}", "{{ {{ a }}", "{{{{}}}}", "{{" * 50 + "}}",
        "{{" + "x" * 500 + "{{ a }}", "\n\n{{ a }}", "{{ a }}\n\n{{", "${a}b}", "{%%}", "<<>>>",
    ]
    for text in cases:
        for (opener, closer), pattern in zip(clean.TEMPLATE_DELIMITERS, REFERENCE_PATTERNS):
            assert clean._delimited_spans(text, opener, closer) == _reference_spans(text, pattern), (text, opener)


@BOUND
@given(TEXT)
def test_substring_tests_agree_with_the_regexes(text: str) -> None:
    assert clean._maybe_junk(text) == (clean._MAYBE_JUNK.search(text) is not None)
    assert clean._has_half_delimiter(text) == (clean._HALF_DELIMITER.search(text) is not None)
    assert _has_opener(text) == any(d in text for d in _OPENERS)
    if clean._is_plain(text):
        assert clean._ODD_CHARS.search(text) is None
        assert not (set(text) & set(clean._OTHER_SPACES)) - {"\t", "\xa0"}


@BOUND
@given(TEXT)
def test_whole_text_whitespace_collapse_is_the_per_line_one(text: str) -> None:
    expected = "\n".join(" ".join(line.split()) for line in text.split("\n"))
    assert clean._collapse_spaces(text) == expected
    if clean._is_plain(text):
        assert clean._collapse_spaces(text, plain=True) == expected


def _longest_match(vocabulary: SpecialtyVocabulary, line: str) -> tuple[str, str] | None:
    """Every length from the longest down, as the vocabulary matched before its lookup by last word."""
    words = _tokens(line)
    table = {_key(_tokens(s)): s for s in vocabulary.specialties}
    for size in range(min(vocabulary._max_words, len(words)), 0, -1):
        if _key(words[-size:]) in table:
            return " ".join(words[:-size]).strip(" ,-\u2013\u2014|\u00b7"), " ".join(words[-size:])
    return None


SMALL = SpecialtyVocabulary(
    ("Plastic Surgeon", "Facial Plastic Surgeon", "Oral & Maxillofacial Surgeon", "\u03a3 \u03a3", "\u039f\u0394\u039f\u03a3", "Doc", "a b c d e")
)
WORDS = ["Salt", "Lake", "City", "Plastic", "Facial", "Surgeon", "surgeon", "Oral", "&", "and", "Maxillofacial", "\u2013", "Head", "Neck",
         "\u03a3", "\u039f\u0394\u039f\u03a3", "\u0130", "Doc", "a", "b", "c", "d", "e", "Dermatologist", "Otolaryngologist", ",", "St."]


@BOUND
@given(st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join))
def test_specialty_lookup_by_last_word_is_the_longest_match(line: str) -> None:
    assert SMALL.match(line) == _longest_match(SMALL, line)
    realself = SITES["realself"].specialties
    assert realself.match(line) == _longest_match(realself, line)


def test_every_specialty_matches_after_a_location() -> None:
    vocabulary = SITES["realself"].specialties
    for specialty in vocabulary.specialties:
        for line in (specialty, "Salt Lake City " + specialty, "Boise, " + specialty.upper()):
            assert vocabulary.match(line) == _longest_match(vocabulary, line)


def test_digit_start_sets() -> None:
    assert "" in authors._NOT_DIGIT_START and not set("0123456789") & authors._NOT_DIGIT_START
    assert "(" not in authors._NOT_REVIEWS_START and "(" in authors._NOT_DIGIT_START
    assert all(len(c) <= 1 and (c == "" or ord(c) < 128) for c in authors._NOT_DIGIT_START)


_MODEL_REFERENCE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\{.*?\}|\[\[.*?\]\]|<<.*?>>", re.S)


@BOUND
@given(TEXT)
def test_the_models_junk_guard_says_what_its_regex_says(text: str) -> None:
    from scraper.models import _has_delimited

    assert _has_delimited(text) == (_MODEL_REFERENCE.search(text) is not None)
