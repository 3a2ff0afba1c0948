"""Refuse, at connect time, host names that resolve into the local network.

Why it is built this way:

- Redirects are checked by host *name* in :mod:`scraper.fetch.http`, but a
  public-looking name can resolve to 127.0.0.1, 10.x, 169.254.169.254 or
  ::1 (a redirect to such a name, or DNS rebinding).  Only the addresses
  the socket is about to connect to tell, so the check lives in an httpcore
  network backend: :class:`GuardedBackend` resolves the name itself, refuses
  when *any* address is not a public unicast address (the rule is
  :func:`scraper.fetch.addresses.blocked_reason`, the same one the redirect
  check applies to IP literals), and then connects to
  the exact addresses it checked (an IP literal needs no second lookup), so
  the answer cannot change between the check and the connection.  TLS still
  verifies the certificate against the name: httpcore passes the origin's
  host name to ``start_tls``, not the address.
- Whether a request may reach a private address is decided per request by
  the fetcher (a fetch that starts on a private host, like a crawl of
  ``http://127.0.0.1:8000``, may; settings may allow more) and sent with the
  request as the ``ALLOW_PRIVATE_EXTENSION`` extension.  :class:`GuardedTransport`
  keeps two connection pools, one guarded and one open, and routes each
  request to one of them, so a connection opened for a request that was
  allowed into the local network is never reused by one that was not.  Both
  resolve names the same way (:func:`resolve`), the open one just does not
  refuse any address.
- httpx (0.28) does not let ``AsyncHTTPTransport`` take a network backend
  (encode/httpx discussion #3180); the guarded transport is an
  ``AsyncHTTPTransport`` whose httpcore pool is replaced by one built with
  this backend, so requests, responses and exceptions are still converted by
  httpx itself.
- Through a proxy (HTTP_PROXY) the proxy resolves and connects to the target,
  so this check cannot apply there; only the name check on redirects does.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import time
import typing

import anyio
import httpcore
import httpx

from scraper.errors import BlockedAddressError, FetchRefusedError
from scraper.fetch.addresses import blocked_reason  # re-exported: the rule lives there, shared with urls.py

__all__ = [
    "ALLOW_PRIVATE_EXTENSION",
    "BlockedAddressError",
    "GuardedBackend",
    "GuardedTransport",
    "blocked_reason",
    "ip_literal",
    "refuse_blocked",
    "resolve",
]

ALLOW_PRIVATE_EXTENSION = "scraper.allow_private"
"""Request extension: True lets the request connect to loopback, private and other local addresses."""


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to for a TCP connection, in the resolver's order, without repeats.

    Runs getaddrinfo in a worker thread (anyio), so the event loop is not blocked.  Tests replace
    this function to make a name resolve where they want.
    """
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        fields: tuple[typing.Any, ...] = tuple(sockaddr)  # (host, port) or, for IPv6, (host, port, flowinfo, scope_id)
        address = str(fields[0])
        if family == socket.AF_INET6 and len(fields) > 3 and fields[3] and "%" not in address:
            address = f"{address}%{fields[3]}"  # a link-local address needs its interface
        if address not in addresses:
            addresses.append(address)
    return addresses


def refuse_blocked(host: str, port: int, addresses: list[str]) -> None:
    """Raise :class:`BlockedAddressError` when any of the addresses ``host`` resolved to is not public
    (the one rule both transports apply: httpcore's backend here, aiohttp's resolver in ``aio``)."""
    blocked = [(a, why) for a in addresses if (why := blocked_reason(a)) is not None]
    if blocked:
        raise BlockedAddressError(host, port, blocked)


def ip_literal(host: str) -> str | None:
    """The address a host that is an IP literal (bracketed or not) stands for; None for a name."""
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to public addresses, the ones it checked.

    With ``allow_private`` it refuses nothing but still resolves with :func:`resolve` and connects to
    the addresses found, trying each in turn.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None, *, allow_private: bool = False) -> None:
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self._addresses(host, port, timeout)
        if not self._allow_private:
            refuse_blocked(host, port, addresses)
        options = list(socket_options) if socket_options is not None else None
        error: Exception | None = None
        ordered = _interleave(addresses)
        for index, address in enumerate(ordered):  # the checked addresses themselves: no second lookup
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}")
            # An address that does not answer must leave time for the others (a broken IPv6 route).
            share = None if remaining is None else remaining / (len(ordered) - index)
            try:
                return await self._inner.connect_tcp(address, port, timeout=share, local_address=local_address, socket_options=options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # _addresses never returns an empty list
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not used by the guarded backend")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    @staticmethod
    async def _addresses(host: str, port: int, timeout: float | None) -> list[str]:
        """Resolve ``host`` (an IP literal is itself), mapping failures to httpcore's connect errors."""
        literal = ip_literal(host)
        if literal is not None:
            return [literal]
        try:
            with anyio.fail_after(math.inf if timeout is None else timeout):
                addresses = await resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"timed out resolving {host}") from exc
        except OSError as exc:  # socket.gaierror: no such name, no network
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no IPv4 or IPv6 address")
        return addresses


def _interleave(addresses: list[str]) -> list[str]:
    """The resolver's order, alternating address families from the first one (as Happy Eyeballs tries them)."""
    first_v6 = ":" in addresses[0]
    same = [a for a in addresses if (":" in a) == first_v6]
    other = [a for a in addresses if (":" in a) != first_v6]
    ordered: list[str] = []
    for index in range(max(len(same), len(other))):
        ordered += same[index : index + 1] + other[index : index + 1]
    return ordered


class GuardedTransport(httpx.AsyncBaseTransport):
    """Routes each request to a guarded pool, or to an open one when it carries ``ALLOW_PRIVATE_EXTENSION``.

    Takes the options the fetcher would give httpx's own transport (no proxy: see the module notes).
    """

    def __init__(self, *, http2: bool = False, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        self._open = _transport_with_backend(GuardedBackend(allow_private=True), http2=http2, limits=limits)
        self._guarded = _transport_with_backend(GuardedBackend(), http2=http2, limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._open if request.extensions.get(ALLOW_PRIVATE_EXTENSION) else self._guarded
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        try:
            await self._guarded.aclose()
        finally:
            await self._open.aclose()


def _transport_with_backend(backend: httpcore.AsyncNetworkBackend, *, http2: bool, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport, its httpcore pool rebuilt with ``backend`` (the same options it was built with)."""
    transport = httpx.AsyncHTTPTransport(http2=http2, limits=limits, trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        # Refuse to run unguarded if httpx ever changes where its transport keeps the pool.
        raise FetchRefusedError(
            f"httpx {httpx.__version__}'s AsyncHTTPTransport no longer keeps an httpcore pool in _pool, so the "
            "address guard cannot be installed; install the httpx range qa-scraper declares (pip install 'httpx<0.30')"
        )
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=True, trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=backend,
    )
    return transport
