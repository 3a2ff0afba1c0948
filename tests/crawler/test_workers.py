"""Several ``scraper crawl`` processes on one PostgreSQL frontier, against real local HTTP servers.

Two fixture sites (tests/crawler/site.py) on two ports are two hosts.  Three worker
processes share one crawl.  What must hold, checked from the servers' own logs:
every page fetched once, the per-host delay kept across all workers, and a
worker killed with SIGKILL mid-crawl loses nothing: the others finish its pages
once its leases expire, and restarted under the same name it writes the records it
had stored but not written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import ROOT
from tests.crawler.site import FixtureSite, ServerThread, build_site

DELAY = 0.1


def worker_cmd(seeds: list[str], dsn: str, out: Path, name: str, lease_timeout: float = 60) -> list[str]:
    return [
        sys.executable, "-m", "scraper", "crawl", *seeds, "--state", dsn, "-o", str(out), "-q",
        "-s", f"DOWNLOAD_DELAY={DELAY}", "-s", "CONCURRENT_REQUESTS=4", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
        "-s", f"LEASE_TIMEOUT={lease_timeout}", "-s", f"USER_AGENT=qa-scraper/test ({name})",
        # Not the home page the site's navigation links and does not serve (a 404: exit 1); /private/
        # stays in scope so that robots.txt, which disallows it, is what keeps it unfetched.
        "--include", "/question", "--include", "/private/",
    ]


def start(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def page_hits(site: FixtureSite) -> Counter[str]:
    return Counter(hit.path for hit in site.hits if hit.path != "/robots.txt")


def records(*outputs: Path) -> list[str]:
    urls = []
    for out in outputs:
        if out.exists():
            urls += [json.loads(line)["url"] for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    return urls


def assert_polite(site: FixtureSite) -> None:
    """Request arrivals at one host, robots.txt included, in order: never closer than the delay.

    Between two workers the store's rule is strict (the next may start DELAY after the
    previous page *finished*).  Within one worker its throttle spaces request *starts*,
    so the arrivals may differ from the starts by loopback latency: 20 ms allowed.
    """
    hits = sorted(site.hits, key=lambda h: h.at)
    for before, after in zip(hits, hits[1:]):
        gap = after.at - before.at
        if before.user_agent != after.user_agent:
            assert gap >= DELAY, f"{before.user_agent} {before.path} then {after.user_agent} {after.path}: {gap:.3f}s"
        else:
            assert gap >= DELAY - 0.02, f"{before.path} then {after.path} by {after.user_agent}: {gap:.3f}s"


def test_three_workers_share_one_frontier_politely(postgres_dsn: str, tmp_path: Path) -> None:
    sites = [build_site(count=16), build_site(count=16)]
    with ServerThread(sites[0]) as one, ServerThread(sites[1]) as two:
        seeds = [one.base + "/questions", two.base + "/questions"]
        outs = [tmp_path / f"w{i}.jsonl" for i in range(3)]
        procs = [start(worker_cmd(seeds, postgres_dsn, out, f"w{i}")) for i, out in enumerate(outs)]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()

        for site in sites:
            hits = page_hits(site)
            assert all(n == 1 for n in hits.values()), f"fetched more than once: {[p for p, n in hits.items() if n > 1]}"
            assert set(site.questions) <= set(hits)  # type: ignore[attr-defined]
            assert "/private/secret" not in hits
            assert_polite(site)
        by_worker = Counter(hit.user_agent for site in sites for hit in site.hits if hit.path != "/robots.txt")
        assert len(by_worker) >= 2, f"the work was shared: {by_worker}"

        urls = records(*outs)
        expected = {base + q for base, site in ((one.base, sites[0]), (two.base, sites[1])) for q in site.questions}  # type: ignore[attr-defined]
        assert sorted(urls) == sorted(expected), "each record in exactly one worker's file"


def test_a_killed_worker_loses_nothing(postgres_dsn: str, tmp_path: Path) -> None:
    sites = [build_site(count=16), build_site(count=16)]
    with ServerThread(sites[0]) as one, ServerThread(sites[1]) as two:
        seeds = [one.base + "/questions", two.base + "/questions"]
        outs = [tmp_path / f"w{i}.jsonl" for i in range(3)]
        cmds = [worker_cmd(seeds, postgres_dsn, out, f"w{i}", lease_timeout=2) for i, out in enumerate(outs)]
        victim = start(cmds[0])
        # Let the victim get going alone, then start the others and kill it mid-crawl.
        deadline = time.monotonic() + 60
        while sum(1 for s in sites for h in s.hits if "(w0)" in h.user_agent and h.path.startswith("/question/")) < 4:
            assert time.monotonic() < deadline and victim.poll() is None, "the first worker never got going"
            time.sleep(0.01)
        others = [start(cmd) for cmd in cmds[1:]]
        time.sleep(0.3)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(30)
        for proc in others:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()

        questions = {base + q for base, site in ((one.base, sites[0]), (two.base, sites[1])) for q in site.questions}  # type: ignore[attr-defined]
        for site in sites:
            hits = page_hits(site)
            assert set(site.questions) <= set(hits)  # type: ignore[attr-defined]
            # Only a page the victim had in flight when it died may be fetched again: one per host at most.
            assert sum(n - 1 for n in hits.values()) <= 1, hits
            assert_polite(site)
        assert any("(w1)" in h.user_agent or "(w2)" in h.user_agent for s in sites for h in s.hits)

        # The victim, restarted under the same name (same output), writes what it had stored but not written.
        restarted = start(cmds[0])
        _, err = restarted.communicate(timeout=60)
        assert restarted.returncode == 0, err.decode()
        urls = records(*outs)
        assert sorted(urls) == sorted(questions), "every record once over the three files"


def test_a_lost_database_connection_ends_the_worker_with_a_clear_error_and_a_rerun_resumes(
        postgres_dsn: str, tmp_path: Path) -> None:
    import psycopg

    site = build_site(count=16)
    with ServerThread(site) as server:
        out = tmp_path / "w.jsonl"
        cmd = worker_cmd([server.base + "/questions"], postgres_dsn, out, "w0")
        proc = start(cmd)
        deadline = time.monotonic() + 60
        while sum(1 for h in site.hits if h.path.startswith("/question/")) < 3:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:  # as a database restart would
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'scraper'")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        message = err.decode()
        assert "state database failed" in message and "run the same command again" in message
        assert "Traceback" not in message

        again = start(cmd)
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err.decode()
        assert sorted(records(out)) == sorted(server.base + q for q in site.questions)  # type: ignore[attr-defined]
        hits = page_hits(site)
        assert sum(n - 1 for n in hits.values()) <= 1, "at most the page in flight is fetched again"
