"""Stopping a crawl: SIGTERM, SIGINT and a library caller breaking out.

Each stop must be prompt, flush every stored record to the output, mark the run
``stopped`` in the state, print no traceback, and exit 143 (SIGTERM) or 130
(SIGINT).  The site is an endless MADE link farm served on 127.0.0.1: every page
links to further pages, so the crawl never ends by itself.  With ``records=True``
each farm page is a question page built from a made text render (see
tests/fixtures/textrender_made/README), so the crawl also produces records.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web

import scraper
from tests.conftest import ROOT
from tests.crawler.site import MADE, FixtureSite, Hit, ServerThread, render_html
from tests.crawler.test_crawl_cli import scraper_cmd


class EndlessSite(FixtureSite):
    """``/farm/N`` links to ``/farm/5N+1`` .. ``/farm/5N+5``; optionally each is a question page."""

    def __init__(self, records: bool) -> None:
        super().__init__()
        render = sorted(MADE.glob("made-*.txt"))[0]
        self.render = render.read_text(encoding="utf-8") if records else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nAllow: /\n", content_type="text/plain")
        last = request.path.rsplit("/", 1)[-1] or "0"
        if not last.isdigit():  # the question pages' own nav links (/about, /private/secret)
            return web.Response(status=404, text="not found")
        number = int(last)
        links = "".join(f"<a href='/farm/{5 * number + i}'>next {i}</a>" for i in range(1, 6))
        if self.render is None:
            page = f"<!doctype html><html><body><p>Farm page {number}.</p>{links}</body></html>"
        else:
            page = render_html(self.render, f"Question {number}").replace("</main>", f"</main>{links}")
        await web.asyncio.sleep(0.02)
        with self.lock:
            self.hits.append(Hit(request.path, time.monotonic(), request.headers.get("User-Agent", ""), 200))
        return web.Response(text=page, content_type="text/html")


def _records_in_state(state: Path) -> int:
    with sqlite3.connect(state) as db:
        return int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])


def _last_run(state: Path) -> dict[str, object]:
    with sqlite3.connect(state) as db:
        finished, stats = db.execute("SELECT finished_at, stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    assert finished is not None, "the run was not marked as ended"
    return json.loads(stats)


def _crawl_until_pages(server: ServerThread, state: Path, out: Path, pages: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        scraper_cmd("crawl", server.base + "/farm/0", "--state", str(state), "-o", str(out), "-q",
                    "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "-s", "CONCURRENT_REQUESTS=8"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while len(server.site.hits) < pages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    return proc


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("records", [False, True], ids=["no-records", "records"])
def test_one_signal_stops_the_crawl_promptly(tmp_path: Path, signum: int, code: int, records: bool) -> None:
    state, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with ServerThread(EndlessSite(records)) as server:
        proc = _crawl_until_pages(server, state, out, 40)
        sent = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    assert proc.returncode == code, err
    assert took < 10, f"one signal must stop the crawl, it took {took:.1f}s"
    assert "Traceback" not in err and "never retrieved" not in err, err
    assert "crawl stopped" in err and "run the same command again to resume" in err
    stats = _last_run(state)
    assert stats["outcome"] == "stopped"
    lines = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    assert len(lines) == _records_in_state(state), "every stored record reached the output"
    assert (len(lines) > 0) is records


def test_the_next_run_resumes_a_stopped_crawl_without_duplicates(tmp_path: Path) -> None:
    state, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with ServerThread(EndlessSite(True)) as server:
        for _ in range(2):
            proc = _crawl_until_pages(server, state, out, len(server.site.hits) + 30)
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
            assert proc.returncode == 143
    urls = [json.loads(line)["url"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(urls) == len(set(urls)) == _records_in_state(state)
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT COUNT(*) FROM urls WHERE state='leased'").fetchone()[0] == 0
    status = subprocess.run(scraper_cmd("status", "--state", str(state)), cwd=ROOT, capture_output=True, text=True)
    assert status.stdout.count("(stopped)") == 2, status.stdout


def test_a_library_caller_breaking_out_stops_the_run(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    state, out = tmp_path / "s.db", tmp_path / "out.jsonl"
    with ServerThread(EndlessSite(True)) as server:
        taken = []
        for record in scraper.crawl([server.base + "/farm/0"], state=state, output=out, DOWNLOAD_DELAY=0,
                                    CONCURRENT_REQUESTS_PER_DOMAIN=8, CONCURRENT_REQUESTS=8):
            taken.append(record.url)
            if len(taken) == 5:
                break
        assert _last_run(state)["outcome"] == "stopped"
        assert len(out.read_text(encoding="utf-8").splitlines()) == _records_in_state(state) >= 5
        # The state is free again (lock released): a second run opens it and ends normally.
        list(scraper.crawl([], state=state, output=out, DOWNLOAD_DELAY=0, CLOSESPIDER_PAGECOUNT=3))
        assert _last_run(state)["outcome"] == "finished"
    err = capfd.readouterr().err
    assert "open the StateStore first" not in err and "never retrieved" not in err, err


def test_an_async_caller_cancelling_its_task_stops_the_run(tmp_path: Path) -> None:
    import asyncio

    state, out = tmp_path / "s.db", tmp_path / "out.jsonl"

    async def consume() -> None:
        async for _ in scraper.acrawl([server.base + "/farm/0"], state=state, output=out, DOWNLOAD_DELAY=0):
            pass

    async def main() -> None:
        task = asyncio.create_task(consume())
        await asyncio.sleep(1.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with ServerThread(EndlessSite(True)) as server:
        asyncio.run(main())
    assert _last_run(state)["outcome"] == "stopped"
    assert len(out.read_text(encoding="utf-8").splitlines()) == _records_in_state(state) > 0
