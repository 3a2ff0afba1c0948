"""Which IP addresses are public: the one rule behind the redirect check and the connect-time guard.

Why one module: a host literal in a redirect (:func:`scraper.fetch.urls.is_private_host`) and
an address a name resolved to (:mod:`scraper.fetch.resolve`) must be judged the same way.  When
they were two functions they disagreed (carrier-grade NAT, multicast and NAT64 passed one and
failed the other), and a security rule that depends on which door a request came through is
a hole.

Why a table of our own and not ``ipaddress``'s ``is_global``/``is_private``: those answers
changed between Python patch releases (CPython gh-113171, 3.11.10 and 3.12.4), so the same
address could be public on one machine and blocked on the next.  The networks below are the
IANA special-purpose registries (IPv4 and IPv6) read strictly: an address is public only when
it is globally routable *unicast*.  Anything else (loopback, private, link-local, shared,
multicast, reserved, documentation, benchmarking, protocol assignments) is refused, with a
short reason for the error message.

IPv6 forms that carry an IPv4 address are judged by the IPv4 address when the carrier is one
a packet can really take to it: IPv4-mapped (``::ffff:a.b.c.d``, what a dual-stack socket
reports), IPv4-compatible (``::a.b.c.d``), NAT64 with the well-known prefix (``64:ff9b::/96``,
where DNS64 puts every IPv4-only site on an IPv6-only network) and 6to4 (``2002:AABB:CCDD::``).
The local-use NAT64 prefix ``64:ff9b:1::/48`` (where the IPv4 bits may sit anywhere) and Teredo
(``2001::/32``, whose client address is obfuscated) are refused outright.  Outside ``2000::/3``
no IPv6 address is global unicast, so whatever is not named below is refused as reserved.
"""

from __future__ import annotations

import ipaddress

__all__ = ["IPAddress", "blocked_reason", "embedded_ipv4"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _table(rows: tuple[tuple[str, str], ...]) -> tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]:
    """Parse (network, reason) rows once, at import; a typo in a network fails the import, not a request."""
    return tuple((ipaddress.ip_network(network), reason) for network, reason in rows)


# First match wins, so a narrower network comes before the one holding it.
_IPV4_NOT_PUBLIC = _table((
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space"),  # carrier-grade NAT (RFC 6598): the ISP's side, not the internet
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),  # includes 169.254.169.254, the cloud metadata service
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),  # deprecated anycast (RFC 7526), not one host
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes 255.255.255.255, the limited broadcast address
))

_IPV6_NOT_PUBLIC = _table((
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard"),
    ("2001::/32", "Teredo"),
    ("2001:2::/48", "benchmarking"),
    ("2001::/23", "IETF protocol assignment"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "private"),  # unique local addresses
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
))

_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def blocked_reason(address: str | IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (``"loopback"``, ``"private"`` ...), or None when it is.

    A string may carry an IPv6 zone (``fe80::1%eth0``), as getaddrinfo reports link-local
    addresses; the zone does not change the verdict.  A string that is no IP address raises
    ValueError: the callers only ever pass addresses, so anything else is a bug to surface.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        reason = _first_match(ip, _IPV6_NOT_PUBLIC)
        if reason is not None:  # before unwrapping: :: and ::1 sit inside ::/96 but are not IPv4
            return reason
        carried = embedded_ipv4(ip)
        if carried is not None:
            return _first_match(carried, _IPV4_NOT_PUBLIC)
        return None if ip in _GLOBAL_UNICAST_V6 else "reserved"
    return _first_match(ip, _IPV4_NOT_PUBLIC)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address delivers to (mapped, compatible, NAT64 ``/96``, 6to4), or None.

    Only the forms whose packets end up at that IPv4 address are unwrapped; see the module notes.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _COMPATIBLE or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def _first_match(ip: IPAddress, table: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]) -> str | None:
    """The reason of the first network in ``table`` that holds ``ip``."""
    for network, reason in table:
        if ip in network:
            return reason
    return None
