"""URL canonicalisation and host facts: one page, one URL; local addresses known without DNS."""

from __future__ import annotations

import pytest

from scraper.fetch.urls import host_key, is_private_host, normalize_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/a", "http://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com/a#section", "http://example.com/a"),
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/../../a", "http://example.com/a"),
        ("http://example.com/a/b/..", "http://example.com/a/"),
        ("http://example.com/a/%2e%2e/b", "http://example.com/b"),
        ("http://example.com/a?", "http://example.com/a"),
        ("http://example.com/a?b=2&a=1", "http://example.com/a?b=2&a=1"),
        ("http://example.com/%7euser/%41", "http://example.com/~user/A"),
        ("http://example.com/a%2fb?x=%2f", "http://example.com/a%2Fb?x=%2F"),
        ("http://example.com/a b?q=a b", "http://example.com/a%20b?q=a%20b"),
        ("http://example.com/100%", "http://example.com/100%25"),
        ("http://example.com/caf\u00e9", "http://example.com/caf%C3%A9"),
        ("http://b\u00fccher.de/", "http://xn--bcher-kva.de/"),
        ("http://EXAMPLE.com./", "http://example.com/"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("  http://example.com/a  ", "http://example.com/a"),
        ("http://user:pw@Example.com/", "http://user:pw@example.com/"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/file", "mailto:someone@example.com", "javascript:alert(1)", "http://", "//example.com/a",
     "not a url", "http://exa mple.com/", "http://example.com:99999/", "http://[::zz]/", ""],
)
def test_normalize_url_refuses_what_cannot_be_fetched(url: str) -> None:
    assert normalize_url(url) is None


def test_normalize_url_resolves_against_a_base() -> None:
    assert normalize_url("../c?x=1#f", base="http://example.com/a/b/") == "http://example.com/a/c?x=1"
    assert normalize_url("/root", base="https://example.com:443/a/b") == "https://example.com/root"
    assert normalize_url("https://other.org/x", base="http://example.com/") == "https://other.org/x"


def test_normalize_url_is_idempotent() -> None:
    for url in ("HTTP://Example.COM:80/a/../b?q=a b#f", "http://b\u00fccher.de/caf\u00e9?x=%7e"):
        once = normalize_url(url)
        assert once is not None
        assert normalize_url(once) == once


def test_host_key_fills_the_default_port() -> None:
    assert host_key("http://Example.com/a") == "example.com:80"
    assert host_key("https://example.com/a") == "example.com:443"
    assert host_key("http://127.0.0.1:8080/") == "127.0.0.1:8080"
    assert host_key("http://[::1]/") == "[::1]:80"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.1", "0x7f000001", "2130706433", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254",
     "0.0.0.0", "::1", "[::1]", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "localhost", "LOCALHOST.", "app.localhost"],
)
def test_private_hosts(host: str) -> None:
    assert is_private_host(host)


@pytest.mark.parametrize("host", ["example.com", "8.8.8.8", "2606:4700::1111", "face.cafe", "localhost.example.com", "10.example"])
def test_public_hosts(host: str) -> None:
    assert not is_private_host(host)
