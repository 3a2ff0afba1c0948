"""Visible text of a parsed page or element, in block order.

Two uses share one walker:

- :func:`render_page` gives the whole page as a web-crawl text render would:
  one line per block, a blank line between paragraphs, and nothing a reader
  does not see (scripts, styles, templates, hidden elements, navigation,
  page header and footer, forms, ads, share widgets).  The text-render
  extractor then reads it exactly as it reads a WET record, which is why this
  path never looks at content class names: RealSelf has renamed them all more
  than once.
- :func:`render_body` gives one post's body (an answer's ``text`` element, a
  review entry) as paragraphs separated by a blank line, ``<br>`` as a line
  break, ``<pre>`` lines kept, junk removed.

Paragraph-level elements (p, headings, lists, tables, blockquote, pre) are
separated by a blank line; other block elements (div, li, tr, dd) by a line
break, so an author card's name, location and rating lines stay together as
one block, as in the renders the text extractor was built on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

from scraper.extract.clean import is_chrome_line, scrub_controls, strip_template_junk

__all__ = ["contains", "element_text", "link_targets", "render_body", "render_page", "share_widgets"]

_PARAGRAPH = frozenset(
    ["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl", "table", "hr", "article", "section", "main", "figure",
     "details", "address"]
)
_LINE = frozenset(["div", "li", "tr", "dt", "dd", "figcaption", "caption", "summary", "legend", "label", "center"])
_CELL = frozenset(("td", "th"))
_NEVER_TEXT = frozenset(
    ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "head", "title", "meta", "link", "button",
     "select", "option", "input", "textarea", "map", "audio", "video", "picture", "img", "source", "track", "dialog"]
)
_PAGE_CHROME_TAGS = frozenset(("nav", "form", "aside"))
# What an element's aria-label calls it when it is page chrome (no class name needed).
_CHROME_LABELS = frozenset(("breadcrumb", "breadcrumbs", "share", "advertisement", "pagination", "brotkrümelnavigation", "面包屑"))
_CHROME_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog", "menu", "menubar", "toolbar"))
_HIDDEN_CLASSES = frozenset(("hidden", "hide", "d-none", "sr-only", "visually-hidden", "ng-hide", "ng-cloak", "invisible", "is-hidden", "u-hidden"))
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Class or id words of widgets that are never content: ads, sharing, cookie banners,
# related-content rails.  Matched as whole words of the attribute (split on space, - and _),
# so "shadow" or "header-title" do not match.
_CHROME_WORDS = frozenset(
    ["ad", "ads", "advert", "adverts", "advertisement", "sponsor", "sponsored", "share", "sharing", "social", "cookie", "cookies",
     "consent", "promo", "newsletter", "related", "recommended", "recommendations", "breadcrumb", "breadcrumbs", "nav", "navbar", "subnav",
     "navigation", "menu", "dropdown", "toolbar", "pagination", "pager", "sort", "sticky"]
)
# Words of a class or id: split on spaces, dashes, underscores and camelCase ("ShareMenu-toggle").
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_PRE_NEWLINE = "\ue001"
_PRE_SPACE = "\ue002"
_MAX_DEPTH = 400


def _hidden_by(style: str | None, classes: str | None) -> bool:
    if style and _HIDDEN_STYLE.search(style):
        return True
    if not classes:
        return False
    return not _HIDDEN_CLASSES.isdisjoint(classes.split())


def _chrome_by(element: HtmlElement, tag: str, role: str | None, classes: str | None, ident: str | None) -> bool:
    if tag in _PAGE_CHROME_TAGS:
        return True
    if tag in ("header", "footer") and not _inside_content(element):
        return True
    if role in _CHROME_ROLES:
        return True
    label = element.get("aria-label")
    if label is not None and label.strip().casefold() in _CHROME_LABELS:
        return True
    if not classes and not ident:
        return False
    names = (classes or "") + " " + (ident or "")
    return _chrome_names(names) if names.strip() else False


def _hidden_or_chrome(element: HtmlElement) -> bool:
    """Whether a reader never sees the element as content: hidden before any script runs
    (``hidden``, an inline ``display: none``, a hiding class; ``aria-hidden`` is not, it hides
    from screen readers only), or page chrome (navigation, page header/footer, forms, ads,
    share widgets).  Each attribute is read once."""
    get = element.get
    if get("hidden") is not None:
        return True
    classes = get("class")
    return _hidden_by(get("style"), classes) or _chrome_by(element, element.tag, get("role"), classes, get("id"))


@lru_cache(maxsize=8192)
def _chrome_names(names: str) -> bool:
    # Pages repeat the same class strings many times: decide each once.  A CSS-module
    # class's hash ("answer-card_body__Ad3kP") is not words: it is cut off first.
    words = (w.lower() for token in names.split() for w in _WORDS.findall(token.split("__", 1)[0]))
    return not _CHROME_WORDS.isdisjoint(words)


def _inside_content(element: HtmlElement) -> bool:
    return any(a.tag in ("article", "main") for a in element.iterancestors())


class _Writer:
    """Collects text with the strongest break requested between pieces."""

    __slots__ = ("_after_br", "parts", "pending")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0  # 0 nothing, 1 line break, 2 blank line
        self._after_br = False

    def brk(self, level: int) -> None:
        if self.parts and level > self.pending:
            self.pending = level

    def line_break(self) -> None:
        """``<br>``; a second one with no text between makes a paragraph break."""
        if self.parts:
            self.pending = 2 if self._after_br else max(self.pending, 1)
            self._after_br = True

    def text(self, text: str | None, pre: bool) -> None:
        if not text:
            return
        if pre:
            text = text.replace("\r\n", "\n").replace("\n", _PRE_NEWLINE).replace(" ", _PRE_SPACE).replace("\t", _PRE_SPACE * 4)
        elif text.isspace():
            if self.parts and not self.pending:
                self.parts.append(" ")
            return
        elif not text.isprintable() or "  " in text:
            # Newlines in the HTML source are spaces, not breaks: each run of whitespace is one space.
            words = " ".join(text.split())
            if not words.isprintable():  # a control between words (the parser keeps them) is a space too
                words = " ".join(scrub_controls(words).split())
            text = (" " if text[0].isspace() else "") + words + (" " if text[-1].isspace() else "")
        self._after_br = False
        if self.pending:
            self.parts.append("\n\n" if self.pending == 2 else "\n")
            self.pending = 0
        self.parts.append(text)


_LEVEL = {**dict.fromkeys(_LINE, 1), **dict.fromkeys(_PARAGRAPH, 2)}
_PRE_TAGS = frozenset(("pre", "textarea", "plaintext", "xmp"))


def _walk(element: HtmlElement, out: _Writer, skip: Callable[[HtmlElement], bool] | None, pre: bool, depth: int) -> None:
    tag = element.tag
    if not isinstance(tag, str) or tag in _NEVER_TEXT or depth > _MAX_DEPTH or (skip is not None and skip(element)):
        return
    if tag == "br":
        out.text("\n", True) if pre else out.line_break()
        return
    level = _LEVEL.get(tag, 0)
    if level:
        out.brk(level)
    elif tag in _CELL:
        out.text(" ", False)
    inner_pre = pre or tag in _PRE_TAGS
    text = element.text
    if text:
        out.text(text, inner_pre)
    depth += 1
    for child in element:
        _walk(child, out, skip, inner_pre, depth)
        tail = child.tail
        if tail:
            out.text(tail, inner_pre)
    if level:
        out.brk(level)


_BLANK_LINES = re.compile(r"\n{3,}")


def _lines(raw: str) -> str:
    """Collapse spaces on each line (not inside <pre>), trim lines, keep breaks."""
    if _PRE_SPACE in raw or _PRE_NEWLINE in raw:
        lines = [" ".join(line.split()).replace(_PRE_SPACE, " ").replace(_PRE_NEWLINE, "\n").rstrip() for line in raw.split("\n")]
    else:
        lines = [" ".join(line.split()) for line in raw.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def render_page(root: HtmlElement) -> str:
    """The page's visible text as a text render: one block a line, paragraphs apart."""
    body = root.find("body")
    out = _Writer()
    widgets = share_widgets(root)
    skip = (lambda e: e in widgets or _hidden_or_chrome(e)) if widgets else _hidden_or_chrome
    _walk(body if body is not None else root, out, skip, False, 0)
    return _lines("".join(out.parts))


# Links that share the page on a social network: what a share menu is made of, whatever its classes.
_SHARE_LINKS = etree.XPath(
    "//a[contains(@href, 'facebook.com/sharer') or contains(@href, 'twitter.com/intent') or contains(@href, 'twitter.com/share')"
    " or contains(@href, 'x.com/intent') or contains(@href, 'pinterest.com/pin/create') or contains(@href, 'linkedin.com/share')"
    " or contains(@href, 'reddit.com/submit') or contains(@href, 'api.whatsapp.com/send')]"
)


def share_widgets(root: HtmlElement) -> set[HtmlElement]:
    """The page's share menus: for each run of two or more share links, the largest ancestor whose
    text beyond them is a few words ("Share", "Copy link"), so the menu goes with its label."""
    links = _SHARE_LINKS(root)
    found: set[HtmlElement] = set()
    if len(links) < 2:
        return found
    for link in links:
        best = None
        for parent in link.iterancestors():
            own = [a for a in links if a is not link and contains(parent, a)]
            if not own:
                continue
            shared = sum(len(element_text(a)) for a in own) + len(element_text(link))
            if len(element_text(parent)) - shared > 30:
                break
            best = parent
        if best is not None:
            found.add(best)
    return found


def contains(outer: HtmlElement, inner: HtmlElement) -> bool:
    """Whether ``inner`` lies inside ``outer`` (strictly: an element does not contain itself)."""
    return any(a is outer for a in inner.iterancestors())


def link_targets(root: HtmlElement) -> dict[str, str]:
    """Visible link text -> href, first link wins: lets the text path recover a name's profile link."""
    targets: dict[str, str] = {}
    for link in root.iter("a"):
        href = link.get("href")
        if href:
            text = " ".join(link.text_content().split())
            if text and len(text) <= 120:
                targets.setdefault(text, href)
    return targets


def render_body(element: HtmlElement, exclude: Callable[[HtmlElement], bool] | None = None) -> str | None:
    """One post's body: paragraphs separated by a blank line, junk and chrome lines removed.

    ``exclude`` drops elements a site marks as not the author's text (site notices).
    """
    out = _Writer()
    within = getattr(exclude, "within", None)  # a site's BodyExclusion: match in this subtree only
    _walk(element, out, within(element) if within else exclude, False, 0)
    text = "".join(out.parts)
    paragraphs = []
    for paragraph in _lines(strip_template_junk(text)).split("\n\n"):
        # Code is content here (answers quote code): only widget leftovers go, never "code-like" lines.
        kept = [line for line in paragraph.split("\n") if line.strip() and (line.startswith(" ") or not is_chrome_line(line.strip()))]
        if kept:
            paragraphs.append("\n".join(kept))
    return "\n\n".join(paragraphs) or None


def element_text(element: HtmlElement) -> str:
    """All text of an element, whitespace collapsed (for names, titles, counts)."""
    text = etree.tostring(element, method="text", encoding="unicode", with_tail=False)
    words = " ".join(strip_template_junk(text).split())  # a third of the time of a \s+ substitution
    return words if words.isprintable() else " ".join(scrub_controls(words).split())
