"""HttpFetcher against a real local HTTP server: politeness proven by what the server saw.

Times are the server's arrival times (monotonic clock); only lower bounds that
politeness requires are asserted, with SLACK for scheduler and network jitter.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from email.utils import formatdate

from aiohttp import web

from scraper.fetch.http import HttpFetcher
from scraper.fetch.result import FetchResult
from scraper.settings import Settings
from tests.fetch.conftest import SLACK, TEST_USER_AGENT, LocalServer, gaps, quick_settings

PAGE = "<html><head><title>A page</title></head><body><p>Hello.</p></body></html>"
PX_CHALLENGE = (
    "<html><head><title>Access to this page has been denied.</title></head><body>"
    '<div class="px-captcha-message">Press &amp; Hold to confirm you are a human (and not a bot).</div>'
    '<div id="px-captcha"></div></body></html>'
)


def fetch_together(settings: Settings, urls: list[str]) -> list[FetchResult]:
    """Fetch all URLs at once with one fetcher, as a crawl would."""

    async def main() -> list[FetchResult]:
        async with HttpFetcher(settings) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(url) for url in urls)))

    return asyncio.run(main())


def fetch_one(settings: Settings, url: str, **conditional: str) -> FetchResult:
    async def main() -> FetchResult:
        async with HttpFetcher(settings) as fetcher:
            return await fetcher.fetch(url, **conditional)

    return asyncio.run(main())


def fails_then_succeeds(status: int, headers: Callable[[], dict[str, str]], failures: int = 1) -> Callable[[web.Request], object]:
    """A handler answering ``status`` (with fresh ``headers()``) ``failures`` times, then a page."""
    calls = {"n": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        calls["n"] += 1
        if calls["n"] <= failures:
            return web.Response(status=status, text="busy", headers=headers())
        return web.Response(text=PAGE, content_type="text/html")

    return handler


@functools.lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """64 MiB of zeros compressed to about 64 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    parts = [compressor.compress(zeros) for _ in range(64)]
    parts.append(compressor.flush())
    return b"".join(parts)


# -- robots.txt ------------------------------------------------------------------------------------------


def test_robots_rules_are_obeyed_and_crawl_delay_spaces_every_request(server: LocalServer) -> None:
    server.text(
        "/robots.txt",
        "User-agent: *\nDisallow: /\n\nUser-agent: qa-scraper-test\nDisallow: /private\nCrawl-delay: 0.4\n",
        content_type="text/plain",
    )
    for name in ("a", "b", "c"):
        server.text(f"/public/{name}", PAGE)
    server.text("/private/secret", PAGE)
    urls = [server.url(p) for p in ("/public/a", "/private/secret", "/public/b", "/public/c")]

    results = fetch_together(quick_settings(DOWNLOAD_DELAY=0.0), urls)

    assert [r.failure for r in results] == [None, "robots_disallowed", None, None]
    assert results[1].attempts == 0 and "disallowed" in (results[1].detail or "")
    assert server.hits_for("/private/secret") == []
    assert len(server.hits_for("/robots.txt")) == 1
    starts = [hit.at for hit in server.all_hits()]
    assert len(starts) == 4  # robots.txt + 3 pages
    assert min(gaps(starts)) >= 0.4 - SLACK


def test_unreachable_robots_txt_holds_the_host_as_a_temporary_failure(server: LocalServer) -> None:
    # A 5xx robots.txt is "not now", not a rule: its own kind, which the crawler retries next run.
    server.text("/robots.txt", "oops", status=500, content_type="text/plain")
    server.text("/page", PAGE)
    result = fetch_one(quick_settings(RETRY_TIMES=0), server.url("/page"))
    assert result.failure == "robots_unavailable"
    assert "unavailable" in (result.detail or "")
    assert server.hits_for("/page") == []


def test_missing_robots_txt_allows_everything(server: LocalServer) -> None:
    server.text("/page", PAGE)
    result = fetch_one(quick_settings(), server.url("/page"))
    assert result.ok
    assert [hit.path for hit in server.all_hits()] == ["/robots.txt", "/page"]


# -- delays and concurrency -----------------------------------------------------------------------------


def test_download_delay_spaces_request_starts(server: LocalServer) -> None:
    for i in range(5):
        server.text(f"/p{i}", PAGE)
    results = fetch_together(quick_settings(DOWNLOAD_DELAY=0.3), [server.url(f"/p{i}") for i in range(5)])
    assert all(r.ok for r in results)
    starts = [hit.at for hit in server.all_hits()]
    assert len(starts) == 6  # robots.txt counts as a request to the host
    assert min(gaps(starts)) >= 0.3 - SLACK


def _slow_pages(server: LocalServer, count: int) -> list[str]:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.1)
        return web.Response(text=PAGE, content_type="text/html")

    for i in range(count):
        server.route(f"/slow{i}", slow)
    return [server.url(f"/slow{i}") for i in range(count)]


def test_one_request_in_flight_per_host(server: LocalServer) -> None:
    urls = _slow_pages(server, 6)
    results = fetch_together(quick_settings(CONCURRENT_REQUESTS_PER_DOMAIN=1, ROBOTSTXT_OBEY=False), urls)
    assert all(r.ok for r in results)
    assert len(server.all_hits()) == 6
    assert server.max_in_flight == 1


def test_in_flight_counting_sees_overlap_when_allowed(server: LocalServer) -> None:
    # The control for the test above: the server's counter does see overlapping requests.
    urls = _slow_pages(server, 6)
    fetch_together(quick_settings(CONCURRENT_REQUESTS_PER_DOMAIN=3, ROBOTSTXT_OBEY=False), urls)
    assert 2 <= server.max_in_flight <= 3


def test_two_hosts_are_fetched_in_parallel(make_server: Callable[[], LocalServer]) -> None:
    first, second = make_server(), make_server()
    for srv in (first, second):
        for i in range(3):
            srv.text(f"/p{i}", PAGE)
    urls = [srv.url(f"/p{i}") for i in range(3) for srv in (first, second)]
    results = fetch_together(quick_settings(DOWNLOAD_DELAY=0.3, ROBOTSTXT_OBEY=False), urls)
    assert all(r.ok for r in results)
    a = [hit.at for hit in first.all_hits()]
    b = [hit.at for hit in second.all_hits()]
    assert min(gaps(a)) >= 0.3 - SLACK and min(gaps(b)) >= 0.3 - SLACK
    # Each host's requests began before the other host's last one: they ran side by side, not one host after the other.
    assert min(b) < max(a) and min(a) < max(b)


# -- retries --------------------------------------------------------------------------------------------


def test_retry_after_seconds_is_waited_for(server: LocalServer) -> None:
    for status in (429, 503):
        path = f"/limited{status}"
        server.route(path, fails_then_succeeds(status, lambda: {"Retry-After": "1"}))
        result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url(path))
        assert result.ok and result.attempts == 2, result.detail
        first, second = (hit.at for hit in server.hits_for(path))
        assert second - first >= 1.0 - SLACK


def test_retry_after_http_date_is_waited_for(server: LocalServer) -> None:
    promised: dict[int, float] = {}
    for status in (429, 503):

        def date_header(status: int = status) -> dict[str, str]:
            moment = int(time.time()) + 2
            promised[status] = moment - time.time()  # between 1 and 2 seconds from now
            return {"Retry-After": formatdate(moment, usegmt=True)}

        path = f"/dated{status}"
        server.route(path, fails_then_succeeds(status, date_header))
        result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url(path))
        assert result.ok and result.attempts == 2, result.detail
        first, second = (hit.at for hit in server.hits_for(path))
        assert promised[status] >= 1.0
        assert second - first >= promised[status] - SLACK


def test_retry_after_beyond_the_maximum_fails_at_once(server: LocalServer) -> None:
    server.route("/later", fails_then_succeeds(429, lambda: {"Retry-After": "7200"}))
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, RETRY_AFTER_MAX=60), server.url("/later"))
    assert result.failure == "rate_limited" and result.status == 429
    assert len(server.hits_for("/later")) == 1


def test_a_500_that_recovers_on_the_second_try(server: LocalServer) -> None:
    server.route("/flaky", fails_then_succeeds(500, dict))
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/flaky"))
    assert result.ok and result.failure is None
    assert result.attempts == 2
    assert len(server.hits_for("/flaky")) == 2


def test_a_500_that_never_recovers_is_an_http_error_after_all_retries(server: LocalServer) -> None:
    server.route("/down", fails_then_succeeds(500, dict, failures=10))
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, RETRY_TIMES=2), server.url("/down"))
    assert result.failure == "http_error" and result.status == 500 and result.attempts == 3
    assert len(server.hits_for("/down")) == 3


def test_404_and_410_are_failures_requested_once(server: LocalServer) -> None:
    server.text("/gone", "gone", status=410)
    results = fetch_together(quick_settings(ROBOTSTXT_OBEY=False), [server.url("/missing"), server.url("/gone")])
    assert [(r.failure, r.status, r.attempts) for r in results] == [("http_error", 404, 1), ("http_error", 410, 1)]
    assert len(server.hits_for("/missing")) == 1 and len(server.hits_for("/gone")) == 1


def test_a_slow_server_times_out_after_retries(server: LocalServer) -> None:
    async def sleepy(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1.5)  # longer than DOWNLOAD_TIMEOUT; cancelled when the client hangs up
        return web.Response(text=PAGE, content_type="text/html")

    server.route("/sleepy", sleepy)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, DOWNLOAD_TIMEOUT=0.5, RETRY_TIMES=1), server.url("/sleepy"))
    assert result.failure == "timeout"
    assert result.attempts == 2 and len(server.hits_for("/sleepy")) == 2
    assert "DOWNLOAD_TIMEOUT" in (result.detail or "")


def test_a_refused_connection_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, RETRY_TIMES=1), f"http://127.0.0.1:{port}/")
    assert result.failure == "connection_error" and result.attempts == 2


# -- redirects ------------------------------------------------------------------------------------------


def _redirect(server: LocalServer, path: str, location: str, status: int = 302) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    server.route(path, handler)


def test_a_redirect_loop_stops(server: LocalServer) -> None:
    _redirect(server, "/loop-a", "/loop-b")
    _redirect(server, "/loop-b", server.url("/loop-a"))
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/loop-a"))
    assert result.failure == "redirect_loop"
    assert len(server.hits_for("/loop-a")) == 1 and len(server.hits_for("/loop-b")) == 1


def test_too_many_redirects_stop(server: LocalServer) -> None:
    for i in range(10):
        _redirect(server, f"/chain{i}", f"/chain{i + 1}", status=301)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, REDIRECT_MAX_TIMES=3), server.url("/chain0"))
    assert result.failure == "redirect_loop" and "REDIRECT_MAX_TIMES" in (result.detail or "")
    assert len(server.all_hits()) == 4  # the first request and 3 redirects followed


def test_a_redirect_to_ftp_is_refused(server: LocalServer) -> None:
    _redirect(server, "/to-ftp", "ftp://example.com/file.txt")
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/to-ftp"))
    assert result.failure == "redirect_refused" and result.status == 302


def test_redirect_hops_are_followed_to_another_local_port(make_server: Callable[[], LocalServer]) -> None:
    first, second = make_server(), make_server()
    _redirect(first, "/moved", second.url("/landing"), status=301)
    second.text("/landing", PAGE)
    result = fetch_one(quick_settings(), first.url("/moved"))
    assert result.ok and result.final_url == second.url("/landing")
    assert result.body == PAGE.encode()
    assert result.attempts == 2
    # Each hop asked its own host's robots.txt first.
    assert [h.path for h in first.all_hits()] == ["/robots.txt", "/moved"]
    assert [h.path for h in second.all_hits()] == ["/robots.txt", "/landing"]


def test_a_public_page_may_not_redirect_into_the_local_network(server: LocalServer) -> None:
    # The server doubles as a forward proxy, so a public name needs no DNS: the proxy answers for it.
    _redirect(server, "/start", server.url("/landing"))
    server.text("/landing", PAGE)
    refused = fetch_one(quick_settings(HTTP_PROXY=server.origin, ROBOTSTXT_OBEY=False), "http://public.example/start")
    assert refused.failure == "redirect_refused" and "private" in (refused.detail or "")
    assert server.hits_for("/landing") == []
    assert server.hits_for("/start")[0].host == "public.example"

    allowed = fetch_one(
        quick_settings(HTTP_PROXY=server.origin, ROBOTSTXT_OBEY=False, REDIRECT_ALLOW_PRIVATE=True), "http://public.example/start"
    )
    assert allowed.ok and allowed.final_url == server.url("/landing")


def test_a_redirect_to_a_login_page_is_a_wall(server: LocalServer) -> None:
    _redirect(server, "/question/1", "/users/sign_in?next=/question/1")
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/question/1"))
    assert result.failure == "bot_wall" and "login" in (result.detail or "")
    assert server.hits_for("/users/sign_in") == []


# -- bodies ---------------------------------------------------------------------------------------------

LIMIT = 1024 * 1024


def test_too_large_with_content_length(server: LocalServer) -> None:
    server.text("/big", "x" * (2 * LIMIT))
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, DOWNLOAD_MAXSIZE=LIMIT), server.url("/big"))
    assert result.failure == "too_large" and "declares" in (result.detail or "")
    assert result.body == b""


def test_too_large_without_content_length(server: LocalServer) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"y" * 65536
        for _ in range(64):  # 4 MiB at most
            await response.write(chunk)
        await response.write_eof()
        return response

    server.route("/stream", endless)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, DOWNLOAD_MAXSIZE=LIMIT), server.url("/stream"))
    assert result.failure == "too_large" and "after decompression" in (result.detail or "")


def test_a_gzip_bomb_stops_at_the_limit_without_inflating_in_memory(server: LocalServer) -> None:
    bomb = gzip_bomb()

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})

    server.route("/bomb", handler)
    server.text("/warm-up", PAGE)
    settings = quick_settings(ROBOTSTXT_OBEY=False, DOWNLOAD_MAXSIZE=LIMIT)
    assert fetch_one(settings, server.url("/warm-up")).ok  # first-use imports and caches are not the body's memory
    tracemalloc.start()
    try:
        result = fetch_one(settings, server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.failure == "too_large"
    assert peak < 4 * LIMIT, f"peak {peak} bytes while the bomb inflates to 64 MiB"


def test_a_gzip_body_is_decoded(server: LocalServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=gzip.compress(PAGE.encode()), headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})

    server.route("/zipped", handler)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/zipped"))
    assert result.ok and result.body == PAGE.encode()


def test_a_corrupt_gzip_body_is_a_decode_error(server: LocalServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        broken = gzip.compress(PAGE.encode() * 50)
        broken = broken[:20] + bytes(b ^ 0x5A for b in broken[20:60]) + broken[60:]
        return web.Response(body=broken, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})

    server.route("/corrupt", handler)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/corrupt"))
    assert result.failure == "decode_error"


def test_a_wrong_content_type_is_refused(server: LocalServer) -> None:
    async def image(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(5000), headers={"Content-Type": "image/png"})

    server.route("/logo.png", image)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/logo.png"))
    assert result.failure == "bad_content_type" and result.status == 200
    assert "image/png" in (result.detail or "")
    assert result.body == b""


def test_a_missing_content_type_is_allowed() -> None:
    # aiohttp always labels a body, so a bare socket serves this one response.
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(PAGE), PAGE.encode())
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def answer_once() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(4096)
                connection.sendall(raw)

        thread = threading.Thread(target=answer_once, daemon=True)
        thread.start()
        result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, RETRY_TIMES=0), f"http://127.0.0.1:{port}/bare")
        thread.join(timeout=5)
    assert "content-type" not in result.headers
    assert result.ok and result.body == PAGE.encode()


# -- conditional requests, walls, identity ----------------------------------------------------------


def test_etag_gives_a_304_that_is_not_a_failure(server: LocalServer) -> None:
    async def tagged(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(text=PAGE, content_type="text/html", headers={"ETag": '"v1"'})

    server.route("/tagged", tagged)
    settings = quick_settings(ROBOTSTXT_OBEY=False)
    fresh = fetch_one(settings, server.url("/tagged"))
    assert fresh.ok and fresh.headers["etag"] == '"v1"'
    again = fetch_one(settings, server.url("/tagged"), etag=fresh.headers["etag"], last_modified="Sun, 06 Nov 1994 08:49:37 GMT")
    assert again.status == 304 and again.failure is None and again.not_modified
    assert server.hits_for("/tagged")[1].headers["If-Modified-Since"] == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_a_perimeterx_page_is_a_bot_wall_and_the_host_is_left_alone(server: LocalServer) -> None:
    for status in (200, 403):
        server.text(f"/px{status}", PX_CHALLENGE, status=status)
    server.text("/after", PAGE)

    async def main() -> list[FetchResult]:
        async with HttpFetcher(quick_settings(ROBOTSTXT_OBEY=False, BOTWALL_BACKOFF_BASE=0.5)) as fetcher:
            return [await fetcher.fetch(server.url(path)) for path in ("/px200", "/px403", "/after")]

    walled_ok, walled_403, after = asyncio.run(main())
    assert walled_ok.failure == "bot_wall" and walled_403.failure == "bot_wall"
    assert "PerimeterX" in (walled_ok.detail or "")
    assert after.ok
    first, second, third = (hit.at for hit in server.all_hits())
    assert second - first >= 0.5 - SLACK  # BOTWALL_BACKOFF_BASE after the first wall
    assert third - second >= 1.0 - SLACK  # doubled after the second


def test_the_server_sees_the_configured_user_agent(server: LocalServer) -> None:
    server.text("/ua", PAGE)
    fetch_one(quick_settings(), server.url("/ua"))
    assert [hit.headers["User-Agent"] for hit in server.all_hits()] == [TEST_USER_AGENT, TEST_USER_AGENT]
    assert "text/html" in server.hits_for("/ua")[0].headers["Accept"]


def test_the_charset_reaches_the_raw_page(server: LocalServer) -> None:
    async def latin(request: web.Request) -> web.StreamResponse:
        return web.Response(body="<p>caf\u00e9</p>".encode("cp1252"), headers={"Content-Type": "text/html; charset=windows-1252"})

    server.route("/latin", latin)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/latin"))
    page = result.page()
    assert page.encoding == "windows-1252"
    assert page.kind == "http" and page.url == server.url("/latin")
    assert result.fetched_at.endswith("Z") and result.elapsed > 0


def test_an_invalid_url_makes_no_request(server: LocalServer) -> None:
    result = fetch_one(quick_settings(), "mailto:someone@example.com")
    assert result.failure == "invalid_url" and result.attempts == 0
    assert server.all_hits() == []


def test_a_retry_is_not_queued_behind_other_urls_of_the_host(server: LocalServer) -> None:
    server.route("/flaky", fails_then_succeeds(503, dict))
    for i in range(4):
        server.text(f"/other{i}", PAGE)
    urls = [server.url("/flaky")] + [server.url(f"/other{i}") for i in range(4)]
    results = fetch_together(quick_settings(ROBOTSTXT_OBEY=False, CONCURRENT_REQUESTS_PER_DOMAIN=1), urls)
    assert all(r.ok for r in results)
    assert [hit.path for hit in server.all_hits()][:2] == ["/flaky", "/flaky"]


def test_a_truncated_gzip_body_is_a_decode_error(server: LocalServer) -> None:
    # Well framed (Content-Length matches what is sent) but the gzip stream stops half-way.
    async def handler(request: web.Request) -> web.StreamResponse:
        whole = gzip.compress(PAGE.encode() * 200)
        return web.Response(body=whole[: len(whole) // 2], headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})

    server.route("/half", handler)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/half"))
    assert result.failure == "decode_error" and "ends before" in (result.detail or "")
    assert result.body == b""


def test_a_raw_deflate_body_is_decoded(server: LocalServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        squeezer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)  # no zlib header, as some servers send it
        return web.Response(body=squeezer.compress(PAGE.encode()) + squeezer.flush(), headers={"Content-Type": "text/html", "Content-Encoding": "deflate"})

    server.route("/deflated", handler)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/deflated"))
    assert result.ok and result.body == PAGE.encode()
