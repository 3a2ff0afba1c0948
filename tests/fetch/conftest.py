"""A real HTTP server on 127.0.0.1 for the fetch tests, and settings that keep them quick.

The server is aiohttp in a background thread with its own event loop, so the
fetcher under test runs its own loop (``asyncio.run``) exactly as in a crawl.
Every request is logged with the server's monotonic clock as it arrives, and
the number of requests inside handlers at once is counted, so the tests
prove politeness from the server's side.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from scraper.settings import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TEST_USER_AGENT = "qa-scraper-test/1.0 (+https://example.invalid/bot)"
SLACK = 0.05
"""Seconds of scheduler and network jitter allowed below a politeness lower bound."""


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    path: str
    query: str
    at: float
    """time.monotonic() when the handler started."""
    headers: dict[str, str] = field(default_factory=dict)
    host: str = ""


class LocalServer:
    """aiohttp on 127.0.0.1, port chosen by the OS; routes are set by each test."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-http-server", daemon=True)
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> LocalServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    # -- what tests use -------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def text(self, path: str, body: str, *, status: int = 200, content_type: str = "text/html; charset=utf-8", **headers: str) -> None:
        """Serve a fixed text body at ``path``."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=body.encode("utf-8"), status=status, headers={"Content-Type": content_type, **headers})

        self.route(path, handler)

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    def all_hits(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    # -- dispatch -------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        hit = Hit(request.path, request.query_string, time.monotonic(), dict(request.headers), request.host)
        with self._lock:
            self.hits.append(hit)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            handler = self.routes.get(request.path)
            if handler is None:
                return web.Response(status=404, text="not found", content_type="text/plain")
            return await handler(request)
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.fixture
def make_server() -> Iterator[Callable[[], LocalServer]]:
    """Start as many local servers as a test needs; all are stopped afterwards."""
    started: list[LocalServer] = []

    def start() -> LocalServer:
        server = LocalServer().start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Callable[[], LocalServer]) -> LocalServer:
    return make_server()


def quick_settings(**overrides: Any) -> Settings:
    """Polite-but-fast settings for tests; each test states the setting it is about."""
    base: dict[str, Any] = {
        "USER_AGENT": TEST_USER_AGENT,
        "DOWNLOAD_DELAY": 0.0,
        "DOWNLOAD_TIMEOUT": 5.0,
        "DOWNLOAD_MAXSIZE": 1024 * 1024,
        "RETRY_BACKOFF_BASE": 0.01,
        "RETRY_BACKOFF_MAX": 0.05,
        "BOTWALL_BACKOFF_BASE": 0.5,
        "BOTWALL_BACKOFF_MAX": 2.0,
    }
    base.update(overrides)
    return Settings.build(base)


def gaps(times: list[float]) -> list[float]:
    """Differences between consecutive sorted times."""
    ordered = sorted(times)
    return [later - earlier for earlier, later in zip(ordered, ordered[1:])]
