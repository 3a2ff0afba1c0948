"""Links a crawled page leads to: ``<a href>`` targets, normalised, in page order, once each."""

from __future__ import annotations

import lxml.html
from lxml import etree

from scraper.extract.html.document import HtmlDocument, looks_like_html
from scraper.fetch.urls import normalize_url

__all__ = ["page_links"]

_SKIP_REL = ("nofollow",)


def page_links(body: bytes, base_url: str, document: HtmlDocument | None = None) -> list[str]:
    """Followable links of a page; uses the extractor's parsed tree when there is one."""
    if document is not None:
        root = document.root
    elif looks_like_html(body[:4096]):
        try:
            root = lxml.html.document_fromstring(body)
        except (etree.ParserError, ValueError):
            return []
    else:
        return []
    seen: set[str] = set()
    links: list[str] = []
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href or any(r in (anchor.get("rel") or "").lower().split() for r in _SKIP_REL):
            continue
        url = normalize_url(href.strip(), base_url)
        if url and url not in seen:
            seen.add(url)
            links.append(url)
    return links
