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
from scraper.extract.api import extract, extract_page
from scraper.models import Answer, Author, PageRecord, Question, RecordWarning, Source
from scraper.page import RawPage
from scraper.settings import Settings

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
    "Settings",
    "Source",
    "__version__",
    "acrawl",
    "crawl",
    "extract",
    "extract_page",
]


def __getattr__(name: str) -> object:
    # The crawler (httpx, asyncio machinery) loads only when asked for: `import scraper`
    # for extraction stays light.
    if name in ("crawl", "acrawl"):
        from scraper.crawler import api

        return getattr(api, name)
    raise AttributeError(f"module 'scraper' has no attribute {name!r}")
