"""One rule for "is this address public", used by the redirect check and the connect-time guard.

Each special-purpose range is checked with an address inside it and, where a neighbour is
public, with the first address just outside, so an off-by-one prefix length fails a test.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import httpcore
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.fetch import resolve as resolve_module
from scraper.fetch.addresses import blocked_reason, embedded_ipv4
from scraper.fetch.resolve import BlockedAddressError, GuardedBackend
from scraper.fetch.urls import is_private_host

IPV4 = [
    ("0.0.0.0", "unspecified"),
    ("0.0.0.1", "this network"),
    ("0.255.255.255", "this network"),
    ("1.0.0.0", None),
    ("9.255.255.255", None),
    ("10.0.0.0", "private"),
    ("10.255.255.255", "private"),
    ("11.0.0.0", None),
    ("100.63.255.255", None),
    ("100.64.0.0", "shared address space"),
    ("100.127.255.255", "shared address space"),
    ("100.128.0.0", None),
    ("126.255.255.255", None),
    ("127.0.0.1", "loopback"),
    ("127.255.255.255", "loopback"),
    ("128.0.0.0", None),
    ("169.253.255.255", None),
    ("169.254.0.0", "link-local"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("169.255.0.0", None),
    ("172.15.255.255", None),
    ("172.16.0.0", "private"),
    ("172.31.255.255", "private"),
    ("172.32.0.0", None),
    ("191.255.255.255", None),
    ("192.0.0.0", "IETF protocol assignment"),
    ("192.0.0.255", "IETF protocol assignment"),
    ("192.0.1.0", None),
    ("192.0.2.0", "documentation"),
    ("192.0.2.255", "documentation"),
    ("192.0.3.0", None),
    ("192.88.98.255", None),
    ("192.88.99.1", "6to4 relay anycast"),
    ("192.88.100.0", None),
    ("192.167.255.255", None),
    ("192.168.0.0", "private"),
    ("192.168.255.255", "private"),
    ("192.169.0.0", None),
    ("198.17.255.255", None),
    ("198.18.0.0", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("198.20.0.0", None),
    ("198.51.99.255", None),
    ("198.51.100.0", "documentation"),
    ("198.51.100.255", "documentation"),
    ("198.51.101.0", None),
    ("203.0.112.255", None),
    ("203.0.113.0", "documentation"),
    ("203.0.113.255", "documentation"),
    ("203.0.114.0", None),
    ("223.255.255.255", None),
    ("224.0.0.0", "multicast"),
    ("239.255.255.255", "multicast"),
    ("240.0.0.0", "reserved"),
    ("255.255.255.254", "reserved"),
    ("255.255.255.255", "reserved"),  # limited broadcast
    ("8.8.8.8", None),
    ("93.184.215.14", None),
]

IPV6 = [
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("2606:4700:4700::1111", None),
    ("2a00:1450:4001:82a::200e", None),
    # IPv4-mapped and IPv4-compatible: the IPv4 address decides
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:100.64.0.1", "shared address space"),
    ("::ffff:224.0.0.1", "multicast"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("::ffff:8.8.8.8", None),
    ("::127.0.0.1", "loopback"),
    ("::169.254.169.254", "link-local"),
    ("::0.0.0.2", "this network"),
    ("::8.8.8.8", None),
    ("::ffff:0:8.8.8.8", "reserved"),  # IPv4-translated (SIIT): not an address a host connects to
    # NAT64, well-known prefix: the IPv4 address decides; local-use prefix: refused
    ("64:ff9b::a9fe:a9fe", "link-local"),
    ("64:ff9b::127.0.0.1", "loopback"),
    ("64:ff9b::100.64.0.1", "shared address space"),
    ("64:ff9b::198.18.0.1", "benchmarking"),
    ("64:ff9b::8.8.8.8", None),
    ("64:ff9b::1:808:808", "reserved"),  # inside 64:ff9b::/64, outside the /96
    ("64:ff9a:ffff:ffff:ffff:ffff:808:808", "reserved"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "local-use NAT64"),
    ("64:ff9b:2::808:808", "reserved"),
    # 6to4: the IPv4 address in bits 16-47 decides
    ("2002:7f00:1::1", "loopback"),
    ("2002:a00:1::1", "private"),
    ("2002:a9fe:a9fe::1", "link-local"),
    ("2002:c000:201::1", "documentation"),
    ("2002:808:808::1", None),
    ("2003::1", None),
    # 2001::/23, IETF protocol assignments, Teredo and benchmarking among them
    ("2001::", "Teredo"),
    ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "Teredo"),
    ("2001:1::1", "IETF protocol assignment"),
    ("2001:2::1", "benchmarking"),
    ("2001:2:0:ffff:ffff:ffff:ffff:ffff", "benchmarking"),
    ("2001:2:1::", "IETF protocol assignment"),
    ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "IETF protocol assignment"),
    ("2001:200::1", None),
    # documentation
    ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
    ("2001:db8::1", "documentation"),
    ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"),
    ("2001:db9::", None),
    ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
    ("3fff::", "documentation"),
    ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"),
    ("3fff:1000::", None),
    # discard-only
    ("100::", "discard"),
    ("100::ffff:ffff:ffff:ffff", "discard"),
    ("100:0:0:1::", "reserved"),
    # unique local, link-local, site-local, multicast
    ("fc00::", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private"),
    ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),  # as getaddrinfo reports it, with the interface
    ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"),
    ("fec0::1", "site-local"),
    ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local"),
    ("ff02::1", "multicast"),
    ("ff0e::fb", "multicast"),
    # outside 2000::/3 nothing is global unicast
    ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"),
    ("2000::", None),
    ("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
    ("4000::", "reserved"),
    ("5f00::1", "reserved"),  # SRv6 segment identifiers
]


@pytest.mark.parametrize(("address", "why"), IPV4 + IPV6)
def test_each_special_range_and_its_neighbours(address: str, why: str | None) -> None:
    assert blocked_reason(address) == why


@pytest.mark.parametrize(("address", "why"), IPV4 + IPV6)
def test_the_redirect_check_agrees_with_the_connect_check(address: str, why: str | None) -> None:
    literal = f"[{address}]" if ":" in address else address
    assert is_private_host(literal) is (why is not None)


def test_address_objects_are_judged_like_their_text() -> None:
    assert blocked_reason(ipaddress.ip_address("100.64.0.1")) == "shared address space"
    assert blocked_reason(ipaddress.ip_address("64:ff9b::7f00:1")) == "loopback"
    assert blocked_reason(ipaddress.ip_address("2606:4700:4700::1111")) is None


def test_text_that_is_no_address_is_an_error() -> None:
    with pytest.raises(ValueError):
        blocked_reason("example.com")


def test_embedded_ipv4_only_for_forms_that_deliver_to_it() -> None:
    four = ipaddress.IPv4Address("192.0.2.33")
    assert embedded_ipv4(ipaddress.IPv6Address("::ffff:192.0.2.33")) == four
    assert embedded_ipv4(ipaddress.IPv6Address("::192.0.2.33")) == four
    assert embedded_ipv4(ipaddress.IPv6Address("64:ff9b::192.0.2.33")) == four
    assert embedded_ipv4(ipaddress.IPv6Address("2002:c000:221:1::5")) == four
    assert embedded_ipv4(ipaddress.IPv6Address("64:ff9b:1::192.0.2.33")) is None
    assert embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2")) is None  # Teredo
    assert embedded_ipv4(ipaddress.IPv6Address("2606:4700::c000:221")) is None


@pytest.mark.parametrize(
    ("spelling", "private"),
    [("0x64400001", True), ("100.64.1", True), ("3758096385", True), ("0xc0.0x58.0x63.1", True),  # 224.0.0.1, 192.88.99.1
     ("0x08080808", False), ("134744072", False)],  # 8.8.8.8
)
def test_legacy_ipv4_spellings_go_through_the_same_rule(spelling: str, private: bool) -> None:
    assert is_private_host(spelling) is private


@given(st.ip_addresses(v=4))
def test_every_ipv6_carrier_of_an_ipv4_address_gets_its_verdict(four: ipaddress.IPv4Address) -> None:
    why = blocked_reason(four)
    assert blocked_reason(f"::ffff:{four}") == why
    assert blocked_reason(f"64:ff9b::{four}") == why
    assert blocked_reason(ipaddress.IPv6Address((0x2002 << 112) | (int(four) << 80) | 1)) == why
    # ::0.0.0.0 and ::0.0.0.1 are :: and ::1, so only the verdict, not the reason, carries over
    assert (blocked_reason(f"::{four}") is None) is (why is None)


@given(st.ip_addresses())
def test_names_and_resolved_addresses_are_judged_alike(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    literal = f"[{address}]" if address.version == 6 else str(address)
    assert is_private_host(literal) is (blocked_reason(address) is not None)


class _MustNotConnect(httpcore.AsyncNetworkBackend):
    """Below the guard: any connection reaching it means the guard let a refused address through."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise AssertionError(f"connected to {host}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@pytest.mark.parametrize(("address", "why"), [("100.64.0.1", "shared address space"), ("224.0.0.1", "multicast"),
                                              ("64:ff9b::a00:1", "private"), ("2001::1", "Teredo")])
def test_the_guard_refuses_what_the_old_name_check_let_through(monkeypatch: pytest.MonkeyPatch, address: str, why: str) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return [address]

    monkeypatch.setattr(resolve_module, "resolve", resolver)
    backend = GuardedBackend(inner=_MustNotConnect())
    with pytest.raises(BlockedAddressError) as caught:
        asyncio.run(backend.connect_tcp("cgnat.example", 80, timeout=5))
    assert caught.value.blocked == [(address, why)]
    assert is_private_host(f"[{address}]" if ":" in address else address)
