"""Stack Exchange network pages (Stack Overflow, *.stackexchange.com, Super User, ...).

They publish schema.org QAPage microdata, which the generic structured-data
strategy reads; this adapter adds what microdata leaves out: the site notices
rendered inside post bodies, and the visible author card of community-wiki posts
(which carry no ``author`` microdata).  Facts: tests/fixtures/html/*stack*.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from scraper.extract.html.document import HtmlDocument
from scraper.sites.base import SiteProfile

__all__ = ["SITE"]

_REVISIONS = re.compile(r"^\d+\s+revs?\b", re.I)


def _own_cards(post: HtmlElement) -> list[HtmlElement]:
    """The post's signature cards, not those of answers nested inside a question's element."""
    cards = []
    for card in post.xpath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' post-signature ')]"):
        owner = next((a for a in card.iterancestors() if a.get("itemscope") is not None), None)
        if owner is post:
            cards.append(card)
    return cards


def author_card(post: HtmlElement, doc: HtmlDocument) -> tuple[str | None, str | None]:
    """(name, profile URL) from the last signature card that names a user (the owner or top editor)."""
    for card in reversed(_own_cards(post)):
        users = [a for a in card.iter("a") if "/users/" in (a.get("href") or "")]
        if users:
            link = users[-1]
            name = " ".join(link.text_content().split())
            if name:
                return name, doc.absolute(link.get("href"))
        for link in card.iter("a"):
            if "/revisions" in (link.get("href") or ""):
                name = " ".join((link.text or "").split())
                if name and not _REVISIONS.match(name):
                    return name, None
    return None, None


SITE = SiteProfile(
    name="stackexchange",
    version="1.0",
    description="Stack Exchange network question pages (schema.org microdata)",
    url_patterns=(
        re.compile(
            r"^https?://(?:[\w-]+\.)?(?:stackoverflow\.com|stackexchange\.com|superuser\.com|serverfault\.com|"
            r"askubuntu\.com|mathoverflow\.net|stackapps\.com)(?:[:/?#]|$)",
            re.I,
        ),
    ),
    html_signatures=(
        "//meta[@property='og:site_name'][contains(@content, 'Stack Overflow') or contains(@content, 'Stack Exchange')]",
        "//link[@rel='canonical'][contains(@href, 'stackoverflow.com') or contains(@href, 'stackexchange.com')]",
    ),
    body_exclude=("aside.js-post-notice", "aside.post-notice", ".js-post-notice"),
    author_card=author_card,
)
