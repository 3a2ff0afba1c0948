"""SIGKILL a crawl over the fault-injecting site at random points, several times, and resume it.

The crawl runs as ``python -m scraper crawl ...`` in a subprocess (as tests/crawler/test_resume.py
does) against the same faults as test_fault_crawl.py: resets, stalls, cut gzip, 429/503 with
Retry-After, 500s that recover, cross-host redirects, bad content types, charsets, empty pages.
It is killed several times (after a random number of page requests, or a random time, which
may fall in start-up, mid-retry or mid-stall), and then run to completion.  The final output must equal an uninterrupted crawl's
(records compared by ``record_content_key``) and every URL must end in the same state.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import scraper
from scraper.crawler.engine import record_content_key
from tests.conftest import ROOT
from tests.stress.faultsite import CRAWL_SETTINGS, SiteProcess, cli_settings, read_jsonl

CONCURRENCY = int(CRAWL_SETTINGS["CONCURRENT_REQUESTS"])  # type: ignore[call-overload]


def crawl_cmd(seed: str, state: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "scraper", "crawl", seed, "--state", str(state), "-o", str(out), *cli_settings(), "-q"]


def contents(path: Path) -> list[str]:
    return sorted(record_content_key(record) for record in read_jsonl(path))


def url_states(state: Path) -> dict[str, tuple[str, str | None]]:
    db = sqlite3.connect(state)
    try:
        return {url: (st, failure) for url, st, failure in db.execute("SELECT url, state, failure FROM urls")}
    finally:
        db.close()


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize(("count", "kills", "seed"), [
    pytest.param(500, 4, 4242, id="500-pages-4-kills"),
    pytest.param(3000, 10, 777, id="3000-pages-10-kills", marks=pytest.mark.slow),
])
def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_output(tmp_path: Path, count: int, kills: int, seed: int) -> None:
    with SiteProcess(count, seed, max_seconds=120 + count * 0.2) as servers:
        site = servers.site
        reference = tmp_path / "reference.jsonl"
        list(scraper.crawl([site.root], state=tmp_path / "reference.db", output=reference, **CRAWL_SETTINGS))
        servers.reset_log()  # the faults start again from the first attempt

        state, out = tmp_path / "crawl.db", tmp_path / "out.jsonl"
        rng = random.Random(seed)
        killed, points = 0, []
        for _ in range(kills):
            proc = subprocess.Popen(crawl_cmd(site.root, state, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                if rng.random() < 0.3:  # a random moment: start-up, mid-retry, mid-stall, mid-flush ...
                    delay = rng.uniform(0.2, 3.0)
                    wait_for(lambda: proc.poll() is not None, delay)
                    point = f"after {delay:.2f}s"
                else:  # after a random number of further page requests
                    target = servers.question_hits() + rng.randint(5, max(6, count // (kills + 1)))
                    wait_for(lambda: servers.question_hits() >= target or proc.poll() is not None, 60)
                    point = f"at request {target}"
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed += 1
                    points.append(point)
                _, stderr_bytes = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:  # the test failed on the way: leave no crawler behind
                    proc.kill()
                    proc.wait(30)
            stderr = stderr_bytes.decode("utf-8", "replace")
            # Not killed, a run ends 0, or 1 when some of the site's faulty pages failed in it.
            assert proc.returncode in (0, 1, -signal.SIGKILL), stderr
            # A half line left by a kill mid-write is the state's own bytes: that case (cut and written
            # once) and made-up bytes (refused, kept) are in tests/store/test_outputs.py.
        finished = subprocess.run(crawl_cmd(site.root, state, out), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert finished.returncode in (0, 1), finished.stderr  # 1: faulty pages due again failed once more
        failed = re.search(r"failed: (.*?); records", finished.stderr)
        assert failed is not None, finished.stderr
        kinds = {part.rsplit(" ", 1)[0] for part in failed.group(1).split(", ")} - {"none", "robots_disallowed"}
        assert (finished.returncode == 1) == bool(kinds), finished.stderr
        log = servers.log()

    assert killed >= kills - 1, f"the crawl was killed {killed} times ({points})"
    assert contents(out) == contents(reference), f"every record exactly once, none lost, none repeated (kills {points})"
    urls = Counter(str(record["url"]) for record in read_jsonl(out))
    assert max(urls.values()) == 1
    assert set(urls) == {str(record["url"]) for record in read_jsonl(reference)}
    assert set(urls) >= {site.record_url(p) for p in site.plans if p.expect.record}
    assert url_states(state) == url_states(tmp_path / "reference.db"), "every URL ends fetched or failed as without kills"

    db = sqlite3.connect(state)
    versions = db.execute("SELECT url, COUNT(*) FROM records GROUP BY url HAVING COUNT(*) > 1").fetchall()
    db.close()
    assert versions == [], "a page fetched again after a kill gives no second version"

    # Only a page whose response had arrived but was not yet stored when the process died is fetched
    # again: at most the requests in flight at each kill.
    served = Counter(h.target for h in log.hits if h.label in ("page", "gzip_page") and h.server == "main")
    again = sum(n - 1 for n in served.values())
    assert again <= CONCURRENCY * killed, (again, points)
    assert {p.path for p in site.plans if p.expect.record and p.kind != "redirect"} <= set(served)
    assert not any(h.target.startswith("/private/") for h in log.hits), "robots.txt obeyed on every resume"
