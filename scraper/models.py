"""The record a page becomes: the single source of its shape.

Every other view of a record (the JSON Schema in ``schemas/``, the CLI's JSON
Lines, the tests' expected files) is derived from these models, so a field is
added here or nowhere.  Models are strict about what cannot be true (a rating
of 7, a negative count, an empty body, a title that is still template junk)
because a record that validates should be safe to load without re-checking.
Unknown values are ``None``: an empty string or a zero never stands in for
"the page did not say".
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = [
    "SCHEMA_VERSION",
    "Answer",
    "Author",
    "CrawlChange",
    "ExtractorInfo",
    "PageRecord",
    "Question",
    "RecordWarning",
    "Review",
    "Source",
]

SCHEMA_VERSION: Final = "1.0"

# A text field that, when present, holds something: "" is not a value.
Text = Annotated[str, StringConstraints(min_length=1)]
# ISO 8601 date or date-time, as far as the page gives it ("2018-03-12" or "2018-03-12T10:00:00Z").
IsoDate = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"),
]

# What template junk looks like when it survives into a field: an unrendered
# expression delimiter pair.  Kept here (not imported from the cleaner) so the
# model's guard stays independent of the code it guards.
_JUNK_DELIMITERS = (("{{", "}}"), ("{%", "%}"), ("${", "}"), ("[[", "]]"), ("<<", ">>"))
_OPENERS = tuple(opener for opener, _ in _JUNK_DELIMITERS)


class _Model(BaseModel):
    # Unknown keys are an error: a typo in a producer must not pass silently.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _reject_junk(value: str | None) -> str | None:
    if value is not None and _has_opener(value) and _has_delimited(value):
        raise ValueError(f"still holds unrendered template junk: {value[:80]!r}")
    return value


def _has_delimited(value: str) -> bool:
    """An opener with its closer somewhere after it (the regex ``\\{\\{.*?\\}\\}`` and its kin, in
    linear time: the regex retries from every opener, which is quadratic on a value of openers)."""
    for opener, closer in _JUNK_DELIMITERS:
        at = value.find(opener)
        if at >= 0 and value.find(closer, at + len(opener)) >= 0:
            return True
    return False


def _has_opener(value: str) -> bool:
    """``any(d in value for d in _OPENERS)``: a one-character test (memchr) first, so a
    value without "{", "[" or "<" is passed at once."""
    return (
        ("{" in value and ("{{" in value or "{%" in value or ("$" in value and "${" in value)))
        or ("[" in value and "[[" in value)
        or ("<" in value and "<<" in value)
    )


class ExtractorInfo(_Model):
    """Which extractor made the record, so records can be rebuilt when it improves."""

    name: Text
    version: Text


class Source(_Model):
    """How the raw page was obtained."""

    kind: Literal["file", "stdin", "http", "warc", "memory"]
    """``file``/``stdin`` for ``scraper extract``, ``http``/``warc`` for fetched pages,
    ``memory`` for text handed to :func:`scraper.extract` directly."""
    path: Text | None = None
    """The input path exactly as given on the command line."""
    url: Text | None = None
    fetched_at: IsoDate | None = None
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    """SHA-256 of the raw bytes, before any decoding."""
    extractor: ExtractorInfo


class RecordWarning(_Model):
    """Something the extractor noticed but could work around."""

    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    """Short, stable, machine-readable: ``answer_count_mismatch``, ``truncated``, ..."""
    message: Text


class Author(_Model):
    """Who wrote an answer, as far as the page shows it."""

    name: Text | None = None
    """Display name with credentials, as shown: ``Harold J. Kaplan, MD``."""
    location: Text | None = None
    specialty: Text | None = None
    profile_url: Text | None = None

    _no_junk = field_validator("name", "location", "specialty")(_reject_junk)


class Question(_Model):
    title: Text
    body: Text | None = None
    """Paragraphs separated by a blank line; ``None`` when the page shows no body."""
    author: Text | None = None
    posted_at: IsoDate | None = None
    topic: Text | None = None

    _no_junk = field_validator("title", "body", "author", "topic")(_reject_junk)


class Answer(_Model):
    position: Annotated[int, Field(ge=1)]
    """1-based, in page order."""
    title: Text | None = None
    body: Text
    """Paragraphs separated by a blank line; never empty."""
    author: Author | None = None
    """``None`` when the page shows no author block at all."""
    rating: Annotated[float, Field(ge=0, le=5)] | None = None
    """The author's star rating, from ``4.9 out of 5 stars``."""
    review_count: Annotated[int, Field(ge=0)] | None = None
    votes: int | None = None
    """Net votes as the page shows them (may be negative on sites with down-votes)."""
    posted_at: IsoDate | None = None

    _no_junk = field_validator("title", "body")(_reject_junk)


class Review(_Model):
    """What a review page adds to the post: the patient's verdict, date, cost and provider."""

    verdict: Text | None = None
    """As the page words it: ``Worth It``, ``Not Sure``, ``Not Worth It``."""
    posted_at: IsoDate | None = None
    cost: Text | None = None
    """The reported cost as shown, e.g. ``$3,000``."""
    provider: Author | None = None
    """The reviewed doctor or practice, as its card shows it."""


class CrawlChange(_Model):
    """How a crawled record relates to the last one emitted for its URL (incremental crawls)."""

    change: Literal["new", "changed"]
    version: Annotated[int, Field(ge=1)]
    """1 for the first record of a URL, then one more for each changed version."""
    new_answers: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    """Positions of answers that the previous version did not have."""


class PageRecord(_Model):
    """One page, split into its question and every answer."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    url: Text | None = None
    site: Text | None = None
    """Site adapter name (``realself``), ``None`` when unknown."""
    kind: Literal["question", "review"] = "question"
    """``review`` for a patient's review page: the post is the question, doctor replies the answers."""
    source: Source
    question: Question
    review: Review | None = None
    """Only on ``kind: review`` pages."""
    answer_count: Annotated[int, Field(ge=0)] | None = None
    """The count the page states (``Doctor Answers 5``), ``None`` when it states none."""
    answers: list[Answer] = Field(default_factory=list)
    truncated: bool = False
    """The page is cut off mid-answer."""
    page: Annotated[int, Field(ge=1)] | None = None
    """Which page of a thread split over several pages this is, as the page's pager says
    ("Page 34 of 40"); ``None`` when the page shows no pager."""
    pages: Annotated[int, Field(ge=1)] | None = None
    """How many pages the thread has: a record with ``page`` 1 of ``pages`` 3 holds only the
    answers of its first page."""
    warnings: list[RecordWarning] = Field(default_factory=list)
    crawl: CrawlChange | None = None
    """Set by ``scraper crawl``: whether the record is new or changed since the last run."""

    @field_validator("answers")
    @classmethod
    def _positions_in_order(cls, answers: list[Answer]) -> list[Answer]:
        expected = list(range(1, len(answers) + 1))
        if [a.position for a in answers] != expected:
            raise ValueError("answer positions must be 1..n in page order")
        return answers
