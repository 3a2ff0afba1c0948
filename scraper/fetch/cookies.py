"""Cookies for one crawl: kept per host and bounded, as browsers bound them.

Why it is built this way:

- httpx's client keeps every cookie of a crawl in one ``http.cookiejar``
  jar, copies that whole jar for every request and walks all of it to build
  each Cookie header.  A site that sets 300 cookies per page for paths never
  visited made that jar grow by 300 cookies a page, so each request cost more
  than the one before (issue 11: ~100 pages/s down to ~1, RSS 62 -> 156 MB
  over 291 pages).  Here the fetcher keeps cookies itself, in one small jar
  per host, and httpx's own jar is switched off (:class:`NoCookies`).
- The bounds are the ones browsers apply (RFC 6265 section 6.1 asks for at
  least these; Chrome and Firefox use about these numbers):
  at most ``MAX_COOKIES_PER_HOST`` = 50 cookies per host, the least
  recently set one evicted first; a cookie whose name plus value is over
  ``MAX_COOKIE_BYTES`` = 4096 bytes is not stored; at most
  ``MAX_COOKIES_TOTAL`` = 3000 cookies over all hosts, taken first from the
  host whose cookies were set longest ago.  Work per request and per
  response is therefore bounded by the 50 cookies of one host, however long
  the crawl.
- "Per host" is strict: a cookie is only ever sent back to the host name
  that set it (the port does not count, as in browsers), even when its
  ``Domain`` attribute names a parent domain.  A crawler needs no cookie
  shared between ``a.example.com`` and ``b.example.com``, and this way no
  host can plant a cookie for another.  Paths, expiry, ``Secure`` and the
  rest are judged by the standard library's ``DefaultCookiePolicy`` within
  that host's jar.
"""

from __future__ import annotations

import http.cookiejar
import logging
import urllib.request
from collections import OrderedDict
from urllib.parse import urlsplit

__all__ = ["MAX_COOKIES_PER_HOST", "MAX_COOKIES_TOTAL", "MAX_COOKIE_BYTES", "CookieStore", "NoCookies"]

MAX_COOKIES_PER_HOST = 50
"""Cookies kept for one host; past this the least recently set one is evicted."""
MAX_COOKIE_BYTES = 4096
"""Longest cookie kept, counting its name and value; a longer one is ignored (not stored)."""
MAX_COOKIES_TOTAL = 3000
"""Cookies kept over all hosts; past this the host whose cookies were set longest ago loses its oldest."""

_log = logging.getLogger(__name__)

_Key = tuple[str, str, str]
"""(domain, path, name): what identifies a cookie in a jar."""


class NoCookies(http.cookiejar.CookieJar):
    """A jar that stores nothing: given to httpx so its client keeps (and copies) no cookies of its own."""

    def extract_cookies(self, response: object, request: object) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


class _HostJar(http.cookiejar.CookieJar):
    """One host's cookies, at most ``limit``, evicted least recently set first."""

    # CookieJar's own table (domain -> path -> name -> cookie), set by its __init__; typeshed
    # leaves it undeclared because it is private.  Emptied tables are pruned in clear().
    _cookies: dict[str, dict[str, dict[str, http.cookiejar.Cookie]]]

    def __init__(self, limit: int, max_bytes: int) -> None:
        super().__init__(http.cookiejar.DefaultCookiePolicy())
        self._limit = limit
        self._max_bytes = max_bytes
        self._order: OrderedDict[_Key, None] = OrderedDict()
        """Every stored cookie, least recently set first."""

    @property
    def count(self) -> int:
        return len(self._order)

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        if len(cookie.name) + len(cookie.value or "") > self._max_bytes:
            return
        super().set_cookie(cookie)
        key = (cookie.domain, cookie.path, cookie.name)
        self._order.pop(key, None)
        self._order[key] = None
        while len(self._order) > self._limit:
            self.evict_oldest()

    def evict_oldest(self) -> None:
        domain, path, name = next(iter(self._order))
        self.clear(domain, path, name)

    def clear(self, domain: str | None = None, path: str | None = None, name: str | None = None) -> None:
        # Every removal goes through here: eviction, expiry (clear_expired_cookies) and
        # a Set-Cookie that deletes (Max-Age=0), so the order always matches the jar.
        try:
            super().clear(domain, path, name)
        finally:
            if name is not None and path is not None and domain is not None:
                self._order.pop((domain, path, name), None)
                # The standard jar keeps emptied path and domain tables, and walks every one of them for
                # every request: 300 cookies a page on new paths would leave 300 more empty tables a page.
                by_path = self._cookies.get(domain)
                if by_path is not None:
                    if not by_path.get(path, True):
                        del by_path[path]
                    if not by_path:
                        del self._cookies[domain]
            else:
                present = {(c.domain, c.path, c.name) for c in self}
                for key in [k for k in self._order if k not in present]:
                    del self._order[key]


class _SetCookies:
    """The response side of http.cookiejar's interface: only the Set-Cookie values are asked for."""

    def __init__(self, values: list[str]) -> None:
        self._values = values

    def info(self) -> _SetCookies:
        return self

    def get_all(self, name: str, default: list[str]) -> list[str]:
        return list(self._values) if name.lower() == "set-cookie" else default


class CookieStore:
    """The cookies of one crawl, one bounded jar per host name (see the module notes for the bounds)."""

    def __init__(
        self,
        *,
        per_host: int = MAX_COOKIES_PER_HOST,
        max_bytes: int = MAX_COOKIE_BYTES,
        total: int = MAX_COOKIES_TOTAL,
    ) -> None:
        self._per_host = per_host
        self._max_bytes = max_bytes
        self._total_limit = total
        self._jars: OrderedDict[str, _HostJar] = OrderedDict()
        """Host name -> its jar, the host whose cookies were set longest ago first."""
        self._total = 0

    def header_for(self, url: str) -> str | None:
        """The Cookie header to send with a request for ``url``, or None when no cookie applies."""
        host = _host(url)
        jar = self._jars.get(host)
        if jar is None:
            return None
        request = urllib.request.Request(url)
        before = jar.count
        try:
            jar.add_cookie_header(request)  # also drops the jar's expired cookies
        except Exception:  # noqa: BLE001 - a cookie never fails a page: send none
            _log.debug("no Cookie header for %s", url, exc_info=True)
            return None
        finally:
            self._changed(host, jar, before)
        return request.get_header("Cookie")

    def store(self, url: str, set_cookie_values: list[str]) -> None:
        """Keep what a response from ``url`` set (its ``Set-Cookie`` header values), within the bounds."""
        if not set_cookie_values:
            return
        host = _host(url)
        if not host:
            return
        jar = self._jars.get(host)
        if jar is None:
            jar = self._jars[host] = _HostJar(self._per_host, self._max_bytes)
        before = jar.count
        try:
            # typeshed wants an http.client.HTTPResponse, but the jar only calls .info().get_all() on it
            jar.extract_cookies(_SetCookies(set_cookie_values), urllib.request.Request(url))  # type: ignore[arg-type]  # duck-typed response, see above
        except Exception:  # noqa: BLE001 - a cookie never fails a page: keep what was stored before it
            _log.debug("Set-Cookie from %s not understood", url, exc_info=True)
        self._jars.move_to_end(host)
        self._changed(host, jar, before)
        while self._total > self._total_limit:
            self._evict_one()

    def count(self, host: str | None = None) -> int:
        """Cookies kept for ``host`` (a host name or a URL), or over all hosts."""
        if host is None:
            return self._total
        jar = self._jars.get(_host(host) if "://" in host else host.lower().rstrip("."))
        return jar.count if jar is not None else 0

    def hosts(self) -> list[str]:
        """Host names that have cookies."""
        return list(self._jars)

    def tables(self, host: str) -> int:
        """Domain and path tables in ``host``'s jar, empty ones included: what every request to it walks."""
        jar = self._jars.get(_host(host) if "://" in host else host.lower().rstrip("."))
        if jar is None:
            return 0
        return sum(1 + len(by_path) for by_path in jar._cookies.values())

    def _changed(self, host: str, jar: _HostJar, before: int) -> None:
        self._total += jar.count - before
        if jar.count == 0:
            self._jars.pop(host, None)

    def _evict_one(self) -> None:
        host, jar = next(iter(self._jars.items()))
        before = jar.count
        jar.evict_oldest()
        self._changed(host, jar, before)


def _host(url: str) -> str:
    """The host name cookies are kept under: lower case, no port, no trailing dot."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""
