"""A host that cannot be connected to is parked for the run (HOST_MAX_CONNECTION_FAILURES, issue 11).

Before: each of a dead host's queued URLs spent its own retries and backoff on it (30 URLs:
90 connection attempts, ~50 s).  Now after N connection failures in a row the host's other
URLs fail at once as ``host_parked``, without connecting.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Iterator

import pytest

import scraper.crawler.engine as engine
from scraper.fetch.http import HttpFetcher
from scraper.fetch.result import FetchResult
from tests.fetch.conftest import LocalServer, quick_settings
from tests.rawserver import RawServer

URLS = 30
PAGE = b"<html><head><title>A page</title></head><body><p>Hello.</p></body></html>"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(PAGE), PAGE)


def closed_port() -> int:
    """A port that was free a moment ago: nothing listens there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HangUp(RawServer):
    """Closes each connection without a response, unless ``answers`` says to answer it."""

    def __init__(self, answers: set[int] | None = None) -> None:
        self.answers = answers or set()
        """1-based numbers of the connections that get a 200 page."""
        super().__init__(lambda number, _: OK if number in self.answers else None)

    @property
    def accepted(self) -> int:
        return self.connections


@pytest.fixture
def hang_up() -> Iterator[type[HangUp]]:
    made: list[HangUp] = []

    def make(answers: set[int] | None = None) -> HangUp:
        made.append(HangUp(answers))
        return made[-1]

    yield make  # type: ignore[misc]
    for server in made:
        server.close()


def fetch_many(urls: list[str], *, together: bool = True, **overrides: object) -> tuple[list[FetchResult], dict[str, str]]:
    settings = quick_settings(**{"ROBOTSTXT_OBEY": False, "HOST_MAX_CONNECTION_FAILURES": 5, **overrides})

    async def main() -> tuple[list[FetchResult], dict[str, str]]:
        async with HttpFetcher(settings) as fetcher:
            if together:
                results = list(await asyncio.gather(*(fetcher.fetch(url) for url in urls)))
            else:
                results = [await fetcher.fetch(url) for url in urls]
            return results, fetcher.parked_hosts()

    return asyncio.run(main())


def test_a_dead_host_is_parked_after_n_connection_failures(caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    urls = [f"http://127.0.0.1:{port}/q/{i}" for i in range(URLS)]
    with caplog.at_level(logging.WARNING, logger="scraper.fetch.http"):
        results, parked = fetch_many(urls, RETRY_TIMES=2)
    assert all(r.failure is not None for r in results)
    assert sum(r.attempts for r in results) == 5  # was 30 x 3 = 90 attempts
    kinds = Counter(r.failure for r in results)
    assert kinds["host_parked"] == URLS - 2 and kinds["connection_error"] == 2, kinds
    # The first URL used its 3 attempts; the second was parked after its 2nd: its detail says so.
    assert [r.attempts for r in results[:3]] == [3, 2, 0]
    assert "parked" in (results[1].detail or "")
    parked_one = next(r for r in results if r.failure == "host_parked")
    assert "5 connection failures in a row" in (parked_one.detail or "")
    assert "HOST_MAX_CONNECTION_FAILURES=5" in (parked_one.detail or "")
    assert list(parked) == [f"127.0.0.1:{port}"]
    warnings = [r for r in caplog.records if "host_parked" in r.getMessage()]
    assert len(warnings) == 1


TRANSPORTS = pytest.mark.parametrize("transport", ["httpcore", "aiohttp"])


@TRANSPORTS
def test_connection_attempts_stop_after_n_as_the_server_sees_them(hang_up, transport: str) -> None:  # type: ignore[no-untyped-def]
    # aiohttp would retry each dropped request once by itself: the transport stops that, so the
    # server sees one connection per attempt on both.
    server = hang_up()
    urls = [f"http://127.0.0.1:{server.port}/q/{i}" for i in range(URLS)]
    results, _ = fetch_many(urls, RETRY_TIMES=0, HTTP_TRANSPORT=transport)
    assert server.accepted == 6  # 5 pages, then robots.txt asked whether the host answers at all
    assert server.requests[-1].startswith(b"GET /robots.txt ")
    assert Counter(r.failure for r in results) == {"connection_error": 5, "host_parked": URLS - 5}
    assert all(r.attempts == 0 for r in results if r.failure == "host_parked")


@TRANSPORTS
def test_any_response_resets_the_count(hang_up, transport: str) -> None:  # type: ignore[no-untyped-def]
    # 4 failures, a page, 4 failures, a page: never 5 in a row, so never parked.
    server = hang_up(answers={5, 10})
    urls = [f"http://127.0.0.1:{server.port}/q/{i}" for i in range(10)]
    results, parked = fetch_many(urls, together=False, RETRY_TIMES=0, HTTP_TRANSPORT=transport)
    assert parked == {}
    assert server.accepted == 10
    assert [r.ok for r in results] == [False] * 4 + [True] + [False] * 4 + [True]


def test_a_host_whose_pages_reset_but_that_answers_is_not_parked() -> None:
    # A resumed crawl can start with a burst of faulty URLs of a live host (each resets): before
    # parking, the host's robots.txt is asked, and its answer keeps every URL tried.
    def answer(number: int, request: bytes) -> bytes | None:
        return OK if request.startswith(b"GET /robots.txt ") else None

    server = RawServer(answer)
    try:
        urls = [server.url(f"/q/{i}") for i in range(12)]
        results, parked = fetch_many(urls, together=False, RETRY_TIMES=0)
    finally:
        server.close()
    assert parked == {}
    assert [r.failure for r in results] == ["connection_error"] * 12
    probes = [r for r in server.requests if r.startswith(b"GET /robots.txt ")]
    assert len(probes) == 2  # asked after the 5th and the 10th failure in a row


def test_zero_never_parks() -> None:
    port = closed_port()
    results, parked = fetch_many([f"http://127.0.0.1:{port}/q/{i}" for i in range(8)], RETRY_TIMES=0, HOST_MAX_CONNECTION_FAILURES=0)
    assert parked == {}
    assert [r.failure for r in results] == ["connection_error"] * 8


def test_parking_is_per_host_and_port(server: LocalServer) -> None:
    server.text("/alive", PAGE.decode())
    port = closed_port()
    dead = [f"http://127.0.0.1:{port}/q/{i}" for i in range(8)]
    results, parked = fetch_many(dead + [server.url("/alive")], together=False, RETRY_TIMES=0)
    assert list(parked) == [f"127.0.0.1:{port}"]
    assert results[-1].ok
    assert "host_parked" in (r.failure for r in results[:-1])


def test_a_parked_host_is_a_transient_failure_for_the_crawler() -> None:
    # Parked for this run only: the next run tries the host again.
    assert "host_parked" in engine._TRANSIENT
