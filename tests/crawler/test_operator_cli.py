"""What an operator meets from a fresh clone (issue 14), each case run as the user ran it.

Every test starts ``scraper`` in a subprocess against the fixture site on 127.0.0.1
(tests/crawler/site.py) and checks what the user sees: stdout, stderr, exit codes,
files, and the requests that reached the server.
"""

from __future__ import annotations

import json
import socket
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
