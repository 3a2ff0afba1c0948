"""Names that resolve into the local network are refused when the connection is opened.

The check in scraper/fetch/resolve.py looks at the addresses a name resolves to, not at the name,
so a public-looking name that resolves to 127.0.0.1 (a redirect to it, DNS rebinding) is caught.
No test touches the internet: the resolver is replaced with a table, and the one "public" address
used (PUBLIC_IP) is translated to 127.0.0.1 under the guard, below the check, by ``NatBackend``.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpcore
import pytest
from aiohttp import web

import scraper
import scraper.fetch.resolve as resolve_module
from scraper.fetch.http import HttpFetcher
from scraper.fetch.resolve import GuardedBackend, blocked_reason
from scraper.fetch.result import FAILURE_KINDS, FetchResult
from scraper.settings import Settings
from tests.fetch.conftest import LocalServer, quick_settings

PAGE = "<html><head><title>Landing</title></head><body><p>Here.</p></body></html>"
PUBLIC_IP = "93.184.215.14"
"""A global unicast address; connections to it are sent to 127.0.0.1 by NatBackend."""


class Resolver:
    """Stands in for scraper.fetch.resolve.resolve: names from a table, every lookup logged."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


class NatBackend(httpcore.AsyncNetworkBackend):
    """Below the guard: records the address each connection is opened to, and sends PUBLIC_IP to 127.0.0.1."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        if host == PUBLIC_IP:
            host = "127.0.0.1"
        elif host != "127.0.0.1":
            raise AssertionError(f"a test tried to connect to {host}")
        return await self.inner.connect_tcp(host, port, timeout=timeout, local_address=local_address, socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], Resolver]:
    """``names({"public.example": ["127.0.0.1"]})`` makes those names resolve so for the test."""

    def install(table: dict[str, list[str]]) -> Resolver:
        resolver = Resolver(table)
        monkeypatch.setattr(resolve_module, "resolve", resolver)
        return resolver

    return install


@pytest.fixture
def nat(monkeypatch: pytest.MonkeyPatch) -> NatBackend:
    """Every guarded backend the fetcher builds connects through one NatBackend."""
    backend = NatBackend()
    monkeypatch.setattr(resolve_module, "GuardedBackend", lambda **options: GuardedBackend(inner=backend, **options))
    return backend


def fetch_all(settings: Settings, *urls: str) -> list[FetchResult]:
    """Fetch the URLs one after another with one fetcher (one connection pool)."""

    async def main() -> list[FetchResult]:
        async with HttpFetcher(settings) as fetcher:
            return [await fetcher.fetch(url) for url in urls]

    return asyncio.run(main())


def redirect(server: LocalServer, path: str, location: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    server.route(path, handler)


# -- which addresses are refused ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("100.64.0.1", "shared address space"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of 169.254.169.254
        ("93.184.215.14", None),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_which_addresses_are_not_public(address: str, why: str | None) -> None:
    assert blocked_reason(address) == why


def test_blocked_address_is_a_failure_kind() -> None:
    assert "blocked_address" in FAILURE_KINDS


# -- a fetch that starts on a public name ---------------------------------------------------------------


def test_a_public_name_that_resolves_to_loopback_is_refused(server: LocalServer, names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    server.text("/page", PAGE)
    server.text("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    resolver = names({"public.example": ["127.0.0.1"]})
    url = f"http://public.example:{server.port}/page"
    [result] = fetch_all(quick_settings(RETRY_TIMES=2), url)
    assert result.failure == "blocked_address"
    assert result.attempts == 1, "a refused address is not retried"
    assert "public.example resolves to 127.0.0.1 (loopback)" in (result.detail or "")
    assert "DNS_ALLOW_PRIVATE" in (result.detail or "")
    assert server.all_hits() == [], "neither robots.txt nor the page was requested"
    assert nat.connected == [], "nothing was connected to"
    assert "public.example" in resolver.lookups


def test_one_private_address_among_public_ones_is_enough_to_refuse(server: LocalServer, names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    server.text("/page", PAGE)
    names({"mixed.example": [PUBLIC_IP, "10.0.0.7"], "six.example": ["::1"], "meta.example": ["169.254.169.254"]})
    results = fetch_all(
        quick_settings(ROBOTSTXT_OBEY=False),
        f"http://mixed.example:{server.port}/page",
        f"http://six.example:{server.port}/page",
        f"https://meta.example:{server.port}/latest/meta-data/",
    )
    assert [r.failure for r in results] == ["blocked_address"] * 3
    assert "10.0.0.7 (private)" in (results[0].detail or "")
    assert "::1 (loopback)" in (results[1].detail or "")
    assert "169.254.169.254 (link-local)" in (results[2].detail or "")
    assert nat.connected == [] and server.all_hits() == []


def test_dns_allow_private_lets_such_a_name_through(server: LocalServer, names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    server.text("/page", PAGE)
    names({"intranet.example": ["127.0.0.1"]})
    [result] = fetch_all(quick_settings(DNS_ALLOW_PRIVATE=True), f"http://intranet.example:{server.port}/page")
    assert result.ok and result.body == PAGE.encode()
    assert [hit.path for hit in server.all_hits()] == ["/robots.txt", "/page"]
    assert server.hits_for("/page")[0].host == f"intranet.example:{server.port}", "the request still names the host"


def test_a_public_address_is_connected_to_exactly_as_checked(server: LocalServer, names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    server.text("/page", PAGE)
    resolver = names({"public.example": [PUBLIC_IP]})
    [result] = fetch_all(quick_settings(ROBOTSTXT_OBEY=False), f"http://public.example:{server.port}/page")
    assert result.ok and result.body == PAGE.encode()
    assert nat.connected == [PUBLIC_IP], "the socket was opened to the checked address, not to the name"
    assert resolver.lookups == ["public.example"], "one lookup: no second resolution to race against"
    assert server.hits_for("/page")[0].host == f"public.example:{server.port}"


def test_a_name_that_does_not_resolve_is_a_connection_error(names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    names({})
    [result] = fetch_all(quick_settings(ROBOTSTXT_OBEY=False, RETRY_TIMES=0), "http://nowhere.example/page")
    assert result.failure == "connection_error" and "cannot resolve nowhere.example" in (result.detail or "")


# -- redirects ------------------------------------------------------------------------------------------


def test_a_redirect_from_a_public_name_to_a_name_resolving_to_loopback_is_refused(server: LocalServer, names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    server.text("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    redirect(server, "/start", f"http://rebind.example:{server.port}/landing")
    server.text("/landing", PAGE)
    names({"public.example": [PUBLIC_IP], "rebind.example": ["127.0.0.1"]})
    start = f"http://public.example:{server.port}/start"

    [refused] = fetch_all(quick_settings(), start)
    assert refused.failure == "blocked_address"
    assert refused.final_url == f"http://rebind.example:{server.port}/landing"
    assert "rebind.example resolves to 127.0.0.1" in (refused.detail or "")
    assert server.hits_for("/landing") == []
    assert [(h.path, h.host.split(":")[0]) for h in server.all_hits()] == [("/robots.txt", "public.example"), ("/start", "public.example")]
    assert set(nat.connected) == {PUBLIC_IP}

    # REDIRECT_ALLOW_PRIVATE lets redirects into the local network be followed, whatever the name;
    # robots.txt of the new host is fetched under the same rule as the hop, so it is obeyed.
    [allowed] = fetch_all(quick_settings(REDIRECT_ALLOW_PRIVATE=True), start)
    assert allowed.ok and allowed.body == PAGE.encode()
    assert ("/robots.txt", "rebind.example") in [(h.path, h.host.split(":")[0]) for h in server.all_hits()]


def test_a_fetch_that_starts_on_a_private_host_may_follow_such_a_name(server: LocalServer, names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    redirect(server, "/start", f"http://rebind.example:{server.port}/landing")
    server.text("/landing", PAGE)
    names({"rebind.example": ["127.0.0.1"]})
    [result] = fetch_all(quick_settings(), server.url("/start"))
    assert result.ok and result.final_url == f"http://rebind.example:{server.port}/landing"
    assert server.hits_for("/landing")[0].host == f"rebind.example:{server.port}"


def test_a_connection_opened_for_a_private_origin_is_not_reused_by_a_public_one(server: LocalServer, names, nat: NatBackend) -> None:  # type: ignore[no-untyped-def]
    redirect(server, "/start", f"http://rebind.example:{server.port}/landing")
    server.text("/landing", PAGE)
    names({"rebind.example": ["127.0.0.1"]})
    allowed, refused = fetch_all(quick_settings(ROBOTSTXT_OBEY=False), server.url("/start"), f"http://rebind.example:{server.port}/landing")
    assert allowed.ok, "the first fetch started on 127.0.0.1 and kept a connection to rebind.example open"
    assert refused.failure == "blocked_address", "the second starts on rebind.example itself and may not use it"
    assert len(server.hits_for("/landing")) == 1


def test_a_proxy_resolves_names_itself_so_only_the_name_check_applies(server: LocalServer, names) -> None:  # type: ignore[no-untyped-def]
    # The server doubles as a forward proxy (on 127.0.0.1, which must stay reachable as a proxy).
    server.text("/page", PAGE)
    resolver = names({"public.example": ["127.0.0.1"]})
    [result] = fetch_all(quick_settings(HTTP_PROXY=server.origin, ROBOTSTXT_OBEY=False), "http://public.example/page")
    assert result.ok and server.hits_for("/page")[0].host == "public.example"
    assert resolver.lookups == []


# -- whole crawls ---------------------------------------------------------------------------------------


def test_a_crawl_of_a_local_seed_works_and_a_link_to_a_name_resolving_locally_is_refused(
    make_server, names, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    server: LocalServer = make_server()
    other = f"http://rebind.example:{server.port}/elsewhere"
    server.text("/", f'<html><head><title>Seed</title></head><body><a href="/next">next</a><a href="{other}">away</a></body></html>')
    server.text("/next", PAGE)
    server.text("/elsewhere", PAGE)
    names({"rebind.example": ["127.0.0.1"]})
    state = tmp_path / "s.db"
    list(scraper.crawl([server.url("/")], state=state, output=tmp_path / "out.jsonl", DOWNLOAD_DELAY=0, INCLUDE=[".*"], DEPTH_LIMIT=1))
    with sqlite3.connect(state) as db:
        rows = {url: (st, failure) for url, st, failure in db.execute("SELECT url, state, failure FROM urls")}
    assert rows[server.url("/")][1] is None and rows[server.url("/next")][1] is None
    assert rows[other] == ("failed", "blocked_address")
    assert server.hits_for("/elsewhere") == []


def test_each_resolved_address_is_tried_in_turn(server: LocalServer, names) -> None:  # type: ignore[no-untyped-def]
    # The server listens on 127.0.0.1 only, so ::1 is refused (or unroutable) and the next address is used.
    server.text("/page", PAGE)
    names({"dual.example": ["::1", "127.0.0.1"]})
    [result] = fetch_all(quick_settings(ROBOTSTXT_OBEY=False, DNS_ALLOW_PRIVATE=True), f"http://dual.example:{server.port}/page")
    assert result.ok and result.body == PAGE.encode()


def test_the_guard_is_installed_where_this_httpx_keeps_its_pool() -> None:
    """The guard replaces httpx's private ``AsyncHTTPTransport._pool``; pyproject pins the httpx range it works with.

    If a new httpx moves the pool, building the transport must refuse (a FetchRefusedError naming
    the pin), never run unguarded; this test is what fails first when that happens.
    """
    import httpcore
    import httpx

    from scraper.fetch.resolve import _transport_with_backend

    backend = httpcore.AnyIOBackend()
    transport = _transport_with_backend(backend, http2=False, limits=httpx.Limits())
    pool = transport._pool
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert pool._network_backend is backend
