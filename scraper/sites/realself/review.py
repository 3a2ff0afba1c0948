"""RealSelf review pages: the patient's post as the question, its verdict, cost and provider.

Generic strategies cannot read these pages: the full text of each entry is
in an element hidden until "SHOW MORE" is clicked, and the provider card's
"City Specialty" line needs the site's specialty vocabulary.  Selectors are in
``selectors.py``; this module only applies them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from scraper.extract.clean import word_key
from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.select import SubtreeIndex, compile_selector
from scraper.extract.html.visible import element_text, render_body
from scraper.extract.partial import PartialPage
from scraper.extract.profile import PageExtractor
from scraper.extract.vocabulary import SpecialtyVocabulary, split_location_specialty
from scraper.sites.realself import selectors as S

__all__ = ["review_extractor"]

_ELLIPSIS = re.compile(r"(?:\.\.\.|\u2026)$")


@lru_cache(maxsize=64)
def _compiled(selector: str) -> CSSSelector:
    return CSSSelector(selector)


class _Containers:
    """The page's three containers, each walked at most once (on its first class selector) so
    that the selectors applied inside it are matched from one index (see ``select.py``) instead
    of each walking the container again; a selector outside that subset goes to ``CSSSelector``.
    A selector is matched in the innermost container that holds its context (the review view
    holds the entries and the provider card: their class walks stay within them)."""

    def __init__(self) -> None:
        self.indexes: list[SubtreeIndex] = []

    def add(self, container: HtmlElement | None) -> HtmlElement | None:
        if container is not None and all(index.root is not container for index in self.indexes):
            self.indexes.insert(0, SubtreeIndex(container))  # added outermost first: innermost first here
        return container


_NO_INDEX = _Containers()


def _select(root: HtmlElement, selector: str, containers: _Containers = _NO_INDEX) -> list[HtmlElement]:
    compiled = compile_selector(selector)
    if compiled is not None:
        for index in containers.indexes:
            if index.covers(root):
                return index.select(compiled, root)
    return list(_compiled(selector)(root))


def _first_text(root: HtmlElement, selector: str, containers: _Containers = _NO_INDEX) -> str | None:
    found = _select(root, selector, containers)
    return (element_text(found[0]) or None) if found else None


def _verdict(view: HtmlElement, containers: _Containers) -> str | None:
    # Without the byline's classes the icon is still named: any icon of the view will do.
    for item in _select(view, S.BYLINE_ITEMS, containers) or [view]:
        for use in item.iter("{*}use", "use"):
            href = use.get("{http://www.w3.org/1999/xlink}href") or use.get("xlink:href") or use.get("href") or ""
            for icon, verdict in S.VERDICT_ICONS.items():
                if href.endswith("#" + icon):
                    return verdict
    return None


def _longest_text(entry: HtmlElement) -> HtmlElement | None:
    """The entry's text without its classes: the innermost block holding the most text (the full
    text beside its truncated copy, which is shorter by what "SHOW MORE" hides)."""
    blocks = [d for d in entry.iter("div") if next(d.iterdescendants("div", "ul"), None) is None]
    best = max(blocks, key=lambda d: len(element_text(d)), default=None)
    return best if best is not None and element_text(best) else None


def _first_or(root: HtmlElement, selector: str, fallback: str, containers: _Containers) -> str | None:
    """The selector's first text, else the class-free fallback's (a redesign that renames classes)."""
    return _first_text(root, selector, containers) or _first_text(root, fallback)


def _entries(entries: HtmlElement, containers: _Containers) -> list[HtmlElement]:
    found = _select(entries, S.ENTRY, containers)
    return found or [c for c in entries if isinstance(c.tag, str) and (c.get("id") or "").startswith(S.ENTRY_ID_PREFIX)]


def _card_body(provider: HtmlElement) -> HtmlElement | None:
    """The provider card's text column without classes: the block's first child is the card, an
    image beside a column of name and "City Specialty" lines."""
    card = next((c for c in provider if isinstance(c.tag, str)), None)
    parts = [c for c in card if isinstance(c.tag, str)] if card is not None and card.tag == "div" else []
    return parts[-1] if len(parts) >= 2 and next(parts[-1].iter("a"), None) is not None else None


def _card_line(body: HtmlElement) -> str | None:
    lines = [c for c in body if isinstance(c.tag, str)]
    last = lines[-1] if len(lines) >= 2 else None
    return (element_text(last) or None) if last is not None and next(last.iter("a"), None) is None else None


def _entry_paragraphs(entry: HtmlElement, containers: _Containers) -> list[str]:
    full = _select(entry, S.ENTRY_FULL_TEXT, containers) or _select(entry, S.ENTRY_TEXT, containers)
    text_element = full[0] if full else _longest_text(entry)
    text = render_body(text_element) if text_element is not None else None
    title = _first_text(entry, S.ENTRY_TITLE, containers)
    parts = []
    # An entry title that is only an excerpt of the entry's first words ("Where to begin. I had...") is not kept.
    if title and not (_ELLIPSIS.search(title) and text and word_key(text).startswith(word_key(_ELLIPSIS.sub("", title)))):
        parts.append(title)
    if text:
        parts.append(text)
    return parts


def _provider(
    provider: HtmlElement | None, doc: HtmlDocument, vocabulary: SpecialtyVocabulary, containers: _Containers
) -> dict[str, str | None]:
    if provider is None:
        return {}
    cards = _select(provider, S.CARD_BODY, containers)
    structural = _card_body(provider) if not cards and not _select(provider, S.CARD, containers) else None
    named = _select(provider, S.CARD, containers) if not cards and structural is None else []
    card = cards[0] if cards else structural if structural is not None else named[0] if named else None
    if card is None:
        return {"provider_name": None}
    line = _first_text(card, S.CARD_LINE, containers) if cards or named else _card_line(card)
    # The name's link, not the avatar's beside it (a card without its text column holds both).
    links = sorted(_select(card, S.CARD_NAME_LINK, containers), key=lambda a: not element_text(a))
    name = element_text(links[0]) if links else None
    if not name:
        rest = element_text(card).replace(line or "", "", 1).strip()
        name = rest or None
    split = split_location_specialty(line, vocabulary) if line else None
    return {
        "provider_name": name or None,
        "provider_location": split[0] if split else None,
        "provider_specialty": split[1] if split else None,
        "provider_profile_url": doc.absolute(links[0].get("href")) if links else None,
    }


def _provider_comment(provider: HtmlElement | None, containers: _Containers) -> list[HtmlElement]:
    """The patient's words on the provider: in the provider block, outside the provider's card
    (at any depth: a wrapper more or less around it is the same page)."""
    if provider is None:
        return []
    cards = set(_select(provider, S.CARD, containers))
    found = [c for c in _select(provider, S.PROVIDER_COMMENT, containers) if not any(a in cards for a in c.iterancestors())]
    return found or [p for p in provider.iter("p") if element_text(p)][:1]


def _containers(doc: HtmlDocument) -> dict[str, HtmlElement]:
    return doc.elements_by_id(S.REVIEW_VIEW, S.REVIEW_ENTRIES, S.PROVIDER)


def review_extractor(vocabulary: SpecialtyVocabulary) -> PageExtractor:
    """A page extractor for RealSelf review pages, bound to the site's vocabulary."""

    def extract(doc: HtmlDocument) -> PartialPage | None:
        found = _containers(doc)
        view = found.get(S.REVIEW_VIEW)
        if view is None:
            return None
        indexed = _Containers()
        indexed.add(view)
        entries = indexed.add(found.get(S.REVIEW_ENTRIES))
        provider = indexed.add(found.get(S.PROVIDER))
        paragraphs = [
            p for entry in (_entries(entries, indexed) if entries is not None else []) for p in _entry_paragraphs(entry, indexed)
        ]
        comment = _provider_comment(provider, indexed)
        if comment:
            text = render_body(comment[0])
            if text:
                paragraphs.append(text)
        return PartialPage(
            strategy="site-selectors",
            title=_first_text(view, S.TITLE, indexed),
            body="\n\n".join(paragraphs) or None,
            author=_first_or(view, S.AUTHOR, S.AUTHOR_ANYWHERE, indexed),
            kind="review",
            answers=[],  # doctor replies are loaded on click: none is in the page
            review={
                "verdict": _verdict(view, indexed),
                "cost": _first_or(view, S.COST, S.COST_ANYWHERE, indexed),
                **_provider(provider, doc, vocabulary, indexed),
            },
        )

    return extract
