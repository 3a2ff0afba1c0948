"""What an operator meets from a fresh clone (issue 14), each case run as the user ran it.

Every test starts ``scraper`` in a subprocess against the fixture site on 127.0.0.1
(tests/crawler/site.py) and checks what the user sees: stdout, stderr, exit codes,
files, and the requests that reached the server.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.crawler.site import ServerThread, build_site

FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
QUESTIONS_ONLY = ("--include", "/question")  # the site's navigation links a home page it does not serve


@pytest.fixture
def server():
    with ServerThread(build_site(count=4)) as running:
        yield running


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def question_hits(server: ServerThread) -> list[str]:
    return [p for p in server.site.paths_hit() if p.startswith("/question/")]


def summary(proc: subprocess.CompletedProcess[str]) -> str:
    return next(line for line in reversed(proc.stderr.splitlines()) if "crawl done" in line or "crawl stopped" in line)


# --- records always reachable ---------------------------------------------------------------


def test_crawl_without_o_prints_the_records_on_stdout_and_logs_on_stderr(server: ServerThread, tmp_path: Path) -> None:
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), *FAST, *QUESTIONS_ONLY)
    assert proc.returncode == 0, proc.stderr
    records = jsonl(proc.stdout)  # every stdout line is a record: nothing else is printed there
    assert sorted(r["url"] for r in records) == sorted(server.base + q for q in server.site.questions)
    assert all(r["crawl"]["change"] == "new" for r in records)
    assert "records 4 new" in summary(proc) and "wrote 4 records to stdout" in summary(proc)
    assert "{" not in proc.stderr, "no record on stderr"


def test_a_second_crawl_without_o_prints_only_what_it_stored(server: ServerThread, tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    assert run("crawl", server.base + "/questions", "--state", state, *FAST, *QUESTIONS_ONLY).returncode == 0
    again = run("crawl", "--state", state, *FAST, *QUESTIONS_ONLY)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert "nothing was due" in summary(again) and "--refetch" in summary(again)


def test_sqlite_format_without_o_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("crawl", "http://127.0.0.1:9/", "--state", str(tmp_path / "s.db"), "--format", "sqlite")
    assert proc.returncode == 2 and "--format sqlite needs -o FILE" in proc.stderr
    assert not (tmp_path / "s.db").exists()


# --- exit codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("seeds", [["not-a-url"], ["ftp://x/y"], ["not-a-url", "ftp://x/y"], ["http://[::1/"]])
def test_bad_seeds_are_a_usage_error_before_anything_starts(tmp_path: Path, seeds: list[str]) -> None:
    proc = run("crawl", *seeds, "--state", str(tmp_path / "s.db"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    for seed in seeds:
        assert repr(seed) in proc.stderr
    assert "http:// or https://" in proc.stderr
    assert not (tmp_path / "s.db").exists(), "no state was made"


def test_a_bad_seed_in_a_url_file_names_the_file(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("http://127.0.0.1:9/ok\n# a comment\nwww.example.org/no-scheme\n", encoding="utf-8")
    proc = run("crawl", "--urls", str(urls), "--state", str(tmp_path / "s.db"))
    assert proc.returncode == 2 and str(urls) in proc.stderr and "'www.example.org/no-scheme'" in proc.stderr


def test_a_crawl_of_only_404s_exits_4(server: ServerThread, tmp_path: Path) -> None:
    proc = run("crawl", server.base + "/gone-1", server.base + "/gone-2", "--state", str(tmp_path / "s.db"), *FAST)
    assert proc.returncode == 4, proc.stderr
    assert "failed: http_error 2" in summary(proc) and "no page could be fetched (http_error 2)" in proc.stderr
    assert sorted(p for p in server.site.paths_hit() if p.startswith("/gone")) == ["/gone-1", "/gone-2"]


def test_a_crawl_of_a_dead_port_exits_4(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        proc = run("crawl", f"http://127.0.0.1:{port}/questions", "--state", str(tmp_path / "s.db"),
                   "-s", "RETRY_TIMES=0", "-s", "ROBOTSTXT_OBEY=false")
    assert proc.returncode == 4, proc.stderr
    assert "connection_error 1" in summary(proc) and "no page could be fetched" in proc.stderr


def test_some_pages_failing_exits_1(server: ServerThread, tmp_path: Path) -> None:
    proc = run("crawl", server.base + "/questions", server.base + "/gone", "--state", str(tmp_path / "s.db"),
               *FAST, *QUESTIONS_ONLY)
    assert proc.returncode == 1, proc.stderr
    assert "http_error 1" in summary(proc) and len(jsonl(proc.stdout)) == 4, "the pages that could be fetched were"


def test_pages_refused_by_robots_txt_are_not_failures(server: ServerThread, tmp_path: Path) -> None:
    # /private/ is disallowed; the listing links it, so the crawl meets it and must not fetch it.
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), *FAST,
               "--include", "/question", "--include", "/private/")
    assert proc.returncode == 0, proc.stderr
    assert "robots_disallowed 1" in summary(proc)
    assert "/private/secret" not in server.site.paths_hit()


def test_a_seed_refused_by_robots_txt_alone_fetches_nothing_and_exits_4(server: ServerThread, tmp_path: Path) -> None:
    proc = run("crawl", server.base + "/private/secret", "--state", str(tmp_path / "s.db"), *FAST)
    assert proc.returncode == 4 and "robots_disallowed 1" in summary(proc)


@pytest.mark.parametrize("every", ["0", "0s", "0.5", "0.9s"])
def test_every_below_the_minimum_is_refused(tmp_path: Path, every: str) -> None:
    proc = run("crawl", "http://127.0.0.1:9/", "--state", str(tmp_path / "s.db"), "--every", every)
    assert proc.returncode == 2, proc.stderr
    assert "--every" in proc.stderr and "minimum of 1s" in proc.stderr
    assert not (tmp_path / "s.db").exists()


def test_every_that_is_not_a_duration_is_refused(tmp_path: Path) -> None:
    proc = run("crawl", "http://127.0.0.1:9/", "--state", str(tmp_path / "s.db"), "--every", "soon")
    assert proc.returncode == 2 and "not a duration" in proc.stderr


# --- re-fetching now ------------------------------------------------------------------------


def test_refetch_fetches_every_page_again_after_a_first_crawl(server: ServerThread, tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    assert run("crawl", server.base + "/questions", "--state", state, *FAST, *QUESTIONS_ONLY).returncode == 0
    first = sorted(question_hits(server))
    assert len(first) == 4
    server.site.hits.clear()
    assert run("crawl", "--state", state, *FAST, *QUESTIONS_ONLY).returncode == 0
    assert question_hits(server) == [], "not due yet: nothing fetched without --refetch"
    proc = run("crawl", "--state", state, "--refetch", *FAST, *QUESTIONS_ONLY)
    assert proc.returncode == 0, proc.stderr
    assert sorted(question_hits(server)) == first, "each question page requested again, once"
    # The 4 questions and the 2 listing pages, each asked with its ETag: unchanged, so 304.
    assert "6 pages fetched (6 not modified" in summary(proc), "conditional requests"
    assert proc.stdout == "", "no record changed, so none is printed"


# --- what reextract writes, and what the next crawl writes of it ----------------------------


def as_if_an_older_extractor_made(state: Path, url: str) -> None:
    """Make the stored record of ``url`` differ from what this extractor gives (as an older one would)."""
    with sqlite3.connect(state) as db:
        db.execute("UPDATE records SET content_key='older' WHERE url=?", (url,))


def test_reextract_writes_what_changed_and_the_next_crawl_counts_it(server: ServerThread, tmp_path: Path) -> None:
    state, out, rebuilt = tmp_path / "s.db", tmp_path / "out.jsonl", tmp_path / "re.jsonl"
    first = run("crawl", server.base + "/questions", "--state", str(state), "-o", str(out), *FAST, *QUESTIONS_ONLY)
    assert first.returncode == 0, first.stderr
    assert len(jsonl(out.read_text())) == 4
    target = server.base + server.site.questions[0]
    as_if_an_older_extractor_made(state, target)

    proc = run("reextract", "--state", str(state), "-o", str(rebuilt))
    assert proc.returncode == 0, proc.stderr
    assert "1 record changed (stored as new versions), 3 unchanged" in proc.stderr
    assert f"wrote 1 record to {rebuilt} (the changed ones)" in proc.stderr
    (written,) = jsonl(rebuilt.read_text())
    assert written["url"] == target and written["crawl"] == {"change": "changed", "version": 2, "new_answers": []}

    server.site.hits.clear()
    later = run("crawl", "--state", str(state), "-o", str(out), *FAST, *QUESTIONS_ONLY)
    assert later.returncode == 0, later.stderr
    assert question_hits(server) == [], "nothing was due"
    assert "records 0 new, 0 changed" in summary(later)
    assert f"wrote 1 record to {out} (1 of them stored before this run: new versions from scraper reextract" in summary(later)
    records = jsonl(out.read_text())
    assert len(records) == 5 and records[-1]["url"] == target and records[-1]["crawl"]["version"] == 2


def test_reextract_all_rebuilds_every_record_even_when_nothing_changed(server: ServerThread, tmp_path: Path) -> None:
    state, rebuilt = tmp_path / "s.db", tmp_path / "rebuilt.jsonl"
    assert run("crawl", server.base + "/questions", "--state", str(state), *FAST, *QUESTIONS_ONLY).returncode == 0
    plain = run("reextract", "--state", str(state), "-o", str(tmp_path / "changed.jsonl"))
    assert plain.returncode == 0 and (tmp_path / "changed.jsonl").read_text() == "", "same extractor: nothing changed"
    for attempt in range(2):  # the second run replaces the file, it does not append to it
        proc = run("reextract", "--state", str(state), "--all", "-o", str(rebuilt))
        assert proc.returncode == 0, proc.stderr
        assert "wrote 4 records to" in proc.stderr and "(every record: 0 changed, 4 unchanged)" in proc.stderr, attempt
        records = jsonl(rebuilt.read_text())
        assert sorted(r["url"] for r in records) == sorted(server.base + q for q in server.site.questions)
    to_stdout = run("reextract", "--state", str(state), "--all", "--format", "csv")
    assert to_stdout.returncode == 0 and to_stdout.stdout.startswith("url,site,kind,")
    assert len(list(csv.DictReader(io.StringIO(to_stdout.stdout)))) == 4, "one answer on each made page"
    status = run("status", "--state", str(state))
    assert "reextract, 0 records stored" in status.stdout and "run 1: " in status.stdout


# --- appending to a file this scraper did not start -----------------------------------------


def test_appending_to_a_jsonl_file_without_a_final_newline_adds_one(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"note": "kept by hand"}')  # no newline: printf, or an editor that adds none
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), "-o", str(out), *FAST, *QUESTIONS_ONLY)
    assert proc.returncode == 0, proc.stderr
    assert f"{out} did not end with a newline; one was added" in proc.stderr
    lines = jsonl(out.read_text())  # every line parses: no two records on one line
    assert lines[0] == {"note": "kept by hand"} and len(lines) == 5
    again = run("crawl", "--state", str(tmp_path / "s.db"), "-o", str(out), "--refetch", *FAST, *QUESTIONS_ONLY)
    assert again.returncode == 0 and "newline" not in again.stderr, "the file was resumed as this state left it"


def test_appending_to_a_foreign_csv_is_refused(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "people.csv"
    out.write_bytes(b"id,name\n1,Ada")
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), "-o", str(out), *FAST, *QUESTIONS_ONLY)
    assert proc.returncode == 1, proc.stderr
    assert "is not a CSV file of this scraper (its first line is 'id,name'" in proc.stderr
    assert "Nothing was written" in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_bytes() == b"id,name\n1,Ada"
    assert question_hits(server) == [], "refused before anything was fetched"


def test_appending_to_this_scrapers_csv_without_a_final_newline_repairs_it(server: ServerThread, tmp_path: Path) -> None:
    first, out = tmp_path / "first.csv", tmp_path / "out.csv"
    assert run("crawl", server.base + "/questions", "--state", str(tmp_path / "a.db"), "-o", str(first), *FAST, *QUESTIONS_ONLY).returncode == 0
    out.write_bytes(first.read_bytes().rstrip(b"\n"))  # the same columns, the last row cut of its newline
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "b.db"), "-o", str(out), *FAST, *QUESTIONS_ONLY)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 8 and all(row["url"].startswith(server.base) for row in rows), "old rows and new, none joined"


# --- PostgreSQL state from the command line -------------------------------------------------


def test_crawl_and_export_on_postgresql_state(server: ServerThread, postgres_dsn: str, tmp_path: Path) -> None:
    proc = run("crawl", server.base + "/questions", "--state", postgres_dsn, *FAST, *QUESTIONS_ONLY)
    assert proc.returncode == 0, proc.stderr
    printed = sorted(r["url"] for r in jsonl(proc.stdout))
    assert printed == sorted(server.base + q for q in server.site.questions)
    exported = run("export", "--state", postgres_dsn, "-o", str(tmp_path / "all.jsonl"))
    assert exported.returncode == 0, exported.stderr
    assert [r["url"] for r in jsonl((tmp_path / "all.jsonl").read_text())] == printed, "by URL, each once"
    assert "exported 4 records" in exported.stderr


def test_the_library_refuses_bad_seeds_too(tmp_path: Path) -> None:
    import scraper
    from scraper.errors import InvalidSeedError

    with pytest.raises(InvalidSeedError, match="'ftp://x/y': ftp: URLs are not crawled"):
        list(scraper.crawl(["http://127.0.0.1:9/", "ftp://x/y"], state=str(tmp_path / "s.db")))
    assert not (tmp_path / "s.db").exists()
