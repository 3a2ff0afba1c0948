"""Extraction of crawled pages, off the event loop, in worker processes with a time limit per page.

Why processes and not threads: extraction is Python and lxml work that holds the
GIL, so a thread would still slow every fetch, and a thread cannot be stopped.
A worker process can: one that overruns ``EXTRACT_TIMEOUT`` is killed and
replaced, and the page fails as ``extract_timeout``; one that dies (the
out-of-memory killer, a crash in C code) costs its page, as ``extract_crashed``.
Fetching never waits for parsing, and the second core does the parsing.

Each worker has its own socket and takes one page at a time, so a kill never
loses another page's work.  A worker is ``python -m scraper.crawler.extract_pool``,
not a ``multiprocessing`` child: those re-run the caller's main script in each
child (forkserver and spawn do), which a library user calling
``scraper.crawl()`` from a script without a ``__main__`` guard would not expect,
and a plain fork of the crawl process (it has threads) is unsafe.  Workers
start on the first page that needs them and end with the crawl; a worker whose
crawl process is killed sees its parent change and exits.

``EXTRACT_WORKERS=1`` keeps extraction in the crawl process (no time limit):
the path for debugging and for monkeypatching extractors in tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from scraper.crawler.links import page_links
from scraper.errors import ExtractionError, ExtractTimeoutError, ExtractWorkerDiedError, ExtractWorkerError
from scraper.extract.api import extract_page_explained
from scraper.models import PageRecord
from scraper.page import RawPage
from scraper.store.state_sql import pack_body

__all__ = ["ExtractPool", "PageAnalysis", "PageWork", "analyse_page", "worker_count"]


@dataclass
class PageWork:
    """What a worker needs for one page (picklable: it crosses a pipe)."""

    page: RawPage
    url: str
    """The URL the crawl leased: links of a page without a final URL are joined to it."""
    site: str | None = None
    follow_links: bool = True
    max_links: int = 0


@dataclass
class PageAnalysis:
    """What one page gave: its record (or why none) and the links to follow."""

    record: PageRecord | None = None
    no_record: str | None = None
    """The ExtractionError class name when the page gave no record."""
    links: list[str] = field(default_factory=list)
    links_capped: bool = False
    packed_body: bytes | None = None
    """The body as the state stores it (``pack_body``), compressed here: in a worker process, off
    the crawl's event loop (2 ms for a 400 KB page)."""


def analyse_page(work: PageWork) -> PageAnalysis:
    """Extract one page and collect its links: the CPU-bound half of processing a fetched page."""
    analysis = PageAnalysis()
    document = None
    try:
        explained = extract_page_explained(work.page, site=work.site)
        analysis.record, document = explained.record, explained.document
    except ExtractionError as exc:
        analysis.no_record = type(exc).__name__
    if work.follow_links:
        links = page_links(work.page.body, work.page.url or work.url, document, limit=work.max_links)
        analysis.links, analysis.links_capped = list(links), links.capped
    analysis.packed_body = pack_body(work.page.body)
    return analysis


def worker_count(setting: int) -> int:
    """``EXTRACT_WORKERS`` resolved: 0 means one worker process per core (at least one process)."""
    return setting if setting > 0 else max(os.cpu_count() or 1, 1)


def _watch_parent(parent: int) -> None:
    """End this worker when the crawl process is gone (killed), even in the middle of a page."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _serve(conn: Connection) -> None:
    """A worker's life: one page in, one answer out, until the crawl closes its end."""
    # Ctrl-C reaches the whole process group: the crawl decides what stops, not each worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    conn.send(("ready", None))  # imported and listening: a page's time limit starts after this
    while True:
        try:
            work = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", analyse_page(work))
        except BaseException as exc:  # noqa: BLE001 - reported to the crawl, which records the page
            answer = ("error", f"{type(exc).__name__}: {str(exc)[:300]}")
        try:
            conn.send(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. a result that does not pickle
            conn.send(("error", f"{type(exc).__name__}: {str(exc)[:300]}"))


_STARTUP_TIMEOUT = 60.0


class _Worker:
    """One worker process and its socket; used by one thread at a time."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()  # one page at a time
        self._stopping = threading.Lock()  # start and stop, never both at once
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _connection(self) -> Connection:
        """The running worker's socket, starting the worker first if needed (never after close)."""
        with self._stopping:
            if self._closed:
                raise ExtractWorkerDiedError("the crawl is stopping: extraction workers are closed")
            if self._conn is not None and self._alive():
                return self._conn
            return self._start()

    def _start(self) -> Connection:
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=_worker_env(),
                stdout=subprocess.DEVNULL,  # stdout may be the crawl's record stream; stderr is shared
            )
        finally:
            theirs.close()
        self._process, self._conn = process, Connection(ours.detach())
        # Starting Python and importing the extractors is not the page's time: wait for the worker
        # to say it is ready before the page's EXTRACT_TIMEOUT starts (a loaded machine is slow here).
        try:
            ready = self._conn.poll(_STARTUP_TIMEOUT) and self._conn.recv() == ("ready", None)
        except (EOFError, OSError):
            ready = False
        if not ready:  # called under self._stopping: kill here, not through stop()
            process.kill()
            code = process.wait()
            self._conn.close()
            self._process = self._conn = None
            raise ExtractWorkerDiedError(f"the extraction worker did not start within {_STARTUP_TIMEOUT:g} s ({_exit_reason(code)})")
        return self._conn

    def run(self, work: PageWork, timeout: float) -> PageAnalysis:
        """Blocking: send one page, wait at most ``timeout`` seconds for its analysis."""
        with self._lock:
            conn = self._connection()
            try:
                conn.send(work)
                if not conn.poll(timeout):
                    self.stop()
                    raise ExtractTimeoutError(
                        f"extraction took longer than {timeout:g} s (EXTRACT_TIMEOUT); the worker was stopped"
                    )
                status, value = conn.recv()
            except (EOFError, OSError) as exc:
                code = self.stop()
                raise ExtractWorkerDiedError(f"the extraction worker died on this page ({_exit_reason(code)})") from exc
        if status == "ok":
            assert isinstance(value, PageAnalysis)
            return value
        raise ExtractWorkerError(f"extraction failed in the worker: {value}")

    def _alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        """Stop for good: a thread about to start the process again is refused."""
        with self._stopping:
            self._closed = True
        self.stop()

    def stop(self) -> int | None:
        """Kill the process (it may be mid-page) and forget it; returns its exit code.

        The kill comes before the pipe is closed: a thread waiting on the pipe then
        wakes with end-of-file instead of waiting on a closed descriptor.
        """
        with self._stopping:
            process, conn = self._process, self._conn
            self._process = self._conn = None
            code = None
            if process is not None:
                if process.poll() is None:
                    process.kill()
                code = process.wait()
            if conn is not None:
                conn.close()
            return code


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _worker_env() -> dict[str, str]:
    """The crawl's environment, with this package importable the way the crawl imported it."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class ExtractPool:
    """Runs :func:`analyse_page` for the crawl: in ``workers`` processes, or in this process when ``workers`` is 1."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.timeout = timeout
        self.inline = workers <= 1
        self._workers = [] if self.inline else [_Worker() for _ in range(workers)]
        # Last in, first out: the warm worker takes the next page, so a second process
        # starts only when two pages are being extracted at once.
        self._idle: asyncio.LifoQueue[_Worker] = asyncio.LifoQueue()
        for worker in reversed(self._workers):
            self._idle.put_nowait(worker)
        self._threads = None if self.inline else concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="scraper-extract"
        )

    async def analyse(self, work: PageWork) -> PageAnalysis:
        """One page's analysis; raises :class:`ExtractWorkerError` when its worker gave none."""
        if self._threads is None:
            return analyse_page(work)
        worker = await self._idle.get()
        loop = asyncio.get_running_loop()
        try:
            job = self._threads.submit(worker.run, work, self.timeout)
        except BaseException:
            self._idle.put_nowait(worker)
            raise
        # The worker is free again when its thread is done, not when a stop cancels our wait.
        job.add_done_callback(lambda _: _call_soon(loop, self._idle.put_nowait, worker))
        return await asyncio.wrap_future(job)

    def pids(self) -> list[int]:
        """Process ids of the running workers (for tests and for operators' ``ps``)."""
        return [pid for pid in (w.pid for w in self._workers) if pid is not None]

    def close(self) -> None:
        """Stop every worker, mid-page or not: a stopped crawl gives those pages back to the frontier."""
        for worker in self._workers:
            worker.close()
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Any, *args: Any) -> None:
    if not loop.is_closed():
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed in between: nobody waits for this worker any more
            pass


if __name__ == "__main__":  # a worker: python -m scraper.crawler.extract_pool FD
    # Served from the module by its own name, so what it pickles unpickles in the crawl.
    from scraper.crawler import extract_pool

    extract_pool._serve(Connection(int(sys.argv[1])))
