"""Sitemaps read safely: URL sets, sitemap indexes, gzip and plain-text sitemaps.

A sitemap is a document from the open web, so it is parsed as hostile: lxml
never resolves entities, never loads a DTD and never touches the network,
and any document that declares a DOCTYPE or an ENTITY (the billion-laughs
bomb, ``SYSTEM "file:///etc/passwd"``) is refused outright, since no real
sitemap needs one.  Size is bounded before and after decompression.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import etree

from scraper.errors import ScraperError

__all__ = ["MAX_SITEMAP_SIZE", "Sitemap", "SitemapError", "SitemapUrl", "parse_sitemap", "robots_sitemaps"]

MAX_SITEMAP_SIZE = 50 * 1024 * 1024
"""SITEMAP_MAXSIZE's default: the protocol's own limit for an uncompressed sitemap."""

_PROTOCOL_MAX_URLS = 50_000
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE)


class SitemapError(ScraperError):
    """The body is not a sitemap that can be read safely; the message says why."""


@dataclass(frozen=True)
class SitemapUrl:
    loc: str
    lastmod: str | None = None
    """``<lastmod>`` as the sitemap gives it (W3C datetime, often date only), or None."""


@dataclass
class Sitemap:
    kind: str
    """``"urlset"``, ``"sitemapindex"`` or ``"text"``."""
    urls: list[SitemapUrl] = field(default_factory=list)
    """Page URLs of a URL set or text sitemap, in document order."""
    sitemaps: list[str] = field(default_factory=list)
    """Child sitemap URLs of a sitemap index."""
    warnings: list[str] = field(default_factory=list)


def _gunzip(body: bytes, max_size: int) -> bytes:
    z = zlib.decompressobj(31)
    out = bytearray()
    data = body
    try:
        while data:
            out += z.decompress(data, 1 << 20)
            if len(out) > max_size:
                raise SitemapError(f"gzip sitemap expands past {max_size} bytes: refused")
            if z.eof:
                break
            data = z.unconsumed_tail
    except zlib.error as exc:
        raise SitemapError(f"gzip sitemap does not decompress: {exc}") from None
    if not z.eof:
        raise SitemapError("gzip sitemap is truncated")
    return bytes(out)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            text = "".join(child.itertext()).strip()
            return text or None
    return None


class _Urls:
    """Keeps http(s) URLs, counting what it drops for one warning each."""

    def __init__(self, base_url: str | None) -> None:
        self.base_url = base_url
        self.missing = 0
        self.dropped: list[str] = []

    def keep(self, loc: str | None) -> str | None:
        if not loc:
            self.missing += 1
            return None
        url = urljoin(self.base_url, loc) if self.base_url else loc
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            self.dropped.append(loc)
            return None
        return url

    def warnings(self, entry: str) -> list[str]:
        notes = []
        if self.missing:
            notes.append(f"{self.missing} <{entry}> entr{'y' if self.missing == 1 else 'ies'} without a <loc>")
        if self.dropped:
            notes.append(f"{len(self.dropped)} loc(s) not an http(s) URL skipped, e.g. {self.dropped[0][:200]!r}")
        return notes


def _parse_xml(data: bytes) -> tuple[etree._Element, list[str]]:
    if _DECLARATION.search(data):
        raise SitemapError("the sitemap declares a DOCTYPE or ENTITY: refused (entity expansion and external entities are not read)")
    warnings: list[str] = []
    options = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False, "remove_pis": True}
    try:
        root = etree.fromstring(data, etree.XMLParser(**options))
    except etree.XMLSyntaxError as exc:
        try:
            root = etree.fromstring(data, etree.XMLParser(recover=True, **options))
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise SitemapError(f"the sitemap is not well-formed XML: {exc}") from None
        warnings.append(f"malformed XML recovered: {exc}")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise SitemapError("the sitemap declares a DOCTYPE or ENTITY: refused (entity expansion and external entities are not read)")
    return root, warnings


def parse_sitemap(body: bytes, *, base_url: str | None = None, max_size: int = MAX_SITEMAP_SIZE) -> Sitemap:
    """Read a sitemap body: ``<urlset>``, ``<sitemapindex>`` (with or without the namespace), or text.

    Gzip bodies are decompressed up to ``max_size`` bytes. ``base_url``, when
    given, resolves relative locations. Only http(s) URLs are kept; what is
    dropped is counted in ``warnings``. Raises :class:`SitemapError` for a body
    over ``max_size``, a DOCTYPE/ENTITY declaration, or XML that is not a sitemap.
    """
    if len(body) > max_size:
        raise SitemapError(f"sitemap is {len(body)} bytes, over the {max_size}-byte limit: refused")
    data = _gunzip(body, max_size) if body[:2] == b"\x1f\x8b" else body
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not data:
        raise SitemapError("the sitemap is empty")
    if data[:1] == b"<" or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _xml_sitemap(data, base_url)
    return _text_sitemap(data, base_url)


def _xml_sitemap(data: bytes, base_url: str | None) -> Sitemap:
    root, warnings = _parse_xml(data)
    kind = _local(root.tag)
    urls = _Urls(base_url)
    if kind == "urlset":
        sitemap = Sitemap(kind="urlset", warnings=warnings)
        for entry in root:
            if _local(entry.tag) == "url":
                loc = urls.keep(_child_text(entry, "loc"))
                if loc is not None:
                    sitemap.urls.append(SitemapUrl(loc, _child_text(entry, "lastmod")))
        sitemap.warnings += urls.warnings("url")
    elif kind == "sitemapindex":
        sitemap = Sitemap(kind="sitemapindex", warnings=warnings)
        for entry in root:
            if _local(entry.tag) == "sitemap":
                loc = urls.keep(_child_text(entry, "loc"))
                if loc is not None:
                    sitemap.sitemaps.append(loc)
        sitemap.warnings += urls.warnings("sitemap")
    else:
        raise SitemapError(f"not a sitemap: the root element is <{kind or root.tag}>, not <urlset> or <sitemapindex>")
    count = len(sitemap.urls) + len(sitemap.sitemaps)
    if count > _PROTOCOL_MAX_URLS:
        sitemap.warnings.append(f"{count} entries, more than the protocol's {_PROTOCOL_MAX_URLS}")
    return sitemap


def _text_sitemap(data: bytes, base_url: str | None) -> Sitemap:
    if b"\x00" in data[:8192]:
        raise SitemapError("not a sitemap: the body is binary data")
    urls = _Urls(base_url)
    sitemap = Sitemap(kind="text")
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if line:
            loc = urls.keep(line)
            if loc is not None:
                sitemap.urls.append(SitemapUrl(loc))
    sitemap.warnings += urls.warnings("line")
    return sitemap


def robots_sitemaps(robots_txt: str, *, base_url: str | None = None) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt, in order, without repeats; only http(s) ones."""
    found: list[str] = []
    for line in robots_txt.splitlines():
        match = _ROBOTS_SITEMAP.match(line)
        if match is None:
            continue
        url = urljoin(base_url, match.group(1)) if base_url else match.group(1)
        parts = urlsplit(url)
        if parts.scheme.lower() in ("http", "https") and parts.netloc and url not in found:
            found.append(url)
    return found
