"""A crawl killed with SIGKILL resumes where it stopped: the final output equals an uninterrupted crawl's."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import scraper
from scraper.crawler.engine import record_content_key
from tests.conftest import ROOT
from tests.crawler.site import ServerThread, build_site

# --include: the site's navigation links a home page it does not serve, a 404 (exit 1).
SETTINGS = ["-s", "DOWNLOAD_DELAY=0.03", "-s", "CONCURRENT_REQUESTS=3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=3", "-q",
            "--include", "/question"]


def crawl_cmd(seed: str, state: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "scraper", "crawl", seed, "--state", str(state), "-o", str(out), *SETTINGS]


def contents(path: Path) -> list[str]:
    return sorted(record_content_key(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_output(tmp_path: Path) -> None:
    site = build_site(count=24)
    with ServerThread(site) as server:
        seed = server.base + "/questions"
        reference = tmp_path / "reference.jsonl"
        list(scraper.crawl([seed], state=tmp_path / "ref.db", output=reference, DOWNLOAD_DELAY=0.0, CONCURRENT_REQUESTS=3))
        site.hits.clear()

        state, out = tmp_path / "s.db", tmp_path / "out.jsonl"
        rng = random.Random(7)
        kills = 0
        for _ in range(3):
            proc = subprocess.Popen(crawl_cmd(seed, state, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Let it get somewhere (a random number of question fetches), then kill -9.
            target = len([p for p in site.paths_hit() if p.startswith("/question/")]) + rng.randint(2, 6)
            wait_for(lambda: len([p for p in site.paths_hit() if p.startswith("/question/")]) >= target or proc.poll() is not None, 60)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait(30)
            # A half line left by a kill mid-write is the state's own bytes: that case (cut and written
            # once) and made-up bytes (refused, kept) are in tests/store/test_outputs.py.
        finished = subprocess.run(crawl_cmd(seed, state, out), cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert finished.returncode == 0, finished.stderr
        assert kills >= 1, "the crawl was killed at least once"

    assert contents(out) == contents(reference), "every record exactly once, none lost, none repeated"
    urls = [json.loads(line)["url"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(urls) == len(set(urls)) == len(site.questions)
    fetched = [p for p in site.paths_hit() if p.startswith("/question/")]
    # A page whose response had arrived but was not yet committed when the process died is the only
    # one that can be fetched again: at most the pages in flight at each kill.
    assert len(fetched) - len(set(fetched)) <= 3 * kills
    assert set(fetched) == set(site.questions)
