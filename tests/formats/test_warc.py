"""Reading pages out of WARC and WET files built here with warcio's writer."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper.formats.warc import MAX_RECORD_SIZE, SKIP_REASONS, ArchiveStats, is_archive_path, iter_archive, looks_like_archive
from tests.conftest import FIXTURES, SAMPLES

MADE = sorted((FIXTURES / "textrender_made").glob("made-00[1-3]-*.txt"))
SEED_TEXT = (SAMPLES / "realself-000-botox-atrophy.txt").read_bytes()
SEED_URL = "https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles"
SO_HTML = (FIXTURES / "html" / "stackoverflow-6377231" / "page.html").read_bytes()
SO_URL = "https://stackoverflow.com/questions/6377231/avoid-warnings-on-404-during-django-test-runs"
DATE = "2024-03-01T12:00:00Z"


def made_url(path: Path) -> str:
    return "https://www.realself.com/question/" + path.stem.split("-", 2)[2]


def wet_pages() -> list[tuple[str, bytes]]:
    pages = [(SEED_URL, SEED_TEXT)] + [(made_url(p), p.read_bytes()) for p in MADE]
    pages.insert(2, ("https://www.realself.com/review/not-a-question", b"A review page, not a question.\n"))
    return pages


def build(records: list[dict], *, gz: bool) -> tuple[bytes, list[int]]:
    """Archive bytes written by warcio, with the offset where each record starts."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    offsets = []
    for spec in records:
        offsets.append(buf.tell())
        if "raw" in spec:  # a hand-made record warcio would refuse to write
            buf.write(gzip.compress(spec["raw"]) if gz else spec["raw"])
            continue
        kind = spec["type"]
        if kind == "warcinfo":
            record = writer.create_warcinfo_record("test.warc.gz", {"software": "warcio for tests"})
        elif kind in ("response", "request"):
            status_line = spec.get("status", "200 OK") if kind == "response" else spec.get("status", "GET / HTTP/1.1")
            http = StatusAndHeaders(status_line, spec.get("headers", []), protocol="HTTP/1.1" if kind == "response" else "")
            record = writer.create_warc_record(
                spec["uri"], kind, payload=io.BytesIO(spec.get("body", b"")), http_headers=http,
                warc_headers_dict={"WARC-Date": spec.get("date", DATE)},
            )
        else:  # conversion, metadata
            record = writer.create_warc_record(
                spec["uri"], kind, payload=io.BytesIO(spec["body"]),
                warc_content_type="text/plain" if kind == "conversion" else "application/warc-fields",
                warc_headers_dict={"WARC-Date": spec.get("date", DATE)},
            )
        writer.write_record(record)
    return buf.getvalue(), offsets


def wet_records() -> list[dict]:
    return [{"type": "warcinfo"}] + [{"type": "conversion", "uri": u, "body": b} for u, b in wet_pages()]


def warc_records() -> list[dict]:
    html_headers = [("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx"), ("X-Frame-Options", "SAMEORIGIN")]
    return [
        {"type": "warcinfo"},
        {"type": "request", "uri": SO_URL, "headers": [("Host", "stackoverflow.com")]},
        {"type": "response", "uri": SO_URL, "headers": html_headers, "body": SO_HTML, "date": "2024-03-01T12:00:00.123456Z"},
        {"type": "metadata", "uri": SO_URL, "body": b"fetchTimeMs: 120\r\n"},
        {"type": "response", "uri": SEED_URL, "headers": [("Content-Type", "text/plain")], "body": SEED_TEXT},
    ]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_wet_conversion_records(tmp_path: Path, gz: bool) -> None:
    data, _ = build(wet_records(), gz=gz)
    results = list(iter_archive(write(tmp_path, "pages.wet.gz" if gz else "pages.wet", data)))
    assert [(r.url, r.body) for r in results] == wet_pages()
    for result in results:
        assert result.ok and result.failure is None
        assert result.status == 200
        assert result.headers == {"content-type": "text/plain; charset=utf-8"}
        assert result.final_url == result.url
        assert result.fetched_at == DATE
        assert result.source == "warc"
    page = results[0].page()
    assert page.kind == "warc" and page.url == SEED_URL and page.encoding == "utf-8"


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_warc_response_records(tmp_path: Path, gz: bool) -> None:
    data, _ = build(warc_records(), gz=gz)
    results = list(iter_archive(write(tmp_path, "pages.warc.gz" if gz else "pages.warc", data)))
    assert [r.url for r in results] == [SO_URL, SEED_URL]  # warcinfo, request, metadata skipped
    html = results[0]
    assert html.ok and html.status == 200 and html.body == SO_HTML
    assert html.final_url == SO_URL
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    assert all(name == name.lower() for name in html.headers)
    assert html.fetched_at == "2024-03-01T12:00:00Z"
    assert html.page().encoding == "utf-8"
    assert results[1].body == SEED_TEXT


def test_whole_file_gzip_stream(tmp_path: Path) -> None:
    """A WARC gzipped as one stream (``gzip file.warc``) rather than per record reads the same."""
    data, _ = build(warc_records() + wet_records(), gz=False)
    path = write(tmp_path, "whole.warc.gz", gzip.compress(data))
    results = list(iter_archive(path))
    assert [r.url for r in results] == [SO_URL, SEED_URL] + [u for u, _ in wet_pages()]
    assert all(r.ok for r in results)
    assert [r.url for r in iter_archive(path, url_pattern="made-|stackoverflow")] == [SO_URL]


def test_transfer_and_content_encoding_are_removed(tmp_path: Path) -> None:
    packed = gzip.compress(SEED_TEXT)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(packed[i : i + 1000]), packed[i : i + 1000]) for i in range(0, len(packed), 1000))
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]
    records = [
        {"type": "response", "uri": SEED_URL, "headers": headers, "body": chunked + b"0\r\n\r\n"},
        # Common Crawl style: stored decoded, the header kept
        {"type": "response", "uri": SEED_URL + "?2", "headers": headers, "body": SEED_TEXT},
        {"type": "response", "uri": SEED_URL + "?3", "headers": [("Content-Encoding", "deflate")], "body": __import__("zlib").compress(SEED_TEXT)},
    ]
    data, _ = build(records, gz=True)
    results = list(iter_archive(write(tmp_path, "enc.warc.gz", data)))
    assert [r.body for r in results] == [SEED_TEXT] * 3
    assert all(r.ok for r in results)


def test_url_pattern_filters_before_the_block_is_read(tmp_path: Path) -> None:
    bad_http = b"this is not an HTTP response\r\n\r\nbody"
    junk = (
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://example.com/broken\r\nWARC-Date: " + DATE.encode()
        + b"\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n" % (len(bad_http), bad_http)
    )
    records = wet_records()
    records.insert(2, {"raw": junk})
    data, _ = build(records, gz=True)
    path = write(tmp_path, "mixed.warc.gz", data)
    wanted = [u for u, _ in wet_pages() if "realself.com/question/" in u]
    assert [r.url for r in iter_archive(path, url_pattern=r"realself\.com/question/")] == wanted
    assert [r.url for r in iter_archive(path, url_pattern=re.compile("made-|dont-lose"))] == [SEED_URL]
    # unfiltered, the broken record is parsed and reported
    everything = list(iter_archive(path))
    assert [r.failure for r in everything].count("decode_error") == 1


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_bad_http_header_block_is_one_failure(tmp_path: Path, gz: bool) -> None:
    bad_http = b"<html>no status line</html>"
    raw = (
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://example.com/bad\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
        b"Content-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n" % (len(bad_http), bad_http)
    )
    records = warc_records()
    records.insert(3, {"raw": raw})
    data, offsets = build(records, gz=gz)
    results = list(iter_archive(write(tmp_path, "bad.warc", data)))
    assert [r.url for r in results] == [SO_URL, "https://example.com/bad", SEED_URL]
    bad = results[1]
    assert bad.failure == "decode_error" and not bad.ok
    assert f"offset {offsets[3]}" in bad.detail and "status line" in bad.detail
    assert results[2].ok


def test_corrupt_gzip_member_in_the_middle_is_skipped(tmp_path: Path) -> None:
    data, offsets = build(wet_records(), gz=True)
    broken = bytearray(data)
    middle = (offsets[2] + offsets[3]) // 2  # inside the deflate data of record 2
    broken[middle : middle + 40] = b"\x00" * 40
    results = list(iter_archive(write(tmp_path, "broken.wet.gz", bytes(broken))))
    pages = wet_pages()
    assert [r.url for r in results if r.ok] == [u for i, (u, _) in enumerate(pages) if i != 1]
    failures = [r for r in results if not r.ok]
    assert len(failures) == 1 and failures[0].failure == "decode_error"
    assert f"offset {offsets[2]}" in failures[0].detail
    assert results[1] is failures[0]  # in file order


def test_garbage_between_plain_records_resyncs(tmp_path: Path) -> None:
    data, offsets = build(wet_records(), gz=False)
    cut = offsets[3]
    damaged = data[:cut] + b"some garbage that is no record\r\n" * 3 + data[cut:]
    results = list(iter_archive(write(tmp_path, "damaged.wet", damaged)))
    assert [r.url for r in results if r.ok] == [u for u, _ in wet_pages()]
    failures = [r for r in results if not r.ok]
    assert len(failures) == 1 and f"offset {cut}" in failures[0].detail


@pytest.mark.parametrize("delta", [+40, -40], ids=["too-long", "too-short"])
def test_wrong_content_length_loses_only_its_record(tmp_path: Path, delta: int) -> None:
    data, offsets = build(wet_records(), gz=False)
    start, end = offsets[2], offsets[3]
    record = data[start:end]
    length = int(re.search(rb"Content-Length: (\d+)", record).group(1))
    record = record.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length + delta))
    results = list(iter_archive(write(tmp_path, "lying.wet", data[:start] + record + data[end:])))
    pages = wet_pages()
    assert [r.url for r in results if r.ok] == [u for i, (u, _) in enumerate(pages) if i != 1]
    assert all(r.body == dict(pages)[r.url] for r in results if r.ok)
    failures = [r for r in results if not r.ok]
    assert len(failures) == 1 and f"offset {start}" in failures[0].detail and "Content-Length" in failures[0].detail


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_a_record_cut_by_the_end_of_the_file_gives_its_page_marked_truncated(tmp_path: Path, gz: bool) -> None:
    data, offsets = build(wet_records(), gz=gz)
    last = offsets[-1]
    cut = data[: last + (len(data) - last) // 2]
    stats = ArchiveStats()
    results = list(iter_archive(write(tmp_path, "cut.wet.gz" if gz else "cut.wet", cut), stats=stats))
    pages = wet_pages()
    assert [r.url for r in results] == [u for u, _ in pages]
    assert all(r.ok for r in results)
    assert [r.truncated for r in results] == [False] * (len(pages) - 1) + [True]
    final = results[-1]
    assert final.body and pages[-1][1].startswith(final.body) and final.body != pages[-1][1]
    assert final.page().truncated
    assert (stats.read, stats.truncated, dict(stats.skipped)) == (len(pages), 1, {"warcinfo": 1})


@pytest.mark.parametrize("chop", [1, 4, 8])  # the trailer only: a cut into the deflate data (12) depends on the bytes compressed
def test_a_gzip_member_cut_after_its_block_loses_nothing(tmp_path: Path, chop: int) -> None:
    """The file's end cuts the last member's 8-byte trailer: every byte of
    the page is there, so it is given whole and not truncated (it used to be a decode_error counted as
    truncated_header, while a cut in the block itself gave the page)."""
    data, offsets = build(wet_records(), gz=True)
    stats = ArchiveStats()
    results = list(iter_archive(write(tmp_path, "cut.wet.gz", data[:-chop]), stats=stats))
    pages = wet_pages()
    assert [(r.url, r.body, r.failure, r.truncated) for r in results] == [(u, b, None, False) for u, b in pages]
    assert (stats.records, stats.read, stats.truncated, dict(stats.skipped)) == (len(offsets), len(pages), 0, {"warcinfo": 1})


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_a_file_cut_inside_a_header_block_ends_with_one_failure(tmp_path: Path, gz: bool) -> None:
    data, offsets = build(wet_records(), gz=gz)
    cut = data[: offsets[-1] + (20 if gz else 40)]  # inside the last record's WARC header block
    stats = ArchiveStats()
    results = list(iter_archive(write(tmp_path, "cut.wet", cut), stats=stats))
    assert [r.url for r in results[:-1]] == [u for u, _ in wet_pages()[:-1]]
    final = results[-1]
    assert final.failure == "decode_error" and "truncated" in final.detail
    assert stats.skipped["truncated_header"] == 1 and stats.records == len(offsets)


def test_not_an_archive_gives_one_failure(tmp_path: Path) -> None:
    results = list(iter_archive(write(tmp_path, "notes.warc", b"just some notes\nnothing else\n")))
    assert len(results) == 1 and results[0].failure == "decode_error" and "offset 0" in results[0].detail
    assert list(iter_archive(write(tmp_path, "empty.warc.gz", b""))) == []


def test_oversized_record_is_a_failure_and_the_walk_goes_on(tmp_path: Path) -> None:
    data, _ = build(warc_records(), gz=True)
    results = list(iter_archive(write(tmp_path, "big.warc.gz", data), max_record_size=100_000))
    assert [(r.url, r.failure) for r in results] == [(SO_URL, "too_large"), (SEED_URL, None)]
    assert MAX_RECORD_SIZE == 20 * 1024 * 1024


def test_archived_error_status_is_an_http_error(tmp_path: Path) -> None:
    records = [
        {"type": "response", "uri": "https://example.com/gone", "status": "404 Not Found", "body": b"<h1>gone</h1>"},
        {"type": "response", "uri": "https://example.com/moved", "status": "301 Moved Permanently",
         "headers": [("Location", "https://example.com/new")]},
    ]
    data, _ = build(records, gz=True)
    gone, moved = iter_archive(write(tmp_path, "errors.warc.gz", data))
    assert (gone.status, gone.failure, gone.body) == (404, "http_error", b"<h1>gone</h1>")
    assert moved.status == 301 and "https://example.com/new" in moved.detail


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CC-MAIN-2024-10-00000.warc.gz", True),
        ("x.warc", True),
        ("x.WET.GZ", True),
        ("CC-MAIN-x.warc.wet.gz", True),
        ("x.wet", True),
        ("x.arc.gz", True),
        ("x.ARC", True),
        ("x.arc.open", False),
        ("x.txt.gz", False),
        ("warc", False),
    ],
)
def test_is_archive_path(name: str, expected: bool) -> None:
    assert is_archive_path(name) is expected
    assert is_archive_path(Path("dir") / name) is expected


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip-one-member"])
def test_a_length_that_swallows_the_next_record_exactly_is_caught(tmp_path: Path, gz: bool) -> None:
    """A Content-Length too long by exactly the next record's size ends on a record boundary: still caught."""
    import gzip as gzip_module

    data, offsets = build(wet_records(), gz=False)
    start, end, after = offsets[1], offsets[2], offsets[3]
    record = data[start:end]
    length = int(re.search(rb"Content-Length: (\d+)", record).group(1))
    lying = record.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length + after - end))
    damaged = data[:start] + lying + data[end:]
    if gz:  # the whole file as one gzip member, as some tools write it
        damaged = gzip_module.compress(damaged)
    results = list(iter_archive(write(tmp_path, "swallow.wet.gz" if gz else "swallow.wet", damaged)))
    pages = wet_pages()
    failures = [r for r in results if not r.ok]
    assert len(failures) == 1 and "runs over the next record" in failures[0].detail
    assert pages[0][0] not in [r.url for r in results if r.ok], "the lying record is not read as a page"
    if not gz:  # a plain file resyncs: only the lying record is lost, the one it swallowed is read
        assert [r.url for r in results if r.ok] == [u for u, _ in pages[1:]]


# --- what is skipped, and counted ----------------------------------------------------------------


def http(body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: %s\r\n%s\r\n%s" % (status.encode(), content_type.encode(), extra, body)


def raw_record(kind: str, uri: str, block: bytes, content_type: str, extra: bytes = b"") -> dict:
    """A WARC record written by hand: resource and revisit records, or fields warcio's writer sets itself."""
    head = b"WARC/1.0\r\nWARC-Type: %s\r\nWARC-Target-URI: %s\r\nWARC-Date: %s\r\nWARC-Record-ID: <urn:uuid:%s>\r\n" % (
        kind.encode(), uri.encode(), DATE.encode(), str(abs(hash((kind, uri, block)))).encode())
    head += b"Content-Type: %s\r\n%sContent-Length: %d\r\n\r\n" % (content_type.encode(), extra, len(block))
    return {"raw": head + block + b"\r\n\r\n"}


def test_every_skipped_record_is_counted_by_reason(tmp_path: Path) -> None:
    records = warc_records() + [
        {"type": "response", "uri": "https://example.com/logo.png", "headers": [("Content-Type", "image/png")], "body": b"\x89PNG"},
        {"type": "response", "uri": "https://example.com/api", "headers": [("Content-Type", "application/json")], "body": b"{}"},
        raw_record("revisit", SO_URL, b"", "application/http; msgtype=response"),
        raw_record("resource", "metadata://crawler/log.txt", b"crawl log", "text/plain"),
        raw_record("response", "dns:example.com", b"20240301 example.com A 1.2.3.4", "text/dns"),
        raw_record("made-up", SO_URL, b"", "text/plain"),
        raw_record("response", "", http(b"<p>x</p>"), "application/http; msgtype=response"),
    ]
    data, _ = build(records, gz=True)
    stats = ArchiveStats()
    results = list(iter_archive(write(tmp_path, "mixed.warc.gz", data), stats=stats))
    assert [r.url for r in results] == [SO_URL, SEED_URL]
    assert stats.read == 2 and stats.records == len(records)
    assert dict(stats.skipped) == {"warcinfo": 1, "request": 1, "metadata": 1, "non_html": 2, "revisit": 1, "not_web": 1,
                                   "not_http": 1, "unknown_type": 1, "no_uri": 1}
    assert set(stats.skipped) <= set(SKIP_REASONS)
    assert stats.describe().startswith(f"{len(records)} records: 2 read, {len(records) - 2} skipped (2 non_html, 1 metadata, ")


def test_url_pattern_and_damage_are_counted_too(tmp_path: Path) -> None:
    data, offsets = build(wet_records(), gz=False)
    damaged = data[: offsets[3]] + b"some garbage that is no record\r\n" + data[offsets[3] :]
    stats = ArchiveStats()
    results = list(iter_archive(write(tmp_path, "d.wet", damaged), url_pattern="made-|dont-lose", stats=stats))
    assert [r.url for r in results if r.ok] == [SEED_URL]
    assert dict(stats.skipped) == {"warcinfo": 1, "url_pattern": len(offsets) - 2, "unreadable": 1}
    assert stats.records == len(offsets) + 1  # the garbage counts as one lost stretch; the record after it is still read


def test_resource_records_holding_html_or_text_are_pages(tmp_path: Path) -> None:
    records = [
        raw_record("resource", SO_URL, SO_HTML, "text/html; charset=utf-8"),
        raw_record("resource", SEED_URL, SEED_TEXT, "text/plain"),
        raw_record("resource", "https://example.com/a.pdf", b"%PDF-1.4", "application/pdf"),
    ]
    data, _ = build(records, gz=True)
    stats = ArchiveStats()
    html, text = iter_archive(write(tmp_path, "res.warc.gz", data), stats=stats)
    assert (html.status, html.body, html.headers) == (200, SO_HTML, {"content-type": "text/html; charset=utf-8"})
    assert html.ok and html.page().encoding == "utf-8" and html.fetched_at == DATE
    assert (text.url, text.body, text.headers["content-type"]) == (SEED_URL, SEED_TEXT, "text/plain")
    assert dict(stats.skipped) == {"non_html": 1}


def test_a_record_that_says_it_is_truncated_gives_a_truncated_page(tmp_path: Path) -> None:
    body = SO_HTML[:5000]
    records = [
        raw_record("response", SO_URL, http(body), "application/http; msgtype=response", b"WARC-Truncated: length\r\n"),
        raw_record("response", SEED_URL, http(SEED_TEXT, "text/plain", extra=b"Content-Length: %d\r\n" % (len(SEED_TEXT) + 99)),
                   "application/http; msgtype=response"),
        raw_record("response", SEED_URL + "?whole", http(SEED_TEXT, "text/plain", extra=b"Content-Length: %d\r\n" % len(SEED_TEXT)),
                   "application/http; msgtype=response"),
    ]
    data, _ = build(records, gz=False)
    stats = ArchiveStats()
    said, short, whole = iter_archive(write(tmp_path, "t.warc", data), stats=stats)
    assert (said.truncated, short.truncated, whole.truncated) == (True, True, False)
    assert said.ok and said.body == body and (stats.read, stats.truncated) == (3, 2)


def test_the_extracted_record_of_a_cut_record_says_truncated(tmp_path: Path) -> None:
    """The page itself looks whole (the seed's footer is there): only the archive knows it is short."""
    from scraper.extract.api import extract_page

    block = http(SEED_TEXT, "text/plain; charset=utf-8", extra=b"Content-Length: %d\r\n" % (len(SEED_TEXT) + 10))
    data, _ = build([raw_record("response", SEED_URL, block, "application/http; msgtype=response")], gz=True)
    path = write(tmp_path, "one.warc.gz", data)
    (result,) = iter_archive(path)
    record = extract_page(result.page(path=str(path)))
    assert record.truncated is True
    assert [w.code for w in record.warnings].count("truncated") == 1
    whole = extract_page(result.page(path=str(path)).__class__(body=result.body, kind="warc", url=SEED_URL))
    assert whole.truncated is False


def test_a_few_stray_bytes_after_a_block_keep_the_record(tmp_path: Path) -> None:
    """warcio's example-trunc.warc: the block is 2 bytes short of where the next record starts."""
    data, offsets = build(warc_records(), gz=False)
    start, end = offsets[2], offsets[3]
    record = data[start:end]
    length = int(re.search(rb"Content-Length: (\d+)", record).group(1))
    record = record.replace(b"Content-Length: %d" % length, b"Content-Length: %d" % (length - 2), 1)
    stats = ArchiveStats()
    results = list(iter_archive(write(tmp_path, "stray.warc", data[:start] + record + data[end:]), stats=stats))
    assert [r.url for r in results] == [SO_URL, SEED_URL] and all(r.ok for r in results)
    assert results[0].body == SO_HTML[:-2]
    assert stats.records == len(offsets) and "unreadable" not in stats.skipped


def test_stats_of_several_archives_add_up() -> None:
    one, two = ArchiveStats(read=2, truncated=1), ArchiveStats(read=1)
    one.skip("request")
    two.skip("request")
    two.skip("warcinfo")
    total = ArchiveStats.combined([one, two])
    assert (total.records, total.read, dict(total.skipped)) == (6, 3, {"request": 2, "warcinfo": 1})
    assert total.describe() == "6 records: 3 read (1 truncated), 3 skipped (2 request, 1 warcinfo)"
    assert ArchiveStats().describe() == "0 records: 0 read, 0 skipped"


# --- ARC ------------------------------------------------------------------------------------------


ARC_VERSION = b"1 0 Test Crawl\nURL IP-address Archive-date Content-type Archive-length\n"


def arc_record(url: str, block: bytes, content_type: str = "text/html", date: str = "20240301120000") -> bytes:
    return b"%s 192.0.2.1 %s %s %d\n%s\n" % (url.encode(), date.encode(), content_type.encode(), len(block), block)


def arc_file(*records: bytes, gz: bool) -> bytes:
    parts = [arc_record("filedesc://test.arc", ARC_VERSION, "text/plain"), *records]
    return b"".join(gzip.compress(p) for p in parts) if gz else b"".join(parts)


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_arc_records_are_read_as_responses(tmp_path: Path, gz: bool) -> None:
    data = arc_file(
        arc_record(SO_URL, http(SO_HTML)),
        arc_record("dns:stackoverflow.com", b"20240301120000\nstackoverflow.com. 300 IN A 192.0.2.7\n", "text/dns"),
        arc_record("https://example.com/logo.gif", http(b"GIF89a", "image/gif"), "image/gif"),
        arc_record(SEED_URL, http(SEED_TEXT, "text/plain; charset=utf-8"), "text/plain", date="200403011200"),
        gz=gz,
    )
    stats = ArchiveStats()
    so, seed = iter_archive(write(tmp_path, "crawl.arc.gz" if gz else "crawl.arc", data), stats=stats)
    assert (so.url, so.status, so.body, so.fetched_at, so.source) == (SO_URL, 200, SO_HTML, "2024-03-01T12:00:00Z", "warc")
    assert so.headers["content-type"] == "text/html; charset=utf-8" and so.ok
    assert (seed.body, seed.fetched_at) == (SEED_TEXT, "2004-03-01T12:00:00Z")
    assert dict(stats.skipped) == {"filedesc": 1, "not_web": 1, "non_html": 1}


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "plain"])
def test_archives_are_told_by_content_not_name(tmp_path: Path, gz: bool) -> None:
    arc = write(tmp_path, "capture.dat", arc_file(arc_record(SEED_URL, http(SEED_TEXT, "text/plain")), gz=gz))
    data, _ = build(wet_records(), gz=gz)
    wet = write(tmp_path, "segment.bin", data)
    text = write(tmp_path, "page.txt.gz" if gz else "page.txt", gzip.compress(SEED_TEXT) if gz else SEED_TEXT)
    assert looks_like_archive(arc) and looks_like_archive(wet) and not looks_like_archive(text)
    assert not looks_like_archive(tmp_path / "missing.warc")
    assert [r.body for r in iter_archive(arc)] == [SEED_TEXT]
    assert [r.url for r in iter_archive(wet)] == [u for u, _ in wet_pages()]


def test_a_bad_arc_record_is_one_failure_and_the_walk_resyncs(tmp_path: Path) -> None:
    good = arc_record(SEED_URL, http(SEED_TEXT, "text/plain"))
    lying = arc_record(SO_URL, http(SO_HTML)).replace(b" %d\n" % len(http(SO_HTML)), b" %d\n" % (len(http(SO_HTML)) - 300), 1)
    stats = ArchiveStats()
    results = list(iter_archive(write(tmp_path, "bad.arc", arc_file(lying, good, gz=False)), stats=stats))
    assert [(r.failure, r.url) for r in results][1:] == [(None, SEED_URL)]
    assert results[0].failure == "decode_error" and "bad ARC record" in results[0].detail
    assert dict(stats.skipped) == {"filedesc": 1, "unreadable": 1} and stats.read == 1


def test_arc_v2_header_lines_are_read_too(tmp_path: Path) -> None:
    """v2 adds result code, checksum, location, offset and file name before the length, which stays last."""
    block = http(SEED_TEXT, "text/plain")
    v2 = b"%s 192.0.2.1 20240301120000 text/plain 200 SHA1XYZ - 1234 crawl.arc %d\n%s\n" % (SEED_URL.encode(), len(block), block)
    version = b"2 0 Test\nURL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename Archive-length\n"
    head = b"filedesc://crawl.arc 0.0.0.0 20240301120000 text/plain 200 - - 0 crawl.arc %d\n%s\n" % (len(version), version)
    stats = ArchiveStats()
    (page,) = iter_archive(write(tmp_path, "v2.arc.gz", gzip.compress(head) + gzip.compress(v2)), stats=stats)
    assert (page.url, page.body) == (SEED_URL, SEED_TEXT)
    assert dict(stats.skipped) == {"filedesc": 1}
