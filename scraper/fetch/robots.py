"""robots.txt: fetched once per host, cached, and asked before every request.

Why it works this way:

- robots.txt is fetched by the same fetcher as pages (a loader the fetcher
  passes in), so it goes through the same throttle and counts as a request to
  the host; this module only decides what the answer *means*.
- The status conventions are Google's (and RFC 9309's): a 4xx robots.txt
  means "no rules", so everything is allowed; a 5xx, a 429, a timeout or a
  connection error means robots.txt is *unavailable*: a temporary state, not
  a rule.  The host's URLs are not fetched meanwhile (``check`` answers
  ``"unavailable"``, the fetcher fails them as ``robots_unavailable``, which
  the crawler treats as transient), and the unavailability is cached for
  ROBOTS_RETRY_BACKOFF seconds, doubling with each failure in a row up to
  ROBOTS_RETRY_BACKOFF_MAX, so robots.txt is asked again within the run but
  not once per URL.
  Only the first ROBOTS_MAXSIZE bytes are read, as Google does.
- Rules are matched with protego for the product token of USER_AGENT
  (``qa-scraper`` for ``qa-scraper/0.1.0 (+https://...)``), so a site can
  name this crawler in its robots.txt.  ``Crawl-delay`` (and ``Request-rate``,
  read as a delay) is exposed for the throttle, which caps it to MAX_CRAWL_DELAY.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from protego import Protego

from scraper.fetch.result import FetchResult
from scraper.fetch.urls import host_key
from scraper.settings import Settings

__all__ = ["ROBOTS_MAXSIZE", "RobotsCache", "RobotsLoader", "RobotsVerdict", "robots_token", "robots_url"]

ROBOTS_MAXSIZE = 500 * 1024
"""Bytes of robots.txt that are read; the rest is ignored (Google's limit)."""

RobotsLoader = Callable[[str], Awaitable[FetchResult]]
"""Fetches a robots.txt URL; must never raise for network or HTTP problems."""

Verdict = Literal["rules", "allow_all", "unavailable"]
RobotsVerdict = Literal["allowed", "disallowed", "unavailable"]
"""The answer for one URL: fetch it, never fetch it, or not now (robots.txt could not be read)."""

# Failures that mean "the site could not answer", not "the site has no robots.txt".
_UNREACHABLE_FAILURES = frozenset({"timeout", "connection_error", "rate_limited", "bot_wall", "decode_error", "fetch_error"})


@dataclass
class _Entry:
    verdict: Verdict
    expires_at: float
    reason: str
    parser: Protego | None = None


class RobotsCache:
    """One robots.txt decision per ``host:port``, shared by all requests of a crawl."""

    def __init__(
        self,
        settings: Settings,
        loader: RobotsLoader,
        *,
        ttl: float | None = None,
        error_ttl: float | None = None,
        error_ttl_max: float | None = None,
    ) -> None:
        self._loader = loader
        self._token = robots_token(settings.USER_AGENT)
        self._ttl = settings.ROBOTSTXT_CACHE_TTL if ttl is None else ttl
        self._error_ttl = settings.ROBOTS_RETRY_BACKOFF if error_ttl is None else error_ttl
        self._error_ttl_max = settings.ROBOTS_RETRY_BACKOFF_MAX if error_ttl_max is None else error_ttl_max
        self._entries: dict[str, _Entry] = {}
        self._failures: dict[str, int] = {}
        """Unavailable robots.txt answers in a row, per host (the backoff doubles with each)."""
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def token(self) -> str:
        """The user-agent token matched against ``User-agent:`` lines."""
        return self._token

    async def check(self, url: str) -> RobotsVerdict:
        """May ``url`` be fetched? Fetches the host's robots.txt first when it is not cached (or its
        unavailability has expired)."""
        entry = await self._entry_for(url)
        if entry.verdict == "unavailable":
            return "unavailable"
        if entry.verdict == "rules" and entry.parser is not None:
            return "allowed" if _can_fetch(entry.parser, url, self._token) else "disallowed"
        return "allowed"

    async def allowed(self, url: str) -> bool:
        """True only when ``url`` may be fetched now (False when disallowed or robots.txt is unavailable)."""
        return await self.check(url) == "allowed"

    def crawl_delay(self, host: str) -> float | None:
        """Seconds the host asks between requests (Crawl-delay or Request-rate), once its robots.txt is known."""
        entry = self._entries.get(_key(host))
        if entry is None or entry.parser is None:
            return None
        delays = _delays(entry.parser, self._token)
        return max(delays) if delays else None

    def explain(self, host: str) -> str | None:
        """Why the host is treated as it is (for logs and failure details); None before its robots.txt."""
        entry = self._entries.get(_key(host))
        return entry.reason if entry is not None else None

    async def _entry_for(self, url: str) -> _Entry:
        key = _key(url)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one fetch per host, however many tasks ask at once
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= time.monotonic():
                entry = self._interpret(key, await self._loader(robots_url(url)))
                self._entries[key] = entry
            return entry

    def _interpret(self, key: str, result: FetchResult) -> _Entry:
        now = time.monotonic()
        status = result.status
        if result.failure in _UNREACHABLE_FAILURES or (status is not None and (status >= 500 or status == 429)):
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            backoff = min(self._error_ttl_max, self._error_ttl * (2.0 ** min(failures - 1, 60)))
            why = result.detail or f"HTTP {status}"
            return _Entry("unavailable", now + backoff, f"robots.txt unavailable ({why}); asked again in {backoff:g}s")
        self._failures.pop(key, None)
        if result.failure is None and status is not None and 200 <= status < 300:
            try:
                parser = Protego.parse(_decode(result.body))
            except Exception as exc:  # noqa: BLE001 - an unparsable robots.txt has no usable rules
                return _Entry("allow_all", now + self._ttl, f"unparsable robots.txt ({type(exc).__name__}: {exc}); everything allowed")
            return _Entry("rules", now + self._ttl, f"robots.txt rules ({result.final_url or result.url})", parser)
        why = f"HTTP {status}" if status is not None else (result.detail or result.failure or "no answer")
        return _Entry("allow_all", now + self._ttl, f"no usable robots.txt ({why}); everything allowed")


def robots_token(user_agent: str) -> str:
    """The product token of a User-Agent, lower-cased: ``qa-scraper/0.1 (+url)`` -> ``qa-scraper``."""
    words = user_agent.strip().split()
    token = words[0].split("/", 1)[0].lower() if words else ""
    return token or "*"


def robots_url(url: str) -> str:
    """The robots.txt URL for the origin of ``url`` (credentials dropped)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.rsplit('@', 1)[-1].lower()}/robots.txt"


def _key(host_or_url: str) -> str:
    return host_key(host_or_url) if "://" in host_or_url else host_or_url.lower()


def _decode(body: bytes) -> str:
    return body[:ROBOTS_MAXSIZE].decode("utf-8-sig", errors="replace")


def _can_fetch(parser: Protego, url: str, token: str) -> bool:
    try:
        return bool(parser.can_fetch(url, token))
    except Exception:  # noqa: BLE001 - a rule protego cannot apply restricts nothing
        return True


def _rate_delay(parser: Protego, token: str) -> float | None:
    rate = parser.request_rate(token)
    if rate is None or not rate.requests:
        return None
    return float(rate.seconds) / float(rate.requests)


def _delays(parser: Protego, token: str) -> list[float]:
    """Positive, non-NaN delays asked for (infinity is kept: the throttle caps it to MAX_CRAWL_DELAY)."""
    found: list[float] = []
    for ask in (parser.crawl_delay, lambda t: _rate_delay(parser, t)):
        try:
            value = ask(token)
            delay = float(value) if value is not None else None
        except Exception:  # noqa: BLE001 - an unreadable Crawl-delay asks for nothing
            continue
        if delay is not None and delay > 0 and not math.isnan(delay):
            found.append(delay)
    return found
