"""A question's title without the site's decoration: " - 知乎", " | Hacker News", "r/Python - ".

Pages put the site's name around the question in ``<title>`` and ``og:title``, each
in its own way, while the page's heading usually holds the question alone.  So a
title made of several segments becomes the run of segments the page shows as a
heading; failing that, the segments it shares with the other title tag; failing that,
it loses a trailing segment that is the site's name (``og:site_name``,
``application-name``) or that ends every title of the site the way ``<title>`` does.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.visible import element_text

__all__ = ["tidy_title"]

# A separator is spaced on both sides, so "Wi-Fi" and "C#-style" stay whole.
_SEPARATOR = re.compile(r"(\s+[-|–—:·»]{1,2}\s+)")
_UNSPACED_SITE = re.compile(r"(_)(?=[^_\s]{2,12}$)")
_MAX_SITE_NAME = 40
# A forum heading may lead with the thread's type, a link the <title> leaves out ("[求助]", "【分享】", "[SOLVED]").
_THREAD_TYPE = re.compile(r"^\s*[\[【][^\]】]{1,12}[\]】]\s*")


def _segments(title: str) -> tuple[list[str], list[str]]:
    parts = _SEPARATOR.split(title)
    if len(parts) == 1:  # "问题_百度知道": a short site name after an unspaced underscore
        parts = _UNSPACED_SITE.split(title)
    return [p.strip() for p in parts[::2]], parts[1::2]


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _headings(root: HtmlElement) -> set[str]:
    found: set[str] = set()
    for count, heading in enumerate(root.iter("h1", "h2", "h3")):
        if count >= 30:
            break
        text = element_text(heading)
        if 4 <= len(text) <= 300:
            found.add(_key(text))
            found.add(_key(_THREAD_TYPE.sub("", text)))
    return found


def _runs(segments: list[str], separators: list[str]) -> list[str]:
    """Every run of consecutive segments shorter than the whole, longest first, with its own separators."""
    runs: list[tuple[int, str]] = []
    n = len(segments)
    for start in range(n):
        for end in range(start + 1, n + 1):
            if end - start == n:
                continue
            text = segments[start]
            for k in range(start, end - 1):
                text += separators[k] + segments[k + 1]
            runs.append((end - start, text.strip()))
    return [text for _, text in sorted(runs, key=lambda r: (-r[0], -len(r[1])))]


def _site_names(doc: HtmlDocument) -> set[str]:
    names = {doc.index.meta_content("og:site_name") or "", doc.index.meta_content("application-name") or ""}
    tag = next(doc.root.iter("title"), None)
    if tag is not None:
        segments, _ = _segments(element_text(tag))
        if len(segments) > 1 and len(segments[-1]) <= _MAX_SITE_NAME:
            names.add(segments[-1])
    return {_key(n) for n in names if n.strip()}


def tidy_title(title: str, doc: HtmlDocument) -> str:
    """``title`` as the page's heading shows it, without the site name around it."""
    segments, separators = _segments(title)
    if len(segments) < 2:
        return title
    headings = _headings(doc.root)
    for run in _runs(segments, separators):
        if len(run) >= 4 and _key(run) in headings:
            return run
    names = _site_names(doc)
    if _key(segments[-1]) in names:
        return title[: title.rfind(separators[-1])].strip()
    if _key(segments[0]) in names:
        return title[len(segments[0]) + len(separators[0]) :].strip()
    return title
