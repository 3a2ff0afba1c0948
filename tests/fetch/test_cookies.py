"""Cookies: per host, bounded as browsers bound them, and off with COOKIES_ENABLED (issue 11).

The reproduced problem: a site setting 300 cookies per page, for paths never visited, grew
httpx's single jar by 300 cookies a page, and every request walked (and copied) all of them.
Here the server does the same; the tests assert on the jar's size, which is what made each
page slower than the one before, not on wall-clock time.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from scraper.fetch.cookies import MAX_COOKIE_BYTES, MAX_COOKIES_PER_HOST, CookieStore
from scraper.fetch.http import HttpFetcher
from scraper.fetch.result import FetchResult
from tests.fetch.conftest import LocalServer, quick_settings

PAGE = "<html><head><title>A page</title></head><body><p>Hello.</p></body></html>"
COOKIES_PER_PAGE = 300
PAGES = 120


def _cookie_storm(server: LocalServer, pages: int) -> list[str]:
    """``pages`` pages that each set COOKIES_PER_PAGE cookies, every one for a path never visited."""

    async def handler(request: web.Request) -> web.StreamResponse:
        n = request.path.rsplit("/", 1)[1]
        response = web.Response(text=PAGE, content_type="text/html")
        for i in range(COOKIES_PER_PAGE):
            response.headers.add("Set-Cookie", f"c{n}_{i}={'v' * 24}; Path=/never/{n}/{i}")
        return response

    for n in range(pages):
        server.route(f"/page/{n}", handler)
    return [server.url(f"/page/{n}") for n in range(pages)]


def test_300_cookies_a_page_keep_the_jar_bounded(server: LocalServer) -> None:
    urls = _cookie_storm(server, PAGES)
    counts: list[int] = []
    tables: list[int] = []

    async def main() -> list[FetchResult]:
        results = []
        async with HttpFetcher(quick_settings(ROBOTSTXT_OBEY=False)) as fetcher:
            assert fetcher.cookies is not None
            for url in urls:
                results.append(await fetcher.fetch(url))
                counts.append(fetcher.cookies.count())
                tables.append(fetcher.cookies.tables("127.0.0.1"))
            # httpx's own jar is not used (it would hold every cookie and be copied per request).
            assert len(fetcher._get_client().cookies.jar) == 0
        return results

    results = asyncio.run(main())
    assert all(r.ok for r in results)
    assert len(server.all_hits()) == PAGES
    # Without bounds the jar held 300 more cookies after each page (36,000 here); now at most 50 for the host,
    # and the tables each request walks do not pile up either (emptied path tables are dropped).
    assert max(counts) == MAX_COOKIES_PER_HOST
    assert counts[-1] == MAX_COOKIES_PER_HOST
    assert max(tables) <= 1 + MAX_COOKIES_PER_HOST
    assert tables[10] == tables[-1]  # flat, not growing with the pages fetched
    # No request carried a cookie: they were all for paths never asked for.
    assert all("Cookie" not in hit.headers for hit in server.all_hits())


def test_the_newest_cookies_are_the_ones_kept() -> None:
    store = CookieStore()
    url = "http://127.0.0.1:8000/"
    for i in range(60):
        store.store(url, [f"k{i}=v{i}; Path=/"])
    header = store.header_for(url) or ""
    sent = {part.split("=", 1)[0] for part in header.split("; ")}
    assert len(sent) == MAX_COOKIES_PER_HOST == store.count("127.0.0.1")
    assert sent == {f"k{i}" for i in range(10, 60)}  # the 10 least recently set were evicted
    # Setting an old cookie again makes it recent: k10 survives the next eviction, k11 does not.
    store.store(url, ["k10=again; Path=/", "new=1; Path=/"])
    header = store.header_for(url) or ""
    assert "k10=again" in header and "k11=" not in header and "new=1" in header


def test_a_cookie_over_4096_bytes_is_not_stored() -> None:
    store = CookieStore()
    url = "http://127.0.0.1:8000/"
    fits = "a" * (MAX_COOKIE_BYTES - len("fits"))
    store.store(url, [f"fits={fits}", f"huge={'b' * MAX_COOKIE_BYTES}"])
    assert store.count() == 1
    assert store.header_for(url) == f"fits={fits}"


def test_a_deleted_cookie_leaves_the_jar() -> None:
    store = CookieStore()
    url = "http://127.0.0.1:8000/"
    store.store(url, ["session=abc; Path=/", "other=1; Path=/"])
    store.store(url, ["session=; Max-Age=0; Path=/"])
    assert store.count() == 1 and store.header_for(url) == "other=1"
    store.store(url, ["other=; Max-Age=0; Path=/"])
    assert store.count() == 0 and store.hosts() == [] and store.header_for(url) is None


def test_all_hosts_together_are_bounded_too() -> None:
    store = CookieStore(per_host=5, total=12)
    for host in ("a.example", "b.example", "c.example"):
        store.store(f"http://{host}/", [f"{host[0]}{i}=1; Path=/" for i in range(5)])
    assert store.count() == 12
    # The host whose cookies were set longest ago gave up its oldest ones.
    assert (store.count("a.example"), store.count("b.example"), store.count("c.example")) == (2, 5, 5)
    assert store.header_for("http://a.example/") == "a3=1; a4=1"


def _session_then_echo(server: LocalServer) -> None:
    async def login(request: web.Request) -> web.StreamResponse:
        return web.Response(text=PAGE, content_type="text/html", headers={"Set-Cookie": "session=s3cr3t; Path=/; HttpOnly"})

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(text=PAGE, content_type="text/html")

    server.route("/login", login)
    server.route("/next", page)


def _fetch_in_order(settings_overrides: dict[str, object], urls: list[str]) -> list[FetchResult]:
    async def main() -> list[FetchResult]:
        async with HttpFetcher(quick_settings(ROBOTSTXT_OBEY=False, **settings_overrides)) as fetcher:
            return [await fetcher.fetch(url) for url in urls]

    return asyncio.run(main())


def test_a_session_cookie_goes_back_to_its_host_only(server: LocalServer) -> None:
    _session_then_echo(server)
    other_host = f"http://localhost:{server.port}/next"  # the same server under another host name
    results = _fetch_in_order({}, [server.url("/login"), server.url("/next"), other_host])
    assert all(r.ok for r in results), [r.detail for r in results]
    login, same, other = server.all_hits()
    assert "Cookie" not in login.headers
    assert same.host == f"127.0.0.1:{server.port}" and same.headers.get("Cookie") == "session=s3cr3t"
    assert other.host == f"localhost:{server.port}" and "Cookie" not in other.headers


def test_a_cookie_is_not_planted_for_another_host(server: LocalServer) -> None:
    async def plant(request: web.Request) -> web.StreamResponse:
        return web.Response(text=PAGE, content_type="text/html", headers={"Set-Cookie": "planted=1; Domain=localhost; Path=/"})

    server.route("/plant", plant)
    server.text("/next", PAGE)
    results = _fetch_in_order({}, [server.url("/plant"), f"http://localhost:{server.port}/next"])
    assert all(r.ok for r in results)
    assert "Cookie" not in server.all_hits()[1].headers


def test_cookies_disabled_stores_and_sends_none(server: LocalServer) -> None:
    _session_then_echo(server)

    async def main() -> list[FetchResult]:
        async with HttpFetcher(quick_settings(ROBOTSTXT_OBEY=False, COOKIES_ENABLED=False)) as fetcher:
            assert fetcher.cookies is None
            results = [await fetcher.fetch(server.url(path)) for path in ("/login", "/next", "/next")]
            assert len(fetcher._get_client().cookies.jar) == 0
            return results

    results = asyncio.run(main())
    assert all(r.ok for r in results)
    assert len(server.all_hits()) == 3
    assert all("Cookie" not in hit.headers for hit in server.all_hits())


def test_a_cookie_set_on_a_redirect_is_sent_on_the_next_hop(server: LocalServer) -> None:
    # Consent and session flows set a cookie on a 302 and expect it on the page it leads to.
    async def consent(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "/landing", "Set-Cookie": "consent=yes; Path=/"})

    server.route("/consent", consent)
    server.text("/landing", PAGE)
    [result] = _fetch_in_order({}, [server.url("/consent")])
    assert result.ok and result.final_url == server.url("/landing")
    assert server.hits_for("/landing")[0].headers.get("Cookie") == "consent=yes"
