"""The extraction pipeline: raw page -> decoded text -> site -> extractor -> validated record."""

from __future__ import annotations

from scraper._version import __version__
from scraper.extract.decode import decode_bytes
from scraper.extract.textrender import EXTRACTOR_NAME, extract_text_render
from scraper.models import ExtractorInfo, PageRecord, Source
from scraper.page import RawPage
from scraper.sites import GENERIC, detect_site, get_site

__all__ = ["extract", "extract_page"]


def extract_page(page: RawPage, *, site: str | None = None) -> PageRecord:
    """Turn one raw page into a validated record.

    ``site`` forces a site adapter by name; by default it is chosen from the
    URL, then from what the page shows.  Raises a subclass of
    :class:`scraper.errors.ExtractionError` when the bytes hold no Q&A page.
    """
    text = decode_bytes(page.body, page.encoding)
    profile = get_site(site) if site else detect_site(page.url, text)
    extracted = extract_text_render(text, profile or GENERIC)
    source = Source(
        kind=page.kind,
        path=page.path,
        url=page.url,
        fetched_at=page.fetched_at,
        sha256=page.sha256,
        extractor=ExtractorInfo(name=EXTRACTOR_NAME, version=__version__),
    )
    return PageRecord(
        url=page.url,
        site=profile.name if profile else None,
        source=source,
        question=extracted.question,
        answer_count=extracted.answer_count,
        answers=extracted.answers,
        truncated=extracted.truncated,
        warnings=extracted.warnings,
    )


def extract(content: str | bytes, url: str | None = None, *, site: str | None = None) -> PageRecord:
    """Extract a record from a page's text or raw bytes.

    >>> record = scraper.extract(open("page.txt", "rb").read(), url="https://...")
    """
    body = content.encode("utf-8", errors="replace") if isinstance(content, str) else bytes(content)
    return extract_page(RawPage(body=body, kind="memory", url=url), site=site)
