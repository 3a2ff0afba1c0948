"""Crawl outputs that cannot be fooled: other writers' data kept, whole lines only, streams, CSV cells, SQLite ints.

Crawls run over the local fixture site (tests/crawler/site.py) through the library and the
CLI; the lower-level cases write real extracted records straight through the output classes.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import scraper
from scraper.errors import ScraperError
from scraper.store import outputs
from scraper.store.outputs import CsvOutput, JsonLinesOutput, OutputConflictError, OutputWriteError, SqliteOutput
from scraper.store.state import StateStore
from tests.conftest import ROOT, SEED
from tests.crawler.site import ServerThread, build_site

FAST = {"DOWNLOAD_DELAY": 0.0, "CONCURRENT_REQUESTS": 2, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread(build_site(count=4)) as running:
        yield running


def one_page(server: ServerThread) -> str:
    return server.base + server.site.questions[0]  # type: ignore[attr-defined]


def crawl(seeds: list[str], state: Path, out: Path | str, **settings: Any) -> list[scraper.PageRecord]:
    return list(scraper.crawl(seeds, state=str(state), output=str(out), **{**FAST, **settings}))


def cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    # --include: the site's navigation links a home page it does not serve, a 404 (exit 1).
    return subprocess.run([sys.executable, "-m", "scraper", "crawl", *args, "-q", "-s", "DOWNLOAD_DELAY=0", "--include", "/question"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, **kwargs)


def jsonl(path: Path) -> list[dict[str, Any]]:
    """The file's records; every line must be whole (end in a newline) and valid JSON."""
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), f"{path} ends in half a line"
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def rewind_output(state: Path, out: Path, seq: int, offset: int) -> None:
    """Forget the commit of the last write, as if killed between write and commit."""
    with StateStore(state) as store, store.transaction():
        store.set_output_position(str(out), seq, offset)


def real_record(url: str) -> dict[str, Any]:
    return scraper.extract(SEED.read_text(encoding="utf-8"), url=url).model_dump(mode="json")


# --- 1. data this state did not write is never deleted --------------------------------------


def test_another_states_record_in_the_same_file_is_kept_and_the_crawl_refused(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    crawl([one_page(server)], tmp_path / "a.db", out, FOLLOW_LINKS=False)
    crawl([one_page(server)], tmp_path / "b.db", out, FOLLOW_LINKS=False)
    before = out.read_bytes()
    assert len(jsonl(out)) == 2
    a_size = len(before.splitlines(keepends=True)[0])

    with pytest.raises(OutputConflictError) as caught:
        crawl([one_page(server)], tmp_path / "a.db", out, FOLLOW_LINKS=False)
    message = str(caught.value)
    assert str(out) in message
    assert f"{len(before) - a_size} bytes this state did not write after byte {a_size}" in message
    assert "new -o file" in message and "move" in message
    assert isinstance(caught.value, ScraperError)
    assert out.read_bytes() == before, "B's record is still there, byte for byte"


def test_a_line_appended_by_hand_makes_the_cli_exit_1_with_the_reason(server: ServerThread, tmp_path: Path) -> None:
    out, state = tmp_path / "out.jsonl", tmp_path / "s.db"
    first = cli(one_page(server), "--state", str(state), "-o", str(out), "-s", "FOLLOW_LINKS=false")
    assert first.returncode == 0, first.stderr
    with out.open("a", encoding="utf-8") as handle:
        handle.write('{"note": "added by hand"}\n')
    before = out.read_bytes()

    again = cli("--state", str(state), "-o", str(out))
    assert again.returncode == 1, again.stderr
    assert "bytes this state did not write after byte" in again.stderr and str(out) in again.stderr
    assert "Traceback" not in again.stderr
    assert out.read_bytes() == before


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("cut", ["whole", "mid_line"])
def test_an_unfinished_write_of_this_state_is_cut_and_written_once(server: ServerThread, tmp_path: Path, fmt: str, cut: str) -> None:
    out, state = tmp_path / f"out.{fmt}", tmp_path / "s.db"
    records = crawl([server.base + "/questions"], state, out)
    complete = out.read_bytes()
    assert len(records) == 4
    rewind_output(state, out, 0, 0)  # every record is pending again, the file still holds them
    if cut == "mid_line":  # killed in the middle of the write (for CSV, the header is part of it)
        os.truncate(out, len(complete) // 2 + 7)

    assert crawl([], state, out) == []  # nothing due: only the pending records are written
    assert out.read_bytes() == complete, "each record exactly once, no half line, CSV header once"


def test_bytes_past_the_commit_that_differ_from_the_pending_records_are_refused(server: ServerThread, tmp_path: Path) -> None:
    out, state = tmp_path / "out.jsonl", tmp_path / "s.db"
    crawl([server.base + "/questions"], state, out)
    rewind_output(state, out, 0, 0)
    altered = out.read_bytes().replace(b'"url":"http', b'"url":"HTTP', 1)  # same length, not what this state writes
    out.write_bytes(altered)

    with pytest.raises(OutputConflictError, match=rf"{len(altered)} bytes this state did not write after byte 0"):
        crawl([], state, out)
    assert out.read_bytes() == altered


def test_a_file_shorter_than_what_this_state_wrote_is_refused(server: ServerThread, tmp_path: Path) -> None:
    out, state = tmp_path / "out.jsonl", tmp_path / "s.db"
    crawl([server.base + "/questions"], state, out)
    kept = out.read_bytes().splitlines(keepends=True)[0]
    out.write_bytes(kept)  # someone cut the file down to one record

    with pytest.raises(OutputConflictError, match=r"has \d+ bytes but this state wrote \d+: it was truncated or replaced"):
        crawl([], state, out)
    assert out.read_bytes() == kept


def test_a_file_moved_away_starts_a_new_file_with_the_records_from_then_on(server: ServerThread, tmp_path: Path) -> None:
    out, state = tmp_path / "out.jsonl", tmp_path / "s.db"
    crawl([server.base + "/questions"], state, out, RECRAWL_INTERVAL=0)
    out.rename(tmp_path / "old.jsonl")

    assert crawl([], state, out, RECRAWL_INTERVAL=0) == []  # everything unchanged
    assert out.read_bytes() == b""
    path = server.site.questions[1]  # type: ignore[attr-defined]
    content_type, body = server.site.pages[path]
    edited = body.replace(b"Good luck!", b"Good luck, and ask about the dressing too!")  # the answer itself is edited
    assert edited != body
    server.site.set_page(path, edited, content_type)
    changed = crawl([], state, out, RECRAWL_INTERVAL=0)  # the new, empty file is not "shorter": its offset was committed
    assert [r["url"] for r in jsonl(out)] == [r.url for r in changed] == [server.base + path]
    assert len(jsonl(tmp_path / "old.jsonl")) == 4


def test_a_writer_appending_during_the_run_is_detected_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    output = JsonLinesOutput(str(out))
    output.prepare(0)
    output.write([real_record("https://example.com/question/a")])
    with out.open("a", encoding="utf-8") as other:
        other.write('{"other": "writer"}\n')
    with pytest.raises(OutputConflictError, match="changed during this crawl"):
        output.write([real_record("https://example.com/question/b")])
    output.close()
    assert [r.get("url", r.get("other")) for r in jsonl(out)] == ["https://example.com/question/a", "writer"]


# --- 2. a failed write never leaves half a line ------------------------------------------------


def _half_then_enospc(fd: int, data: bytes) -> None:
    os.write(fd, data[: len(data) // 2])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fsync_enospc(fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_enospc_cuts_the_file_back_to_its_last_whole_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    out = tmp_path / "out.jsonl"
    first, second = real_record("https://example.com/question/1"), real_record("https://example.com/question/2")
    output = JsonLinesOutput(str(out))
    output.prepare(0)
    good = output.write([first])
    with monkeypatch.context() as patch:
        if failing == "write":
            patch.setattr(outputs, "_write_all", _half_then_enospc)
        else:
            patch.setattr(outputs.os, "fsync", _fsync_enospc)
        with pytest.raises(OutputWriteError) as caught:
            output.write([second])
    assert "No space left on device" in str(caught.value) and str(out) in str(caught.value)
    assert "cut back to its last whole record" in str(caught.value) and "run the same command again" in str(caught.value)
    assert out.stat().st_size == good and jsonl(out) == [first], "whole lines only, right after the failure"

    assert output.write([second]) == out.stat().st_size  # space again: the same output goes on
    output.close()
    assert jsonl(out) == [first, second]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: a disk that really fills up (skipped where mounting is not permitted)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_really_full_disk_leaves_whole_lines_and_the_crawl_resumes(server: ServerThread, tmp_path: Path, small_disk: Path) -> None:
    reference = tmp_path / "reference.jsonl"
    crawl([server.base + "/questions"], tmp_path / "ref.db", reference)
    out, state, filler = small_disk / "out.jsonl", tmp_path / "s.db", small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"x" * (free - reference.stat().st_size // 2))  # room for about half the records

    failed = cli(server.base + "/questions", "--state", str(state), "-o", str(out))
    assert failed.returncode == 1, failed.stderr
    assert "No space left on device" in failed.stderr and "Traceback" not in failed.stderr
    assert len(jsonl(out)) < 4, "whole records only, as the reader sees the file after the failure"

    filler.unlink()
    crawl([], state, out)
    assert sorted(r["url"] for r in jsonl(out)) == sorted(r["url"] for r in jsonl(reference)), "every record once"


# --- 3. streams and symlinks ---------------------------------------------------------------------


def test_dev_null_is_a_stream_run_after_run(server: ServerThread, tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    assert len(crawl([server.base + "/questions"], state, "/dev/null", RECRAWL_INTERVAL=0)) == 4
    assert crawl([], state, "/dev/null", RECRAWL_INTERVAL=0) == []  # no "shorter than committed" for a stream
    done = cli(server.base + "/questions", "--state", str(tmp_path / "cli.db"), "-o", "/dev/null")
    assert done.returncode == 0, done.stderr


def test_dev_stdout_into_a_pipe(server: ServerThread, tmp_path: Path) -> None:
    done = cli(server.base + "/questions", "--state", str(tmp_path / "s.db"), "-o", "/dev/stdout")
    assert done.returncode == 0, done.stderr
    urls = [json.loads(line)["url"] for line in done.stdout.splitlines()]
    assert sorted(urls) == sorted(server.base + q for q in server.site.questions)  # type: ignore[attr-defined]


def test_a_fifo_gets_every_record(server: ServerThread, tmp_path: Path) -> None:
    fifo = tmp_path / "records.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    records = crawl([server.base + "/questions"], tmp_path / "s.db", fifo)
    reader.join(30)
    assert not reader.is_alive() and received
    assert received[0].endswith(b"\n")
    assert [json.loads(line)["url"] for line in received[0].splitlines()] == [r.url for r in records]
    assert len(records) == 4


def test_a_symlink_is_the_regular_file_it_points_to(server: ServerThread, tmp_path: Path) -> None:
    target, link, state = tmp_path / "real.jsonl", tmp_path / "link.jsonl", tmp_path / "s.db"
    link.symlink_to(target)
    crawl([server.base + "/questions"], state, link, RECRAWL_INTERVAL=0)
    assert link.is_symlink() and len(jsonl(target)) == 4
    crawl([], state, link, RECRAWL_INTERVAL=0)  # committed offset checked against the target: fine
    with target.open("a", encoding="utf-8") as handle:
        handle.write('{"hand": 1}\n')
    with pytest.raises(OutputConflictError, match="12 bytes this state did not write"):
        crawl([], state, link)
    assert jsonl(target)[-1] == {"hand": 1}


# --- 4. CSV cells never run as formulas -------------------------------------------------------------

TRIGGERS = ["=", "+", "-", "@", "\t", "\r"]


def test_csv_text_cells_starting_a_formula_are_quoted_numbers_stay_numbers(tmp_path: Path) -> None:
    record = real_record("https://example.com/question/formula")
    record["question"]["title"] = "=HYPERLINK(\"http://evil.example\",\"click\")"
    answers = []
    for i, char in enumerate(TRIGGERS, start=1):
        answer = dict(record["answers"][0], position=i, votes=-3, rating=-1.5)
        answer["body"] = f"{char}cmd|' /C calc'!A0 treatment note {i}"
        answer["author"] = dict(answer["author"], name=f"{char}SUM(1+1)*cmd|' /C calc'!A0", location="-3")
        answers.append(answer)
    answers.append(dict(record["answers"][1], position=len(TRIGGERS) + 1))
    record["answers"] = answers
    out = tmp_path / "out.csv"
    output = CsvOutput(str(out))
    output.prepare(0)
    output.write([record])
    output.close()

    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(TRIGGERS) + 1
    for row, char in zip(rows, TRIGGERS):
        assert row["answer_body"] == f"'{char}cmd|' /C calc'!A0 treatment note {row['answer_position']}"
        assert row["author_name"] == f"'{char}SUM(1+1)*cmd|' /C calc'!A0"
        assert row["author_location"] == "'-3", "text is text, whatever it looks like"
        assert row["question_title"].startswith("'=HYPERLINK(")
        assert (row["votes"], row["rating"]) == ("-3", "-1.5"), "numbers from the record stay numbers"
    plain = rows[-1]
    assert plain["answer_body"] == record["answers"][-1]["body"] and not plain["answer_body"].startswith("'")


# --- 5. SQLite: out-of-range ints are NULL, a bad record blocks no other --------------------------


def test_sqlite_stores_ints_beyond_64_bits_as_null_and_skips_only_an_unstorable_record(tmp_path: Path) -> None:
    huge = real_record("https://example.com/question/huge")
    huge["answer_count"] = 2**70
    huge["answers"][0]["votes"] = 2**70
    huge["answers"][1]["review_count"] = -(2**70)
    good = real_record("https://example.com/question/good")
    no_url = dict(real_record("https://example.com/question/x"), url=None)  # NOT NULL: cannot be stored
    surrogate = real_record("https://example.com/question/surrogate")
    surrogate["answers"][0]["body"] = "broken \ud800 text"
    db = tmp_path / "out.db"
    output = SqliteOutput(str(db))
    output.prepare(0)
    output.write([huge, no_url, good, surrogate])
    output.write([real_record("https://example.com/question/later")])  # later flushes are not blocked
    output.close()

    with sqlite3.connect(db) as conn:
        pages = dict(conn.execute("SELECT url, answer_count FROM pages").fetchall())
        assert set(pages) == {huge["url"], good["url"], surrogate["url"], "https://example.com/question/later"}
        assert pages[huge["url"]] is None and pages[good["url"]] == good["answer_count"]
        stored = conn.execute("SELECT record FROM pages WHERE url=?", (huge["url"],)).fetchone()[0]
        assert json.loads(stored)["answer_count"] == 2**70, "the exact value is kept in the record JSON"
        votes = conn.execute("SELECT position, votes, review_count FROM answers WHERE url=? ORDER BY position", (huge["url"],)).fetchall()
        assert votes[0][1] is None and votes[1][2] is None
        assert conn.execute("SELECT count(*) FROM answers WHERE url=?", (good["url"],)).fetchone()[0] == len(good["answers"])
        body = conn.execute("SELECT body FROM answers WHERE url=? AND position=1", (surrogate["url"],)).fetchone()[0]
        assert body == "broken \ufffd text"
