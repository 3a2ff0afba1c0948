"""An httpx transport over aiohttp: the same guarantees as :class:`~scraper.fetch.resolve.GuardedTransport`,
at aiohttp's speed.

Why it exists and how it keeps each guarantee (issue 15):

- httpx's own transport (httpcore) spends most of a crawl's event-loop time per request; aiohttp's
  C-accelerated HTTP parser does the same work several times faster (``benchmarks/fetch_only.py``).
  The fetcher still speaks httpx (``httpx.AsyncClient``, its requests, responses, exceptions and
  Content-Encoding decoding): only the bytes on the wire go through aiohttp.
- Connect-time address checks live in aiohttp's public resolver interface
  (:class:`aiohttp.abc.AbstractResolver`): :class:`GuardedResolver` resolves with
  :func:`scraper.fetch.resolve.resolve` and refuses a name when any address is not public, and aiohttp
  connects to exactly the addresses it returned.  aiohttp does not ask the resolver about IP literals,
  so those are checked here before the request.  Two sessions, one guarded and one open, keep a
  connection opened for a request allowed into the local network from being reused by one that was
  not (the same rule as the httpcore pools).
- No cookies are kept by aiohttp (the fetcher keeps them per host, bounded), no header is added,
  nothing is decompressed (httpx decodes, within DOWNLOAD_MAXSIZE), redirects are not followed (the
  fetcher checks each hop).
- The politeness clock restarts when the request headers are sent: aiohttp's
  ``on_request_headers_sent`` trace calls the request's httpcore-style ``trace`` extension.

Why not ``httpx-aiohttp`` (0.2), measured beside this in ``benchmarks/fetch_only.py``: it maps every
``aiohttp.ClientConnectionError`` (a reset, a refused connection) to ``httpx.ConnectTimeout``, which
the fetcher would count as a timeout, and it has no place for the IP-literal check or the trace.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from yarl import URL

from scraper.fetch import resolve as _resolve
from scraper.fetch.resolve import ALLOW_PRIVATE_EXTENSION, ip_literal, refuse_blocked

__all__ = ["AiohttpTransport", "GuardedResolver"]

_CHUNK = 64 * 1024
_MAX_HEADERS = 1000
_MAX_HEADER_BYTES = 16 * 1024


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing names that resolve into the local network unless ``allow_private``."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        try:
            addresses = await _resolve.resolve(host, port)  # the module's function: tests replace it
        except OSError as exc:  # socket.gaierror: no such name, no network
            raise OSError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
        if not addresses:
            raise OSError(f"{host} resolves to no IPv4 or IPv6 address")
        if not self._allow_private:
            refuse_blocked(host, port, addresses)
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        return None


def _result(host: str, address: str, port: int) -> ResolveResult:
    plain = address.split("%", 1)[0]
    family = socket.AF_INET6 if ":" in plain else socket.AF_INET
    return ResolveResult(hostname=host, host=plain, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST)


def _check_literal(host: str, port: int) -> None:
    """An IP literal is the address itself: aiohttp connects to it without asking the resolver."""
    address = ip_literal(host)
    if address is not None:
        refuse_blocked(host, port, [address])


class _Dropped(aiohttp.ClientConnectionError):
    """The connection dropped before a response: raised instead of aiohttp's own errors so that
    aiohttp does not retry the request by itself (the fetcher counts and spaces every attempt)."""


async def _no_retry(request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
    # aiohttp retries an idempotent request once on ClientOSError or ServerDisconnectedError, with no
    # switch for it (aio-libs/aiohttp#10790); a middleware is public API, and what it raises is not retried.
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # not retried by aiohttp, and the fetcher tells it apart (it may park the host)
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _Dropped(str(exc) or type(exc).__name__) from exc


async def _headers_sent(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
    trace = (context.trace_request_ctx or {}).get("trace")
    if trace is not None:
        await trace("http11.send_request_headers.started", {})


class _Body(httpx.AsyncByteStream):
    """The response body as aiohttp receives it (still Content-Encoded: httpx decodes)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc
        except (aiohttp.ClientConnectionError, ConnectionError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading the body") from exc

    async def aclose(self) -> None:
        self._response.release()  # back to the pool when the body was read whole, else closed


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Routes each request to a guarded aiohttp session, or to an open one when it carries ``ALLOW_PRIVATE_EXTENSION``."""

    def __init__(self, *, limits: httpx.Limits | None = None) -> None:
        self._limits = limits or httpx.Limits()
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._traces = aiohttp.TraceConfig()
        self._traces.on_request_headers_sent.append(_headers_sent)

    def _session(self, allow_private: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(allow_private)
        if session is None:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=allow_private),
                limit=self._limits.max_connections or 0,
                limit_per_host=0,
                keepalive_timeout=self._limits.keepalive_expiry or 5.0,
                ssl=httpx.create_ssl_context(verify=True, trust_env=False),
            )
            session = self._sessions[allow_private] = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False, trust_env=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"), timeout=aiohttp.ClientTimeout(total=None),
                trace_configs=[self._traces], middlewares=(_no_retry,),
                # As tolerant as h11 (httpcore's parser): a page may set hundreds of cookies.
                max_headers=_MAX_HEADERS, max_field_size=_MAX_HEADER_BYTES, max_line_size=_MAX_HEADER_BYTES,
            )
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        allow = bool(request.extensions.get(ALLOW_PRIVATE_EXTENSION))
        host, port = request.url.host, request.url.port or (443 if request.url.scheme == "https" else 80)
        if not allow:
            _check_literal(host, port)
        timeout = request.extensions.get("timeout", {})
        trace: Callable[[str, object], Awaitable[None]] | None = request.extensions.get("trace")
        headers = CIMultiDict(request.headers.multi_items())
        try:
            response = await self._session(allow).request(
                request.method, URL(str(request.url), encoded=True), headers=headers, data=request.content or None,
                allow_redirects=False, compress=None, trace_request_ctx={"trace": trace},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout.get("connect"), sock_read=timeout.get("read")),
            )
        except aiohttp.ClientConnectorDNSError as exc:
            raise httpx.ConnectError(str(exc.os_error), request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out connecting", request=request) from exc
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out waiting for the response", request=request) from exc
        except aiohttp.ClientResponseError as exc:  # a status line or headers aiohttp's parser refuses
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, ConnectionError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        extensions: dict[str, Any] = {"http_version": f"HTTP/{response.version.major}.{response.version.minor}".encode()
                                      if response.version else b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(response.status, headers=list(response.raw_headers), stream=_Body(response),
                              request=request, extensions=extensions)

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
