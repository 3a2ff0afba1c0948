"""Bodies are what they claim and never bigger than DOWNLOAD_MAXSIZE, however wrapped (issue 11).

- A gzip served as text/html WITHOUT Content-Encoding used to pass the fetcher as its 140 KB
  and expand to 60 MB later, in extraction.  Now every layer of gzip is inflated here, in
  bounded steps, under DOWNLOAD_MAXSIZE: over it, a page is ``too_large``, as with
  Content-Encoding.
- A body longer than its Content-Length is ``length_mismatch``, not a page stored cut short; a
  shorter one stays a ``connection_error`` (a cut connection: retried, temporary for the crawler)
  whose detail says "incomplete body" and how much came.  Those are served by a raw socket server,
  since no HTTP library sends them on purpose.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import httpx
import pytest
from aiohttp import web

from scraper.extract.decode import decode_bytes
from scraper.fetch.http import MAX_INNER_GZIP, HttpFetcher, _h11_state
from scraper.fetch.result import FetchResult
from tests.fetch.conftest import LocalServer, quick_settings
from tests.rawserver import RawServer

PAGE = b"<html><head><title>A page</title></head><body><p>Hello.</p></body></html>"
LIMIT = 1024 * 1024
BOMB_BYTES = 60 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def text_bomb() -> bytes:
    """60 MB of HTML-ish text, gzip-compressed to well under 1 MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = (b"<p>" + b"a" * 1017 + b"</p>\n") * 1024  # 1 MiB
    parts = [compressor.compress(b"<html><body>")]
    parts += [compressor.compress(block) for _ in range(BOMB_BYTES // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def fetch_one(url: str, **overrides: object) -> FetchResult:
    async def main() -> FetchResult:
        async with HttpFetcher(quick_settings(**{"ROBOTSTXT_OBEY": False, **overrides})) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(main())


def _serve_bytes(server: LocalServer, path: str, body: bytes, **headers: str) -> str:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, headers={"Content-Type": "text/html", **headers})

    server.route(path, handler)
    return server.url(path)


def _fetch_measured(url: str) -> tuple[FetchResult, int]:
    tracemalloc.start()
    try:
        result = fetch_one(url, DOWNLOAD_MAXSIZE=LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


# -- gzip whatever its wrapping ---------------------------------------------------------------------------


@pytest.mark.parametrize("content_encoding", [None, "gzip"], ids=["no-content-encoding", "content-encoding-gzip"])
def test_a_gzip_bomb_is_too_large_with_or_without_content_encoding(server: LocalServer, content_encoding: str | None) -> None:
    bomb = text_bomb()
    assert len(bomb) < LIMIT  # small on the wire: only decompression shows what it is
    headers = {"Content-Encoding": content_encoding} if content_encoding else {}
    url = _serve_bytes(server, "/bomb", bomb, **headers)
    assert fetch_one(_serve_bytes(server, "/warm-up", PAGE)).ok  # imports and caches are not the body's memory
    result, peak = _fetch_measured(url)
    assert result.failure == "too_large", result.detail
    assert "after decompression" in (result.detail or "")
    assert result.body == b""
    assert peak < 4 * LIMIT, f"peak {peak} bytes for a body that inflates to {BOMB_BYTES}"


def test_without_content_encoding_the_failure_says_the_body_was_gzip(server: LocalServer) -> None:
    result = fetch_one(_serve_bytes(server, "/bomb", text_bomb()), DOWNLOAD_MAXSIZE=LIMIT)
    assert result.failure == "too_large" and "is itself gzip data" in (result.detail or "")


def test_a_small_gzip_body_without_content_encoding_reaches_the_extractors_inflated(server: LocalServer) -> None:
    result = fetch_one(_serve_bytes(server, "/page.html.gz", gzip.compress(PAGE)))
    assert result.ok and result.body == PAGE
    assert decode_bytes(result.body).startswith("<html>")


def test_gzip_inside_content_encoding_gzip_is_inflated_and_bounded(server: LocalServer) -> None:
    double = gzip.compress(gzip.compress(PAGE))
    assert fetch_one(_serve_bytes(server, "/double", double, **{"Content-Encoding": "gzip"})).body == PAGE
    double_bomb = gzip.compress(text_bomb())
    result = fetch_one(_serve_bytes(server, "/double-bomb", double_bomb, **{"Content-Encoding": "gzip"}), DOWNLOAD_MAXSIZE=LIMIT)
    assert result.failure == "too_large" and result.body == b""


def test_gzip_nested_too_deep_is_a_decode_error(server: LocalServer) -> None:
    nested = PAGE
    for _ in range(MAX_INNER_GZIP + 1):
        nested = gzip.compress(nested)
    result = fetch_one(_serve_bytes(server, "/nested", nested))
    assert result.failure == "decode_error" and "MAX_INNER_GZIP" in (result.detail or "")


def test_a_corrupt_gzip_body_without_content_encoding_is_a_decode_error(server: LocalServer) -> None:
    whole = gzip.compress(PAGE * 200)
    broken = whole[:20] + bytes(b ^ 0x5A for b in whole[20:60]) + whole[60:]
    result = fetch_one(_serve_bytes(server, "/broken", broken))
    assert result.failure == "decode_error" and "no Content-Encoding" in (result.detail or "")
    cut = fetch_one(_serve_bytes(server, "/cut", whole[: len(whole) // 2]))
    assert cut.failure == "decode_error" and "ends before" in (cut.detail or "")


def test_brotli_is_not_inflated(server: LocalServer) -> None:
    # Not asked for (Accept-Encoding: gzip, deflate), so never decoded: a named failure, not a bomb.
    result = fetch_one(_serve_bytes(server, "/br", b"\x1b\xff\xff" + bytes(5000), **{"Content-Encoding": "br"}))
    assert result.failure == "decode_error" and "'br'" in (result.detail or "")


def test_a_gzipped_robots_txt_is_read_and_cut_at_its_limit(server: LocalServer) -> None:
    rules = b"User-agent: *\nDisallow: /private\n"
    _serve_bytes(server, "/robots.txt", gzip.compress(rules + b"#" * (2 * 1024 * 1024)), **{"Content-Type": "text/plain"})
    _serve_bytes(server, "/private/x", PAGE)
    result = fetch_one(server.url("/private/x"), ROBOTSTXT_OBEY=True)
    assert result.failure == "robots_disallowed"
    assert server.hits_for("/private/x") == []


# -- Content-Length that does not match the body --------------------------------------------------------------


def replaying(responses: list[bytes]) -> RawServer:
    """A server that answers every request with the next of ``responses`` (the last one again when they run out)."""
    server: RawServer

    def answer(_: int, __: bytes) -> bytes:
        return responses[min(len(server.requests), len(responses)) - 1]

    server = RawServer(answer)
    return server


@pytest.fixture
def raw_server() -> Iterator[Callable[[list[bytes]], RawServer]]:
    servers: list[RawServer] = []

    def start(responses: list[bytes]) -> RawServer:
        servers.append(replaying(responses))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def response(body: bytes, *, length: int | None = None, close: bool = False, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {len(body) if length is None else length}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


def fetch_all(urls: list[str], **overrides: object) -> list[FetchResult]:
    async def main() -> list[FetchResult]:
        async with HttpFetcher(quick_settings(**{"ROBOTSTXT_OBEY": False, **overrides})) as fetcher:
            return [await fetcher.fetch(url) for url in urls]

    return asyncio.run(main())


def test_a_body_longer_than_its_content_length_is_a_length_mismatch(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    # Kept alive: the extra bytes would otherwise be read as the answer to the next request.
    server = raw_server([response(PAGE, length=20), response(PAGE)])
    first, second = fetch_all([server.url("/first"), server.url("/second")], RETRY_TIMES=0)
    assert first.failure == "length_mismatch", first.detail
    assert "20 bytes its Content-Length declares" in (first.detail or "")
    assert first.body == b"" and first.status == 200
    assert second.ok and second.body == PAGE
    assert server.connections == 2  # the connection that had extra bytes was not reused


def test_a_body_longer_than_its_content_length_on_a_closed_connection(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    server = raw_server([response(PAGE, length=20, close=True)])
    [result] = fetch_all([server.url("/page")], RETRY_TIMES=0)
    assert result.failure == "length_mismatch" and result.body == b""


def test_a_body_shorter_than_its_content_length_is_a_cut_connection_that_says_so(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    server = raw_server([response(PAGE, length=500, close=True)])
    [result] = fetch_all([server.url("/page")], RETRY_TIMES=1)
    assert result.failure == "connection_error", result.detail
    assert (result.detail or "").startswith("incomplete body:")
    assert f"after {len(PAGE)} of the 500 bytes its Content-Length declares" in (result.detail or "")
    assert result.attempts == 2 and len(server.requests) == 2  # retried, like a dropped connection
    assert result.body == b""


def test_a_chunked_body_cut_short_says_so_too(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\n<html><body>hi, \r\n"
    server = raw_server([cut])
    [result] = fetch_all([server.url("/page")], RETRY_TIMES=0)
    assert result.failure == "connection_error" and "incomplete body" in (result.detail or "") and "chunked" in (result.detail or "")


def test_an_exact_body_and_a_trailing_crlf_are_fine(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    server = raw_server([response(PAGE), response(PAGE) + b"\r\n", response(PAGE)])
    results = fetch_all([server.url(f"/p{i}") for i in range(3)], RETRY_TIMES=0)
    assert [r.failure for r in results] == [None, None, None]
    assert all(r.body == PAGE for r in results)
    assert server.connections == 2  # the CRLF would have been read as the third answer: that connection was retired


def test_an_error_page_with_a_wrong_length_is_still_just_its_status(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    server = raw_server([response(b"<html>Forbidden, go away</html>", length=10, close=True, status="403 Forbidden")])
    [result] = fetch_all([server.url("/page")], RETRY_TIMES=0)
    assert result.failure == "http_error" and result.status == 403


def test_a_robots_txt_cut_short_holds_the_host_instead_of_allowing_everything(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    server = raw_server([response(b"User-agent: *\nDisallow: /", length=400, close=True)])
    [result] = fetch_all([server.url("/page")], ROBOTSTXT_OBEY=True, RETRY_TIMES=0)
    assert result.failure == "robots_unavailable", result.detail
    assert all(not request.startswith(b"GET /page") for request in server.requests)


def test_a_robots_txt_longer_than_declared_holds_the_host_too(raw_server: Callable[[list[bytes]], RawServer]) -> None:
    # Its first 14 bytes would be "User-agent: *\n" alone: read as "everything allowed".
    server = raw_server([response(b"User-agent: *\nDisallow: /\n", length=14, close=True)])
    [result] = fetch_all([server.url("/page")], ROBOTSTXT_OBEY=True, RETRY_TIMES=0)
    assert result.failure == "robots_unavailable", result.detail
    assert "Content-Length" in (result.detail or "")
    assert all(not request.startswith(b"GET /page") for request in server.requests)


def test_the_http11_parser_state_is_found_for_a_response(server: LocalServer) -> None:
    # length_mismatch depends on reaching h11's unparsed bytes through httpx's private wrappers:
    # if an httpx/httpcore upgrade moves them, this fails instead of the check silently doing nothing.
    _serve_bytes(server, "/page", PAGE)

    async def main() -> object | None:
        async with HttpFetcher(quick_settings(ROBOTSTXT_OBEY=False)) as fetcher:
            client = fetcher._get_client()
            async with client.stream("GET", server.url("/page"), extensions={"scraper.allow_private": True}) as reply:
                await reply.aread()
                return _h11_state(reply)

    state = asyncio.run(main())
    assert state is not None and hasattr(state, "trailing_data")
    assert isinstance(httpx.__version__, str)
