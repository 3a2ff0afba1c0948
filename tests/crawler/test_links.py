"""Links a crawl follows from one page, and the cap that keeps a link farm from flooding the frontier.

The link-farm page is MADE: one listing page with thousands of anchors, as the
hostile-input review used (its 500,000-anchor page took 460 MB and blocked the loop 25 s).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import scraper
from scraper.crawler.engine import CrawlStats
from scraper.crawler.links import page_links
from scraper.crawler.runner import format_summary
from tests.crawler.site import FixtureSite, ServerThread


def farm(count: int) -> bytes:
    anchors = "".join(f"<a href='/p/{i}'>page {i}</a>" for i in range(count))
    return f"<!doctype html><html><body><h1>Links</h1>{anchors}</body></html>".encode()


def test_links_come_in_page_order_once_each_without_nofollow() -> None:
    body = b"<html><body><a href='/b'>b</a><a href='/a'>a</a><a href='/b#x'>again</a><a rel='nofollow' href='/c'>c</a></body></html>"
    links = page_links(body, "http://site.test/")
    assert list(links) == ["http://site.test/b", "http://site.test/a"] and not links.capped


def test_the_limit_keeps_the_first_links_and_says_it_cut() -> None:
    links = page_links(farm(5000), "http://site.test/", limit=100)
    assert len(links) == 100 and links.capped
    assert links[0] == "http://site.test/p/0" and links[-1] == "http://site.test/p/99"


def test_a_page_exactly_at_the_limit_is_not_capped() -> None:
    links = page_links(farm(100), "http://site.test/", limit=100)
    assert len(links) == 100 and not links.capped


def test_a_crawl_queues_at_most_max_links_per_page_and_counts_the_page(tmp_path: Path) -> None:
    site = FixtureSite()
    site.set_page("/farm", farm(5000))
    state = tmp_path / "s.db"
    stats: list[CrawlStats] = []
    with ServerThread(site) as server:
        list(scraper.crawl([server.base + "/farm"], state=state, stats=stats, DOWNLOAD_DELAY=0,
                           MAX_LINKS_PER_PAGE=50, CLOSESPIDER_PAGECOUNT=1))
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM urls").fetchone()[0] == 51  # the farm and its first 50 links
    summary = stats[0].as_dict()
    assert summary["links_capped"] == 1
    assert "1 pages had more links than MAX_LINKS_PER_PAGE" in format_summary(summary)
