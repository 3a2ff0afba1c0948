"""The big Q&A and discussion sites on one host each: Reddit, Hacker News, Quora, Zhihu, Baidu Zhidao.

Known by their host (the page's URL, else its canonical link), and by their own markup when a
saved page comes with neither (a mirror, a local copy): the site name they publish, the hosts
their assets load from, markup only their templates write.  Their pages are read from their
repeated post blocks (``read_structure``): on Reddit and Hacker News the answers are the top-level
comments, on Quora, Zhihu and Baidu Zhidao every answer.  Checked by
``tests/sites/test_engines.py`` on the real pages in ``tests/fixtures/wild/``.
"""

from __future__ import annotations

import re

from scraper.extract.profile import SiteProfile
from scraper.sites.signatures import element_id, head_link, script_src, script_text

__all__ = ["SITES"]

VERSION = "1.0"


def _host(pattern: str) -> re.Pattern[str]:
    """A page URL on ``pattern`` (a host regex), any scheme, path, port or query."""
    return re.compile(rf"^https?://{pattern}(?:[:/?#]|$)", re.I)


def _site_name(*names: str) -> str:
    """``og:site_name`` as the site writes it (``content``, or ``value`` on Reddit's 2019 pages)."""
    values = " or ".join(f"@content='{n}' or @value='{n}'" for n in names)
    return f"/html/head/meta[@property='og:site_name' or @name='og:site_name'][{values}]"


def _canonical(*hosts: str) -> str:
    return "/html/head/link[@rel='canonical'][" + " or ".join(f"contains(@href, '://{h}/')" for h in hosts) + "]"


def _platform(name: str, description: str, url: str, *signatures: str) -> SiteProfile:
    return SiteProfile(
        name=name, version=VERSION, description=description, url_patterns=(_host(url),), html_signatures=signatures,
        read_structure=True,
    )


REDDIT = _platform(
    "reddit",
    "Reddit posts and their comments (old, 2019 and shreddit layouts)",
    r"(?:[\w-]+\.)*reddit\.com",
    _site_name("reddit", "Reddit"),
    _canonical("www.reddit.com", "old.reddit.com"),
    head_link("redditstatic.com"),
    "/html/body/shreddit-app",  # the 2023 layout's app element
)

HACKERNEWS = _platform(
    "hackernews",
    "Hacker News items and their comments",
    r"news\.ycombinator\.com",
    head_link("ycombinator.com"),  # 2012: stylesheet and icon from ycombinator.com
    "/html/head/link[starts-with(@href, 'news.css') or starts-with(@href, 'y18.')]",  # later: relative news.css, y18.svg
    element_id("hnmain"),
    script_text("function vote(node)"),  # 2012: the vote script in the head
    "/html/*/script[starts-with(@src, 'hn.js')]",  # later: hn.js beside the page
)

QUORA = _platform(
    "quora",
    "Quora questions and their answers",
    r"(?:[\w-]+\.)*quora\.com",
    _site_name("Quora"),
    head_link("quoracdn.net"),
    script_src("quoracdn.net"),
)

ZHIHU = _platform(
    "zhihu",
    "Zhihu (知乎) questions and their answers",
    r"(?:[\w-]+\.)*zhihu\.com",
    _site_name("知乎"),
    head_link("static.zhihu.com"),  # icon, search description, stylesheets
    "/html/head/meta[@name='apple-itunes-app'][contains(@content, 'zhihu://')]",
    element_id("js-initialData"),
)

BAIDU_ZHIDAO = _platform(
    "baidu_zhidao",
    "Baidu Zhidao (百度知道) questions and their answers",
    r"zhidao\.baidu\.com",
    _canonical("zhidao.baidu.com"),
    head_link("zhidao.bdimg.com"),
    script_src("zhidao.bdimg.com"),
)

SITES: tuple[SiteProfile, ...] = (REDDIT, HACKERNEWS, QUORA, ZHIHU, BAIDU_ZHIDAO)
"""In detection order (by URL first, then by markup)."""
