"""Sitemaps: URL sets, indexes, gzip, text; hostile XML refused."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from scraper.formats.sitemap import MAX_SITEMAP_SIZE, Sitemap, SitemapError, SitemapUrl, parse_sitemap

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles</loc>
    <lastmod>2024-02-11T10:12:00+00:00</lastmod>
    <changefreq>weekly</changefreq>
    <image:image><image:loc>https://img.realself.com/a.jpg</image:loc></image:image>
  </url>
  <url>
    <loc>
      https://www.realself.com/question/haircut-before-mohs-surgery-head?a=1&amp;b=2
    </loc>
  </url>
  <url><loc>ftp://files.example.com/x</loc></url>
  <url><lastmod>2024-01-01</lastmod></url>
</urlset>
"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.realself.com/sitemaps/questions-1.xml.gz</loc><lastmod>2024-02-01</lastmod></sitemap>
  <sitemap><loc>https://www.realself.com/sitemaps/questions-2.xml.gz</loc></sitemap>
</sitemapindex>
"""


def test_urlset() -> None:
    sitemap = parse_sitemap(URLSET)
    assert sitemap.kind == "urlset"
    assert sitemap.urls == [
        SitemapUrl("https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles", "2024-02-11T10:12:00+00:00"),
        SitemapUrl("https://www.realself.com/question/haircut-before-mohs-surgery-head?a=1&b=2", None),
    ]
    assert sitemap.sitemaps == []
    assert any("without a <loc>" in w for w in sitemap.warnings)
    assert any("ftp://files.example.com/x" in w for w in sitemap.warnings)


def test_sitemap_index() -> None:
    sitemap = parse_sitemap(INDEX)
    assert sitemap == Sitemap(
        kind="sitemapindex",
        sitemaps=["https://www.realself.com/sitemaps/questions-1.xml.gz", "https://www.realself.com/sitemaps/questions-2.xml.gz"],
    )


def test_without_namespace_and_relative_locs() -> None:
    body = b"<urlset><url><loc>/question/a</loc></url><url><loc>https://b.example/q</loc></url></urlset>"
    assert [u.loc for u in parse_sitemap(body, base_url="https://www.realself.com/sitemap.xml").urls] == [
        "https://www.realself.com/question/a",
        "https://b.example/q",
    ]
    # without a base URL a relative loc is not a URL
    assert [u.loc for u in parse_sitemap(body).urls] == ["https://b.example/q"]
    index = b"\xef\xbb\xbf\n  <sitemapindex><sitemap><loc>https://x.example/s.xml</loc></sitemap></sitemapindex>"
    assert parse_sitemap(index).sitemaps == ["https://x.example/s.xml"]


def test_gzip_sitemap() -> None:
    assert parse_sitemap(gzip.compress(URLSET)).urls == parse_sitemap(URLSET).urls
    assert parse_sitemap(gzip.compress(INDEX)).sitemaps == parse_sitemap(INDEX).sitemaps
    with pytest.raises(SitemapError, match="truncated"):
        parse_sitemap(gzip.compress(URLSET)[:-20])


def test_text_sitemap() -> None:
    body = b"https://www.realself.com/question/a\r\n\r\n  https://www.realself.com/question/b  \nnot a url\nmailto:x@y.z\n"
    sitemap = parse_sitemap(body)
    assert sitemap.kind == "text"
    assert [u.loc for u in sitemap.urls] == ["https://www.realself.com/question/a", "https://www.realself.com/question/b"]
    assert len(sitemap.warnings) == 1 and "2 loc(s)" in sitemap.warnings[0]
    assert [u.loc for u in parse_sitemap(gzip.compress(body)).urls] == [u.loc for u in sitemap.urls]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x.example/&lol9;</loc></url></urlset>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x.example/&xxe;</loc></url></urlset>
"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entity_declarations_are_refused(body: bytes) -> None:
    with pytest.raises(SitemapError, match="DOCTYPE or ENTITY"):
        parse_sitemap(body)
    with pytest.raises(SitemapError, match="DOCTYPE or ENTITY"):
        parse_sitemap(gzip.compress(body))
    # the same documents in UTF-16 slip past a byte search but not the parsed document check
    with pytest.raises(SitemapError, match="DOCTYPE or ENTITY"):
        parse_sitemap(body.replace(b'version="1.0"?>', b'version="1.0" encoding="UTF-16"?>').decode().encode("utf-16"))


def test_external_dtd_is_refused_and_never_fetched() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "http://127.0.0.1:9/evil.dtd"><urlset><url><loc>https://a.example/</loc></url></urlset>'
    with pytest.raises(SitemapError, match="DOCTYPE"):
        parse_sitemap(body)


def test_size_bounds() -> None:
    with pytest.raises(SitemapError, match="over the 2000-byte limit"):
        parse_sitemap(b"https://a.example/\n" * 200, max_size=2000)
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    assert len(bomb) < 10_000
    with pytest.raises(SitemapError, match="expands past"):
        parse_sitemap(bomb, max_size=1_000_000)
    assert MAX_SITEMAP_SIZE == 50 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Not found</body></html>", "root element is <html>"),
        (b"", "empty"),
        (b"\x1f\x8b\x08garbage", "does not decompress"),
        (b"<?xml version='1.0'?><!-- nothing -->", "not well-formed"),
    ],
)
def test_not_a_sitemap(body: bytes, message: str) -> None:
    with pytest.raises(SitemapError, match=message):
        parse_sitemap(body)


def test_malformed_xml_is_recovered_with_a_warning() -> None:
    body = b"<urlset><url><loc>https://a.example/?x=1&y=2</loc></url><url><loc>https://b.example/</loc></url></urlset>"
    sitemap = parse_sitemap(body)
    assert [u.loc for u in sitemap.urls][-1] == "https://b.example/"
    assert any("recovered" in w for w in sitemap.warnings)
    cut = parse_sitemap(URLSET[:300])  # cut off mid-document: the entries before the cut
    assert [u.loc for u in cut.urls] == ["https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles"]
    assert any("recovered" in w for w in cut.warnings)


_MEMORY_PROBE = """
import sys
from lxml import etree
from scraper.formats.sitemap import SitemapReader
with open(sys.argv[2], "rb") as fh:  # read in one allocation, so the peak before parsing is the body
    body = fh.read()
def peak_kb():  # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1])
before = peak_kb()
if sys.argv[1] == "stream":
    count = sum(1 for _ in SitemapReader(body, max_size=10**8))
else:  # what reading a sitemap whole costs: the tree and every entry held at once
    root = etree.fromstring(body)
    entries = [(e[0].text, e[1].text) for e in root]
    count = len(entries)
print(count, (peak_kb() - before) // 1024)
"""


def test_a_streamed_sitemap_holds_one_entry_at_a_time(tmp_path: Path) -> None:
    """A 20 MB MADE sitemap: streaming grows the process by a few MB, reading it whole by far more."""
    import subprocess
    import sys

    sitemap = tmp_path / "big.xml"
    with sitemap.open("w", encoding="utf-8") as fh:
        fh.write("<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>")
        for i in range(200_000):
            fh.write(f"<url><loc>https://www.example.com/question/slug-{i}</loc><lastmod>2026-01-01</lastmod></url>")
        fh.write("</urlset>")

    def growth(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, mode, str(sitemap)], capture_output=True, text=True,
                             check=True).stdout
        count, megabytes = map(int, out.split())
        assert count == 200_000
        return megabytes

    streamed, whole = growth("stream"), growth("whole")
    assert streamed < 24, f"streaming grew RSS by {streamed} MB"
    assert whole > 2 * streamed + 24, f"control: reading whole grew RSS by {whole} MB"
