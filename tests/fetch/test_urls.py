"""URL canonicalisation and host facts: one page, one URL; local addresses known without DNS."""

from __future__ import annotations

import json
from collections.abc import Callable

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.fetch import urls
from scraper.fetch.urls import host_key, is_private_host, normalize_url
from tests.conftest import ROOT


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


# --- the fast path for common links (issue 15: link normalisation cost 7 ms a page) -------------------

_TRICKY = [
    "/a/../b", "/./x", "/a/b/..", "/%7Euser/%2f?q=%7e&x=%zz", "/caf\u00e9?q=\u00fc", "/x?", "/x#frag", "/x?y#z", "/a b",
    "/x;p=1", "//other.example/x", "/\\evil", "/x\ty", "https://EXAMPLE.com:443/A", "http://example.com:80", "http://h:99999/",
    "http://[::1]:8080/x", "http://user:p%40ss@h.example/x", "https://h.example?q", "http:///nohost", "https://xn--caf-dma.example/",
    "https://b\u00fccher.example/x", "http://h.example/%41%2F", "/..", "/.hidden/x", "http://h.example/a/./b/../c?d=.&e=..",
    "../home", "page-2", "./x?y", "a/../../../b", "..", ".", "x:y", "", "?q", "#f", "a//b", "mailto:me@example.com", "q/%7e%zz",
    "javascript:void(0)", "tel:+1", "./", "../", "caf\u00e9/x", "a?b/../c",
]


def _saved_hrefs() -> list[tuple[str, str]]:
    """Every link of the saved real pages (tests/fixtures/*/NAME/page.html), with the page's URL as base."""
    pages = []
    for page in sorted((ROOT / "tests" / "fixtures").glob("*/*/page.html")):
        facts = next((page.parent / name for name in ("expected.json", "facts.json") if (page.parent / name).is_file()), None)
        url = (json.loads(facts.read_text(encoding="utf-8")).get("url") if facts else None) or "https://example.com/q/1"
        root = lxml.html.fromstring(page.read_bytes())
        pages += [(a.get("href"), url) for a in root.iter("a") if a.get("href")]
    return pages


def _fast_or_error(href: str, base: str) -> object:
    try:
        return urls._fast(href, base)
    except ValueError:  # a bad port: normalize_url gives None, as the general path does
        return None


def test_the_fast_path_gives_what_the_general_path_gives_on_every_saved_link() -> None:
    bases = ("https://www.example.com/q/1?a=b", "http://Example.com:8080/x/", "https://example.com", "https://example.com/a/b/c")
    links = _saved_hrefs() + [(href, base) for href in _TRICKY for base in bases]
    assert len(links) > 3000
    fast = 0
    for href, base in links:
        expected = urls._normalize(href.strip(), base)
        assert normalize_url(href, base) == expected, (href, base)
        for url in (expected, href) if expected else (href,):
            assert host_key(url) == urls._host_key(url.strip()), url  # the per-host cache gives what urlsplit gives
        fast += _fast_or_error(href.strip(), base) is not urls._SLOW
    assert fast > len(links) * 0.6, "most links take the fast path"


@settings(max_examples=1500, deadline=None)
@given(href=st.lists(st.sampled_from(["a", "b", "/", ".", "..", "?", "#", "%", "%2e", "%7E", ":", "=", "&", " ", "\u00e9", "http://", "h.example",
                                     "https://", "//", ";", "@", "~", "[", "]", "\\"]), max_size=8).map("".join),
       base=st.sampled_from(["https://www.example.com/q/1?a=b", "http://Example.com:8080/x/", "https://example.com", "http://h/a//b/c"]))
def test_the_fast_path_agrees_on_made_up_links(href: str, base: str) -> None:
    assert normalize_url(href, base) == urls._normalize(href.strip(), base)
    assert _outcome(host_key, href) == _outcome(urls._host_key, href.strip())


def _outcome(function: Callable[[str], str], url: str) -> str:
    try:
        return function(url)
    except ValueError as exc:  # "Invalid IPv6 URL": raised the same way by both
        return f"ValueError: {exc}"
