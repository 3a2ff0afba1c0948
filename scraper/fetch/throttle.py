"""Per-host politeness: how many requests at once, and how far apart they start.

Why one component owns all of it: every reason to slow down (DOWNLOAD_DELAY,
robots.txt Crawl-delay, a retry backoff, a ``Retry-After``, a bot wall) ends
up as the same question, "when may the next request to this host start?".
Keeping the answer in one place means a retry of page A also delays page B on
the same host, and a robots.txt request counts like any other.

The rules, per host (``host:port``):

- at most CONCURRENT_REQUESTS_PER_DOMAIN requests in flight, and at most
  CONCURRENT_REQUESTS over all hosts;
- two request STARTS at least ``max(DOWNLOAD_DELAY (x0.5-1.5 when
  RANDOMIZE_DOWNLOAD_DELAY), Crawl-delay)`` apart, with Crawl-delay capped
  to MAX_CRAWL_DELAY (a warning names the host the first time it asks more);
- no start before the host's "not before" time, which :meth:`penalize`
  pushes out (retries, Retry-After) and :meth:`bot_wall` pushes out
  exponentially (BOTWALL_BACKOFF_BASE doubling up to BOTWALL_BACKOFF_MAX,
  reset by :meth:`clear_bot_wall` after a good page).

Times come from ``time.monotonic`` (never the wall clock, which can jump).
Waiting is ``asyncio.sleep``; the check that a start is allowed and the
booking of that start happen with no ``await`` in between, so any number of
tasks on one event loop can share a throttle safely.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from scraper.fetch.urls import host_key
from scraper.settings import Settings

__all__ = ["HostSlot", "HostThrottle"]

log = logging.getLogger(__name__)


@dataclass
class _HostState:
    """What the throttle knows about one host."""

    semaphore: asyncio.Semaphore
    last_start: float | None = None
    next_start: float = 0.0
    """Earliest start allowed by the delay since the last start."""
    not_before: float = 0.0
    """Earliest start allowed by penalties (retry backoff, Retry-After, bot walls)."""
    crawl_delay: float = 0.0
    gap: float = 0.0
    """The delay booked with the last start (randomised or not)."""
    botwall_strikes: int = 0
    crawl_delay_warned: bool = False
    """A Crawl-delay over MAX_CRAWL_DELAY was already reported for this host."""
    in_flight: int = 0
    starts: int = 0

    def ready_at(self) -> float:
        return max(self.next_start, self.not_before)


class HostThrottle:
    """Shared by every request of a crawl; ``async with throttle.slot(url): <one request>``.

    A fetch that may retry holds its host slot across attempts instead::

        async with throttle.host_slot(url) as slot:
            async with slot.request():
                ...  # first attempt
            async with slot.request():
                ...  # a retry: spaced like any request, but not queued behind other URLs

    so a retry waits for its backoff, not for every URL queued for the host.
    """

    def __init__(self, settings: Settings, *, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng or random.Random()
        self._hosts: dict[str, _HostState] = {}
        self._global = asyncio.Semaphore(settings.CONCURRENT_REQUESTS)

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Wait for this host's turn and start time, then count as one request in flight for the block."""
        async with self.host_slot(url) as held, held.request():
            yield

    @asynccontextmanager
    async def host_slot(self, url: str) -> AsyncIterator[HostSlot]:
        """Hold one of the host's CONCURRENT_REQUESTS_PER_DOMAIN slots; requests are made with ``request()``."""
        state = self._state(self._key(url))
        await state.semaphore.acquire()
        try:
            yield HostSlot(self, state)
        finally:
            state.semaphore.release()

    def penalize(self, host: str, seconds: float) -> None:
        """No request to ``host`` (a host key or any URL on it) starts within ``seconds`` from now."""
        if seconds <= 0:
            return
        state = self._state(self._key(host))
        state.not_before = max(state.not_before, time.monotonic() + seconds)

    def set_crawl_delay(self, host: str, seconds: float | None) -> None:
        """Apply a robots.txt Crawl-delay, capped to MAX_CRAWL_DELAY; it also spaces the next start from the last one.

        A larger (or infinite) delay is logged as a warning once per host; NaN or a negative value means none.
        """
        key = self._key(host)
        state = self._state(key)
        asked = seconds if seconds is not None and not math.isnan(seconds) else 0.0
        cap = self._settings.MAX_CRAWL_DELAY
        if asked > cap:
            if not state.crawl_delay_warned:
                state.crawl_delay_warned = True
                log.warning("%s asks for Crawl-delay %gs in robots.txt; capped to MAX_CRAWL_DELAY=%gs", key, asked, cap)
            asked = cap
        state.crawl_delay = max(0.0, asked)
        if state.last_start is not None:
            state.next_start = max(state.next_start, state.last_start + state.crawl_delay)

    def bot_wall(self, host: str) -> float:
        """Record a challenge page from ``host``; returns the seconds the host is now left alone."""
        state = self._state(self._key(host))
        state.botwall_strikes += 1
        backoff = self._botwall_backoff(state.botwall_strikes)
        self.penalize(host, backoff)
        return backoff

    def clear_bot_wall(self, host: str) -> None:
        """A good page came back: the next bot wall starts the backoff from BOTWALL_BACKOFF_BASE again."""
        state = self._hosts.get(self._key(host))
        if state is not None:
            state.botwall_strikes = 0

    def in_flight(self, host: str) -> int:
        """Requests to ``host`` currently inside a slot."""
        state = self._hosts.get(self._key(host))
        return state.in_flight if state is not None else 0

    def delay(self, host: str) -> float:
        """The fixed part of the gap between starts on ``host``: max(DOWNLOAD_DELAY, Crawl-delay)."""
        state = self._hosts.get(self._key(host))
        crawl_delay = state.crawl_delay if state is not None else 0.0
        return max(self._settings.DOWNLOAD_DELAY, crawl_delay)

    def wait_hint(self, host: str) -> float:
        """Seconds from now until the host should see another request: the delay, or a longer penalty.

        Shared crawl states pass this on to other processes (see ``scraper/store/state_postgres.py``).
        """
        state = self._hosts.get(self._key(host))
        penalty = state.not_before - time.monotonic() if state is not None else 0.0
        return max(self.delay(host), penalty, 0.0)

    @asynccontextmanager
    async def _request(self, state: _HostState) -> AsyncIterator[None]:
        await self._wait_for_start(state)
        state.in_flight += 1
        try:
            yield
        finally:
            state.in_flight -= 1
            self._global.release()

    async def _wait_for_start(self, state: _HostState) -> None:
        """Sleep until the host is ready, take a global slot, then book the start (no await in between)."""
        while True:
            await _sleep_until(state.ready_at())
            await self._global.acquire()
            now = time.monotonic()
            if state.ready_at() <= now:
                self._book_start(state, now)
                return
            # A penalty or another task's start moved the time while we waited for the global slot.
            self._global.release()

    def _book_start(self, state: _HostState, now: float) -> None:
        state.last_start = now
        state.starts += 1
        state.gap = max(self._download_delay(), state.crawl_delay)
        state.next_start = now + state.gap

    def _sent(self, state: _HostState) -> None:
        """The request's first bytes are leaving now: the gap runs from here, not from the booking.

        Booking happens before a connection exists; a new connection (or a busy
        machine) can hold the request back for a while, after which the next one,
        on a warm connection, would reach the server too soon after it.
        """
        state.next_start = max(state.next_start, time.monotonic() + state.gap)

    def _download_delay(self) -> float:
        delay = self._settings.DOWNLOAD_DELAY
        if self._settings.RANDOMIZE_DOWNLOAD_DELAY:
            delay *= self._rng.uniform(0.5, 1.5)
        return delay

    def _botwall_backoff(self, strikes: int) -> float:
        exponent = min(strikes - 1, 60)
        return min(self._settings.BOTWALL_BACKOFF_MAX, self._settings.BOTWALL_BACKOFF_BASE * (2.0**exponent))

    def _state(self, key: str) -> _HostState:
        state = self._hosts.get(key)
        if state is None:
            state = _HostState(semaphore=asyncio.Semaphore(self._settings.CONCURRENT_REQUESTS_PER_DOMAIN))
            self._hosts[key] = state
        return state

    @staticmethod
    def _key(host_or_url: str) -> str:
        return host_key(host_or_url) if "://" in host_or_url else host_or_url.lower()


class HostSlot:
    """One held host slot (from :meth:`HostThrottle.host_slot`); each ``request()`` is one throttled start."""

    def __init__(self, throttle: HostThrottle, state: _HostState) -> None:
        self._throttle = throttle
        self._state = state

    def request(self) -> AbstractAsyncContextManager[None]:
        """Wait until the host may see another request start (delay, penalties, global limit), then run the block."""
        return self._throttle._request(self._state)

    async def trace(self, event: str, info: object) -> None:
        """httpcore's ``trace`` extension: restart the delay when the request is actually sent."""
        if event.endswith("send_request_headers.started"):
            self._throttle._sent(self._state)


async def _sleep_until(moment: float) -> None:
    """Sleep until the monotonic clock reaches ``moment`` (never returns early)."""
    while True:
        remaining = moment - time.monotonic()
        if remaining <= 0:
            return
        await asyncio.sleep(remaining)
