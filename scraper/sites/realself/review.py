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

from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.visible import element_text, render_body
from scraper.extract.partial import PartialPage
from scraper.extract.vocabulary import SpecialtyVocabulary, split_location_specialty
from scraper.sites.realself import selectors as S

__all__ = ["review_extractor"]

_ELLIPSIS = re.compile(r"(?:\.\.\.|\u2026)$")


@lru_cache(maxsize=64)
def _compiled(selector: str) -> CSSSelector:
    return CSSSelector(selector)


def _select(root: HtmlElement, selector: str) -> list[HtmlElement]:
    return _compiled(selector)(root)


def _first_text(root: HtmlElement, selector: str) -> str | None:
    found = _select(root, selector)
    return (element_text(found[0]) or None) if found else None


def _verdict(view: HtmlElement) -> str | None:
    for item in _select(view, S.BYLINE_ITEMS):
        for use in item.iter("{*}use", "use"):
            href = use.get("{http://www.w3.org/1999/xlink}href") or use.get("xlink:href") or use.get("href") or ""
            for icon, verdict in S.VERDICT_ICONS.items():
                if href.endswith("#" + icon):
                    return verdict
    return None


def _entry_paragraphs(entry: HtmlElement) -> list[str]:
    full = _select(entry, S.ENTRY_FULL_TEXT)
    text_element = full[0] if full else next(iter(_select(entry, S.ENTRY_TEXT)), None)
    text = render_body(text_element) if text_element is not None else None
    title = _first_text(entry, S.ENTRY_TITLE)
    parts = []
    # An entry title that is only an excerpt of the entry's first words ("Where to begin. I had...") is not kept.
    if title and not (_ELLIPSIS.search(title) and text and _words(text).startswith(_words(_ELLIPSIS.sub("", title)))):
        parts.append(title)
    if text:
        parts.append(text)
    return parts


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _provider(provider: HtmlElement | None, doc: HtmlDocument, vocabulary: SpecialtyVocabulary) -> dict[str, str | None]:
    if provider is None:
        return {}
    cards = _select(provider, S.CARD_BODY)
    if not cards:
        card = _select(provider, S.CARD)
        return {"provider_name": (element_text(card[0]) or None) if card else None}
    card = cards[0]
    line = _first_text(card, S.CARD_LINE)
    links = _select(card, S.CARD_NAME_LINK)
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


def _containers(doc: HtmlDocument) -> dict[str, HtmlElement]:
    return doc.elements_by_id(S.REVIEW_VIEW, S.REVIEW_ENTRIES, S.PROVIDER)


def review_extractor(vocabulary: SpecialtyVocabulary):  # type: ignore[no-untyped-def]
    """A page extractor for RealSelf review pages, bound to the site's vocabulary."""

    def extract(doc: HtmlDocument) -> PartialPage | None:
        containers = _containers(doc)
        view = containers.get(S.REVIEW_VIEW)
        if view is None:
            return None
        entries = containers.get(S.REVIEW_ENTRIES)
        provider = containers.get(S.PROVIDER)
        paragraphs = [p for entry in (_select(entries, S.ENTRY) if entries is not None else []) for p in _entry_paragraphs(entry)]
        comment = [c for c in _select(provider, S.PROVIDER_COMMENT) if c.getparent() is provider] if provider is not None else []
        if comment:
            text = render_body(comment[0])
            if text:
                paragraphs.append(text)
        return PartialPage(
            strategy="site-selectors",
            title=_first_text(view, S.TITLE),
            body="\n\n".join(paragraphs) or None,
            author=_first_text(view, S.AUTHOR),
            kind="review",
            answers=[],  # doctor replies are loaded on click: none is in the page
            review={"verdict": _verdict(view), "cost": _first_text(view, S.COST), **_provider(provider, doc, vocabulary)},
        )

    return extract
