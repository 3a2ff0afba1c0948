"""Links a crawled page leads to: ``<a href>`` targets, normalised, in page order, once each."""

from __future__ import annotations

import lxml.html
from lxml import etree

from scraper.extract.html.document import HtmlDocument, looks_like_html
from scraper.fetch.urls import normalize_url

__all__ = ["PageLinks", "page_links"]

_SKIP_REL = ("nofollow",)


class PageLinks(list[str]):
    """A page's links in page order; ``capped`` says more were there than the limit allowed."""

    capped: bool = False


def page_links(body: bytes, base_url: str, document: HtmlDocument | None = None, *, limit: int = 0) -> PageLinks:
    """Followable links of a page, at most ``limit`` (0: all); uses the extractor's parsed tree when there is one.

    The walk stops at the limit, so a page of half a million anchors costs no more
    than one of ``limit`` (past the parse itself, which ``DOWNLOAD_MAXSIZE`` bounds).
    """
    if document is not None:
        root = document.root
    elif looks_like_html(body[:4096]):
        try:
            root = lxml.html.document_fromstring(body)
        except (etree.ParserError, ValueError):
            return PageLinks()
    else:
        return PageLinks()
    seen: set[str] = set()
    links = PageLinks()
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if not href or any(r in (anchor.get("rel") or "").lower().split() for r in _SKIP_REL):
            continue
        url = normalize_url(href.strip(), base_url)
        if url and url not in seen:
            if limit and len(links) >= limit:
                links.capped = True
                break
            seen.add(url)
            links.append(url)
    return links
