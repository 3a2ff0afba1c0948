"""The Python selector subset (scraper/extract/html/select.py) matches what lxml's CSSSelector
matches: the same elements in the same order, from the same context, on the real fixtures and on
made trees with the traps (nested containers, odd whitespace in class values, a context inside
the indexed subtree)."""

from __future__ import annotations

import lxml.html
import pytest
from lxml import etree
from lxml.cssselect import CSSSelector

from scraper.extract.html.document import parse_html
from scraper.extract.html.select import SubtreeIndex, compile_selector
from scraper.sites.realself import selectors as S
from tests.conftest import FIXTURES

PAGES = sorted((FIXTURES / "html").glob("*/page.html"))
SELECTORS = [
    S.TITLE, S.AUTHOR, S.BYLINE_ITEMS, S.COST, S.ENTRY, S.ENTRY_TITLE, S.ENTRY_FULL_TEXT, S.ENTRY_TEXT,
    S.CARD, S.CARD_BODY, S.CARD_NAME_LINK, S.CARD_LINE, S.PROVIDER_COMMENT,
    "aside.js-post-notice", ".js-post-notice", "div", "*", "a", "div > a", "div a[href]", "li > a[href^='/user']",
    ".post-signature", "div.post-signature a", "[itemprop]", "[itemprop='text']", "[class] > [class]",
    "ul.Content-byline > li a", "div div div", "*.a.b", "p > span.x",
]


def _same(index: SubtreeIndex, css: str, context: etree._Element) -> None:
    compiled = compile_selector(css)
    assert compiled is not None, css
    assert index.select(compiled, context) == CSSSelector(css)(context), (css, context.tag, context.get("class"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.parent.name[:40])
def test_fixture_pages_match_cssselect(page) -> None:  # type: ignore[no-untyped-def]
    doc = parse_html(page.read_bytes())
    body = doc.root.find("body")
    contexts = [doc.root]
    contexts += [e for e in doc.root.iter(etree.Element) if e.get("id") in (S.REVIEW_VIEW, S.REVIEW_ENTRIES, S.PROVIDER)]
    contexts += list(doc.root.iter("ul"))[:5] + [e for e in doc.root.iter(etree.Element) if e.get("class")][::97][:8]
    if body is not None:
        contexts.append(body)
    index = SubtreeIndex(doc.root)
    for css in SELECTORS:
        for context in contexts:
            _same(index, css, context)
    # An index made for a container answers for contexts inside it.
    for container in contexts[1:4]:
        inner = SubtreeIndex(container)
        for context in [container, *list(container.iter(etree.Element))[1::50]]:
            for css in SELECTORS:
                _same(inner, css, context)


MADE = """<html><body>
<div class="a  b\tc" id="r"><ul class="Content-byline"><li>1<ul class="Content-byline"><li>2<a href="/user/x">x</a></li></ul></li>
<li>3<rs-currency>$1</rs-currency></li></ul>
<div class="a\x0cb"><p class="x"><span class="x">s</span></p></div>
<div class="
a
b"><div><div><a href="/user/y">y</a><a>no href</a></div></div></div>
<p class="review-entry"><span class="review-entry"><h3>t</h3></span></p>
<section class="A b"><div class="a"><div class="b"><a href="/users/1">u</a></div></div></section>
</div></body></html>"""


def test_made_tree_traps_match_cssselect() -> None:
    root = lxml.html.document_fromstring(MADE)
    contexts = [root, *root.iter(etree.Element)]
    index = SubtreeIndex(root)
    for css in SELECTORS + [".a", ".b", ".c", ".a.b", "div.a > div", ".A", ".a .b a", ".review-entry h3", ".review-entry > h3",
                            ".Content-byline li", ".Content-byline > li > a", "section div", "section > div.a > .b > a[href^='/users/']"]:
        for context in contexts:
            _same(index, css, context)


@pytest.mark.parametrize("css", ["a, b", "a + b", "a ~ b", "#x", "a:first-child", "a[href~='x']", "a[href$='x']", "::text", "", "> a", "a >", "a[href^='']"])
def test_outside_the_subset_is_left_to_cssselect(css: str) -> None:
    assert compile_selector(css) is None
