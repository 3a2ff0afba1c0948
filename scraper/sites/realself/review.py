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
    for item in _select(view, S.BYLINE_ITEMS, containers):
        for use in item.iter("{*}use", "use"):
            href = use.get("{http://www.w3.org/1999/xlink}href") or use.get("xlink:href") or use.get("href") or ""
            for icon, verdict in S.VERDICT_ICONS.items():
                if href.endswith("#" + icon):
                    return verdict
    return None


def _entry_paragraphs(entry: HtmlElement, containers: _Containers) -> list[str]:
    full = _select(entry, S.ENTRY_FULL_TEXT, containers)
    text_element = full[0] if full else next(iter(_select(entry, S.ENTRY_TEXT, containers)), None)
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
    if not cards:
        card = _select(provider, S.CARD, containers)
        return {"provider_name": (element_text(card[0]) or None) if card else None}
    card = cards[0]
    line = _first_text(card, S.CARD_LINE, containers)
    links = _select(card, S.CARD_NAME_LINK, containers)
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
    return [c for c in _select(provider, S.PROVIDER_COMMENT, containers) if not any(a in cards for a in c.iterancestors())]


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
            p for entry in (_select(entries, S.ENTRY, indexed) if entries is not None else []) for p in _entry_paragraphs(entry, indexed)
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
            author=_first_text(view, S.AUTHOR, indexed),
            kind="review",
            answers=[],  # doctor replies are loaded on click: none is in the page
            review={
                "verdict": _verdict(view, indexed),
                "cost": _first_text(view, S.COST, indexed),
                **_provider(provider, doc, vocabulary, indexed),
            },
        )

    return extract
