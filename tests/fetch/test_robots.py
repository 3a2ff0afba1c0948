"""RobotsCache: status conventions, caching, the user-agent token, Crawl-delay (loader faked, no network)."""

from __future__ import annotations

import asyncio

from scraper.fetch.result import FetchResult
from scraper.fetch.robots import RobotsCache, robots_token, robots_url
from tests.fetch.conftest import quick_settings

RULES = b"""User-agent: *
Disallow: /

User-agent: qa-scraper-test
Disallow: /private
Allow: /private/open
Crawl-delay: 2.5
Sitemap: https://example.com/sitemap.xml
"""


class FakeLoader:
    def __init__(self, *results: FetchResult) -> None:
        self.results = list(results)
        self.asked: list[str] = []

    async def __call__(self, url: str) -> FetchResult:
        self.asked.append(url)
        await asyncio.sleep(0.01)
        return self.results.pop(0) if len(self.results) > 1 else self.results[0]


def _ok(body: bytes) -> FetchResult:
    return FetchResult(url="https://example.com/robots.txt", status=200, body=body)


def _run_allowed(cache: RobotsCache, *urls: str) -> list[bool]:
    async def main() -> list[bool]:
        return list(await asyncio.gather(*(cache.allowed(url) for url in urls)))

    return asyncio.run(main())


def test_rules_for_our_token_are_used_and_fetched_once() -> None:
    loader = FakeLoader(_ok(RULES))
    cache = RobotsCache(quick_settings(), loader)
    answers = _run_allowed(cache, "https://example.com/a", "https://example.com/private/x", "https://example.com/private/open/1")
    assert answers == [True, False, True]
    assert loader.asked == ["https://example.com/robots.txt"]
    assert cache.crawl_delay("example.com:443") == 2.5
    assert cache.crawl_delay("https://example.com/anything") == 2.5


def test_another_agent_falls_under_the_star_group() -> None:
    cache = RobotsCache(quick_settings(USER_AGENT="otherbot/2.0"), FakeLoader(_ok(RULES)))
    assert _run_allowed(cache, "https://example.com/a") == [False]
    assert cache.crawl_delay("example.com:443") is None


def test_request_rate_counts_as_a_delay() -> None:
    cache = RobotsCache(quick_settings(), FakeLoader(_ok(b"User-agent: *\nRequest-rate: 1/4\n")))
    _run_allowed(cache, "https://example.com/a")
    assert cache.crawl_delay("example.com:443") == 4.0


def test_4xx_allows_everything() -> None:
    for status in (401, 403, 404, 410):
        cache = RobotsCache(quick_settings(), FakeLoader(FetchResult(url="u", status=status, failure="http_error")))
        assert _run_allowed(cache, "https://example.com/a") == [True]


def test_5xx_and_network_errors_make_robots_unavailable_then_are_asked_again() -> None:
    failures = [
        FetchResult(url="u", status=503, failure="http_error"),
        FetchResult(url="u", status=429, failure="rate_limited"),
        FetchResult(url="u", failure="timeout", detail="timed out"),
        FetchResult(url="u", failure="connection_error", detail="refused"),
    ]
    for failure in failures:
        loader = FakeLoader(failure, _ok(b"User-agent: *\nAllow: /\n"))
        cache = RobotsCache(quick_settings(), loader, error_ttl=0.05)
        assert asyncio.run(cache.check("https://example.com/a")) == "unavailable"
        assert "unavailable" in (cache.explain("example.com:443") or "")
        asyncio.run(asyncio.sleep(0.06))
        assert _run_allowed(cache, "https://example.com/a") == [True]
        assert len(loader.asked) == 2


def test_redirect_trouble_counts_as_no_robots_txt() -> None:
    cache = RobotsCache(quick_settings(), FakeLoader(FetchResult(url="u", status=301, failure="redirect_loop")))
    assert _run_allowed(cache, "https://example.com/a") == [True]


def test_token_and_url_helpers() -> None:
    assert robots_token("qa-scraper/0.1.0 (+https://pypi.org/project/qa-scraper/)") == "qa-scraper"
    assert robots_token("") == "*"
    assert robots_url("https://user:pw@Example.com:8443/a/b?c") == "https://example.com:8443/robots.txt"
