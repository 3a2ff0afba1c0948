"""``scraper export`` over both state stores: current versions only, --since, formats, and flat memory.

The states are filled through the store's own methods (as a crawl stores records), then
exported with the command in a subprocess, as a user runs it.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scraper.store.state import open_state
from tests.conftest import ROOT


@pytest.fixture(params=["sqlite", "postgres"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    return str(request.getfixturevalue("postgres_dsn"))


def record(url: str, version: int, body: str = "An answer body.") -> dict[str, Any]:
    return {"url": url, "site": None, "kind": "question", "question": {"title": f"{url} v{version}"},
            "answers": [{"position": 1, "body": body}], "source": {"fetched_at": "2026-12-01T00:00:00Z"},
            "crawl": {"change": "new" if version == 1 else "changed", "version": version, "new_answers": []}}


def store_versions(state: str, versions: list[tuple[str, int]], body: str = "An answer body.") -> int:
    """Store the given (url, version) records in one run, as a crawl would; returns the run's number."""
    store = open_state(state, worker="test")
    try:
        run = store.start_run("2026-12-01T00:00:00Z")
        with store.transaction():
            store.add_urls([(url, "h.test:80", 0) for url, _ in versions])
        for url, version in versions:
            with store.transaction():
                store.add_record(url, extractor="test", change="new" if version == 1 else "changed",
                                 record_json=json.dumps(record(url, version, body)), content_key=f"{url}{version}",
                                 created_at="2026-12-01T00:00:00Z")
        store.finish_run(run, "2026-12-01T00:00:01Z", {})
        return run
    finally:
        store.close()


def export(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scraper", "export", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_export_writes_the_current_version_of_every_record(state: str, tmp_path: Path) -> None:
    store_versions(state, [("http://h.test/a", 1), ("http://h.test/b", 1)])
    store_versions(state, [("http://h.test/a", 2)])
    proc = export("--state", state)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["url"], r["crawl"]["version"]) for r in records] == [("http://h.test/a", 2), ("http://h.test/b", 1)]
    assert "exported 2 records" in proc.stderr and "to stdout" in proc.stderr


def test_export_since_a_run(state: str) -> None:
    store_versions(state, [("http://h.test/a", 1), ("http://h.test/b", 1), ("http://h.test/c", 1)])
    second = store_versions(state, [("http://h.test/b", 2)])
    proc = export("--state", state, "--since", str(second))
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["url"] for line in proc.stdout.splitlines()] == ["http://h.test/b"]
    missing = export("--state", state, "--since", str(second + 5))
    assert missing.returncode == 2 and f"has no run {second + 5}" in missing.stderr and missing.stdout == ""


def test_export_as_csv_and_sqlite_files(state: str, tmp_path: Path) -> None:
    store_versions(state, [("http://h.test/a", 1), ("http://h.test/b", 1)])
    store_versions(state, [("http://h.test/a", 2)])
    assert export("--state", state, "-o", str(tmp_path / "out.csv")).returncode == 0
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [(r["url"], r["version"]) for r in rows] == [("http://h.test/a", "2"), ("http://h.test/b", "1")]
    assert export("--state", state, "-o", str(tmp_path / "out.db")).returncode == 0
    with sqlite3.connect(tmp_path / "out.db") as db:
        assert db.execute("SELECT url, version FROM pages ORDER BY url").fetchall() == [("http://h.test/a", 2), ("http://h.test/b", 1)]
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 2


def test_an_export_file_is_replaced_whole(tmp_path: Path) -> None:
    state, out = str(tmp_path / "s.db"), tmp_path / "out.jsonl"
    store_versions(state, [("http://h.test/a", 1)])
    out.write_text("old content, no newline")
    assert export("--state", state, "-o", str(out)).returncode == 0
    assert [json.loads(line)["url"] for line in out.read_text().splitlines()] == ["http://h.test/a"]
    assert list(tmp_path.glob(".scraper-*")) == [], "no temporary file left"


def test_export_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    nothing = export("--state", str(tmp_path / "none.db"))
    assert nothing.returncode == 2 and "no crawl state" in nothing.stderr
    state = str(tmp_path / "s.db")
    store_versions(state, [("http://h.test/a", 1)])
    to_stdout = export("--state", state, "--format", "sqlite")
    assert to_stdout.returncode == 2 and "needs -o FILE" in to_stdout.stderr
    assert export("--state", state, "--since", "0").returncode == 2


def test_export_of_a_state_with_a_crawl_running_reads_it_without_waiting(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    store_versions(state, [("http://h.test/a", 1)])
    running = open_state(state, worker="crawl")  # holds the crawl lock, as a running crawl does
    try:
        proc = export("--state", state)
    finally:
        running.close()
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 1


_PEAK_RSS = (
    "import resource, runpy, sys\n"
    "sys.argv = ['scraper', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('scraper', run_name='__main__')\n"
    "finally:\n"
    "    print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def peak_kb(*args: str) -> int:
    proc = subprocess.run([sys.executable, "-c", _PEAK_RSS, "export", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.rsplit("peak_kb", 1)[1].split()[0])


def test_export_memory_stays_flat(state: str, tmp_path: Path) -> None:
    """Four times the records, the same peak memory: rows are streamed from the cursor, not loaded.

    Records of 25 KB make a batch (500 rows from a PostgreSQL cursor, 200 to a writer)
    weigh 10-20 MB; both exports hold a full batch, so only loading the whole result
    (15 MB against 60 MB of records, twice over as database rows and Python strings)
    could tell them apart.
    """
    body = "word " * 5000
    store_versions(state, [(f"http://h.test/a/{i:05d}", 1) for i in range(600)], body=body)
    quarter = peak_kb("--state", state, "-o", str(tmp_path / "quarter.jsonl"))
    store_versions(state, [(f"http://h.test/b/{i:05d}", 1) for i in range(1800)], body=body)
    whole = peak_kb("--state", state, "-o", str(tmp_path / "whole.jsonl"))
    assert (tmp_path / "whole.jsonl").stat().st_size > 60_000_000
    assert whole - quarter < 20_000, f"peak RSS {quarter} kB for 15 MB of records, {whole} kB for 60 MB"


def test_a_state_from_before_run_numbers_exports_and_says_why_since_cannot(tmp_path: Path) -> None:
    """A state of schema 2 (no run on record versions), as an older scraper left it."""
    state = str(tmp_path / "s.db")
    store_versions(state, [("http://h.test/a", 1)])
    with sqlite3.connect(state) as db:
        db.execute("ALTER TABLE records DROP COLUMN run_id")
        db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    plain = export("--state", state)  # read-only: the file is not migrated
    assert plain.returncode == 0, plain.stderr
    assert [json.loads(line)["url"] for line in plain.stdout.splitlines()] == ["http://h.test/a"]
    since = export("--state", state, "--since", "1")
    assert since.returncode == 1 and "written before record versions kept their run" in since.stderr
    with sqlite3.connect(state) as db:
        assert "run_id" not in {row[1] for row in db.execute("PRAGMA table_info(records)")}, "export changed nothing"
    later = store_versions(state, [("http://h.test/b", 1)])  # any run that writes migrates the file
    assert [json.loads(line)["url"] for line in export("--state", state, "--since", str(later)).stdout.splitlines()] == [
        "http://h.test/b"]
