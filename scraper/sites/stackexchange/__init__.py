"""Stack Exchange network pages (Stack Overflow, *.stackexchange.com, Super User, ...).

They publish schema.org QAPage microdata, which the generic structured-data
strategy reads; this adapter adds what microdata leaves out: the site notices
rendered inside post bodies, and the visible author card of community-wiki posts
(which carry no ``author`` microdata).  Facts: tests/fixtures/html/*stack*.
"""

from __future__ import annotations

import re
from typing import cast

from lxml import etree
from lxml.html import HtmlElement

from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.select import class_tokens
from scraper.extract.profile import SiteProfile

__all__ = ["SITE"]

_REVISIONS = re.compile(r"^\d+\s+revs?\b", re.I)


# The class attributes of divs that contain the word (an attribute step with a cheap contains()
# is the fastest search libxml2 offers); the token test is then made on those few in Python.
_SIGNATURE_CLASSES = etree.XPath("//div/@class[contains(., 'post-signature')]")


def _signatures(root: HtmlElement) -> list[HtmlElement]:
    """``div.post-signature`` elements, in document order (``str(value)``: the token cache must
    not keep an attribute result, and with it the page, alive)."""
    return [value.getparent() for value in _SIGNATURE_CLASSES(root) if "post-signature" in class_tokens(str(value))]


def _cards_by_post(doc: HtmlDocument) -> dict[HtmlElement, list[HtmlElement]]:
    """Every signature card of the page under the post it belongs to (its nearest item), found
    in one search of the page rather than one per post (a question's element holds its answers)."""
    cached = cast("dict[HtmlElement, list[HtmlElement]] | None", doc.memo.get(__name__))
    if cached is None:
        cached = {}
        for card in _signatures(doc.root):
            owner = next((a for a in card.iterancestors() if a.get("itemscope") is not None), None)
            if owner is not None:
                cached.setdefault(owner, []).append(card)
        doc.memo[__name__] = cached
    return cached


def _own_cards(post: HtmlElement, doc: HtmlDocument) -> list[HtmlElement]:
    """The post's signature cards, not those of answers nested inside a question's element."""
    if post.getroottree().getroot() is not doc.root:
        return []
    return _cards_by_post(doc).get(post, [])


_USER = re.compile(r"/users/\d+")


def _own_user_links(post: HtmlElement) -> list[HtmlElement]:
    """The post's links to users (and to its revisions) outside its text, its comments
    (``id="comment-N"``) and the posts nested in it: its signature cards' links, found
    without their class names."""
    found = []
    for link in post.iter("a"):
        href = link.get("href") or ""
        if not (_USER.search(href) or "/revisions" in href):
            continue
        owner = next((a for a in link.iterancestors() if a.get("itemscope") is not None or a.get("itemprop") == "text"
                      or (a.get("id") or "").startswith("comment")), None)
        if owner is post:
            found.append(link)
    return found


def author_card(post: HtmlElement, doc: HtmlDocument) -> tuple[str | None, str | None]:
    """(name, profile URL) from the last signature card that names a user (the owner or top editor);
    without the cards' class names, from the last user link of the post outside its text and comments."""
    cards = _own_cards(post, doc)
    if not cards and post.getroottree().getroot() is doc.root:
        links = _own_user_links(post)
        users = [a for a in links if _USER.search(a.get("href") or "") and " ".join(a.text_content().split())]
        if users:
            return " ".join(users[-1].text_content().split()), doc.absolute(users[-1].get("href"))
        # A deleted user's name is only the text of the post's revisions link ("moritz", not "3 revs").
        named = [n for n in (" ".join((a.text or "").split()) for a in links) if n and not _REVISIONS.match(n)]
        if named:
            return named[-1], None
    for card in reversed(cards):
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
    body_exclude=("aside", ".js-post-notice"),  # (site notices are <aside>s in the post: "Locked", "already has answers here")
    author_card=author_card,
)
