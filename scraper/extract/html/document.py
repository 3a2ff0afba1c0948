"""Raw HTML bytes to one parsed lxml tree, shared by every extraction strategy.

Parsing once is most of the cost of reading a page, so the tree is made here
and handed to structured data, application state and visible text alike.
Decoding is where pages lie most (a windows-1252 page labelled UTF-8, a BOM
that contradicts the meta tag), so it trusts in order: byte-order mark,
the transport's charset, the page's own meta charset, then UTF-8 with stray
bytes read as windows-1252 rather than replaced by U+FFFD.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from scraper.errors import NotAQAPageError

__all__ = ["HtmlDocument", "decode_html", "looks_like_html", "parse_html"]

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|script|link)\b", re.I | re.S)
_HTML_ANYWHERE = re.compile(rb"<(?:html|body|div|p|article|section)[\s>]", re.I)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_C0 = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])
_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # C1 controls as UTF-8
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_ERROR_HANDLER = "scraper-cp1252-fallback"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    # A stray byte in a UTF-8 page is nearly always windows-1252 (0xA0 no-break
    # space, 0x92 apostrophe, 0xA9 copyright): read it so instead of U+FFFD.
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error(_ERROR_HANDLER, _cp1252_fallback)


@dataclass
class HtmlDocument:
    """A parsed page: the tree, where it lives, and what decoding noticed."""

    root: lxml.html.HtmlElement
    url: str | None
    """The page URL: the one given, else the page's canonical link."""
    encoding: str
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(warning code, message) pairs for the record."""

    def absolute(self, href: str | None) -> str | None:
        """``href`` made absolute against the page URL; None for junk or script links."""
        if not href:
            return None
        href = href.strip()
        if not href or "{{" in href or href.lower().startswith(("javascript:", "mailto:", "tel:", "#")):
            return None
        return urljoin(self.url, href) if self.url else href


def looks_like_html(data: bytes) -> bool:
    """True when the bytes are an HTML document rather than a text render."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    head = head.lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head)) or len(_HTML_ANYWHERE.findall(head)) >= 2


def _normalise_encoding(name: str | None) -> str | None:
    if not name:
        return None
    try:
        found = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    # As browsers do (WHATWG Encoding): latin-1 and ASCII labels mean windows-1252.
    return "cp1252" if found in ("iso8859-1", "latin-1", "ascii") else found


def decode_html(data: bytes, declared_encoding: str | None = None) -> tuple[str, str, list[tuple[str, str]]]:
    """(text, encoding used, notes) for HTML bytes; never raises on bad bytes."""
    notes: list[tuple[str, str]] = []
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _CONTROL.sub(" ", data[len(bom) :].decode(name, errors="replace")), name, notes
    meta = _META_CHARSET.search(data[:8192])
    candidates = [_normalise_encoding(declared_encoding), _normalise_encoding(meta.group(1).decode("ascii", "replace") if meta else None)]
    for encoding in filter(None, candidates):
        if encoding.startswith("utf-16"):
            continue  # a UTF-16 label on a page we are reading as bytes without a BOM is wrong
        if encoding == "cp1252":  # five bytes are undefined in windows-1252: replace, do not fail
            return _clean(data.decode(encoding, errors="replace"), data, encoding), encoding, notes
        try:
            return _clean(data.decode(encoding), data, encoding), encoding, notes
        except UnicodeDecodeError:
            notes.append(("encoding_mismatch", f"the page says {encoding} but is not: stray bytes read as windows-1252"))
            break
    return _clean(data.decode("utf-8", errors=_ERROR_HANDLER), data, "utf-8"), "utf-8", notes


def _clean(text: str, raw: bytes, encoding: str) -> str:
    # For UTF-8, scanning the page's bytes is far cheaper than a regex over the decoded str.
    if encoding == "utf-8" and len(raw.translate(None, _C0)) == len(raw) and not (b"\xc2" in raw and _C1.search(raw)):
        return text
    return _CONTROL.sub(" ", text)


def _never_closed(data: bytes) -> bool:
    """True when a document stops inside a tag, before closing its body and html (a cut download).

    Documents that merely leave elements unclosed are common and are not flagged.
    """
    tail = data[-4096:].rstrip().lower()
    return b"</html" not in tail and b"</body" not in tail and tail.rfind(b"<") > tail.rfind(b">")


def parse_html(data: bytes, declared_encoding: str | None = None, url: str | None = None) -> HtmlDocument:
    """Parse HTML bytes into an :class:`HtmlDocument` (broken markup is recovered, not refused)."""
    text, encoding, notes = decode_html(data, declared_encoding)
    text = _XML_DECLARATION.sub("", text, count=1)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, recover=True, default_doctype=False)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise NotAQAPageError(f"the HTML could not be parsed: {exc}") from None
    if any("Excessive depth" in entry.message for entry in parser.error_log):
        notes.append(("nesting_too_deep", "the page nests elements deeper than the parser's limit (255): what follows the deepest part is not read"))
    if _never_closed(data):
        notes.append(("truncated", "the HTML ends before </body></html>: the page may be cut off"))
    if url is None:
        canonical = root.xpath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
        url = str(canonical[0]).strip() or None if canonical else None
    return HtmlDocument(root=root, url=url, encoding=encoding, notes=notes)
