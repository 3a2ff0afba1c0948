"""Extraction in worker processes: the same records, a time limit per page, and no stalled fetches.

The slow page is what the hostile-input review used (issue 11): megabytes of ``{{``
served as text.  The junk rules are linear now, but a 16 MB page still takes more
than a second to read, which is long enough to see whether the event loop waits
for it.  Question pages are the MADE fixture site (tests/crawler/site.py); the
RealSelf page is the seed sample in samples/.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import scraper
from scraper.crawler.extract_pool import ExtractPool, PageWork, analyse_page
from scraper.errors import ExtractTimeoutError, ExtractWorkerDiedError, ExtractWorkerError
from scraper.page import RawPage
from scraper.store.state_sql import unpack_body
from tests.conftest import ROOT
from tests.crawler.site import ServerThread, build_site
from tests.crawler.test_crawl_cli import scraper_cmd
from tests.crawler.test_stop import EndlessSite

SAMPLE = ROOT / "samples" / "realself-000-botox-atrophy.txt"
JUNK = b"{{" * (8 * 2**20)  # 16 MB of template openers, text/plain


def _work(body: bytes, url: str = "https://www.realself.com/question/botox-atrophy", content_type: str = "text/plain") -> PageWork:
    page = RawPage(body=body, kind="http", url=url, headers={"content-type": content_type})
    return PageWork(page=page, url=url)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := [p for p in pids if _alive(p) and not _zombie(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _extract_workers_of(parent: int) -> list[int]:
    """Pids of extraction workers whose parent is ``parent`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"scraper.crawler.extract_pool" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_worker_process_gives_the_record_the_crawl_process_would() -> None:
    work = _work(SAMPLE.read_bytes())

    async def in_worker() -> object:
        pool = ExtractPool(2, 30.0)
        try:
            return await pool.analyse(work)
        finally:
            pool.close()

    remote = asyncio.run(in_worker())
    local = analyse_page(work)
    assert remote.record is not None and local.record is not None  # type: ignore[attr-defined]
    # The seed page, read by hand: five answers, the third by Harold J. Kaplan, MD.
    assert len(remote.record.answers) == 5  # type: ignore[attr-defined]
    assert remote.record.answers[2].author.name == "Harold J. Kaplan, MD"  # type: ignore[attr-defined]
    assert remote.record.model_dump(exclude={"source"}) == local.record.model_dump(exclude={"source"})  # type: ignore[attr-defined]


def test_the_worker_compresses_the_body_for_the_state_and_keeps_a_known_hash() -> None:
    # Compressing a fetched body for the state (2 ms for a 400 KB page) is done in the worker, off
    # the crawl's event loop; the hash the crawl already has is not worked out again.
    body = SAMPLE.read_bytes()
    page = RawPage(body=body, kind="http", url="https://www.realself.com/question/botox-atrophy").with_sha256("0" * 64)  # as the crawl does

    async def in_worker() -> object:
        pool = ExtractPool(2, 30.0)
        try:
            return await pool.analyse(PageWork(page=page, url=page.url or ""))
        finally:
            pool.close()

    analysis = asyncio.run(in_worker())
    assert unpack_body(analysis.packed_body or b"") == body  # type: ignore[attr-defined]
    assert analysis.record.source.sha256 == "0" * 64  # type: ignore[attr-defined]


def test_a_page_past_the_time_limit_fails_and_its_worker_is_replaced() -> None:
    async def go() -> tuple[list[int], object, list[int]]:
        pool = ExtractPool(2, 0.2)
        try:
            with pytest.raises(ExtractTimeoutError, match="EXTRACT_TIMEOUT"):
                await pool.analyse(_work(JUNK))
            overran = pool.pids()
            pool.timeout = 30.0
            after = await pool.analyse(_work(SAMPLE.read_bytes()))
            return overran, after, pool.pids()
        finally:
            pool.close()

    started = time.monotonic()
    overran, after, pids = asyncio.run(go())
    assert after.record is not None and len(after.record.answers) == 5  # type: ignore[attr-defined]
    assert overran == [] or not any(_alive(p) and not _zombie(p) for p in overran)
    assert len(pids) == 1, "the next page is read by a fresh worker"
    assert time.monotonic() - started < 30, "the overrunning worker was not waited for"


def test_a_killed_worker_costs_its_page_and_the_next_page_is_read() -> None:
    async def go() -> object:
        pool = ExtractPool(2, 60.0)
        try:
            slow = asyncio.ensure_future(pool.analyse(_work(JUNK)))
            deadline = time.monotonic() + 20
            while not pool.pids():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the page has reached the worker
            os.kill(pool.pids()[0], signal.SIGKILL)  # as the out-of-memory killer would
            with pytest.raises(ExtractWorkerDiedError, match="killed by SIGKILL"):
                await slow
            return await pool.analyse(_work(SAMPLE.read_bytes()))
        finally:
            pool.close()

    after = asyncio.run(go())
    assert after.record is not None and len(after.record.answers) == 5  # type: ignore[attr-defined]


def test_an_exception_in_the_worker_is_reported_and_the_worker_keeps_serving() -> None:
    listing = b"<!doctype html><html><body><a href='/question/a'>A</a><a href='/question/b'>B</a></body></html>"
    bad = _work(listing, content_type="text/html")
    bad.max_links = "all"  # type: ignore[assignment]  # a caller's bug: page_links compares it to a count

    async def go() -> tuple[list[int], object, list[int]]:
        pool = ExtractPool(2, 30.0)
        try:
            with pytest.raises(ExtractWorkerError) as raised:
                await pool.analyse(bad)
            assert raised.value.kind == "internal_error" and "TypeError" in str(raised.value)
            before = pool.pids()
            return before, await pool.analyse(_work(SAMPLE.read_bytes())), pool.pids()
        finally:
            pool.close()

    before, after, pids = asyncio.run(go())
    assert after.record is not None  # type: ignore[attr-defined]
    assert before == pids, "the same worker read the next page"


def test_a_slow_page_neither_stalls_other_hosts_nor_stays_queued(tmp_path: Path) -> None:
    """The issue's case: while one host's page is extracted, the other host's fetches go on."""
    slow_site, site = build_site(count=2), build_site(count=8)
    slow_site.set_page("/junk", JUNK, "text/plain; charset=utf-8")
    inline_started = time.monotonic()
    analyse_page(_work(JUNK))
    inline = time.monotonic() - inline_started  # what the loop would have been blocked for

    async def crawl(seeds: list[str], state: Path) -> tuple[list[object], float]:
        stalls = [0.0]

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                stalls[0] = max(stalls[0], now - last - 0.01)
                last = now

        tick = asyncio.ensure_future(ticker())
        try:
            records = [r async for r in scraper.acrawl(seeds, state=str(state), DOWNLOAD_DELAY=0.05,
                                                       EXTRACT_WORKERS=2, EXTRACT_TIMEOUT=0.5)]
        finally:
            tick.cancel()
        return records, stalls[0]

    with ServerThread(slow_site) as slow, ServerThread(site) as fast:
        state = tmp_path / "s.db"
        junk_url = slow.base + "/junk"
        records, stall = asyncio.run(crawl([junk_url, fast.base + "/questions"], state))
    urls = {r.source.url for r in records}  # type: ignore[attr-defined]
    assert {fast.base + q for q in site.questions} <= urls  # type: ignore[attr-defined]
    assert stall < inline / 2, f"the loop stalled {stall:.2f} s; extracting inline takes {inline:.2f} s"
    with sqlite3.connect(state) as db:
        row = db.execute("SELECT state, failure, failure_detail FROM urls WHERE url = ?", (junk_url,)).fetchone()
        stats = db.execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert row[0] == "failed" and row[1] == "extract_timeout", row
    assert "EXTRACT_TIMEOUT" in row[2]
    assert '"extract_timeout": 1' in stats


def test_no_extraction_worker_outlives_its_crawl(tmp_path: Path) -> None:
    """A finished library crawl closes its workers; a crawl killed with SIGKILL leaves none behind."""
    with ServerThread(build_site(count=3)) as server:
        records = list(scraper.crawl([server.base + "/questions"], state=str(tmp_path / "a.db"), DOWNLOAD_DELAY=0.0))
        assert len(records) == 3
        assert _extract_workers_of(os.getpid()) == []

    with ServerThread(EndlessSite(records=True)) as server:
        proc = subprocess.Popen(
            scraper_cmd("crawl", server.base + "/farm/0", "--state", str(tmp_path / "b.db"), "-o", str(tmp_path / "b.jsonl"),
                        "-q", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "EXTRACT_WORKERS=2"),
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not (workers := _extract_workers_of(proc.pid)):
            assert time.monotonic() < deadline and proc.poll() is None, "the crawl never started a worker"
            time.sleep(0.05)
        time.sleep(0.5)
        workers = _extract_workers_of(proc.pid)
        proc.kill()
        proc.wait(30)
        assert proc.stderr is not None
        proc.stderr.close()
    assert _wait_gone(workers) == [], "extraction workers left running after their crawl was killed"
