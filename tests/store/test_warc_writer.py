"""WarcWriter: records readable back by iter_archive and by warcio, appends that survive a crash."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper.fetch.result import FetchResult
from scraper.formats.warc import iter_archive
from scraper.store.warc_writer import SOFTWARE, WarcWriter, WarcWriterError, complete_length
from tests.conftest import FIXTURES, SAMPLES

SO_HTML = (FIXTURES / "html" / "stackoverflow-6377231" / "page.html").read_bytes()
SEED_TEXT = (SAMPLES / "realself-000-botox-atrophy.txt").read_bytes()


def results() -> list[FetchResult]:
    return [
        FetchResult(
            url="https://stackoverflow.com/q/6377231",
            final_url="https://stackoverflow.com/questions/6377231/avoid-warnings-on-404-during-django-test-runs",
            status=200,
            headers={
                "content-type": "text/html; charset=utf-8",
                "content-encoding": "gzip",  # the body below is already decoded
                "content-length": "41234",
                "etag": '"abc"',
                "x-note": "café",
            },
            body=SO_HTML,
            fetched_at="2024-03-01T12:00:00Z",
        ),
        FetchResult(
            url="https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles",
            status=200,
            headers={"content-type": "text/plain; charset=utf-8", "transfer-encoding": "chunked"},
            body=SEED_TEXT,
            fetched_at="2024-03-02T08:30:00Z",
        ),
        FetchResult(
            url="https://www.realself.com/question/gone",
            status=404,
            headers={"content-type": "text/html"},
            body=b"<h1>Not found</h1>",
            fetched_at="2024-03-03T00:00:00Z",
            failure="http_error",
        ),
    ]


def write_all(path: Path, items: list[FetchResult]) -> list[int]:
    with WarcWriter(path) as writer:
        return [writer.write(item) for item in items]


def test_round_trip_through_iter_archive(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    written = results()
    offsets = write_all(path, written)
    assert offsets[0] > 0  # after the warcinfo record
    read = list(iter_archive(path))
    assert len(read) == len(written)
    for original, back in zip(written, read):
        assert back.url == back.final_url == (original.final_url or original.url)
        assert back.status == original.status
        assert back.body == original.body
        assert back.fetched_at == original.fetched_at
        assert back.headers["content-type"] == original.headers["content-type"]
        assert back.source == "warc"
    assert read[0].headers["content-length"] == str(len(SO_HTML))
    assert read[0].headers["x-crawler-content-encoding"] == "gzip"
    assert "content-encoding" not in read[0].headers
    assert read[0].headers["x-note"] == "café"
    assert read[0].headers["etag"] == '"abc"'
    assert read[1].ok and read[2].failure == "http_error"
    # the offsets returned by write() are where the records start
    with path.open("rb") as fh:
        for offset in offsets:
            fh.seek(offset)
            assert gzip.GzipFile(fileobj=fh).read(8) == b"WARC/1.0"


def test_records_are_valid_warc_for_warcio(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    write_all(path, results())
    with path.open("rb") as fh:
        records = list(ArchiveIterator(fh, check_digests="raise"))
        kinds = [r.rec_type for r in records]
    assert kinds == ["warcinfo", "response", "response", "response"]
    with path.open("rb") as fh:
        iterator = ArchiveIterator(fh)
        info = next(iterator)
        assert f"software: {SOFTWARE}".encode() in info.content_stream().read()
        assert SOFTWARE.startswith("qa-scraper/")
        response = next(iterator)
        assert response.rec_headers.get_header("WARC-Payload-Digest").startswith("sha1:")
        assert response.rec_headers.get_header("WARC-Block-Digest").startswith("sha1:")
        assert response.http_headers.get_statuscode() == "200"
        assert response.content_stream().read() == SO_HTML
    # one gzip member per record
    assert path.read_bytes().count(b"\x1f\x8b\x08") >= 4


def test_reopen_appends_without_a_second_warcinfo(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    first, second, third = results()
    write_all(path, [first, second])
    with WarcWriter(path) as writer:
        assert writer.repaired_bytes == 0
        writer.write(third)
    assert [r.status for r in iter_archive(path)] == [200, 200, 404]
    with path.open("rb") as fh:
        assert [r.rec_type for r in ArchiveIterator(fh)].count("warcinfo") == 1


@pytest.mark.parametrize("chop", [1, 17, "half", "all-but-header"])
def test_append_after_a_crash_cuts_the_half_written_record(tmp_path: Path, chop: int | str) -> None:
    path = tmp_path / "crawl.warc.gz"
    so_page, seed, gone = results()
    offsets = write_all(path, [seed, gone, so_page])  # the big page last, cut while being written
    data = path.read_bytes()
    last = offsets[-1]
    if chop == "half":
        cut = (len(data) + last) // 2
    elif chop == "all-but-header":
        cut = last + 5
    else:
        cut = len(data) - int(chop)
    path.write_bytes(data[:cut])
    # The reader sees the cut too: a record cut inside its header block gives a decode_error; one cut in its
    # block gives its page as far as the file goes, marked truncated; one that loses only the end of its gzip
    # member (the trailer, the closing CRLF CRLF) loses nothing of the page.
    cut_page = list(iter_archive(path))[-1]
    if chop == "all-but-header":
        assert cut_page.failure == "decode_error" and "truncated" in (cut_page.detail or "")
    else:
        assert cut_page.failure is None and cut_page.url == so_page.final_url
        assert cut_page.truncated is (chop != 1) and SO_HTML.startswith(cut_page.body)
        assert (len(cut_page.body) == len(SO_HTML)) is (chop == 1)
    with WarcWriter(path) as writer:
        assert writer.repaired_bytes == cut - last
        assert path.stat().st_size == last
        writer.write(so_page)
    read = list(iter_archive(path))
    assert [r.failure for r in read] == [None, "http_error", None]
    assert [r.status for r in read] == [200, 404, 200]
    assert read[2].body == SO_HTML


def test_crash_during_the_first_record_starts_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    WarcWriter(path).close()
    path.write_bytes(path.read_bytes()[:30])  # the warcinfo record, cut
    with WarcWriter(path) as writer:
        writer.write(results()[1])
    assert [r.status for r in iter_archive(path)] == [200]
    with path.open("rb") as fh:
        assert [r.rec_type for r in ArchiveIterator(fh)] == ["warcinfo", "response"]


def test_complete_length_of_a_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    write_all(path, results())
    with path.open("rb") as fh:
        assert complete_length(fh) == path.stat().st_size


def test_refuses_a_file_that_is_not_a_gzip_warc(tmp_path: Path) -> None:
    for name, content in (("notes.warc.gz", b"plain text, not a WARC\n"), ("other.gz", gzip.compress(b"hello world"))):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(WarcWriterError, match="not a gzip-compressed WARC"):
            WarcWriter(path)
        assert path.read_bytes() == content  # left alone


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    with WarcWriter(path):
        with pytest.raises(WarcWriterError, match="already open"):
            WarcWriter(path)


def test_a_result_without_status_is_refused(tmp_path: Path) -> None:
    with WarcWriter(tmp_path / "crawl.warc.gz") as writer:
        with pytest.raises(ValueError, match="status"):
            writer.write(FetchResult(url="https://example.com/", failure="timeout"))
        assert writer.records_written == 0
