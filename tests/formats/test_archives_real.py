"""Seventeen real archive files from other tools' test suites: every record read or skipped, and counted.

The expected figures were worked out by hand from each file's ``.facts.json`` (written by
whoever collected the files, not by this reader) and from the bytes; the facts' own totals
are checked as well, so a figure here that drifts from them fails.  How facts map to counts:

* ``records`` is every record, read or skipped;
* ``warcinfo``/``request``/``revisit``/``metadata`` records are skipped under their own name;
* an HTTP response is read (a page, or an ``http_error`` for a 3xx/4xx) when it holds HTML,
  plain text or no Content-Type, and skipped as ``non_html`` otherwise (images, JSON, scripts);
* a ``resource`` is read when it holds HTML or text of an http(s) URL; wget's own log and
  manifest (``metadata://`` URIs) are ``not_web``.

None of these files holds a Q&A page: every page read gives ``NotAQAPageError``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scraper.errors import NotAQAPageError
from scraper.extract.api import extract_page
from scraper.formats.warc import SKIP_REASONS, ArchiveStats, is_archive_path, iter_archive, looks_like_archive
from tests.conftest import FIXTURES

ARCHIVES = FIXTURES / "archives"

# file: (read, of them HTML from responses, pages read from resource records, marked truncated, skipped by reason)
EXPECTED: dict[str, tuple[int, int, int, int, dict[str, int]]] = {
    # 16 responses: 11 text/html (9 of them redirects) + robots.txt read; jpeg, gif, png, rss skipped
    "archiveorg_urlswget_webarchivecommons.warc.gz": (12, 11, 0, 0, {"warcinfo": 1, "request": 16, "non_html": 4, "not_web": 3}),
    "commoncrawl_cc_jwarc.warc.gz": (1, 1, 0, 0, {}),
    # the whole file is one gzip member: read as one stream, the same records
    "examplecom_badnonchunked_warcio.warc.gz": (1, 1, 0, 0, {"warcinfo": 2, "request": 2, "revisit": 1}),
    # example.com (HTML), iana.org's 302 without a Content-Type (read: an http_error), iana.js skipped
    "examplecom_dupes_pywb.warc.gz": (2, 1, 0, 0, {"warcinfo": 1, "request": 12, "revisit": 9, "non_html": 1}),
    "examplecom_example_warcio.warc.gz": (1, 1, 0, 0, {"warcinfo": 2, "request": 2, "revisit": 1}),
    "examplecom_examplearc_warcio.arc": (1, 1, 0, 0, {"filedesc": 1}),
    # lines end CR CR LF; a 302 with no Content-Type: read, an http_error
    "examplecom_missingstatustext_pywb.warc": (1, 0, 0, 0, {}),
    "examplecom_resource_warcio.warc.gz": (1, 0, 1, 0, {"warcinfo": 2}),
    # the response's block is 2 bytes short of its HTTP Content-Length: read, marked truncated
    "examplecom_trunc_warcio.warc": (1, 1, 0, 1, {"warcinfo": 2, "request": 1}),
    "examplecom_urlagnosticrevisit_pywb.warc.gz": (0, 0, 0, 0, {"warcinfo": 1, "revisit": 1}),
    "examplecom_wget114_pywb.warc.gz": (1, 1, 0, 0, {"warcinfo": 1, "request": 1, "not_web": 3}),
    "gzipextra_sl_jwarc.warc.gz": (0, 0, 0, 0, {"warcinfo": 1}),
    "httpbin_posttest_warcio.warc.gz": (0, 0, 0, 0, {"request": 3, "non_html": 3}),
    "iana_chunked_warcio.warc": (1, 1, 0, 0, {"warcinfo": 1, "request": 1}),
    "misc_multipleheaders_webarchivecommons.warc": (1, 1, 0, 0, {}),
    # types "CAPITALIZED" (the later of two WARC-Type fields) and "invalid"; a bare "WARC/invalid" line ends the file
    "torture_validatefield_warcio.warc": (0, 0, 0, 0, {"unknown_type": 2, "request": 1, "truncated_header": 1}),
    "wikipedia-an_escopete_whirlwind.warc.gz": (1, 1, 0, 0, {"warcinfo": 1, "request": 1, "metadata": 1}),
}
FILES = sorted(EXPECTED)


def facts(name: str) -> dict:
    stem = name.split(".", 1)[0]
    data: dict = json.loads((ARCHIVES / f"{stem}.facts.json").read_text(encoding="utf-8"))
    return data


def read(name: str) -> tuple[list, ArchiveStats]:
    stats = ArchiveStats()
    return list(iter_archive(ARCHIVES / name, stats=stats)), stats


def is_html(result: object) -> bool:
    return getattr(result, "headers", {}).get("content-type", "").startswith("text/html")


def test_every_archive_here_has_its_facts_and_an_expectation() -> None:
    archives = sorted(p.name for p in ARCHIVES.iterdir() if not p.name.endswith((".json", ".md")))
    assert archives == FILES and len(FILES) == 17
    assert all(is_archive_path(name) and looks_like_archive(ARCHIVES / name) for name in FILES)


@pytest.mark.parametrize("name", FILES)
def test_records_read_and_skipped(name: str) -> None:
    reads, html, resource_pages, truncated, skipped = EXPECTED[name]
    results, stats = read(name)
    assert (stats.read, stats.truncated, dict(stats.skipped)) == (reads, truncated, skipped)
    assert set(stats.skipped) <= set(SKIP_REASONS)
    pages = [r for r in results if not r.url.startswith(str(ARCHIVES))]
    assert len(pages) == reads and sum(r.truncated for r in pages) == truncated
    assert sum(map(is_html, pages)) - resource_pages == html


@pytest.mark.parametrize("name", FILES)
def test_the_counts_agree_with_the_facts_file(name: str) -> None:
    fact = facts(name)
    reads, html, resource_pages, _, skipped = EXPECTED[name]
    assert fact["file"] == name
    _, stats = read(name)
    assert stats.records == fact["records"]
    for kind in ("warcinfo", "request", "revisit", "metadata"):
        assert stats.skipped.get(kind, 0) == fact["record_types"].get(kind, 0), kind
    assert reads - resource_pages + skipped.get("non_html", 0) == fact["http_response_records"]
    assert html == fact["html_response_records"]


@pytest.mark.parametrize("name", FILES)
def test_no_page_of_them_is_a_qa_page(name: str) -> None:
    results, _ = read(name)
    for result in results:
        if result.failure is not None:
            assert result.failure in ("http_error", "decode_error"), result.detail
            continue
        with pytest.raises(NotAQAPageError):
            extract_page(result.page(path=str(ARCHIVES / name)))


def test_the_cut_record_is_still_the_whole_page() -> None:
    """example-trunc's gzip body lacks 2 trailer bytes: the HTML comes out whole, and the record says truncated."""
    (page,), _ = read("examplecom_trunc_warcio.warc")
    assert page.truncated and page.body.rstrip().endswith(b"</html>")
    raw = page.page(path="x")
    assert raw.truncated


def test_the_arc_capture_is_read_like_a_warc_response() -> None:
    (arc,), _ = read("examplecom_examplearc_warcio.arc")
    (warc,), _ = read("examplecom_example_warcio.warc.gz")
    assert (arc.url, arc.status, arc.fetched_at, arc.headers["content-type"]) == (
        "http://example.com/", 200, "2014-02-16T05:02:21Z", "text/html")
    assert b"<title>Example Domain</title>" in arc.body and b"<title>Example Domain</title>" in warc.body


def test_a_copy_under_another_name_is_read_by_its_content(tmp_path: Path) -> None:
    for name in ("examplecom_examplearc_warcio.arc", "commoncrawl_cc_jwarc.warc.gz"):
        renamed = tmp_path / (name.split(".")[0] + ".data")
        renamed.write_bytes((ARCHIVES / name).read_bytes())
        assert not is_archive_path(renamed) and looks_like_archive(renamed)
        assert [r.url for r in iter_archive(renamed)] == [r.url for r in read(name)[0]]


def test_library_users_get_the_reader_and_its_counts_from_the_package() -> None:
    import scraper

    stats = scraper.ArchiveStats()
    pages = [r for r in scraper.iter_archive(ARCHIVES / "examplecom_dupes_pywb.warc.gz", stats=stats) if r.failure is None]
    assert [p.url for p in pages] == ["http://example.com"]
    assert stats.describe() == "25 records: 2 read, 23 skipped (12 request, 9 revisit, 1 non_html, 1 warcinfo)"
