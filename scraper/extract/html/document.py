"""Raw HTML bytes to one parsed lxml tree, shared by every extraction strategy.

Parsing once is most of the cost of reading a page, so the tree is made here
and handed to structured data, application state and visible text alike.
Decoding is where pages lie most (a windows-1252 page labelled UTF-8, a BOM
that contradicts the meta tag), so it trusts in order: byte-order mark,
the transport's charset, the page's own meta charset, then UTF-8 with stray
bytes read as windows-1252 rather than replaced by U+FFFD.

What it shares with :func:`scraper.extract.decode.decode_bytes` (the text-render
side) comes from there: the byte-order-mark sniff and :func:`text_codec`, which
refuses labels naming no text codec (``base64``, ``rot13``, ``zlib``).  The rest
differs on purpose, as browsers differ from text tools: labels are read as WHATWG
reads them (latin-1 means windows-1252), UTF-32 marks are not honoured, a meta
charset counts, stray bytes are read one at a time, and clean UTF-8 goes to the
parser as bytes; the text side instead guesses a charset and refuses binary input.
"""

from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from scraper.errors import NotAQAPageError
from scraper.extract.clean import scrub_controls
from scraper.extract.decode import HTML_BOMS, decode_bom, text_codec

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

__all__ = ["HtmlDocument", "PageIndex", "looks_like_html", "parse_html"]

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|script|link)\b", re.I | re.S)
_HTML_ANYWHERE = re.compile(rb"<(?:html|body|div|p|article|section)[\s>]", re.I)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_LEADING_SPACE = re.compile(rb"[ \t\n\r\f\v]*")
# The controls scrub_controls replaces, looked for in the page's bytes (cheaper than in its text).
_C0 = bytes([*range(9), 11, 12, *range(14, 32), 127])
_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # C1 controls as UTF-8
_ERROR_HANDLER = "scraper-cp1252-fallback"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    # A stray byte in a UTF-8 page is nearly always windows-1252 (0xA0 no-break
    # space, 0x92 apostrophe, 0xA9 copyright): read it so instead of U+FFFD.
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error(_ERROR_HANDLER, _cp1252_fallback)

# Every element is an HtmlElement.  lxml.html's own lookup picks form and input classes in
# Python each time an element gets its Python object (thousands of times a page); we use none
# of their extras, and this lookup runs in C.
_ELEMENT_CLASSES = etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity
)

# Whether this libxml2 indexes HTML ``id`` attributes as it parses (2.9 to 2.14 do).
_IDS_INDEXED = bool(lxml.html.document_fromstring("<p id='x'>x</p>").xpath("id('x')"))


@dataclass
class PageIndex:
    """The elements several strategies look up, gathered in one walk of the tree.

    Every ``//script`` or ``//meta`` XPath walks the whole page again, and a page
    that is mostly inline script makes each walk cost a good part of the parse:
    structured data, application state, the site's ``<meta>`` fields and the
    canonical link all read these lists instead.
    """

    scripts: list[lxml.html.HtmlElement] = field(default_factory=list)
    metas: list[lxml.html.HtmlElement] = field(default_factory=list)
    links: list[lxml.html.HtmlElement] = field(default_factory=list)
    metas_and_links: list[lxml.html.HtmlElement] = field(default_factory=list)
    """Both, in document order."""

    @classmethod
    def of(cls, root: lxml.html.HtmlElement) -> PageIndex:
        index = cls()
        scripts, metas, links, both = index.scripts, index.metas, index.links, index.metas_and_links
        for element in root.iter("script", "meta", "link"):
            tag = element.tag
            if tag == "script":
                scripts.append(element)
            else:
                (metas if tag == "meta" else links).append(element)
                both.append(element)
        return index

    def meta_content(self, name: str) -> str | None:
        """``content`` of the first ``<meta>`` whose ``property`` or ``name`` is ``name`` and that has one."""
        for meta in self.metas:
            if name in (meta.get("property"), meta.get("name")):
                content: str | None = meta.get("content")
                if content is not None:
                    return content
        return None

    def canonical_url(self) -> str | None:
        """The first ``<link rel="canonical">`` or ``og:url`` in the page, stripped; None when empty."""
        for element in self.metas_and_links:
            if element.tag == "link":
                value = element.get("href") if element.get("rel") == "canonical" else None
            else:
                value = element.get("content") if element.get("property") == "og:url" else None
            if value is not None:
                return value.strip() or None
        return None


@dataclass
class HtmlDocument:
    """A parsed page: the tree, where it lives, and what decoding noticed."""

    root: lxml.html.HtmlElement
    url: str | None
    """The page URL: the one given, else the page's canonical link."""
    encoding: str
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(warning code, message) pairs for the record."""
    memo: dict[str, object] = field(default_factory=dict, repr=False)
    """What site adapters work out once per page (keyed by module name), e.g. elements by owner."""

    @cached_property
    def index(self) -> PageIndex:
        """Scripts, metas and links of the page, in document order (one walk, made on first use)."""
        return PageIndex.of(self.root)

    @cached_property
    def soup(self) -> BeautifulSoup:
        """The page as a BeautifulSoup tree, for site adapters whose authors prefer its API to lxml's.

        Why lazily, and from ``root``: no built-in strategy needs it, so a page pays for it
        (and the process for importing bs4) only when an adapter asks; and it is made from
        the tree already parsed, so it shows the same page ``root`` does: decoded as
        described above, controls scrubbed, comments and DOCTYPE entities gone.  It is a
        copy: changing it does not change ``root``.
        """
        from bs4 import BeautifulSoup

        return BeautifulSoup(lxml.html.tostring(self.root, encoding="unicode"), "lxml")

    def elements_by_id(self, *ids: str) -> dict[str, lxml.html.HtmlElement]:
        """id -> the first element carrying it, for those of ``ids`` the page has.

        libxml2 keeps an index of ``id`` attributes while it parses, so XPath's ``id()`` is
        a lookup, not a walk of the tree; a page whose index lacks an id its markup shows
        (a libxml2 that keeps none) is searched the slow way.
        """
        found: dict[str, lxml.html.HtmlElement] = {}
        for element in self.root.xpath("id($ids)", ids=" ".join(ids)):
            found.setdefault(element.get("id"), element)
        missing = [i for i in ids if i not in found]
        if missing and not _IDS_INDEXED:
            for element in self.root.xpath("//*[@id]"):
                if element.get("id") in missing:
                    found.setdefault(element.get("id"), element)
        return found

    def absolute(self, href: str | None) -> str | None:
        """``href`` made absolute against the page URL; None for junk or script links."""
        if not href:
            return None
        href = href.strip()
        if not href or "{{" in href or href.lower().startswith(("javascript:", "mailto:", "tel:", "#")):
            return None
        base = self.base
        return urljoin(base, href) if base else href

    @cached_property
    def base(self) -> str | None:
        """What relative links resolve against: the page's ``<base href>`` (itself resolved
        against the page URL), else the page URL.  XenForo 1 links its members relatively to a
        ``<base>`` that is not the thread's own address."""
        found = self.root.xpath("/html/head/base[@href][1]/@href")
        given = str(found[0]).strip() if found else ""
        if given and urlsplit(urljoin(self.url or "", given)).scheme in ("http", "https"):
            return urljoin(self.url or "", given)
        return self.url


def looks_like_html(data: bytes) -> bool:
    """True when the bytes are an HTML document rather than a text render."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    head = head.lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head)) or len(_HTML_ANYWHERE.findall(head)) >= 2


def _normalise_encoding(name: str | None) -> str | None:
    found = text_codec(name)
    if found is None:
        return None
    # As browsers do (WHATWG Encoding): latin-1 and ASCII labels mean windows-1252.
    return "cp1252" if found in ("iso8859-1", "latin-1", "ascii") else found


def _markup(data: bytes, declared_encoding: str | None) -> tuple[str | bytes, str, list[tuple[str, str]]]:
    """What the parser reads: the page's own bytes when they are clean UTF-8 (parsing them is
    cheaper than decoding first, and gives the same tree), else the decoded text."""
    notes: list[tuple[str, str]] = []
    marked = decode_bom(data, HTML_BOMS)
    if marked is not None:
        return scrub_controls(marked[0]), marked[1], notes
    meta = _META_CHARSET.search(data[:8192])
    candidates = [_normalise_encoding(declared_encoding), _normalise_encoding(meta.group(1).decode("ascii", "replace") if meta else None)]
    valid: bool | None = None
    for encoding in filter(None, candidates):
        if encoding.startswith("utf-16"):
            continue  # a UTF-16 label on a page we are reading as bytes without a BOM is wrong
        if encoding == "cp1252":  # five bytes are undefined in windows-1252: replace, do not fail
            return scrub_controls(data.decode(encoding, errors="replace")), encoding, notes
        valid = _is_utf8(data) if encoding == "utf-8" else None
        if valid is None:
            try:
                return scrub_controls(data.decode(encoding)), encoding, notes
            except UnicodeDecodeError:
                pass
        if not valid:
            notes.append(("encoding_mismatch", f"the page says {encoding} but is not: stray bytes read as windows-1252"))
        break
    if valid is None:
        valid = _is_utf8(data)
    if not valid:
        return _clean(data.decode("utf-8", errors=_ERROR_HANDLER), data), "utf-8", notes
    if b"\x00" in data:  # the parser would make U+FFFD of it; everywhere else a control is a space
        return scrub_controls(data.decode("utf-8")), "utf-8", notes
    # Other controls stay in the tree: the visible-text writer and the record's fields make them
    # spaces.  Scanning every page's bytes for them cost 3% of extraction (a 400 KB copy).
    return data, "utf-8", notes


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True  # (a word at a time: far cheaper than decoding)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_controls(raw: bytes) -> bool:
    # For UTF-8, scanning the page's bytes is far cheaper than a regex over the decoded str.
    return len(raw.translate(None, _C0)) != len(raw) or (b"\xc2" in raw and _C1.search(raw) is not None)


def _clean(text: str, raw: bytes) -> str:
    return scrub_controls(text) if _has_controls(raw) else text


def _never_closed(data: bytes) -> bool:
    """True when a document stops inside a tag, before closing its body and html (a cut download).

    Documents that merely leave elements unclosed are common and are not flagged.
    """
    tail = data[-4096:].rstrip().lower()
    return b"</html" not in tail and b"</body" not in tail and tail.rfind(b"<") > tail.rfind(b">")


def _may_declare_xml(markup: bytes) -> bool:
    """True when the bytes may open with an XML declaration (after any whitespace, as
    ``_XML_DECLARATION`` reads the decoded text; a non-ASCII first character may be a space)."""
    leading = _LEADING_SPACE.match(markup)
    assert leading is not None  # a starred pattern matches any input, if only the empty prefix
    start = leading.end()
    return markup.startswith(b"<?xml", start) or (start < len(markup) and markup[start] >= 0x80)


_DOCTYPE_SUBSET = re.compile(rb"\s*<!doctype[^>\[]{0,200}\[", re.I)
_SUBSET_END = re.compile(rb"\]\s*>")
_SUBSET_SEARCH = 1 << 20


def _without_doctype_subset(markup: str | bytes, notes: list[tuple[str, str]]) -> str | bytes:
    """The markup with a DOCTYPE's internal subset (``<!DOCTYPE html [<!ENTITY ...>]>``) taken out.

    Why: HTML has no entity declarations, so the HTML parser reads the subset's end ``]>`` as
    page text (a page's title became ``]>``), and a subset exists only to expand entities (a
    billion-laughs or XXE attempt aimed at XML parsers).  Nothing in it is read or expanded.
    """
    head = markup[:_SUBSET_SEARCH]
    raw = head.encode("utf-8", "replace") if isinstance(head, str) else head
    start = _DOCTYPE_SUBSET.match(raw)
    if start is None:
        return markup
    end = _SUBSET_END.search(raw, start.end())
    if end is None:
        return markup
    notes.append(("doctype_entities", "the page's DOCTYPE declares entities (an entity-expansion or XXE attempt): ignored, never expanded"))
    if isinstance(markup, str):
        return "<!DOCTYPE html>" + markup[len(raw[: end.end()].decode("utf-8", "replace")) :]
    return b"<!DOCTYPE html>" + markup[end.end() :]


_PARSERS = threading.local()
"""Parsers kept per thread and encoding: building one costs 4% of a parse, and an lxml parser
may be reused (its error log then holds the last document's errors) but not shared by threads."""


def _parser(encoding: str | None) -> etree.HTMLParser:
    parsers: dict[str | None, etree.HTMLParser] = _PARSERS.__dict__.setdefault("by_encoding", {})
    parser = parsers.get(encoding)
    if parser is None:
        parser = parsers[encoding] = etree.HTMLParser(
            remove_comments=True, remove_pis=True, recover=True, default_doctype=False, encoding=encoding)
        parser.set_element_class_lookup(_ELEMENT_CLASSES)
    return parser


def parse_html(data: bytes, declared_encoding: str | None = None, url: str | None = None) -> HtmlDocument:
    """Parse HTML bytes into an :class:`HtmlDocument` (broken markup is recovered, not refused)."""
    markup, encoding, notes = _markup(data, declared_encoding)
    if isinstance(markup, bytes) and _may_declare_xml(markup):
        markup = markup.decode("utf-8")  # the declaration goes, as from any other text
    if isinstance(markup, str):
        markup = _XML_DECLARATION.sub("", markup, count=1)
    markup = _without_doctype_subset(markup, notes)
    parser = _parser("utf-8" if isinstance(markup, bytes) else None)
    try:
        root = lxml.html.document_fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise NotAQAPageError(f"the HTML could not be parsed: {exc}") from None
    if any("Resource limit exceeded" in entry.message for entry in parser.error_log):
        notes.append(("parse_limit", "a comment or run of text in the page is over the parser's 10 MB limit: what follows it is not read"))
    if any("Excessive depth" in entry.message for entry in parser.error_log):
        notes.append(("nesting_too_deep", "the page nests elements deeper than the parser's limit (255): what follows the deepest part is not read"))
    if _never_closed(data):
        notes.append(("truncated", "the HTML ends before </body></html>: the page may be cut off"))
    doc = HtmlDocument(root=root, url=url, encoding=encoding, notes=notes)
    if url is None:
        doc.url = doc.index.canonical_url()
    return doc
