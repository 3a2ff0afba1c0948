"""``scraper crawl`` and ``scraper reextract`` from the command line, against the local fixture site."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scraper.store.state import StateStore
from tests.conftest import ROOT
from tests.crawler.site import ServerThread, build_site


@pytest.fixture
def server():
    with ServerThread(build_site(count=6)) as running:
        yield running


# The fixture site's navigation links a home page it does not serve (a 404, so exit 1): crawls
# that should succeed keep to the listing and question pages.
QUESTIONS_ONLY = ("--include", "/question")


def scraper_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "scraper", *args]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(scraper_cmd(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_crawl_writes_records_and_a_summary(server: ServerThread, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), "-o", str(out),
               "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "--include", "/question",
               "--include", "/questions")
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().splitlines()) == 6
    summary = proc.stderr.strip().splitlines()[-1]
    assert "crawl done" in summary and "records 6 new, 0 changed" in summary and "pages/s" in summary


def test_settings_from_a_config_file_and_s_flags(server: ServerThread, tmp_path: Path) -> None:
    config = tmp_path / "scraper.toml"
    config.write_text('USER_AGENT = "config-agent/1.0 (+mailto:ops@example.org)"\nDOWNLOAD_DELAY = 0\n')
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), "--config", str(config),
               "-s", "CLOSESPIDER_PAGECOUNT=2", "-q")
    assert proc.returncode == 0, proc.stderr
    agents = {hit.user_agent for hit in server.site.hits}
    assert agents == {"config-agent/1.0 (+mailto:ops@example.org)"}
    assert len([h for h in server.site.hits if h.path != "/robots.txt"]) == 2


def test_unknown_setting_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("crawl", "http://127.0.0.1:9/", "--state", str(tmp_path / "s.db"), "-s", "DOWNLOAD_DELAYS=1")
    assert proc.returncode == 2 and "unknown setting 'DOWNLOAD_DELAYS'" in proc.stderr


def test_crawl_on_a_locked_state_exits_3(server: ServerThread, tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    with StateStore(state):
        proc = run("crawl", server.base + "/questions", "--state", str(state), "-q")
    assert proc.returncode == 3 and "another crawl is running" in proc.stderr


def test_every_runs_on_a_schedule_until_sigterm(server: ServerThread, tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    proc = subprocess.Popen(
        scraper_cmd("crawl", server.base + "/questions", "--state", str(state), "--every", "1s",
                    "-s", "DOWNLOAD_DELAY=0", "-s", "RECRAWL_INTERVAL=0"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with StateStore(state, lock=False) as store:
            runs = store._db.execute("SELECT COUNT(*) FROM runs WHERE finished_at IS NOT NULL").fetchone()[0] if state.exists() else 0
        if runs >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err  # stopped by SIGTERM, between runs or during one
    assert err.count("crawl done") >= 2, "at least two scheduled runs"
    assert "next crawl in" in err


def test_reextract_command(server: ServerThread, tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    assert run("crawl", server.base + "/questions", "--state", str(state), "-s", "DOWNLOAD_DELAY=0", "-q", *QUESTIONS_ONLY).returncode == 0
    proc = run("reextract", "--state", str(state), "-o", str(tmp_path / "re.jsonl"))
    assert proc.returncode == 0, proc.stderr
    assert "0 records changed" in proc.stderr and "re-extracted" in proc.stderr


def test_extract_reads_pages_out_of_a_warc(server: ServerThread, tmp_path: Path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    assert run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), "--warc-out", str(warc),
               "-s", "DOWNLOAD_DELAY=0", "-q", *QUESTIONS_ONLY).returncode == 0
    proc = run("extract", str(warc), "--url-pattern", "/question/")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == 6
    assert all(r["source"]["kind"] == "warc" and "/question/" in r["url"] for r in records)


def test_progress_lines_when_not_on_a_terminal_and_verbose_records(server: ServerThread, tmp_path: Path) -> None:
    proc = run("crawl", server.base + "/questions", "--state", str(tmp_path / "s.db"), "-v",
               "-s", "DOWNLOAD_DELAY=0.05", "-s", "LOG_INTERVAL=0.01", *QUESTIONS_ONLY)
    assert proc.returncode == 0, proc.stderr
    assert "fetched," in proc.stderr and "queued" in proc.stderr, "periodic progress lines on a non-terminal"
    assert proc.stderr.count("scraper: new http") == 6, "-v: a line per record"
    quiet = run("crawl", server.base + "/questions", "--state", str(tmp_path / "q.db"), "-q", "-s", "DOWNLOAD_DELAY=0",
                *QUESTIONS_ONLY)
    assert quiet.stderr.strip().count("\n") == 0 and "crawl done" in quiet.stderr
