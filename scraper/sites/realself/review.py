"""RealSelf review pages: the patient's post as the question, its verdict, cost and provider.

Generic strategies cannot read these pages: the full text of each entry is
in an element hidden until "SHOW MORE" is clicked, and the provider card's
"City Specialty" line needs the site's specialty vocabulary.  Selectors are in
``selectors.py``; this module only applies them.
"""

from __future__ import annotations

import re

from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.visible import element_text, render_body
from scraper.extract.partial import PartialPage
from scraper.extract.vocabulary import SpecialtyVocabulary, split_location_specialty
from scraper.sites.realself import selectors as S

__all__ = ["review_extractor"]

_ELLIPSIS = re.compile(r"(?:\.\.\.|\u2026)$")


def _select(root: HtmlElement, selector: str) -> list[HtmlElement]:
    return CSSSelector(selector)(root)


def _first_text(root: HtmlElement, selector: str) -> str | None:
    found = _select(root, selector)
    return (element_text(found[0]) or None) if found else None


def _verdict(root: HtmlElement) -> str | None:
    for item in _select(root, S.REVIEW_BYLINE_ITEMS):
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


def _provider(root: HtmlElement, doc: HtmlDocument, vocabulary: SpecialtyVocabulary) -> dict[str, str | None]:
    cards = _select(root, S.PROVIDER_CARD_BODY)
    if not cards:
        provider = _select(root, S.PROVIDER)
        name = None
        if provider:
            card = provider[0].find_class("Media--providerCard")
            name = element_text(card[0]) if card else None
        return {"provider_name": name or None}
    card = cards[0]
    line = _first_text(card, S.PROVIDER_LINE)
    links = _select(card, S.PROVIDER_NAME_LINK)
    name = element_text(links[0]) if links else None
    if not name:
        texts = [t for t in (element_text(card).replace(line or "", "", 1),) if t.strip()]
        name = texts[0].strip() if texts else None
    split = split_location_specialty(line, vocabulary) if line else None
    return {
        "provider_name": name or None,
        "provider_location": split[0] if split else None,
        "provider_specialty": split[1] if split else None,
        "provider_profile_url": doc.absolute(links[0].get("href")) if links else None,
    }


def review_extractor(vocabulary: SpecialtyVocabulary):  # type: ignore[no-untyped-def]
    """A page extractor for RealSelf review pages, bound to the site's vocabulary."""

    def extract(doc: HtmlDocument) -> PartialPage | None:
        root = doc.root
        if not _select(root, S.REVIEW_ROOT):
            return None
        paragraphs = [p for entry in _select(root, S.ENTRIES) for p in _entry_paragraphs(entry)]
        comment = _select(root, S.PROVIDER_COMMENT)
        if comment:
            text = render_body(comment[0])
            if text:
                paragraphs.append(text)
        cost = _first_text(root, S.REVIEW_COST)
        return PartialPage(
            strategy="site-selectors",
            title=_first_text(root, S.REVIEW_TITLE),
            body="\n\n".join(paragraphs) or None,
            author=_first_text(root, S.REVIEW_AUTHOR),
            kind="review",
            answers=[],  # doctor replies are loaded on click: none is in the page
            review={"verdict": _verdict(root), "cost": cost, **_provider(root, doc, vocabulary)},
        )

    return extract
