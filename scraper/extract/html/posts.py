"""Answers found from the page's structure: the repeated post containers of a thread.

A forum thread, a Q&A page or a comment page shows its posts as the same element
shape repeated, each holding a body and an author cluster (a link to the
author's profile, a date, a vote count).  This reader finds that repetition
without looking at class names, which every redesign renames:

1. *Author links* are links whose URL has the shape of a profile on every
   engine we know (``/u/name``, ``/users/12/name``, ``/members/x.81656/``,
   ``memberlist.php?mode=viewprofile&u=2``, ``/people/x``, ``user?id=x``), or
   elements marked ``rel=author`` / ``itemprop=author``.
2. Every ancestor of an author link is a *member* of the group of its parent's
   children with the same tag.  A group with two or more members whose own
   text is prose (not a list of links) is a post list; nested groups (comments
   under an answer, quotes) are inside one member of an outer group and lose.
3. The question is a post before the list, outside it, with its own author and
   text (a Q&A page, a link post with comments); failing that, the list's first
   member (a forum thread, whose opening post is the question).

Each member is read on its own: the author is its first own author link, the
body its largest author-free block, the date the first ``<time>`` or date
text outside the body, votes a number the page labels as votes, likes or points.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from scraper.extract.dates import parse_date
from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.structured import iso_date
from scraper.extract.html.visible import contains, element_text, render_body
from scraper.extract.numbers import count_from_text
from scraper.extract.partial import PartialAnswer, PartialPage

__all__ = ["TextSizes", "Thread", "address_refusal", "author_links", "find_thread", "structure_partial", "thread_page"]

# Profile URL shapes of the engines and sites we know, matched on path and query.
_PROFILE_PATH = re.compile(
    r"(?:^|/)(?:u|user|users|member|members|profile|profiles|people|author|authors|benutzer|mitglied|usercenter|"
    r"space-uid-\d+\.html|home\.php|forum/member\.php|member\.php|showuser|index\.php/user)(?:/|\.php|\.html|$|\?|=)",
    re.I,
)
# (SMF separates its query with ";": index.php?action=profile;u=12; DWQA links ?user=name.)
_PROFILE_QUERY = re.compile(r"(?:^|[&;])(?:mode=viewprofile|showuser=|uid=\w|userid=\d|user_id=\d|u=\d|user=[\w.%-]+$|id=[\w-]+$)", re.I)
# Links under these path words are the site's, not a person's ("/users/login", "/u/?sort").
_NOT_A_PERSON = re.compile(r"(?:^|/)(?:login|logout|signup|sign_up|register|edit|settings|search|preferences|activity/?\w*)(?:/|$|\?|\.php)", re.I)
_MAYBE_PERSON = re.compile(r"u/|user|member|profile|people|author|uid|space|home|benutzer|mitglied|[?&;]u=|[?&;]id=", re.I)
_PERSONISH = re.compile(r"member|user|profile|space|home", re.I)
_SKIP_TAGS = frozenset(("script", "style", "noscript", "template", "head", "nav", "svg", "button", "select"))
_PROSE_TAGS = frozenset(("p", "pre", "blockquote", "ul", "ol", "dl", "table", "h2", "h3", "h4", "h5", "h6", "br"))
_BLOCK_TAGS = frozenset(("p", "pre", "blockquote", "ul", "ol", "br", "table", "h2", "h3", "h4", "h5", "h6", "img", "code"))
_MIN_OWN_TEXT = 12
"""Characters of text outside links a member needs to be a post (a one-word reply "Thanks!" is short, a menu has none)."""
_MIN_LIST_TEXT = 60
_MIN_POST_TEXT = 24
"""A list where no member says this much beyond its links is rows of metadata ("282 points by
pg 2 hours ago | 172 comments": a front page), not posts."""
# "12 points", "5 likes", "3 votes", "1.2k upvotes", "赞同 2.9K", "42 Punkte".
_VOTE_TEXT = re.compile(
    r"^(?:(?P<n>[+-]?\d[\d,.]*\s*[kKmM万]?)\s*(?:points?|votes?|likes?|upvotes?|score|Punkte?|个赞|赞同|人赞同|(?:persons?|people)\s+likes?\s+this\.?)"
    r"|(?:赞同|likes?|votes?|score|points?)\s*:?\s*(?P<n2>[+-]?\d[\d,.]*\s*[kKmM万]?))$",
    re.I,
)
_VOTE_WORDS = re.compile(r"(?:\b|_)(?:up)?vote|\b(?:score|points?|likes?|karma)\b|赞", re.I)
_NUMBER = re.compile(r"^[+-]?\d[\d,.]*\s*[kKmM万]?$")
_INDENT_STYLE = re.compile(r"(?:padding|margin)-left\s*:\s*(\d+)px", re.I)
_LEVEL_TEXT = re.compile(r"^level\s+(\d+)$", re.I)
_ANSWER_LINK = re.compile(r"/answers?/\d|/answer/[\w-]+|[#?&/]answer[-_=]?\d|/a/\d+", re.I)
_ANSWERS_COUNT = re.compile(
    r"^\s*(?:\d[\d,.]*\s*(?:个回答|條回答|条回答|answers?|Antworten|réponses|respuestas|respostas|risposte|antwoorden|odpowiedzi|回答)|"
    r"(?:answers?|Antworten|réponses|respuestas)\s*[:(]?\s*\d[\d,.]*\s*\)?)\s*$",
    re.I,
)
_PAGE_OF = re.compile(
    r"^\s*(?:page|seite|página|pagina|strona|sida|side|sivu|страница|第)\s*(\d+)\s*(?:of|von|de|di|z|av|af|/|из|页，共|页/共)\s*(\d+)\s*页?\s*$",
    re.I,
)
_STARS = re.compile(r"^(?:\d(?:[.,]\d)?\s*/\s*5|[★☆]{5}|\d(?:[.,]\d)?\s+(?:out of|von|de|z|su|sur|из)\s+5(?:\s+\w+)?)$", re.I)
_STARS_LABEL = re.compile(r"\b\d(?:[.,]\d)?\s*(?:/|out of|von|de|z|sur|su)\s*5\b|\brated\s+\d", re.I)
_RE_PREFIX = re.compile(r"^\s*(?:re|aw|sv|antw|回复)\s*(?:\[\d+\])?\s*[:：]\s*", re.I)
_EDITED = re.compile(r"^(?:edited|modified|updated|bearbeitet|geändert|编辑于|modifié)\b", re.I)
_RELATIVE_DATE = re.compile(
    r"(?:^|·\s*)\d+\s+(?:yr\.|mo\.|seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago$"
    r"|^\d+\s*(?:分钟|小时|天|个月|年)前$|^vor\s+\d+\s+(?:Minuten?|Stunden?|Tagen?|Wochen?|Monaten?|Jahren?)$",
    re.I,
)


@lru_cache(maxsize=4096)
def _is_profile_href(href: str) -> bool:
    """Whether a link's URL has the shape of a person's profile (cached: a page repeats its authors' links)."""
    if not href or href.startswith(("#", "javascript:", "mailto:")) or not _MAYBE_PERSON.search(href):
        return False
    parts = urlsplit(href.strip())
    path = unquote(parts.path)
    if _NOT_A_PERSON.search(path):
        return False
    # "/users" alone is the member list; "/user?id=pg" is pg's page (its query names the person).
    if path.rstrip("/").lower() not in ("/users", "/members", "/u", "/people", "/user") and _PROFILE_PATH.search(path):
        return True
    return bool(parts.query and _PROFILE_QUERY.search(parts.query) and _PERSONISH.search(path + "?" + parts.query))


_LISTING_PATH = re.compile(
    r"(?:^|/)(?:questions/tagged|tags?|search|viewforum\.php|forumdisplay\.php|search\.php|memberlist\.php)(?:/|$)", re.I)


def address_refusal(url: str | None) -> str | None:
    """Why a page at this address is no thread, if its address alone says so: a member's
    profile (``/users/48211/name``, ``/members/name.18233/``), a tag, search or forum listing.

    Such pages repeat posts with authors (a member's answers, the topics of a board) and so
    look like a thread to the structure; their address is the plainest evidence they are not.
    """
    if not url:
        return None
    parts = urlsplit(url.strip())
    address = parts.path + ("?" + parts.query if parts.query else "")
    if address.strip("/") and _is_profile_href(address):
        return f"not a Q&A page: its address ({url}) is a member's profile page"
    if _LISTING_PATH.search(unquote(parts.path)):
        return f"not a Q&A page: its address ({url}) is a listing (tags, search results, a forum's topics)"
    return None


def _about_person(href: str) -> bool:
    """A link about one member though not their profile: their posts, a message to them
    (``search.php?do=finduser&userid=71187``, ``private.php?do=newpm&u=40413``)."""
    query = urlsplit(href).query
    return bool(query and _PERSON_PARAM.search(query.replace("&amp;", "&")))


_PERSON_PARAM = re.compile(r"(?:^|[&;])(?:u|userid|user_id|uid|user)=\w", re.I)


def _outbound(link: HtmlElement) -> bool:
    """A link off the site (a member's homepage, through a redirector, or marked nofollow/external):
    no row of a listing of this site's threads."""
    rel = (link.get("rel") or "").lower()
    return "nofollow" in rel or "external" in rel or "http" in urlsplit(link.get("href") or "").query


def _skipped(element: HtmlElement) -> bool:
    return element.tag in _SKIP_TAGS or element.get("hidden") is not None or element.get("aria-hidden") == "true"


# Candidates found by libxml2 in C, in document order, then checked in Python: links, marked
# authors and date-like leaves.
_CANDIDATES = etree.XPath(
    "//a[@href] | //*[@rel='author' or @itemprop='author'] | //time | //*[@datetime and not(self::del) and not(self::ins)] | "
    "//*[self::span or self::a or self::small or self::div or self::td or self::p or self::abbr][not(*)]"
    "[string-length(normalize-space(text())) >= 6 and string-length(normalize-space(text())) <= 40]"
)
_UNSEEN = etree.XPath("//script | //style | //template | //head | //nav | //svg | //button | //select | //*[@hidden] | //*[@aria-hidden='true']")


def _is_date_text(text: str) -> bool:
    text = text.strip()
    return 6 <= len(text) <= 40 and bool(_RELATIVE_DATE.search(text) or parse_date(text))


def _is_date_mark(element: HtmlElement) -> bool:
    if element.tag == "time" or (element.get("datetime") and element.tag not in ("del", "ins")):
        return True
    if len(element):
        return False
    return _is_date_text(element.text or "")


def _is_author(element: HtmlElement) -> bool:
    if element.tag == "a" and _is_profile_href(element.get("href") or ""):
        return True
    return bool(element.get("rel") == "author" or element.get("itemprop") == "author")


def bylines(root: HtmlElement) -> tuple[list[HtmlElement], list[HtmlElement]]:
    """The page's author links, and its author links with its date marks (``<time>``, "6 years ago",
    "May 2, 2024"), in page order: what posts' bylines hold (a deleted comment keeps its date)."""
    unseen = {e for hidden in _UNSEEN(root) for e in hidden.iter()}
    links: list[HtmlElement] = []
    marks: list[HtmlElement] = []
    for element in _CANDIDATES(root):
        if element in unseen:
            continue
        if _is_author(element):
            links.append(element)
            marks.append(element)
        elif _is_date_mark(element):
            marks.append(element)
    return links, marks


def author_links(root: HtmlElement) -> list[HtmlElement]:
    """Every element of the page that names a post's author, in document order."""
    return bylines(root)[0]


@dataclass
class _Group:
    parent: HtmlElement
    tag: str
    members: list[HtmlElement] = field(default_factory=list)


def _groups(links: Iterable[HtmlElement]) -> list[_Group]:
    groups: dict[tuple[HtmlElement, str], _Group] = {}
    seen: set[HtmlElement] = set()
    for link in links:
        child = link
        for parent in link.iterancestors():
            if child not in seen:
                seen.add(child)
                key = (parent, child.tag)
                group = groups.get(key)
                if group is None:
                    group = groups[key] = _Group(parent, child.tag)
                group.members.append(child)
            child = parent
    return [g for g in groups.values() if len(g.members) >= 2]


_NOT_TEXT = frozenset(("script", "style", "noscript", "template", "head", "title", "svg", "button", "select", "option", "textarea"))


def _letters(text: str | None) -> int:
    return len(text) - sum(map(text.count, " \n\t\r\xa0")) if text else 0


class TextSizes:
    """Visible characters outside links per element, each counted once a page (spaces not counted,
    so a pretty-printed page weighs what the same page minified does)."""

    def __init__(self) -> None:
        self._memo: dict[HtmlElement, int] = {}

    def own(self, element: HtmlElement) -> int:
        """What a person wrote under ``element``: its visible text outside links and scripts."""
        found = self._memo.get(element)
        if found is None:
            found = self._memo[element] = self._count(element)
        return found

    def _count(self, element: HtmlElement) -> int:
        tag = element.tag
        if not isinstance(tag, str) or tag in _NOT_TEXT:
            return 0
        total = 0 if tag == "a" else _letters(element.text)
        for child in element:
            if tag != "a":
                total += self.own(child) if isinstance(child.tag, str) else 0
                total += _letters(child.tail)
        return total


@dataclass
class Thread:
    """The posts the structure shows: the question's container (None: not found) and the answers'."""

    question: HtmlElement | None
    answers: list[HtmlElement]
    page: int | None = None
    pages: int | None = None
    separate: bool = False
    """The question was found before the list, outside it (not as its first post)."""
    links: list[HtmlElement] = field(default_factory=list)
    """The page's author links (read again by each post's reader)."""
    rated: bool = False
    """Most posts carry a star rating of their own: reviews, not answers."""


def _wraps(outer: _Group, inner: _Group, links: list[HtmlElement]) -> bool:
    """Whether ``inner`` lies in a member of ``outer`` that is one post itself (its comments, its replies).

    That member's author links outside ``inner`` name one person (two with an editor).  A
    member naming many (a column holding the question, its comments and the answers) is a
    wrapper, and the inner list is the page's.
    """
    for member in outer.members:
        if member is inner.parent or contains(member, inner.parent):
            hrefs = {
                link.get("href") for link in links
                if contains(member, link) and not any(m is link or contains(m, link) for m in inner.members)
            }
            return 1 <= len(hrefs) <= 2
    return False


def _choose(groups: list[_Group], links: list[HtmlElement], sizes: TextSizes) -> _Group | None:
    """The post list: the group with the most posts, unless it is the replies inside one post of another."""
    scored: list[tuple[bool, int, int, _Group]] = []
    link_set = set(links)
    for group in groups:
        texts = [sizes.own(m) for m in group.members]
        candidates = [m for t, m in zip(texts, group.members) if t >= _MIN_OWN_TEXT and not _names_only(m, t, link_set)]
        if len(candidates) < 2 or sum(texts) < _MIN_LIST_TEXT or max(texts) < _MIN_POST_TEXT:
            continue
        if not _alike(group.members) or _link_list(group.members, links):
            continue
        # Remarks between posts ("Nice post! - reader42", authored but far shorter) do not count.
        kept = set(_posts_only(candidates, link_set, sizes))
        posts = len(candidates) - sum(1 for m in candidates if m not in kept and _authored(m, links))
        # Posts written in paragraphs outrank one-line remarks (the comments under a question).
        prose = sum(1 for m in group.members if _has_blocks(m)) * 2 > len(group.members)
        scored.append((prose, posts, sum(texts), group))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    columns = {id(g) for _, posts, _, g in scored if _columns(g, posts, scored, sizes)}
    for *_, group in scored:
        if id(group) not in columns and not any(o is not group and id(o) not in columns and _wraps(o, group, links) for *_, o in scored):
            return _flatten(group, [g for *_, g in scored], links, sizes)
    return None


def _names_only(member: HtmlElement, own: int, links: set[HtmlElement]) -> bool:
    """A line of several people's names and little else ("Users active in the last 15 minutes:
    Tiago M., Juliana R., ..."): who is online, not a post."""
    if own >= 200:  # a line, not a block: no need to look at its links
        return False
    names = {e.get("href") for e in member.iter("a") if e in links}
    return len(names) >= 3 and own < 20 * len(names)


def _columns(group: _Group, posts: int, scored: list[tuple[bool, int, int, _Group]], sizes: TextSizes) -> bool:
    """Whether the group's members are the page's columns (a header bar beside the content): one
    of them is mostly a longer list of posts (SMF's topic column: a title bar, then the posts)."""
    for member in group.members:
        for _, inner_posts, inner_text, inner in scored:
            if inner is not group and inner_posts > posts and contains(member, inner.parent) and inner_text >= 0.75 * sizes.own(member):
                return True
    return False


def _has_blocks(member: HtmlElement) -> bool:
    return any(isinstance(e.tag, str) and e.tag in _BLOCK_TAGS for e in member.iter())


def _link_list(members: list[HtmlElement], links: list[HtmlElement]) -> bool:
    """Most members lead with a titled link to another page before their author (a topic list,
    search results, a user's posts): rows that point elsewhere, not posts.  A post's own title
    links to itself (``#p799806``) or follows its author."""
    link_set = set(links)
    rows = 0
    for member in members:
        for element in member.iter("a"):
            if element in link_set:
                break
            href = element.get("href") or ""
            text = element_text(element)
            if (href and "#" not in href and not href.startswith("javascript:") and _letters(text) >= 12 and not _RE_PREFIX.match(text)
                    and not _about_person(href) and not _outbound(element)):  # ("Show posts", "Send a message": the author block's own links)
                rows += 1  # (a "Re: <the thread's title>" link is a reply's permalink, not a row elsewhere)
                break
    return rows * 2 > len(members) or _many_titles(members) or _one_author(members, link_set) or _titled_rows(members, link_set)


def _one_author(members: list[HtmlElement], links: set[HtmlElement]) -> bool:
    """Three or more posts all by one person: that person's activity (a profile's posts tab)."""
    firsts = [next((e.get("href") for e in m.iter() if e in links), None) for m in members]
    named = [f for f in firsts if f]
    return len(members) >= 3 and len(named) == len(members) and len(set(named)) == 1


_PROSE_PARENTS = ("p", "blockquote", "li", "pre", "code", "dd")


def _titled_rows(members: list[HtmlElement], links: set[HtmlElement]) -> bool:
    """Most members carry a long link to a page of its own, outside any paragraph, each to a
    different page: a listing of threads (a subreddit, a front page), not replies in one."""
    targets = []
    for member in members:
        for a in member.iter("a"):
            href = a.get("href") or ""
            text = element_text(a)
            if a in links or not href or "#" in href or _letters(text) < 20 or _RE_PREFIX.match(text) or _is_date_text(text):
                continue  # (a reply's "Re: ..." subject or its date is a permalink to itself)
            if any(p.tag in _PROSE_PARENTS for p in a.iterancestors() if contains(member, p)):
                continue
            targets.append(href)
            break
    return len(targets) * 2 > len(members) and len(set(targets)) >= 0.8 * len(targets)


def _many_titles(members: list[HtmlElement]) -> bool:
    """Members headed by different titles are hits from many threads (search results, a member's
    recent posts); a thread's replies are all "Re: <the thread's title>"."""
    titles = []
    for member in members:
        heading = next(member.iter("h2", "h3", "h4", "h5", "h6"), None)
        titled = heading is not None and any(
            (a.get("href") or "#")[:1] != "#" and not _is_profile_href(a.get("href") or "") for a in heading.iter("a"))
        text = _RE_PREFIX.sub("", element_text(heading)).casefold() if heading is not None and titled else ""
        if _letters(text) >= 8:
            titles.append(text)
    return len(titles) >= 3 and len(titles) * 2 > len(members) and len(set(titles)) >= 0.6 * len(titles)


def _alike(members: list[HtmlElement]) -> bool:
    """Most members share a shape with another member: posts of one list, not a page's columns
    (the article beside the sidebar)."""
    shapes = [_shape(m) for m in members]
    alike = sum(1 for i, a in enumerate(shapes) if any(_similar(a, b) for j, b in enumerate(shapes) if j != i))
    return alike * 2 >= len(shapes) and alike >= 2


def _only_wraps(member: HtmlElement, inner: _Group, sizes: TextSizes) -> bool:
    """Nearly all the member's text is in ``inner``'s members: a wrapper, not a post with replies."""
    inside = sum(sizes.own(m) for m in inner.members)
    return inside >= 0.85 * sizes.own(member)


def _alike_posts(members: list[HtmlElement], links: list[HtmlElement], sizes: TextSizes) -> bool:
    """Two or more members with authors, shaped alike: a list of posts, not one post's parts
    (remarks between the posts, authored but far shorter, aside)."""
    posts = _posts_only(members, set(links), sizes)
    authored = [_shape(m, through_wrappers=True) for m in posts if _authored(m, links)]
    return len(authored) >= 2 and all(_similar(authored[0], shape) for shape in authored[1:])


def _main_shape(members: list[HtmlElement], shapes: list[set[str]], sizes: TextSizes) -> set[str] | None:
    """The shape of the members that repeat and hold most of the text (the posts, when something
    else is interleaved with them); None when no three members are alike."""
    weights = [(sum(sizes.own(o) for o, b in zip(members, shapes) if _similar(a, b)), i) for i, a in enumerate(shapes)
               if sum(1 for b in shapes if _similar(a, b)) >= 3]
    return shapes[max(weights)[1]] if weights else None


def _flatten(group: _Group, others: list[_Group], links: list[HtmlElement], sizes: TextSizes) -> _Group:
    """A member that wraps a further post list and is no post itself (Baidu's best answer beside
    the other answers' wrapper) gives way to that list's members, in page order."""
    members: list[HtmlElement] = []
    shapes = [_shape(m, through_wrappers=True) for m in group.members]
    main = _main_shape(group.members, shapes, sizes)
    for i, member in enumerate(group.members):
        inner = next((g for g in others if g is not group and (g.parent is member or contains(member, g.parent))), None)
        alike = sum(1 for j, shape in enumerate(shapes) if j != i and _similar(shapes[i], shape))
        if (inner is not None and alike * 2 < len(shapes) - 1 and not (main and _similar(shapes[i], main))
                and _only_wraps(member, inner, sizes) and _alike_posts(inner.members, links, sizes)):
            members.extend(_flatten(inner, others, links, sizes).members)
        else:
            members.append(member)
    return _Group(group.parent, group.tag, members)


_PAGER_TEXTS = etree.XPath(
    "//body//text()[string-length(normalize-space()) >= 6 and string-length(normalize-space()) <= 40]"
    "[contains(translate(., '123456789', '#########'), '#')][not(parent::script or parent::style)]"
)


def thread_page(root: HtmlElement) -> tuple[int | None, int | None]:
    """Which page of a thread this is, and of how many, as the page's pager says ("Page 34 of 40")."""
    for text in _PAGER_TEXTS(root):
        if len(text) <= 40:
            found = _PAGE_OF.search(text)
            if found:
                page, pages = int(found.group(1)), int(found.group(2))
                if 1 <= page <= pages:
                    return page, pages
    return None, None


def find_thread(root: HtmlElement, sizes: TextSizes | None = None) -> Thread | None:
    """The question and answer containers of the page, from its repeated author-bearing blocks."""
    sizes = sizes or TextSizes()
    links, marks = bylines(root)
    group = _choose(_groups(marks), links, sizes)
    if group is None:
        return None
    members = _posts_only([m for m in group.members if sizes.own(m) >= _MIN_OWN_TEXT or _has_prose(m)], set(links), sizes)
    if not members:
        return None
    link_set = set(links)
    depths = [_depth(m, link_set) for m in members]
    marked = [d for d in depths if d is not None]
    comment_tree = len(set(marked)) > 1 and len(marked) * 5 >= len(members) * 4
    if comment_tree:  # a flat comment tree (Hacker News, Reddit 2019): the answers are the top level
        top = min(d for d in depths if d is not None)
        members = [m for m, d in zip(members, depths) if d is None or d == top]
    question = _question_before(links, group, sizes)
    page, pages = thread_page(root)
    rated = sum(1 for m in members if _rated(m)) * 2 > len(members)
    if rated:
        return Thread(question=None, answers=members, page=page, pages=pages, rated=True, links=links)
    if question is not None or comment_tree or (page or 1) > 1 or _answer_permalinks(members) or _answers_heading_before(members[0]):
        return Thread(question=question, answers=members, page=page, pages=pages, separate=question is not None, links=links)
    return Thread(question=members[0], answers=members[1:], page=page, pages=pages, links=links)


def _shape(element: HtmlElement, through_wrappers: bool = False) -> set[str]:
    """The element's tags two levels down: what stays when classes and text change.

    ``through_wrappers``: a wrapper (one element and no text of its own) is looked through, so one
    more or one fewer <div> around a post's parts leaves its shape as it was.
    """
    inside = _unwrapped if through_wrappers else _itself
    found = {element.tag}
    for child in inside(element):
        if isinstance(child.tag, str):
            found.add(child.tag)
            found.update(f"{child.tag}/{c.tag}" for c in inside(child) if isinstance(c.tag, str))
    return found


def _itself(element: HtmlElement) -> HtmlElement:
    return element


def _unwrapped(element: HtmlElement) -> HtmlElement:
    """The element, or the innermost <div> it merely wraps (a <div> around a <time> is a part, not a wrapper)."""
    for _ in range(8):
        kids = [c for c in element if isinstance(c.tag, str)]
        if len(kids) != 1 or kids[0].tag != "div" or (element.text or "").strip() or (kids[0].tail or "").strip():
            break
        element = kids[0]
    return element


def _similar(a: set[str], b: set[str], share: float = 0.5) -> bool:
    return len(a & b) >= share * len(a | b)


def _authored(member: HtmlElement, links: Iterable[HtmlElement]) -> bool:
    """Whether an author link lies inside the member."""
    return any(contains(member, link) for link in links)


def _posts_only(members: list[HtmlElement], links: set[HtmlElement], sizes: TextSizes) -> list[HtmlElement]:
    """Members with an author, and those without one shaped like them (an answer whose author block
    is missing is still an answer; an ad or a related list between answers is not).

    Authored members shaped unlike the posts that hold the list's text, and all of their kind far
    shorter than those posts, are remarks between posts (a comment box, "Nice post! - reader42").
    """
    authored = [m for m in members if _authored(m, links)]
    if not authored:
        return members
    plain = {m: _shape(m) for m in members}
    deep = {m: _shape(m, through_wrappers=True) for m in members}

    def alike(a: HtmlElement, b: HtmlElement, share: float = 0.5) -> bool:
        # Either way of seeing the shape: a wrapper added around one post's parts, or posts
        # that are all wrappers alike (Reddit's nested <div>s).
        return _similar(plain[a], plain[b], share) or _similar(deep[a], deep[b], share)

    # The posts are a kind that repeats: one long post of its own shape (a best answer that
    # holds a comment list) does not make the repeated answers look short.
    repeated = [m for m in authored if sum(1 for o in authored if alike(m, o)) >= 2] or authored
    main = max(repeated, key=lambda m: sum(sizes.own(o) for o in authored if alike(m, o)))
    posts = [m for m in authored if alike(main, m)]
    typical = sorted(sizes.own(m) for m in posts)[len(posts) // 2]

    def remark(member: HtmlElement) -> bool:
        kind = [o for o in authored if o not in posts and alike(member, o)]
        return max(sizes.own(o) for o in kind) * 4 < typical

    kept = [m for m in authored if m in posts or not remark(m)]
    kinds = [_id_kind(m) for m in kept]
    kind = max(set(kinds), key=kinds.count) if kinds else None
    numbered = kind is not None and kinds.count(kind) * 2 > len(kept)
    return [m for m in members if m in kept or (numbered and _id_kind(m) == kind)
            or sum(1 for o in kept if alike(m, o, 0.7)) * 2 > len(kept)]


_POST_ID = re.compile(r"^([A-Za-z]+[-_]?)(?=[\w-]*\d)[\w-]+$")


def _id_kind(element: HtmlElement) -> str | None:
    """The template's name for its posts, from the element's numbered id (``post_949793``,
    ``t1_ehw4j07``, ``Comment_432571``): a deleted post without its author keeps it."""
    found = _POST_ID.match(element.get("id") or "")
    return found.group(1).lower() if found else None


def _answers_heading_before(first: HtmlElement) -> bool:
    """The page says "4 answers" (or "4个回答") just before the list: every member is an answer."""
    texts = first.xpath("preceding::text()[normalize-space()][not(parent::script or parent::style)][position() <= 40]")
    return any(len(t) <= 40 and (_ANSWERS_COUNT.search(t)) for t in texts)


def _rated(member: HtmlElement) -> bool:
    """The post gives a score out of five ("4/5", "★★★★☆", "4 out of 5"): a review's, not an answer's."""
    for element in member.iter():
        if isinstance(element.tag, str) and len(element) == 0:
            text = (element.text or "").strip()
            if len(text) <= 20 and _STARS.match(text):
                return True
        if isinstance(element.tag, str) and _STARS_LABEL.search(element.get("aria-label") or element.get("title") or ""):
            return True
    return False


def _depth(member: HtmlElement, links: set[HtmlElement]) -> int | None:
    """How far a comment is indented in a flat tree: an attribute, an indent, a spacer image or
    "level N", looked for before the comment's author link (the indent comes first)."""
    for count, element in enumerate(member.iter()):
        if count > 60 or element in links:
            break
        if not isinstance(element.tag, str):
            continue
        for name in ("depth", "data-depth", "aria-level", "data-level", "indent", "data-indent"):
            value = element.get(name)
            if value is not None and value.strip().isdigit():
                return int(value)
        style = element.get("style") or ""
        found = _INDENT_STYLE.search(style)
        if found:
            return int(found.group(1))
        if element.tag == "img" and element.get("height") in ("1", "0") and (element.get("width") or "").isdigit():
            return int(element.get("width") or 0)
        text = (element.text or "").strip()
        found = _LEVEL_TEXT.match(text) if len(text) <= 12 else None
        if found:
            return int(found.group(1))
    return None


def _answer_permalinks(members: list[HtmlElement]) -> bool:
    """Most members link to themselves as answers ("/answer/123", "#answer-5"): a Q&A page, not a thread."""
    with_link = sum(1 for m in members if any(_ANSWER_LINK.search(a.get("href") or "") for a in m.iter("a")))
    return with_link * 2 > len(members)


def _has_prose(element: HtmlElement) -> bool:
    return any(isinstance(e.tag, str) and e.tag in ("p", "pre", "img", "blockquote") for e in element.iter())


def _question_before(links: list[HtmlElement], group: _Group, sizes: TextSizes) -> HtmlElement | None:
    """A post before the list and outside it: the question of a Q&A or link page."""
    first = group.members[0]
    inside = set(group.members)
    before: list[HtmlElement] = []
    for link in links:
        if link is first or contains(first, link):
            break
        if not any(contains(m, link) for m in inside):
            before.append(link)
    for link in reversed(before):
        container = link
        for parent in link.iterancestors():
            if parent is group.parent or contains(parent, first):
                break
            container = parent
        headings = sum(sizes.own(h) for h in container.iter("h1", "h2", "h3"))
        if container is link or sizes.own(container) - headings < 3 * _MIN_OWN_TEXT:
            continue  # a thread's title bar ("Title. By avicenna, May 2 in Physics"), not a post
        if _points_into(container, group):
            continue  # "This topic has 3 replies, last updated 2 days ago by X": a summary of the list
        return container
    return None


def _points_into(container: HtmlElement, group: _Group) -> bool:
    """Whether the container links to a post of the list by its anchor (``#post-219``)."""
    targets = {href.rsplit("#", 1)[1] for a in container.iter("a") if "#" in (href := a.get("href") or "")}
    targets.discard("")
    return bool(targets) and any(e.get("id") in targets for m in group.members for e in m.iter() if e.get("id"))


def _own_links(member: HtmlElement, links: set[HtmlElement]) -> list[HtmlElement]:
    """The member's author links, not those of quotes, of comments listed in it, or of its editor."""
    found = []
    for element in member.iter():
        if element in links and not any(a.tag == "blockquote" for a in element.iterancestors() if contains(member, a)):
            found.append(element)
    listed = [_in_sublist(link, member, links) for link in found]
    own = [link for link, sub in zip(found, listed) if not sub]
    if not own or listed[0]:  # the post leads with a pair of cards (its author beside a "replying to"): those are its own
        own = found
    authors = [link for link in own if not _is_editor(link, member)]
    return authors or own


def _in_sublist(link: HtmlElement, member: HtmlElement, links: set[HtmlElement]) -> bool:
    """The link sits in one of several like siblings that each name someone: a comment list
    inside the post (or a pair of cards, which the caller falls back to)."""
    element = link
    for parent in link.iterancestors():
        if parent is member or element is member:
            return False
        siblings = [s for s in parent if s is not element and s.tag == element.tag]
        href = link.get("href")
        if any(any(x in links and x.get("href") != href for x in s.iter()) for s in siblings):
            return True
        element = parent
    return False


def _is_editor(link: HtmlElement, member: HtmlElement) -> bool:
    """A link in an "edited ... by" card names who edited the post, not who wrote it."""
    element = link
    for _ in range(3):
        parent = element.getparent()
        if parent is None or parent is member:
            break
        element = parent
        if _EDITED.match(element_text(element)):
            return True
    return False


def _author(own: list[HtmlElement], doc: HtmlDocument) -> tuple[str | None, str | None]:
    """The first own author link's person: its text, else a same-profile link's, else an avatar's label."""
    if not own:
        return None, None
    href = own[0].get("href")
    profile = doc.absolute(href) if href else None
    # The avatar may link the profile relatively and the name absolutely: the same person.
    same = [link for link in own if link.get("href") == href or (profile and doc.absolute(link.get("href")) == profile)]
    names = [_clean_name(n) for n in map(_link_name, same) if n and len(n) <= 80 and _key(n) not in _PROFILE_BUTTONS]
    if names:
        # A byline showing both, in either order: the username the profile URL is keyed by
        # ("fernando_zuluaga" beside "Fernando Zuluaga"), else the first name shown.
        slug = _key(_name_from_href(href) or "")
        return next((n for n in names if _key(n) == slug), names[0]), profile
    for link in same:
        label = link.get("title") or next((i.get("alt") for i in link.iter("img") if i.get("alt")), None)
        if label and label.strip():
            return _clean_name(label), profile
    return _name_from_href(href), profile


def _link_name(link: HtmlElement) -> str:
    """The link's text without a letter avatar before the name (Flarum's "有" + "有点蠢").

    An author mark that is a whole card (``itemprop=author`` around avatar, name, title, join
    date) names the person by its ``itemprop=name`` part, else by its first link with text.
    """
    if link.tag != "a" and len(link):
        part = next((e for e in link.iterdescendants() if e.get("itemprop") == "name" and element_text(e)), None)
        part = part if part is not None else next((a for a in link.iter("a") if element_text(a)), None)
        if part is not None:
            link = part
    name = element_text(link)
    first = next((c for c in link if isinstance(c.tag, str)), None)
    if first is not None and len(link) > 1:
        initial = element_text(first)
        if 0 < len(initial) <= 2 and name.startswith(initial) and name[len(initial):].strip():
            return name[len(initial):].strip()
    return name


# What a profile link says when it is a button, not a name.
_PROFILE_BUTTONS = frozenset(("访问个人页", "个人主页", "view profile", "profile", "profil", "profile page", "ver perfil", "查看资料", "主页"))


def _key(name: str) -> str:
    return " ".join(name.split()).lstrip("@").casefold()


def _clean_name(name: str) -> str:
    name = " ".join(name.split()).lstrip("@")
    return name


def _name_from_href(href: str | None) -> str | None:
    if not href:
        return None
    path = unquote(urlsplit(href).path).rstrip("/")
    last = path.rsplit("/", 1)[-1]
    last = re.sub(r"\.\d+$|^\d+[-_]|\.html?$", "", last)
    return last or None


def _body_element(member: HtmlElement, own: list[HtmlElement], sizes: TextSizes) -> list[HtmlElement]:
    """The member's largest author-free blocks: the post's text, without its author cluster."""
    if not own:
        return [member]
    on_path: set[HtmlElement] = set()
    for link in own:
        on_path.add(link)
        for a in link.iterancestors():
            if a is member:
                break
            on_path.add(a)
    on_path.add(member)
    best: list[HtmlElement] = []
    best_len = 0
    for holder in on_path:
        if holder in own:
            continue
        run: list[HtmlElement] = []
        run_len = 0
        for child in holder:
            if not isinstance(child.tag, str) or child in on_path or _skipped(child) or child.tag == "aside":
                if run_len > best_len:  # (an <aside> in a post is beside its text: related links, a box)
                    best, best_len = run, run_len
                run, run_len = [], 0
                continue
            run.append(child)
            run_len += sizes.own(child)
            if child.tag not in _PROSE_TAGS:  # a div or section stands alone; paragraphs make a run
                if run_len > best_len:
                    best, best_len = run, run_len
                run, run_len = [], 0
        if run_len > best_len:
            best, best_len = run, run_len
    return best


def _main_block(blocks: list[HtmlElement], sizes: TextSizes) -> list[HtmlElement]:
    """Down to the child that holds the text when its siblings are only a byline or a toolbar
    ("Posted May 2", "Share", "Quote"): those are the post's frame, not its text."""
    while len(blocks) == 1:
        block = blocks[0]
        total = sizes.own(block)
        children = [c for c in block if isinstance(c.tag, str) and sizes.own(c)]
        main = max(children, key=sizes.own, default=None)
        if main is None or main.tag in _PROSE_TAGS or sizes.own(main) < 0.7 * total or _letters(block.text) > 0:
            break
        others = [c for c in children if c is not main]
        if any(c.tag in _PROSE_TAGS or sizes.own(c) > 60 for c in others) or any(_letters(c.tail) for c in block):
            break
        blocks = [main]
    return blocks


def _render(blocks: list[HtmlElement]) -> str | None:
    parts = [render_body(b) for b in blocks]
    text = "\n\n".join(p for p in parts if p)
    return text or None


def _posted_at(member: HtmlElement, body: list[HtmlElement]) -> str | None:
    for element in member.iter():
        if not isinstance(element.tag, str) or any(contains(b, element) or b is element for b in body):
            continue
        for name in ("datetime", "data-time", "data-timestamp", "title", "data-date", "content"):
            value = element.get(name)
            if value:
                found = iso_date(value) or _epoch(value) if name.startswith("data-t") else iso_date(value) or parse_date(value)
                if found:
                    return found
        if element.tag in ("span", "time", "small", "a", "div", "p", "td") and len(element) == 0:
            found = parse_date(element_text(element))
            if found:
                return found
    return None


def _epoch(value: str) -> str | None:
    if not value.isdigit() or not 9 <= len(value) <= 13:
        return None
    seconds = int(value) / (1000 if len(value) > 10 else 1)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(text: str) -> int | None:
    text = text.strip().replace(" ", "")
    multiplier = 1
    if text[-1:] in "kK":
        multiplier, text = 1000, text[:-1]
    elif text[-1:] in "mM":
        multiplier, text = 1_000_000, text[:-1]
    elif text[-1:] == "万":
        multiplier, text = 10_000, text[:-1]
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if multiplier > 1:
        try:
            return sign * int(float(text.replace(",", ".")) * multiplier)
        except ValueError:
            return None
    found = count_from_text(text.replace(".", "").replace(",", ""))
    return None if found is None else sign * found


def _votes(member: HtmlElement, body: list[HtmlElement]) -> int | None:
    for element in member.iter():
        if not isinstance(element.tag, str) or any(contains(b, element) or b is element for b in body):
            continue
        for name in ("data-score", "data-votes", "data-likes", "score"):
            value = element.get(name)
            if value and _NUMBER.match(value.strip()):
                return _count(value)
        text = element_text(element) if len(element) <= 3 else ""
        if len(text) <= 24:
            found = _VOTE_TEXT.match(text)
            if found:
                return _count(found.group("n") or found.group("n2"))
            if _NUMBER.match(text) and (_labelled_vote(element) or any(_labelled_vote(s) or _vote_button(s) for s in _neighbours(element))):
                return _count(text)
    return None


def _labelled_vote(element: HtmlElement) -> bool:
    """The element says it is about votes in a label or a semantic attribute (not a class):
    ``aria-label="upvote"``, ``title="Score"``, ``component="post/vote-count"``."""
    for name, value in element.attrib.items():
        if name not in ("class", "id", "style", "href", "src") and len(value) <= 80 and _VOTE_WORDS.search(value):
            return True
    return False


def _vote_button(element: HtmlElement) -> bool:
    """A button or link beside the count that says what it does: "Vote Up", "Upvote", "Like"."""
    if element.tag not in ("a", "button"):
        return False
    text = element_text(element)
    return 0 < len(text) <= 16 and bool(_VOTE_WORDS.search(text))


def _neighbours(element: HtmlElement) -> list[HtmlElement]:
    """The vote buttons beside a bare count: its siblings, and its parent's."""
    parent = element.getparent()
    found = [s for s in (element.getprevious(), element.getnext()) if s is not None]
    if parent is not None and len(parent) <= 4:
        found += [parent] + [s for s in (parent.getprevious(), parent.getnext()) if s is not None]
    return found


def read_post(member: HtmlElement, links: set[HtmlElement], doc: HtmlDocument, sizes: TextSizes) -> PartialAnswer:
    """One post container read on its own."""
    own = _own_links(member, links)
    name, profile = _author(own, doc)
    blocks = _main_block(_body_element(member, own, sizes), sizes)
    return PartialAnswer(
        body=_render(blocks),
        author_name=name,
        author_profile_url=profile,
        posted_at=_posted_at(member, blocks),
        votes=_votes(member, blocks),
        has_author=bool(own),
    )


def structure_partial(doc: HtmlDocument) -> PartialPage | None:
    """The page's question and answers as its repeated post containers show them."""
    sizes = TextSizes()
    thread = find_thread(doc.root, sizes)
    if thread is None:
        return None
    links = set(thread.links)
    answers = [read_post(m, links, doc, sizes) for m in thread.answers]
    partial = PartialPage(
        strategy="page-structure",
        answers=[a for a in answers if a.body or a.author_name],
        thread_page=(thread.page, thread.pages),
        separate_question=thread.separate,
        rated_posts=thread.rated,
        kind="question",
    )
    if thread.question is not None:
        question = read_post(thread.question, links, doc, sizes)
        partial.body, partial.author, partial.posted_at = question.body, question.author_name, question.posted_at
    return partial
