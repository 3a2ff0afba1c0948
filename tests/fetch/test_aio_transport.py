"""HTTP_TRANSPORT=aiohttp: the fetcher over aiohttp keeps the guarantees of the httpcore transport (issue 15).

Each test runs a real server on 127.0.0.1.  The address guard is aiohttp's resolver here: names are
made to resolve where a test wants by replacing ``scraper.fetch.resolve.resolve``, as
tests/security/test_resolved_addresses.py does for the httpcore transport.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
from typing import Any

import httpx
import pytest
from aiohttp import web

import scraper.fetch.resolve as resolve_module
from scraper.errors import BlockedAddressError
from scraper.fetch.aio import AiohttpTransport, GuardedResolver
from scraper.fetch.http import HttpFetcher
from scraper.fetch.resolve import ALLOW_PRIVATE_EXTENSION
from scraper.fetch.result import FetchResult
from tests.fetch.conftest import TEST_USER_AGENT, LocalServer, quick_settings

PAGE = "<html><head><title>A page</title></head><body><p>Hello from the page.</p></body></html>"


def fetch(urls: list[str], **overrides: object) -> list[FetchResult]:
    settings = quick_settings(**{"ROBOTSTXT_OBEY": False, "HTTP_TRANSPORT": "aiohttp", **overrides})

    async def main() -> list[FetchResult]:
        async with HttpFetcher(settings) as fetcher:
            return [await fetcher.fetch(url) for url in urls]

    return asyncio.run(main())


def test_a_page_comes_with_the_fetchers_headers_only(server: LocalServer) -> None:
    server.text("/q/1", PAGE)
    [result] = fetch([server.url("/q/1")])
    assert result.ok and result.body == PAGE.encode()
    headers = server.hits_for("/q/1")[0].headers
    assert headers["User-Agent"] == TEST_USER_AGENT  # not aiohttp's own
    assert "aiohttp" not in " ".join(headers.values()).lower()
    assert "br" in headers["Accept-Encoding"] or "gzip" in headers["Accept-Encoding"]


def test_a_public_name_resolving_to_loopback_is_refused_before_connecting(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(resolve_module, "resolve", resolve)
    server.text("/", PAGE)
    [result] = fetch([f"http://public.example:{server.port}/"])
    assert result.failure == "blocked_address", result.detail
    assert "127.0.0.1" in (result.detail or "")
    assert looked_up == ["public.example"]
    assert server.all_hits() == []


def test_a_name_that_does_not_resolve_is_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(resolve_module, "resolve", resolve)
    [result] = fetch(["http://nowhere.example/"], RETRY_TIMES=0)
    assert result.failure == "connection_error", result.detail


def test_an_ip_literal_in_the_local_network_is_refused_unless_the_request_may_go_there() -> None:
    async def main() -> None:
        transport = AiohttpTransport()
        try:
            with pytest.raises(BlockedAddressError, match="10.1.2.3"):
                await transport.handle_async_request(httpx.Request("GET", "http://10.1.2.3/"))
            with pytest.raises(BlockedAddressError):
                await transport.handle_async_request(httpx.Request("GET", "http://[::1]:9/"))
        finally:
            await transport.aclose()

    asyncio.run(main())


def test_the_politeness_clock_hears_when_the_request_is_sent(server: LocalServer) -> None:
    server.text("/", PAGE)
    events: list[str] = []

    async def trace(event: str, info: Any) -> None:
        events.append(event)

    async def main() -> int:
        transport = AiohttpTransport()
        try:
            request = httpx.Request("GET", server.url("/"), extensions={"trace": trace, ALLOW_PRIVATE_EXTENSION: True})
            response = await transport.handle_async_request(request)
            await response.aread()
            return response.status_code
        finally:
            await transport.aclose()

    assert asyncio.run(main()) == 200
    assert events == ["http11.send_request_headers.started"]


def test_a_gzip_body_is_decoded_by_httpx_within_the_size_limit(server: LocalServer) -> None:
    small, bomb = gzip.compress(PAGE.encode()), gzip.compress(b"<p>" + b"a" * (4 * 1024 * 1024))

    def serve(body: bytes) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=body, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
        return handler

    server.route("/small", serve(small))
    server.route("/bomb", serve(bomb))
    ok, big = fetch([server.url("/small"), server.url("/bomb")], DOWNLOAD_MAXSIZE=1024 * 1024)
    assert ok.ok and ok.body == PAGE.encode()
    assert big.failure == "too_large", big.detail


def test_aiohttp_keeps_no_cookie_of_its_own(server: LocalServer) -> None:
    async def set_cookie(request: web.Request) -> web.StreamResponse:
        return web.Response(text=PAGE, content_type="text/html", headers={"Set-Cookie": "session=abc; Path=/"})

    server.route("/login", set_cookie)
    server.text("/next", PAGE)
    first, second = fetch([server.url("/login"), server.url("/next")], COOKIES_ENABLED=False)
    assert first.ok and second.ok
    assert "Cookie" not in server.hits_for("/next")[0].headers


def test_the_transport_is_chosen_by_the_setting() -> None:
    assert quick_settings().HTTP_TRANSPORT == "httpcore"
    assert quick_settings(HTTP_TRANSPORT="aiohttp").HTTP_TRANSPORT == "aiohttp"
    with pytest.raises(Exception, match="HTTP_TRANSPORT"):
        quick_settings(HTTP_TRANSPORT="curl")


def test_the_resolver_hands_aiohttp_exactly_the_addresses_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
                "mixed.example": ["93.184.215.14", "10.0.0.7"]}[host]

    monkeypatch.setattr(resolve_module, "resolve", resolve)

    async def main() -> None:
        results = await GuardedResolver().resolve("public.example", 443)
        assert [(r["host"], r["hostname"], r["port"], r["family"]) for r in results] == [
            ("93.184.215.14", "public.example", 443, socket.AF_INET),
            ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "public.example", 443, socket.AF_INET6)]
        with pytest.raises(BlockedAddressError, match="10.0.0.7"):  # one private address among public ones is enough
            await GuardedResolver().resolve("mixed.example", 80)
        assert len(await GuardedResolver(allow_private=True).resolve("mixed.example", 80)) == 2

    asyncio.run(main())
