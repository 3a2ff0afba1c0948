"""scraper: structured records from expert-answer Q&A pages.

    >>> import scraper
    >>> record = scraper.extract(page_bytes, url="https://www.realself.com/question/...")
    >>> record.answers[0].author.specialty
    >>> stats = scraper.ArchiveStats()
    >>> for result in scraper.iter_archive("crawl.warc.gz", stats=stats):  # WARC, WET or ARC
    ...     if result.failure is None:  # else result.detail says why (http_error, decode_error, ...)
    ...         record = scraper.extract_page(result.page(path="crawl.warc.gz"))
    >>> stats.describe()  # '36 records: 12 read, 24 skipped (16 request, 4 non_html, ...)'
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
from scraper.formats.warc import ArchiveStats, iter_archive
from scraper.models import Answer, Author, PageRecord, Question, RecordWarning, Source
from scraper.page import RawPage
from scraper.settings import Settings

__all__ = [
    "Answer",
    "ArchiveStats",
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
    "iter_archive",
]


def __getattr__(name: str) -> object:
    # The crawler (httpx, asyncio machinery) loads only when asked for: `import scraper`
    # for extraction stays light.
    if name in ("crawl", "acrawl"):
        from scraper.crawler import api

        return getattr(api, name)
    raise AttributeError(f"module 'scraper' has no attribute {name!r}")
