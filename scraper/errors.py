"""The project's exceptions, one tree so callers can catch as broadly as they need.

    ScraperError
    ├── InputError            an input could not be read at all (missing file, permission)
    └── ExtractionError       the bytes were read but hold no Q&A page
        ├── EmptyInputError   nothing but whitespace
        ├── BinaryInputError  not text (an image, an archive, a PDF ...)
        ├── NotAQAPageError   text, but no question with answers in it
        └── ExtractorCrashError  the extractor itself failed on this page (a bug: please report it)
    └── ExtractWorkerError    a crawl's extraction worker gave no result for a page (base: it raised a bug)
        ├── ExtractTimeoutError  it ran past EXTRACT_TIMEOUT and was stopped
        └── ExtractWorkerDiedError  the worker process died (killed, out of memory)

Every message says what was wrong and, where it helps, what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BinaryInputError",
    "EmptyInputError",
    "ExtractTimeoutError",
    "ExtractWorkerDiedError",
    "ExtractWorkerError",
    "ExtractionError",
    "ExtractorCrashError",
    "InputError",
    "NotAQAPageError",
    "ScraperError",
]


class ScraperError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(ScraperError):
    """An input could not be read."""


class ExtractionError(ScraperError):
    """The input was read but no page record could be made from it."""


class EmptyInputError(ExtractionError):
    """The input is empty or whitespace only."""


class BinaryInputError(ExtractionError):
    """The input is binary data, not a text or HTML page."""


class NotAQAPageError(ExtractionError):
    """The input is text but shows no question with an answer section."""


class ExtractorCrashError(ExtractionError):
    """The extractor raised something unforeseen on this page.

    Why an ExtractionError: a bug met on one page must cost that page, like any page that
    gives no record, and never a batch or a crawl.  The message names the exception; the
    original is chained as ``__cause__`` for a bug report.
    """


class ExtractWorkerError(ScraperError):
    """A worker process gave no result for one page; ``kind`` is the page's failure kind.

    Why not an ExtractionError: the page may be fine.  What failed is the time or
    the process spent on it, so the crawl records a failure (due again after
    ``RECRAWL_INTERVAL``) rather than "this page holds no Q&A".
    """

    kind = "internal_error"
    """The page's failure kind; the base class is the worker raising something unforeseen (a bug)."""


class ExtractTimeoutError(ExtractWorkerError):
    """Extraction of one page ran past ``EXTRACT_TIMEOUT``; its worker was killed and replaced."""

    kind = "extract_timeout"


class ExtractWorkerDiedError(ExtractWorkerError):
    """The worker process extracting a page died (a signal, the out-of-memory killer, a crash in C code)."""

    kind = "extract_crashed"
