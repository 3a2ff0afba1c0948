"""URL canonicalisation and the host facts politeness needs.

Why this exists: the same page reached as ``HTTP://Example.com:80/a/../b#top``
and ``http://example.com/b`` must be one URL to the crawl state, one robots.txt
lookup and one politeness queue, or the crawler fetches it twice and counts
the host twice.  Redirect checks also need to know, without a DNS lookup,
whether a URL points into the local network.

Rules (in the spirit of w3lib's ``canonicalize_url``, but keeping the query
order, because some sites give different pages for a reordered query):

- only ``http`` and ``https``; anything else, or an unparseable URL, is None;
- scheme and host lower-cased, IDNA hosts in their ASCII (``xn--``) form,
  default ports dropped, the fragment dropped;
- ``.`` and ``..`` path segments resolved, an empty path becomes ``/``;
- percent-escapes of unreserved characters decoded, other escapes upper-cased,
  characters that may not appear raw (spaces, non-ASCII, quotes) escaped;
- an empty query (a bare ``?``) dropped.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import idna

from scraper.fetch.addresses import blocked_reason

__all__ = ["host_key", "is_private_host", "normalize_url"]

DEFAULT_PORTS = {"http": 80, "https": 443}

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
# Characters kept raw in a path (RFC 3986 pchar plus "/"); "[" and "]" stay raw as browsers keep them.
_PATH_SAFE = _UNRESERVED | _SUB_DELIMS | frozenset(":@/[]")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_HEX = frozenset("0123456789abcdefABCDEF")
# Host names made only of these may be legacy IPv4 spellings (127.1, 0x7f000001, 2130706433).
_LEGACY_IPV4 = re.compile(r"^[0-9a-fx.]+$")


def normalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical form of an http(s) URL, resolved against ``base``; None when it is not one."""
    if not isinstance(url, str):  # untyped callers pass JSON values (None, numbers)
        return None  # type: ignore[unreachable]  # reachable from untyped callers, see above
    url = url.strip()
    try:
        fast = _fast(url, base)
    except ValueError:
        return None
    return _normalize(url, base) if isinstance(fast, _Slow) else fast


def _normalize(url: str, base: str | None) -> str | None:
    """The general path: urllib joins and splits, then each part is normalised."""
    try:
        absolute = urljoin(base, url) if base else url
        parts = urlsplit(absolute)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            return None
        netloc = _normalize_netloc(parts, scheme)
    except ValueError:
        return None
    if netloc is None:
        return None
    path = _remove_dot_segments(_normalize_percent(parts.path or "/", _PATH_SAFE))
    query = _normalize_percent(parts.query, _QUERY_SAFE)
    return urlunsplit((scheme, netloc, path or "/", query, ""))


class _Slow:
    """What :func:`_fast` returns for a URL it leaves to the general path."""


_SLOW = _Slow()
# Characters urllib removes or browsers read as "/" (then the general path decides).
_ODD = re.compile(r"[\\\t\r\n]")
_CLEAN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]]*")
_CLEAN_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]?]*")


def _fast(url: str, base: str | None) -> str | _Slow | None:
    """The common case at a fraction of the cost (a page's links are mostly ``/path`` or ``https://...``):
    the URL as :func:`_normalize` gives it, or ``_SLOW``.  ``tests/fetch/test_urls.py`` checks the two
    agree on every link of the saved pages."""
    if url.startswith(("http://", "https://")):
        absolute = url
    elif not base or not url or url.startswith(("//", "?", "#")) or ":" in url.split("/", 1)[0]:
        return _SLOW  # no base, the base itself, another host, a query or fragment of the base, a scheme
    else:
        found = _origin(base)
        if found is None:
            return _SLOW
        origin, directory = found
        absolute = origin + url if url.startswith("/") else origin + directory + url  # RFC 3986 5.2.3
    if _ODD.search(absolute) or ";" in absolute:
        return _SLOW  # (";": urljoin's parser splits path parameters off)
    scheme, rest = absolute.split("://", 1)
    rest = rest.split("#", 1)[0]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    if not cut:
        return _SLOW  # "http:///x": urljoin reads it as relative to the base
    netloc = _netloc(rest[:cut], scheme)
    if netloc is None:
        return None
    path, _, query = rest[cut:].partition("?")
    if "//" in path:
        return _SLOW  # urljoin drops a path's empty segments
    if not path:
        path = "/"
    else:
        if not _CLEAN_PATH.fullmatch(path):
            path = _normalize_percent(path, _PATH_SAFE)
        if "/." in path:
            path = _remove_dot_segments(path) or "/"
    if query and not _CLEAN_QUERY.fullmatch(query):
        query = _normalize_percent(query, _QUERY_SAFE)
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"


@lru_cache(maxsize=256)
def _origin(base: str) -> tuple[str, str] | None:
    """``scheme://netloc`` of a base URL, as urljoin keeps them, and the base path's directory (up to
    its last "/"), which a path-relative link is merged with."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}", parts.path[: parts.path.rfind("/") + 1] or "/"


@lru_cache(maxsize=1024)
def _netloc(netloc: str, scheme: str) -> str | None:
    """A netloc normalised once per crawl, not once per link (raises ValueError for a bad port)."""
    return _normalize_netloc(urlsplit(f"{scheme}://{netloc}"), scheme)


def host_key(url: str) -> str:
    """``host:port`` of a URL (default port filled in): the unit of politeness."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if sep and not _ODD.search(url):
        cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        return _host_key_of(scheme, rest[:cut])  # once per host, not once per URL
    return _host_key(url)


@lru_cache(maxsize=1024)
def _host_key_of(scheme: str, netloc: str) -> str:
    return _host_key(f"{scheme}://{netloc}/")


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = DEFAULT_PORTS.get(scheme, 0)
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def is_private_host(host: str) -> bool:
    """True for ``localhost``, ``*.localhost`` and any IP literal that is not a public unicast address.

    Literals are judged by :func:`scraper.fetch.addresses.blocked_reason`, the rule the
    connect-time guard applies to resolved addresses, so a redirect is never let through
    here to an address the guard would refuse (or the reverse).  Names other than
    ``localhost`` are not resolved (no DNS here): a public name that resolves to a private
    address is caught at connect time (:mod:`scraper.fetch.resolve`), not by this function.
    """
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip_literal(name)
    return address is not None and blocked_reason(address) is not None


def _ip_literal(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host literal stands for, legacy IPv4 spellings included; None for names."""
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    if not _LEGACY_IPV4.match(name):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def _normalize_netloc(parts: SplitResult, scheme: str) -> str | None:
    host = _normalize_host(parts.hostname)
    if host is None:
        return None
    port = parts.port  # raises ValueError for a bad port
    userinfo = ""
    if parts.username is not None:
        userinfo = _normalize_percent(parts.username, _UNRESERVED | _SUB_DELIMS)
        if parts.password is not None:
            userinfo += ":" + _normalize_percent(parts.password, _UNRESERVED | _SUB_DELIMS)
        userinfo += "@"
    port_text = "" if port is None or port == DEFAULT_PORTS[scheme] else f":{port}"
    return f"{userinfo}{host}{port_text}"


def _normalize_host(hostname: str | None) -> str | None:
    """Lower-case ASCII host (IDNA-encoded, IPv6 in brackets); None when empty or invalid."""
    if not hostname:
        return None
    host = hostname.rstrip(".").lower()
    if not host:
        return None
    if ":" in host:
        try:
            return f"[{ipaddress.IPv6Address(host.split('%', 1)[0]).compressed}]"
        except ValueError:
            return None
    if host.isascii():
        return host if _valid_ascii_host(host) else None
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None


def _valid_ascii_host(host: str) -> bool:
    return all(label and len(label) <= 63 for label in host.split(".")) and not set(host) & set(" /\\?#@%<>\"'`{}|^")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on a path that may be relative to the root."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _normalize_percent(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, upper-case other escapes, escape unsafe characters."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            escape = text[index + 1 : index + 3]
            if len(escape) == 2 and set(escape) <= _HEX:
                decoded = chr(int(escape, 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + escape.upper())
                index += 3
                continue
            out.append("%25")
        elif char in safe:
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        index += 1
    return "".join(out)
