"""scraper: structured records from expert-answer Q&A pages.

    >>> import scraper
    >>> record = scraper.extract(page_bytes, url="https://www.realself.com/question/...")
    >>> record.answers[0].author.specialty
"""

from scraper._version import __version__
from scraper.errors import (
    BinaryInputError,
    EmptyInputError,
    ExtractionError,
    InputError,
    NotAQAPageError,
    ScraperError,
)
from scraper.extract import extract, extract_page
from scraper.models import Answer, Author, PageRecord, Question, RecordWarning, Source
from scraper.page import RawPage

__all__ = [
    "Answer",
    "Author",
    "BinaryInputError",
    "EmptyInputError",
    "ExtractionError",
    "InputError",
    "NotAQAPageError",
    "PageRecord",
    "Question",
    "RawPage",
    "RecordWarning",
    "ScraperError",
    "Source",
    "__version__",
    "extract",
    "extract_page",
]
