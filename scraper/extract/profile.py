"""What a site adapter declares: how to recognise the site and the site's own words.

It lives in the extraction toolkit, not beside the adapters, so dependencies point
one way: adapters (``scraper.sites``) use the toolkit, and the pipeline is handed
the adapters (:class:`SiteChoice`) instead of importing them.

An adapter is mostly data: URL patterns, content signatures, the footer that
ends the answers, the specialty vocabulary of its authors, the elements inside
a post body that are the site's and not the author's.  Where data is not
enough (RealSelf's review pages, Stack Exchange's community-wiki cards) it
names a small function in its own folder.  Extractors read these fields and
never branch on a site's name, so adding a site is adding an adapter, not
editing the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from scraper.extract.vocabulary import SpecialtyVocabulary

if TYPE_CHECKING:
    from scraper.extract.html.document import HtmlDocument
    from scraper.extract.partial import PartialPage, QuestionField

__all__ = ["ANSWERS_HEADING", "BodyExclusion", "SiteChoice", "SiteProfile"]

# "Doctor Answers 5", "5 Answers", "Answers (5)", "Expert answers: 5".
ANSWERS_HEADING = re.compile(
    r"(?:(?:doctor|expert|physician)s?\s+)?answers?\s*[:(]?\s*(?P<n>\d[\d,]*)\s*\)?"
    r"|(?P<n2>\d[\d,]*)\s+(?:(?:doctor|expert|physician)s?\s+)?answers?",
    re.I,
)

# A selector with a combinator ("div.post aside") depends on ancestors outside a post body.
_COMBINATOR = re.compile(r"[\s>+~]")
_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)")


class BodyExclusion:
    """The elements of one page that a site's ``body_exclude`` selectors match.

    Called with an element, says whether it is excluded.  Matching every selector over
    the whole page costs a walk of the tree per selector, so a body renderer first calls
    :meth:`within` with the body's element: selectors that only look at the element
    itself are then matched in that subtree alone (the same elements, far fewer visited);
    selectors with a combinator are matched once over the page.  Elements that are not in
    the page (a body parsed from an HTML string) are never excluded.
    """

    def __init__(self, selectors: tuple[CSSSelector, ...], root: HtmlElement) -> None:
        self._root = root
        self._local = tuple(s for s in selectors if not _COMBINATOR.search(_BRACKETED.sub("", s.css).strip()))
        self._global = tuple(s for s in selectors if s not in self._local)
        self._matched: set[HtmlElement] | None = None
        self._searched: set[HtmlElement] = set()

    def within(self, element: HtmlElement) -> Callable[[HtmlElement], bool]:
        """The test, ready for the elements of ``element``'s subtree."""
        if self._matched is None:
            self._matched = {e for selector in self._global for e in selector(self._root)}
        if element not in self._searched and element.getroottree().getroot() is self._root:
            self._searched.add(element)
            self._matched.update(e for selector in self._local for e in selector(element))
        return self._matched.__contains__

    def __call__(self, element: HtmlElement) -> bool:
        """Whether ``element`` is excluded (matching over the whole page, once)."""
        return self.within(self._root)(element)


PageExtractor = Callable[["HtmlDocument"], "PartialPage | None"]
AuthorCard = Callable[[HtmlElement, "HtmlDocument"], "tuple[str | None, str | None]"]


@dataclass(frozen=True)
class SiteProfile:
    """A site's declarative description, read by the extractors."""

    name: str
    version: str
    description: str = ""
    url_patterns: tuple[re.Pattern[str], ...] = ()
    """A page URL matching any of these belongs to the site."""
    text_signatures: tuple[re.Pattern[str], ...] = ()
    """Text that only this site's pages show; used for text renders with no URL."""
    html_signatures: tuple[str, ...] = ()
    """XPath expressions; an HTML page where one of them finds something belongs to the site."""
    footer_patterns: tuple[re.Pattern[str], ...] = ()
    """A line starting with a match of one of these ends the answers: the site's disclaimer."""
    specialties: SpecialtyVocabulary = field(default_factory=lambda: SpecialtyVocabulary(()))
    text_layout: bool = False
    """The page's visible text follows a layout the text-render extractor knows, so it may
    supply the answer list on its own (RealSelf). Otherwise visible text only fills gaps."""
    body_exclude: tuple[str, ...] = ()
    """CSS selectors of elements inside a post body that are the site's, not the author's."""
    meta_fields: tuple[tuple[QuestionField, str], ...] = ()
    """(record field, meta property or name) pairs read from ``<meta>`` tags, e.g. the topic."""
    page_extractor: PageExtractor | None = None
    """Site-specific selectors for pages the generic strategies cannot read (review pages)."""
    author_card: AuthorCard | None = None
    """Reads a post's visible author card when its structured data names no author."""
    record_site: bool = True
    """Whether records name this adapter in ``site`` (the generic adapter does not)."""
    read_structure: bool = False
    """The adapter's pages are read from their repeated post blocks (a forum engine, a comment
    site): the page-structure reader always runs, and its answers carry no
    ``read_generically`` warning, since the engine is known."""
    base_url: str | None = None
    """The site's root, which relative URIs in its discovery results are joined to."""
    discovery_sitemap: str | None = None
    """The site's sitemap (or sitemap index), for ``scraper crawl --discover SITE``."""
    discovery_search: str | None = None
    """The site's search API as a template with {query}, {offset}, {size}; its JSON answer
    holds result objects with a ``uri``/``url`` (see discovery.py)."""
    question_pattern: str | None = None
    """A regex of the site's question-page URLs: discovery keeps only these."""

    def matches_url(self, url: str) -> bool:
        return any(p.search(url) for p in self.url_patterns)

    def matches_text(self, text: str) -> bool:
        return any(p.search(text) for p in self.text_signatures)

    def matches_html(self, root: HtmlElement) -> bool:
        return any(bool(path(root)) for path in self._signature_paths)

    @cached_property
    def _signature_paths(self) -> tuple[etree.XPath, ...]:
        """The signatures compiled once: on a small page compiling them cost more than running them."""
        return tuple(etree.XPath(x) for x in self.html_signatures)

    @cached_property
    def _exclude(self) -> tuple[CSSSelector, ...]:
        return tuple(CSSSelector(s) for s in self.body_exclude)

    def exclusion(self, root: HtmlElement) -> BodyExclusion | None:
        """A test for the elements under ``root`` that are site chrome inside a post body."""
        if not self._exclude:
            return None
        return BodyExclusion(self._exclude, root)

    def footer_start(self, text: str) -> int | None:
        """Offset of the line where the site's closing footer starts, if the text has one.

        A footer counts only at the start of a line, so a doctor quoting the
        disclaimer inside an answer does not end the page.
        """
        first: int | None = None
        for pattern in self.footer_patterns:
            for found in pattern.finditer(text):
                line_start = text.rfind("\n", 0, found.start()) + 1
                if not text[line_start : found.start()].strip():
                    first = line_start if first is None else min(first, line_start)
                    break
        return first



@dataclass(frozen=True)
class SiteChoice:
    """What the HTML pipeline is handed about the adapters, so it never imports them.

    ``detect_html`` names an HTML page's site from its URL, its markup, or its
    visible text (a callable, computed only if needed); ``generic`` is the
    adapter for text layouts of no known site.
    """

    generic: SiteProfile
    detect_html: Callable[[str | None, HtmlElement, Callable[[], str] | None], SiteProfile]
