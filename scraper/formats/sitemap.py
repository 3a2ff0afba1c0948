"""Sitemaps read safely: URL sets, sitemap indexes, gzip and plain-text sitemaps.

A sitemap is a document from the open web, so it is parsed as hostile: lxml
never resolves entities, never loads a DTD and never touches the network,
and any document that declares a DOCTYPE or an ENTITY (the billion-laughs
bomb, ``SYSTEM "file:///etc/passwd"``) is refused outright, since no real
sitemap needs one.  Size is bounded before and after decompression.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import etree

from scraper.errors import DecompressedTooLargeError, DecompressionError, SitemapError
from scraper.fetch.decompress import Decompressor, is_gzip
from scraper.limits import DEFAULT_SITEMAP_MAXSIZE

__all__ = ["MAX_SITEMAP_SIZE", "Sitemap", "SitemapError", "SitemapReader", "SitemapUrl", "parse_sitemap"]

MAX_SITEMAP_SIZE = DEFAULT_SITEMAP_MAXSIZE
"""SITEMAP_MAXSIZE's default: the protocol's own limit for an uncompressed sitemap (set in :mod:`scraper.limits`)."""

_PROTOCOL_MAX_URLS = 50_000
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ABSOLUTE = re.compile(r"https?://[^\s/?#@\\\[\]]+(?:[/?#][^\s]*)?\Z", re.IGNORECASE)



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


_CHUNK = 1 << 20  # bytes handed to the parser at a time: what bounds the memory of a read


def _chunks(body: bytes, max_size: int) -> Iterator[bytes]:
    """The body's bytes, gunzipped when it is gzip, in pieces; never more than ``max_size`` in all.

    Only the first gzip member is read and whatever follows it ignored, as this reader
    always did; a gzip cut short or corrupt is refused.
    """
    if not is_gzip(body):
        view = memoryview(body)
        for start in range(0, len(body), _CHUNK):
            yield bytes(view[start : start + _CHUNK])
        return
    decoder = Decompressor("gzip", limit=max_size, step=_CHUNK, members=False)
    try:
        yield from decoder.feed(body)
    except DecompressedTooLargeError:
        raise SitemapError(f"gzip sitemap expands past {max_size} bytes: refused") from None
    except DecompressionError as exc:
        raise SitemapError(f"gzip sitemap does not decompress: {exc}") from None
    if decoder.cut_short:
        raise SitemapError("gzip sitemap is truncated")


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


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
        self.dropped = 0
        self.example = ""

    def keep(self, loc: str | None) -> str | None:
        if not loc:
            self.missing += 1
            return None
        if _ABSOLUTE.match(loc):  # nearly every real entry: no need to join or split it
            return loc
        url = urljoin(self.base_url, loc) if self.base_url else loc
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            self.dropped += 1
            self.example = self.example or loc[:200]
            return None
        return url

    def warnings(self, entry: str) -> list[str]:
        notes = []
        if self.missing:
            notes.append(f"{self.missing} <{entry}> entr{'y' if self.missing == 1 else 'ies'} without a <loc>")
        if self.dropped:
            notes.append(f"{self.dropped} loc(s) not an http(s) URL skipped, e.g. {self.example!r}")
        return notes


_REFUSED = "the sitemap declares a DOCTYPE or ENTITY: refused (entity expansion and external entities are not read)"
_TAGS = ("{*}urlset", "{*}sitemapindex", "{*}url", "{*}sitemap")
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False, "remove_pis": True}


class SitemapReader:
    """One sitemap body read as a stream: entries come out as they are parsed.

    Why a stream: a sitemap index of ten 19 MB sitemaps lists 5.7 million URLs;
    held as lists (and as a parsed tree) that took 1.89 GB and minutes before the
    first page was fetched.  Read this way, memory stays at about one chunk of
    the body plus one entry, and the crawl can queue the first URLs at once.

    Iterate for :class:`SitemapUrl` entries: pages of a ``urlset`` or text
    sitemap, child sitemaps of a ``sitemapindex`` (``kind`` is set before the
    first entry comes out).  ``warnings`` is complete once iteration has ended.
    """

    def __init__(self, body: bytes, *, base_url: str | None = None, max_size: int = MAX_SITEMAP_SIZE) -> None:
        if len(body) > max_size:
            raise SitemapError(f"sitemap is {len(body)} bytes, over the {max_size}-byte limit: refused")
        self.body = body
        self.max_size = max_size
        self.kind = ""
        self.warnings: list[str] = []
        self._urls = _Urls(base_url)

    def __iter__(self) -> Iterator[SitemapUrl]:
        first, chunks = self._start()
        if first[:1] == b"<" or first[:2] in (b"\xff\xfe", b"\xfe\xff"):
            yield from self._xml(first, chunks)
        else:
            yield from self._text(first, chunks)

    def _start(self) -> tuple[bytes, Iterator[bytes]]:
        """The first non-blank bytes (they say XML or text) and the rest of the body."""
        chunks = _chunks(self.body, self.max_size)
        first = b""
        for piece in chunks:
            first = (first + piece).removeprefix(b"\xef\xbb\xbf").lstrip()
            if first:
                return first, chunks
        raise SitemapError("the sitemap is empty")

    def _xml(self, first: bytes, chunks: Iterator[bytes]) -> Iterator[SitemapUrl]:
        """Strict parsing first; on an error, parse again in recovery mode from where it stopped.

        Why twice: lxml's recovering parser reports no errors, and a sitemap that
        needed recovery deserves a warning.  Entries before the error come out the
        same either way, so the second pass skips the ones already given.
        """
        given = 0
        try:
            for entry in self._xml_entries(first, chunks, recover=False):
                given += 1
                yield entry
        except etree.XMLSyntaxError as exc:
            self.warnings.append(f"malformed XML recovered: {exc}")
            self._urls = _Urls(self._urls.base_url)
            for position, entry in enumerate(self._xml_entries(*self._start(), recover=True)):
                if position >= given:
                    yield entry
        self.warnings += self._urls.warnings("url" if self.kind == "urlset" else "sitemap")

    def _xml_entries(self, first: bytes, rest: Iterator[bytes], *, recover: bool) -> Iterator[SitemapUrl]:
        # Only the elements that matter raise events: that halves the time of a big sitemap.
        parser = etree.XMLPullParser(events=("start", "end"), tag=_TAGS, recover=recover, **_PARSER_OPTIONS)
        state = _Walk()
        tail = b""
        for piece in _prepend(first, rest):
            if _DECLARATION.search(tail + piece):
                raise SitemapError(_REFUSED)
            tail = piece[-16:]
            parser.feed(piece)
            yield from self._entries(parser, state)
        try:
            root = parser.close()
        except etree.XMLSyntaxError as exc:
            if not recover:
                raise
            raise SitemapError(f"the sitemap is not well-formed XML: {exc}") from None
        yield from self._entries(parser, state)
        if root is None:
            raise SitemapError("the sitemap is not well-formed XML: no root element")
        if not self.kind:
            raise SitemapError(f"not a sitemap: the root element is <{_local(root.tag) or root.tag}>, not <urlset> or <sitemapindex>")
        if state.count > _PROTOCOL_MAX_URLS:
            self.warnings.append(f"{state.count} entries, more than the protocol's {_PROTOCOL_MAX_URLS}")

    def _entries(self, parser: etree.XMLPullParser, state: _Walk) -> Iterator[SitemapUrl]:
        for event, element in parser.read_events():
            if event == "start":
                if element.getparent() is None:
                    state.entry = self._root(element)
                continue
            parent = element.getparent()
            if parent is None or parent.getparent() is not None or _local(element.tag) != state.entry:
                continue  # the root's end, or an entry-named element nested deeper
            loc = self._urls.keep(_child_text(element, "loc"))
            if loc is not None:
                state.count += 1
                yield SitemapUrl(loc, _child_text(element, "lastmod") if state.entry == "url" else None)
            _forget(element)

    def _root(self, element: etree._Element) -> str:
        """Check the root (the DOCTYPE, if any, is parsed by now); the name of its entries."""
        docinfo = element.getroottree().docinfo
        if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
            raise SitemapError(_REFUSED)
        kind = _local(element.tag)
        if kind not in ("urlset", "sitemapindex"):
            raise SitemapError(f"not a sitemap: the root element is <{kind or element.tag}>, not <urlset> or <sitemapindex>")
        self.kind = kind
        return "url" if kind == "urlset" else "sitemap"

    def _text(self, first: bytes, rest: Iterator[bytes]) -> Iterator[SitemapUrl]:
        if b"\x00" in first[:8192]:
            raise SitemapError("not a sitemap: the body is binary data")
        self.kind = "text"
        carry = b""
        for piece in _prepend(first, rest):
            lines = (carry + piece).split(b"\n")
            carry = lines.pop()
            yield from self._lines(lines)
        yield from self._lines([carry])
        self.warnings += self._urls.warnings("line")

    def _lines(self, lines: list[bytes]) -> Iterator[SitemapUrl]:
        for raw in lines:
            line = raw.decode("utf-8", errors="replace").strip()
            if line:
                loc = self._urls.keep(line)
                if loc is not None:
                    yield SitemapUrl(loc)


@dataclass
class _Walk:
    """Where a streamed parse is: the entry element's name, entries kept."""

    entry: str = ""
    count: int = 0


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _forget(element: etree._Element) -> None:
    """Drop a read entry and the ones before it, so the tree never holds more than one."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def parse_sitemap(body: bytes, *, base_url: str | None = None, max_size: int = MAX_SITEMAP_SIZE) -> Sitemap:
    """Read a whole sitemap body: ``<urlset>``, ``<sitemapindex>`` (with or without the namespace), or text.

    Gzip bodies are decompressed up to ``max_size`` bytes. ``base_url``, when
    given, resolves relative locations. Only http(s) URLs are kept; what is
    dropped is counted in ``warnings``. Raises :class:`SitemapError` for a body
    over ``max_size``, a DOCTYPE/ENTITY declaration, or XML that is not a sitemap.
    For sitemaps of millions of URLs, iterate a :class:`SitemapReader` instead.
    """
    reader = SitemapReader(body, base_url=base_url, max_size=max_size)
    entries = list(reader)
    sitemap = Sitemap(kind=reader.kind, warnings=reader.warnings)
    if reader.kind == "sitemapindex":
        sitemap.sitemaps = [e.loc for e in entries]
    else:
        sitemap.urls = entries
    return sitemap
