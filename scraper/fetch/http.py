"""Fetch one URL politely over HTTP and say plainly what happened.

Why it is built this way:

- Every request, including each redirect hop, each retry and robots.txt,
  goes through :class:`~scraper.fetch.throttle.HostThrottle`, so no code
  path can hit a host faster than its politeness rules allow.  That is why
  redirects are followed here, hop by hop, rather than by httpx: each hop
  is throttled, checked against robots.txt, and checked for leaving HTTP or
  entering the local network.
- Names are checked again when a connection is opened
  (:mod:`scraper.fetch.resolve`): a fetch that starts on a public host may
  not connect to an address in the local network, whatever name led there,
  unless DNS_ALLOW_PRIVATE (or, for redirect hops, REDIRECT_ALLOW_PRIVATE)
  says it may.  Through HTTP_PROXY only the name check applies.
- Nothing about the network or the server raises: every outcome is a
  :class:`~scraper.fetch.result.FetchResult`, with one of ``FAILURE_KINDS``
  and a sentence in ``detail`` when it is not a page, so one bad URL never
  stops a crawl.
- The body is decompressed here, in bounded steps, and counted after
  decompression, so a gzip bomb stops at DOWNLOAD_MAXSIZE instead of
  filling memory (httpx's own decoder inflates a whole network chunk at
  once, which for a bomb is a thousand times its size).  Only ``gzip`` and
  ``deflate`` are asked for, so only they need decoding (``br`` or any
  other coding is a ``decode_error``, never inflated).  A body that is
  itself gzip data (a ``.gz`` file served as text/html without
  Content-Encoding, or gzip inside gzip) is inflated the same way under the
  same limit, so what reaches the extractors is never more than
  DOWNLOAD_MAXSIZE: over it, a page fails as ``too_large`` and robots.txt
  is cut at its limit, exactly as for a Content-Encoding body.
- A body must be what its Content-Length says.  Fewer bytes (the server
  hung up early) is a ``connection_error``, retried, whose detail begins
  "incomplete body" and says how many of the declared bytes came; more
  bytes than declared is ``length_mismatch``, not retried (the page would
  be stored cut short, and the extra bytes would be read as the next
  response on a kept-alive connection, so that connection is retired).
- Cookies are kept by the fetcher (:mod:`scraper.fetch.cookies`), per host
  and bounded, not by httpx, whose jar grows without bound and is copied
  for every request.  COOKIES_ENABLED off: none stored or sent.
- A host that cannot be connected to HOST_MAX_CONNECTION_FAILURES times in
  a row is parked for the rest of the run: its other URLs fail at once as
  ``host_parked`` instead of each spending its retries and backoff on it.
- DOWNLOAD_TIMEOUT bounds a whole request (connect to last byte), as in
  Scrapy, so a server that drips bytes cannot hold a slot for ever.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.util
import logging
import random
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, runtime_checkable
from urllib.parse import urljoin, urlsplit

import httpx

from scraper.errors import DecompressionError, SettingsError
from scraper.fetch.botwall import WALL_STATUSES, detect_bot_wall, is_login_redirect, wall_detail
from scraper.fetch.cookies import CookieStore, NoCookies
from scraper.fetch.decompress import GZIP_MAGIC, Decompressor
from scraper.fetch.headers import header_digits
from scraper.fetch.resolve import ALLOW_PRIVATE_EXTENSION, BlockedAddressError, GuardedTransport
from scraper.fetch.result import FetchResult, utc_now
from scraper.fetch.retry import backoff_delay, is_retryable_status, parse_http_date, parse_retry_after
from scraper.fetch.robots import ROBOTS_MAXSIZE, RobotsCache, robots_url
from scraper.fetch.throttle import HostSlot, HostThrottle
from scraper.fetch.urls import host_key, is_private_host, normalize_url
from scraper.settings import Settings

__all__ = ["ACCEPT_ENCODING", "HttpFetcher"]

ACCEPT_ENCODING = "gzip, deflate"
"""The only encodings asked for: the ones decoded here with a size bound."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DECODE_STEP = 64 * 1024
"""Most bytes one decompression step may produce."""
WALL_SCAN_BYTES = 512 * 1024
"""Bytes of a 403/429/503 body read to look for a bot wall."""
MAX_INNER_GZIP = 2
"""Layers of gzip inside the body (after any Content-Encoding) that are inflated; deeper is a decode_error."""

_log = logging.getLogger(__name__)

_ROBOTS_UNREACHABLE = {"host_parked": "connection_error", "length_mismatch": "connection_error"}
"""Failure kinds robots.txt loading reports as the kind RobotsCache knows as "unreachable" (temporary),
so a parked host or a robots.txt cut short is never read as "no robots.txt: everything allowed"."""

_hop_allows_private: contextvars.ContextVar[bool] = contextvars.ContextVar("_hop_allows_private", default=False)
"""Set while a hop asks robots.txt, so robots.txt is fetched under the same address rule as the hop."""


class _Stop(Exception):
    """Ends a fetch early with a failure kind and a sentence (internal control flow only)."""

    def __init__(self, kind: str, detail: str, exchange: _Exchange | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.exchange = exchange
        """The response that led here, when there was one (its status and headers are kept)."""


@dataclass(frozen=True)
class _Purpose:
    """How a kind of fetch differs: pages are checked strictly, robots.txt leniently."""

    check_robots: bool
    check_content_type: bool
    truncate: bool
    """Keep the first max_bytes and stop, instead of failing as too_large."""
    max_bytes: int | None = None
    """None: DOWNLOAD_MAXSIZE."""


_PAGE = _Purpose(check_robots=True, check_content_type=True, truncate=False)
_ROBOTS = _Purpose(check_robots=False, check_content_type=False, truncate=True, max_bytes=ROBOTS_MAXSIZE)


@dataclass
class _Exchange:
    """One HTTP request and what came back, or why nothing usable did."""

    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    failure: str | None = None
    detail: str | None = None
    unreachable: bool = False
    """No HTTP response at all: the connection could not be made or ended before a status line."""

    @property
    def is_redirect(self) -> bool:
        return self.failure is None and self.status in REDIRECT_STATUSES and "location" in self.headers


@dataclass
class _Progress:
    """What one fetch has done so far, over redirect hops and retries."""

    attempts: int = 0
    first_start: float | None = None
    last_end: float | None = None

    @property
    def elapsed(self) -> float:
        if self.first_start is None or self.last_end is None:
            return 0.0
        return max(0.0, self.last_end - self.first_start)


class HttpFetcher:
    """``async with HttpFetcher(settings) as fetcher: result = await fetcher.fetch(url)``.

    One fetcher per crawl: it owns the connection pool, the throttle and the
    robots.txt cache, which all requests share.  ``transport`` replaces the
    network (httpx's MockTransport in unit tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        throttle: HostThrottle | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._rng = rng or random.Random()
        self.throttle = throttle or HostThrottle(settings, rng=self._rng)
        self.robots = RobotsCache(settings, self._load_robots)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.cookies: CookieStore | None = CookieStore() if settings.COOKIES_ENABLED else None
        """The crawl's cookies, per host and bounded; None when COOKIES_ENABLED is off."""
        self._connection_failures: dict[str, int] = {}
        """host:port -> connection failures in a row."""
        self._parked: dict[str, str] = {}
        """host:port -> why it is parked for the rest of the run."""
        self._probes: dict[str, asyncio.Future[_Exchange]] = {}
        """host:port -> the robots.txt request asking whether a failing host answers at all."""

    async def __aenter__(self) -> HttpFetcher:
        self._get_client()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (the fetcher can be used again; a new pool is opened)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch ``url``; with ``etag``/``last_modified`` from an earlier fetch, an unchanged page is a 304."""
        return await self._run(url, _PAGE, _conditional_headers(etag, last_modified))

    # -- one fetch: hops --------------------------------------------------------------------------

    async def _run(self, url: str, purpose: _Purpose, extra_headers: dict[str, str]) -> FetchResult:
        """One fetch, never raising: anything unexpected becomes a ``fetch_error`` failure.

        asyncio.CancelledError is a BaseException, not an Exception, so cancellation still propagates.
        """
        result = FetchResult(url=url)
        progress = _Progress()
        try:
            try:
                current = normalize_url(url)
            except ValueError:
                current = None
            if current is None:
                return _failed(result, progress, None, _Stop("invalid_url", f"{url!r} is not an http(s) URL that can be fetched"))
            local_origin = is_private_host(urlsplit(current).hostname or "")
            # May this hop connect to loopback/private/link-local addresses?  Checked at connect time.
            allow_private = local_origin or self.settings.DNS_ALLOW_PRIVATE or (purpose is _ROBOTS and _hop_allows_private.get())
            return await self._hops(result, progress, current, purpose, extra_headers, allow_private, local_origin, {current})
        except Exception as exc:  # noqa: BLE001 - the last line: one bad URL never stops a crawl
            detail = f"{url} could not be fetched: unexpected {type(exc).__name__}: {str(exc)[:300] or 'no detail'}"
            return _failed(result, progress, None, _Stop("fetch_error", detail))

    async def _hops(
        self,
        result: FetchResult,
        progress: _Progress,
        current: str,
        purpose: _Purpose,
        extra_headers: dict[str, str],
        allow_private: bool,
        local_origin: bool,
        seen: set[str],
    ) -> FetchResult:
        """Follow the fetch hop by hop; every ending is a FetchResult (a _Stop becomes a failure)."""
        try:
            while True:
                self._check_parked(current)
                if purpose.check_robots and self.settings.ROBOTSTXT_OBEY:
                    token = _hop_allows_private.set(allow_private)
                    try:
                        await self._check_robots(current)
                    finally:
                        _hop_allows_private.reset(token)
                exchange = await self._with_retries(current, purpose, extra_headers, progress, allow_private)
                if not (exchange.is_redirect and self.settings.REDIRECT_ENABLED):
                    return _finished(result, progress, exchange)
                current = self._next_hop(exchange, seen, local_origin)
                allow_private = allow_private or self.settings.REDIRECT_ALLOW_PRIVATE
        except _Stop as stop:
            return _failed(result, progress, current, stop)

    async def _check_robots(self, url: str) -> None:
        verdict = await self.robots.check(url)
        self.throttle.set_crawl_delay(url, self.robots.crawl_delay(url))
        if verdict == "unavailable":
            why = self.robots.explain(url) or "robots.txt could not be fetched"
            raise _Stop("robots_unavailable", f"{url} was not fetched: {why}")
        if verdict != "allowed":
            why = self.robots.explain(url) or "robots.txt"
            raise _Stop("robots_disallowed", f"{url} is disallowed for {self.robots.token!r} by {why}")

    def _next_hop(self, exchange: _Exchange, seen: set[str], local_origin: bool) -> str:
        """The URL a redirect leads to, after checking it may be followed."""
        location = exchange.headers["location"].strip()
        try:
            joined = urljoin(exchange.url, location)
            scheme = urlsplit(joined).scheme.lower()
            if scheme not in ("http", "https"):
                raise _Stop("redirect_refused", f"{exchange.url} redirects to a non-HTTP URL ({location[:200]})", exchange)
            target = normalize_url(joined)
            host = (urlsplit(target).hostname or "") if target is not None else ""
        except ValueError as exc:  # e.g. "Invalid IPv6 URL" for http://[oops/next, a bad port
            raise _Stop("redirect_refused", f"{exchange.url} redirects to an unparsable URL ({location[:200]!r}: {exc})", exchange) from None
        if target is None:
            raise _Stop("redirect_refused", f"{exchange.url} redirects to an invalid URL ({location[:200]!r})", exchange)
        if is_login_redirect(target, exchange.url):
            self.throttle.bot_wall(exchange.url)
            raise _Stop("bot_wall", f"{exchange.url} redirects to a login page ({target}): a login wall", exchange)
        if is_private_host(host) and not (self.settings.REDIRECT_ALLOW_PRIVATE or local_origin):
            raise _Stop("redirect_refused", f"{exchange.url} redirects to a private address ({target}); REDIRECT_ALLOW_PRIVATE is off", exchange)
        if target in seen:
            raise _Stop("redirect_loop", f"redirect loop: {exchange.url} leads back to {target}", exchange)
        if len(seen) > self.settings.REDIRECT_MAX_TIMES:
            raise _Stop("redirect_loop", f"more than REDIRECT_MAX_TIMES={self.settings.REDIRECT_MAX_TIMES} redirects (next: {target})", exchange)
        seen.add(target)
        return target

    # -- one hop: retries ---------------------------------------------------------------------------

    async def _with_retries(
        self, url: str, purpose: _Purpose, extra_headers: dict[str, str], progress: _Progress, allow_private: bool
    ) -> _Exchange:
        """Attempts at one URL; the host slot is held throughout, so a retry is not queued behind other URLs."""
        tries = 1 + (self.settings.RETRY_TIMES if self.settings.RETRY_ENABLED else 0)
        async with self.throttle.host_slot(url) as slot:
            for attempt in range(1, tries + 1):
                self._check_parked(url)  # parked while this URL waited for the slot, or by its own last attempt
                exchange = await self._attempt(slot, url, purpose, extra_headers, progress, allow_private)
                parked = await self._count_connection(slot, url, exchange, allow_private)
                if parked is not None:  # this attempt parked the host: no more attempts at it
                    raise _Stop(exchange.failure or "connection_error", f"{exchange.detail} ({_tries(attempt)}); {parked}", exchange)
                retry_after = self._retry_after(exchange)
                if retry_after is not None and retry_after > self.settings.RETRY_AFTER_MAX:
                    raise _Stop("rate_limited", _retry_after_detail(exchange, retry_after, self.settings.RETRY_AFTER_MAX), exchange)
                if retry_after is not None:
                    self.throttle.penalize(url, retry_after)  # the server's wish holds for the whole host
                if not self._retryable(exchange):
                    return exchange
                if attempt == tries:
                    raise _exhausted(exchange, attempt, retry_after is not None)
                self.throttle.penalize(url, backoff_delay(attempt, self.settings, self._rng))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retryable(self, exchange: _Exchange) -> bool:
        if exchange.failure is not None:
            return exchange.failure in ("timeout", "connection_error")
        return exchange.status is not None and is_retryable_status(exchange.status, self.settings)

    @staticmethod
    def _retry_after(exchange: _Exchange) -> float | None:
        """Seconds a 429/503 asks us to wait, measured on the server's own clock when it sends Date."""
        if exchange.failure is not None or exchange.status not in (429, 503):
            return None
        return parse_retry_after(exchange.headers.get("retry-after"), parse_http_date(exchange.headers.get("date")))

    # -- hosts that cannot be reached -----------------------------------------------------------------

    def _check_parked(self, url: str) -> None:
        why = self._parked.get(host_key(url))
        if why is not None:
            raise _Stop("host_parked", f"{url} was not fetched: {why}")

    async def _count_connection(self, slot: HostSlot, url: str, exchange: _Exchange, allow_private: bool) -> str | None:
        """Count a connection failure to the host (any response resets the count).

        At the limit, the host's robots.txt is asked once before parking it: pages of a live host
        that each reset (a burst of faulty URLs due together after a resumed crawl) must not park a
        host that answers.  Returns a sentence saying so when this failure parks the host, else None.
        """
        key = host_key(url)
        if not exchange.unreachable:
            if exchange.status is not None:
                self._connection_failures.pop(key, None)
            return None
        failures = self._connection_failures[key] = self._connection_failures.get(key, 0) + 1
        limit = self.settings.HOST_MAX_CONNECTION_FAILURES
        if limit <= 0 or failures < limit or key in self._parked:
            return None
        answered = await self._host_answers(slot, key, url, allow_private)
        if key in self._parked:  # parked by another URL's failure while the probe ran
            return None
        if answered is not None:
            _log.info("%s: %s connection failures in a row, but its robots.txt answers (HTTP %s): not parked", key, failures, answered)
            self._connection_failures.pop(key, None)
            return None
        self._parked[key] = (
            f"{key} is parked for the rest of this run after {failures} connection failures in a row "
            f"(HOST_MAX_CONNECTION_FAILURES={limit}; last: {exchange.detail})"
        )
        _log.warning("%s: %s connection failures in a row; its remaining URLs fail as host_parked for the rest of this run (last: %s)",
                     key, failures, exchange.detail)
        return f"{key} is now parked for the rest of this run ({failures} connection failures in a row, HOST_MAX_CONNECTION_FAILURES={limit})"

    async def _host_answers(self, slot: HostSlot, key: str, url: str, allow_private: bool) -> int | None:
        """The HTTP status the host's robots.txt answers with, or None; one probe at a time per host."""
        probe = self._probes.get(key)
        if probe is None:
            probe = self._probes[key] = asyncio.ensure_future(self._attempt(slot, robots_url(url), _ROBOTS, {}, _Progress(), allow_private))
            probe.add_done_callback(lambda _: self._probes.pop(key, None))
        exchange = await asyncio.shield(probe)
        return None if exchange.unreachable else exchange.status

    def parked_hosts(self) -> dict[str, str]:
        """host:port -> why, for every host parked so far."""
        return dict(self._parked)

    # -- one attempt: a throttled request -----------------------------------------------------------

    async def _attempt(
        self, slot: HostSlot, url: str, purpose: _Purpose, extra_headers: dict[str, str], progress: _Progress, allow_private: bool
    ) -> _Exchange:
        async with slot.request():
            progress.attempts += 1
            if progress.first_start is None:
                progress.first_start = time.monotonic()
            try:
                exchange = await asyncio.wait_for(self._exchange(url, purpose, extra_headers, slot, allow_private), self.settings.DOWNLOAD_TIMEOUT)
            except TimeoutError:
                detail = f"{url} gave no complete response within DOWNLOAD_TIMEOUT={self.settings.DOWNLOAD_TIMEOUT:g}s"
                exchange = _Exchange(url, failure="timeout", detail=detail)
            progress.last_end = time.monotonic()
        self._check_wall(exchange)
        return exchange

    def _check_wall(self, exchange: _Exchange) -> None:
        status = exchange.status
        if exchange.failure is not None or status is None or not (200 <= status < 300 or status in WALL_STATUSES):
            return
        name = detect_bot_wall(status, exchange.headers, exchange.body)
        if name is None:
            if 200 <= status < 300:
                self.throttle.clear_bot_wall(exchange.url)
            return
        backoff = self.throttle.bot_wall(exchange.url)
        exchange.failure = "bot_wall"
        exchange.detail = f"{wall_detail(name, exchange.url)} (HTTP {status}); the host is left alone for {backoff:g}s"

    async def _exchange(self, url: str, purpose: _Purpose, extra_headers: dict[str, str], slot: HostSlot, allow_private: bool) -> _Exchange:
        exchange = _Exchange(url)
        extensions = {"trace": slot.trace, ALLOW_PRIVATE_EXTENSION: allow_private}
        headers = dict(extra_headers)
        if self.cookies is not None and (cookie := self.cookies.header_for(url)):
            headers["Cookie"] = cookie
        try:
            async with self._get_client().stream("GET", url, headers=headers, extensions=extensions) as response:
                exchange.status = response.status_code
                exchange.headers = {name.lower(): value for name, value in response.headers.items()}
                if self.cookies is not None:
                    self.cookies.store(url, response.headers.get_list("set-cookie"))
                limit = self._body_limit(exchange, purpose)
                if limit is not None:
                    await _read_body(response, exchange, limit, truncate=purpose.truncate or not _is_success(exchange.status))
                if exchange.failure in _BODY_FAILURES and not _is_success(exchange.status):
                    _set_failure(exchange, None, None)  # an unreadable error page is still just its status
        except httpx.TimeoutException as exc:
            exchange.unreachable = isinstance(exc, httpx.ConnectTimeout)
            _set_failure(exchange, "timeout", f"{url} timed out ({type(exc).__name__})")
        except httpx.DecodingError as exc:
            _set_failure(exchange, "decode_error", f"{url} sent a body that cannot be decoded ({exc})")
        except httpx.TransportError as exc:
            exchange.unreachable = exchange.status is None
            _set_failure(exchange, "connection_error", f"{url} could not be fetched ({type(exc).__name__}: {str(exc) or 'no detail'})")
        except httpx.InvalidURL as exc:
            _set_failure(exchange, "invalid_url", f"{url} is not a URL httpx accepts ({exc})")
        except BlockedAddressError as exc:
            _set_failure(exchange, "blocked_address", _blocked_detail(url, exc))
        return exchange

    def _body_limit(self, exchange: _Exchange, purpose: _Purpose) -> int | None:
        """How many decoded bytes to read, or None to read nothing (setting the failure when there is one)."""
        status = exchange.status or 0
        limit = purpose.max_bytes or self.settings.DOWNLOAD_MAXSIZE
        if status in WALL_STATUSES:  # read a little, to tell a bot wall from a plain refusal
            return WALL_SCAN_BYTES if _is_text_type(exchange.headers.get("content-type"), self.settings.ALLOWED_CONTENT_TYPES) else None
        if not _is_success(status):
            return None
        content_type = exchange.headers.get("content-type")
        if purpose.check_content_type and not _is_text_type(content_type, self.settings.ALLOWED_CONTENT_TYPES):
            _set_failure(exchange, "bad_content_type", f"{exchange.url} is {content_type!r}, not one of ALLOWED_CONTENT_TYPES")
            return None
        declared = _content_length(exchange.headers)
        if not purpose.truncate and declared is not None and declared > limit:
            _set_failure(exchange, "too_large", f"{exchange.url} declares {declared} bytes, over DOWNLOAD_MAXSIZE={limit}")
            return None
        return limit

    # -- plumbing ------------------------------------------------------------------------------------

    async def _load_robots(self, robots_url: str) -> FetchResult:
        result = await self._run(robots_url, _ROBOTS, {})
        if result.failure in _ROBOTS_UNREACHABLE:
            result.failure = _ROBOTS_UNREACHABLE[result.failure]
        return result

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> httpx.AsyncClient:
        settings = self.settings
        http2 = settings.HTTP2_ENABLED and importlib.util.find_spec("h2") is not None
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=settings.CONCURRENT_REQUESTS)
        transport: httpx.AsyncBaseTransport | None = None
        proxy: str | None = None
        if self._transport is not None:
            transport = self._transport
        elif settings.HTTP_PROXY:
            # The proxy resolves the target, so only the name check on redirects applies.
            proxy = settings.HTTP_PROXY
        elif settings.HTTP_TRANSPORT == "aiohttp" and not http2:
            if importlib.util.find_spec("aiohttp") is None:
                raise SettingsError("HTTP_TRANSPORT=aiohttp needs aiohttp: pip install 'qa-scraper[aiohttp]'")
            from scraper.fetch.aio import AiohttpTransport  # aiohttp is imported only when chosen

            transport = AiohttpTransport(limits=limits)
        else:
            transport = GuardedTransport(http2=http2, limits=limits)
        return httpx.AsyncClient(
            headers=self._default_headers(),
            cookies=NoCookies(),  # cookies are kept per host and bounded by self.cookies, not by httpx
            timeout=httpx.Timeout(settings.DOWNLOAD_TIMEOUT),
            follow_redirects=False,
            trust_env=False,  # settings are the one source of proxies, not the environment
            http2=http2,
            limits=limits,
            proxy=proxy,
            transport=transport,
        )

    def _default_headers(self) -> dict[str, str]:
        return {
            "User-Agent": self.settings.USER_AGENT,
            "Accept": ", ".join(self.settings.ALLOWED_CONTENT_TYPES) or "*/*",
            "Accept-Encoding": ACCEPT_ENCODING,
        }


# -- results ------------------------------------------------------------------------------------------


def _finished(result: FetchResult, progress: _Progress, exchange: _Exchange) -> FetchResult:
    """Fill ``result`` from the last exchange of a fetch."""
    result.final_url = exchange.url
    result.status = exchange.status
    result.headers = exchange.headers
    result.attempts = progress.attempts
    result.elapsed = progress.elapsed
    result.fetched_at = utc_now()
    result.failure, result.detail = exchange.failure, exchange.detail
    if result.failure is None and exchange.status is not None and not (_is_success(exchange.status) or exchange.status == 304):
        result.failure, result.detail = "http_error", _status_detail(exchange)
    if result.failure in (None, "bot_wall"):
        result.body = exchange.body
    return result


def _failed(result: FetchResult, progress: _Progress, url: str | None, stop: _Stop) -> FetchResult:
    """Fill ``result`` for a fetch that ended early."""
    result.final_url = url
    if stop.exchange is not None:
        result.status, result.headers = stop.exchange.status, stop.exchange.headers
    result.attempts = progress.attempts
    result.elapsed = progress.elapsed
    result.fetched_at = utc_now()
    result.failure, result.detail = stop.kind, stop.detail
    return result


def _tries(attempts: int) -> str:
    return f"after {attempts} attempt{'s' if attempts != 1 else ''}"


def _exhausted(exchange: _Exchange, attempts: int, had_retry_after: bool) -> _Stop:
    """The failure once retries are used up."""
    tries = _tries(attempts)
    if exchange.failure is not None:
        return _Stop(exchange.failure, f"{exchange.detail} ({tries})", exchange)
    kind = "rate_limited" if exchange.status == 429 or had_retry_after else "http_error"
    return _Stop(kind, f"{_status_detail(exchange)} ({tries})", exchange)


def _retry_after_detail(exchange: _Exchange, retry_after: float, maximum: float) -> str:
    return f"{exchange.url} answered HTTP {exchange.status} with Retry-After {retry_after:.0f}s, over RETRY_AFTER_MAX={maximum:g}s"


def _status_detail(exchange: _Exchange) -> str:
    status = exchange.status or 0
    detail = f"{exchange.url} answered HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip()
    if status in REDIRECT_STATUSES:
        where = exchange.headers.get("location")
        detail += f" to {where} (not followed: REDIRECT_ENABLED is off)" if where else " without a Location"
    return detail


def _blocked_detail(url: str, exc: BlockedAddressError) -> str:
    return (
        f"{url} was not fetched: {exc}; a fetch that starts on a public host may not connect into the local "
        "network (DNS_ALLOW_PRIVATE allows it, REDIRECT_ALLOW_PRIVATE for redirects)"
    )


def _set_failure(exchange: _Exchange, kind: str | None, detail: str | None) -> None:
    exchange.failure, exchange.detail = kind, detail


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _is_success(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _is_text_type(content_type: str | None, allowed: tuple[str, ...]) -> bool:
    """A missing Content-Type is allowed; ``type/*`` entries in ``allowed`` match a whole type."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    if not media:
        return True
    for pattern in allowed:
        pattern = pattern.strip().lower()
        if media == pattern or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    return False


_MAX_LENGTH_DIGITS = 18
"""A Content-Length with more digits is simply "more than any limit" (never an int of 5,000 digits)."""


def _content_length(headers: dict[str, str]) -> int | None:
    """The declared length; None unless it is ASCII digits (``"²"`` passes ``isdigit`` but not ``int``)."""
    return header_digits(headers.get("content-length", "").split(",", 1)[0].strip(), _MAX_LENGTH_DIGITS)


# -- bodies -------------------------------------------------------------------------------------------


_BODY_FAILURES = frozenset({"decode_error", "length_mismatch"})
"""What can go wrong with a body once the status line came (for an error page, only its status counts)."""


async def _read_body(response: httpx.Response, exchange: _Exchange, limit: int, *, truncate: bool) -> None:
    """Read and decode the body into ``exchange``, stopping at ``limit`` decoded bytes.

    ``limit`` holds for the body as the extractors will see it: after Content-Encoding and after any
    gzip the body itself is (see :class:`_Unwrapped`), so a gzip served without Content-Encoding is
    bounded like one served with it.
    """
    encoding = exchange.headers.get("content-encoding", "")
    outer = _decoder_for(encoding)
    if outer is None:
        _set_failure(exchange, "decode_error", f"{exchange.url} uses Content-Encoding {encoding!r}; only {ACCEPT_ENCODING} were asked for")
        return
    decoder = _Unwrapped(outer, None if isinstance(outer, _Identity) else encoding.strip().lower())
    body = bytearray()
    try:
        async for raw in response.aiter_raw():
            if not _append(body, decoder.feed(raw), limit):
                break
        else:
            _append(body, decoder.flush(), limit)
            if decoder.cut_short:
                _set_failure(exchange, "decode_error", f"{exchange.url} sent {decoder.describe()} that ends before its compressed stream does")
                return
            if len(body) <= limit and _check_framing(response, exchange):
                return
    except DecompressionError as exc:
        _set_failure(exchange, "decode_error", f"{exchange.url} sent {decoder.describe()} that is corrupt ({exc})")
        return
    except _TooDeep as exc:
        _set_failure(exchange, "decode_error", f"{exchange.url} sent {exc}")
        return
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        # A cut connection, as before: retried, and temporary for the crawler; the detail says what was cut.
        _set_failure(exchange, "connection_error", _incomplete_detail(response, exchange, exc))
        return
    if len(body) > limit:
        if not truncate:
            inner = f" (the body is itself {decoder.describe(inner_only=True)})" if decoder.inner_layers else ""
            _set_failure(exchange, "too_large", f"{exchange.url} is over DOWNLOAD_MAXSIZE={limit} bytes after decompression{inner}")
            return
        del body[limit:]
        if decoder.inner_layers:
            _log.warning("%s: body is %s; cut at %d bytes after decompression", exchange.url, decoder.describe(inner_only=True), limit)
    exchange.body = bytes(body)


def _incomplete_detail(response: httpx.Response, exchange: _Exchange, exc: Exception) -> str:
    received = response.num_bytes_downloaded
    declared = _content_length(exchange.headers)
    if declared is not None:
        what = f"after {received} of the {declared} bytes its Content-Length declares"
    elif "chunked" in exchange.headers.get("transfer-encoding", "").lower():
        what = f"after {received} bytes, before the last chunk of its chunked body"
    else:
        what = f"after {received} bytes"
    return f"incomplete body: {exchange.url} closed the connection {what} ({type(exc).__name__}: {str(exc)[:200] or 'no detail'})"


def _check_framing(response: httpx.Response, exchange: _Exchange) -> bool:
    """After a whole HTTP/1.x body: True (with ``length_mismatch`` set) when more bytes came than Content-Length said.

    The extra bytes are looked for, without waiting, where the HTTP parser keeps what it has received
    but not parsed.  A connection that had extra bytes is retired, or the next request on it would read
    them as its response.
    """
    declared = _content_length(exchange.headers)
    if declared is None or not response.http_version.upper().startswith("HTTP/1"):
        return False
    if "network_stream" not in response.extensions:
        return False  # not httpcore's connection (the aiohttp transport: its parser refuses extra bytes itself)
    extra = _bytes_after_body(response)
    if not extra:
        return False
    _retire_connection(response)  # even a stray CRLF would be parsed as the start of the next response
    if not extra.strip():  # but a stray CRLF after a body is a harmless and common slip
        return False
    _set_failure(
        exchange,
        "length_mismatch",
        f"{exchange.url} sent more than the {declared} bytes its Content-Length declares "
        f"({len(extra)}+ bytes more, starting {extra[:40]!r}); the body as declared would be cut short",
    )
    return True


def _bytes_after_body(response: httpx.Response) -> bytes:
    """Bytes received after the declared end of the body and not yet parsed (b"" when none).

    They sit in h11's buffer: a server that sends more than it declared usually sends it in the same
    write as the body.  Bytes that arrive later are not waited for (the socket itself cannot be peeked
    at: asyncio reads it into its own buffers).
    """
    h11_state = _h11_state(response)
    if h11_state is None:
        return b""
    pending, _closed = h11_state.trailing_data
    return bytes(pending)


_STREAM_LINKS = ("_stream", "_httpcore_stream", "_connection")
"""Attributes from httpx's response stream down to httpcore's HTTP/1.1 connection (httpx 0.28-0.29, httpcore 1.0)."""


@runtime_checkable
class _TrailingData(Protocol):
    """What is read of h11's ``Connection``: h11 is httpcore's dependency, not this project's."""

    @property
    def trailing_data(self) -> tuple[bytes, bool]: ...


def _h11_state(response: httpx.Response) -> _TrailingData | None:
    """The h11 connection that parsed ``response``, found by following the wrappers; None if not found.

    httpx does not expose it; its ``trailing_data`` (public in h11) is the only place that holds bytes
    the server sent past the declared body.  If a new httpx or httpcore moves it, this finds nothing and
    extra bytes go unnoticed again (test_body_limits checks that it is found).
    """
    current: object | None = response.stream
    for _ in range(8):
        if current is None:
            return None
        state: object | None = getattr(current, "_h11_state", None)
        if state is not None and isinstance(state, _TrailingData):  # (a Protocol isinstance is slow: not for None)
            return state
        current = next((getattr(current, name) for name in _STREAM_LINKS if getattr(current, name, None) is not None), None)
    return None


def _retire_connection(response: httpx.Response) -> None:
    """Make the pool drop the connection instead of keeping it alive: a shut-down socket reads as closed."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _append(body: bytearray, pieces: Iterator[bytes], limit: int) -> bool:
    """Add decoded pieces; False (with at most one piece past ``limit`` kept) once the limit is passed."""
    for piece in pieces:
        body += piece
        if len(body) > limit:
            return False
    return True


class _Identity:
    cut_short = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data


class _TooDeep(Exception):
    """gzip inside gzip deeper than MAX_INNER_GZIP."""


class _Unwrapped:
    """The Content-Encoding decoder, then gzip again for each layer of gzip the decoded body itself is.

    Whatever came out of the layer before is sniffed: if it starts with gzip's magic, it is passed
    through another bounded gzip :class:`~scraper.fetch.decompress.Decompressor` (up to MAX_INNER_GZIP layers).  Pieces flow through
    lazily, so the caller's limit stops every layer at once.
    """

    def __init__(self, outer: _Identity | Decompressor, encoding: str | None, depth: int = 0) -> None:
        self._outer = outer
        self._encoding = encoding
        self._depth = depth
        self._held = b""
        self._inner: _Unwrapped | None = None
        self._sniffed = False

    @property
    def inner_layers(self) -> int:
        return 0 if self._inner is None else 1 + self._inner.inner_layers

    @property
    def cut_short(self) -> bool:
        return self._outer.cut_short or (self._inner is not None and self._inner.cut_short)

    def describe(self, *, inner_only: bool = False) -> str:
        """``a gzip body``, ``a body that is gzip data (no Content-Encoding)``, ``a gzip body holding gzip data``."""
        layers = self.inner_layers
        inner = "gzip data" if layers == 1 else f"gzip data {layers} layers deep"
        if inner_only:
            return inner
        if self._encoding is None:
            return f"a body that is {inner} (no Content-Encoding)" if layers else "a body"
        return f"a {self._encoding} body holding {inner}" if layers else f"a {self._encoding} body"

    def feed(self, data: bytes) -> Iterator[bytes]:
        for piece in self._outer.feed(data):
            yield from self._route(piece)

    def flush(self) -> Iterator[bytes]:
        """What is held back once the body has ended: bytes too few to sniff, and the inner layers' own."""
        if not self._sniffed and self._held:
            self._sniffed = True
            held, self._held = self._held, b""
            yield held
        if self._inner is not None:
            yield from self._inner.flush()

    def _route(self, piece: bytes) -> Iterator[bytes]:
        if not self._sniffed:
            self._held += piece
            if len(self._held) < len(GZIP_MAGIC):
                return
            self._sniffed = True
            piece, self._held = self._held, b""
            if piece.startswith(GZIP_MAGIC):
                if self._depth >= MAX_INNER_GZIP:
                    raise _TooDeep(f"a body of gzip inside gzip more than MAX_INNER_GZIP={MAX_INNER_GZIP} layers deep")
                self._inner = _Unwrapped(_inflater("gzip"), "gzip", self._depth + 1)
        if self._inner is None:
            yield piece
        else:
            yield from self._inner.feed(piece)


def _inflater(coding: str) -> Decompressor:
    """No limit of its own: the caller counts what comes out against its own (cut or fail)."""
    return Decompressor(coding, step=DECODE_STEP)


def _decoder_for(content_encoding: str) -> _Identity | Decompressor | None:
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
    if not codings:
        return _Identity()
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _inflater(codings[0])
    return None
