"""The project's exceptions, one tree so callers can catch as broadly as they need.

    ScraperError
    ├── InputError            an input could not be read at all (missing file, permission)
    └── ExtractionError       the bytes were read but hold no Q&A page
        ├── EmptyInputError   nothing but whitespace
        ├── BinaryInputError  not text (an image, an archive, a PDF ...)
        └── NotAQAPageError   text, but no question with answers in it

Every message says what was wrong and, where it helps, what to do about it.
"""

from __future__ import annotations

__all__ = [
    "BinaryInputError",
    "EmptyInputError",
    "ExtractionError",
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
