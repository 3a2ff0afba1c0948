"""The crawl loop: frontier (on disk) -> polite fetch -> extract -> state -> outputs.

One asyncio event loop runs ``CONCURRENT_REQUESTS`` workers; each leases the
next URL from the store and the fetcher enforces per-host politeness in this
process (a shared PostgreSQL store also enforces it across processes, see
``scraper/store/state_postgres.py``).  Everything a page changes (its state, raw response,
record, discovered links, the host's next allowed start) is committed in one
transaction; outputs are written from the store afterwards (see ``scraper/store/state.py``
for why that makes kill -9 safe).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from scraper.crawler.extract_pool import ExtractPool, PageWork, worker_count
from scraper.crawler.versions import record_content_key, store_version
from scraper.errors import ExtractWorkerError
from scraper.fetch.result import FetchResult, utc_now
from scraper.fetch.urls import host_key, normalize_url
from scraper.models import PageRecord
from scraper.settings import Settings
from scraper.store.outputs import Output
from scraper.store.state import CrawlState, UrlState

__all__ = ["INTERNAL_ERROR", "CrawlStats", "Crawler", "record_content_key"]

_log = logging.getLogger(__name__)

# Failures worth trying again soon on the next run; others wait a full re-crawl interval.
_TRANSIENT = frozenset(("timeout", "connection_error", "rate_limited", "bot_wall", "robots_unavailable", "host_parked"))
# The failure kind of a page whose fetch or processing raised something unforeseen.
INTERNAL_ERROR = "internal_error"


@dataclass
class CrawlStats:
    started: float = field(default_factory=time.monotonic)
    fetched: int = 0
    not_modified: int = 0
    unchanged: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    no_record: Counter[str] = field(default_factory=Counter)
    records_new: int = 0
    records_changed: int = 0
    answers: int = 0
    discovered: int = 0
    links_capped: int = 0
    written: Counter[str] = field(default_factory=Counter)
    """Records written to each output (by path; ``-`` is stdout) in this run."""
    written_earlier: Counter[str] = field(default_factory=Counter)
    """Of those, records stored before this run: new versions made by ``scraper reextract``, or
    records of a run that stopped before writing them.  Counted so none is written unsaid."""
    # "running" until the run ends; then "finished" (frontier empty or page limit) or
    # "stopped" (a signal, a cancelled task, a library caller breaking out).
    outcome: str = "running"

    def as_dict(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "pages_fetched": self.fetched,
            "not_modified": self.not_modified,
            "unchanged": self.unchanged,
            "failed": dict(self.failed),
            "no_record": dict(self.no_record),
            "records_new": self.records_new,
            "records_changed": self.records_changed,
            "answers": self.answers,
            "urls_discovered": self.discovered,
            "links_capped": self.links_capped,
            "written": dict(self.written),
            "written_earlier": dict(self.written_earlier),
            "outcome": self.outcome,
            "seconds": round(elapsed, 2),
            "pages_per_second": round(self.fetched / elapsed, 2),
        }


class Scope:
    """Which discovered links a crawl follows: include/exclude patterns, seed hosts, depth."""

    def __init__(self, settings: Settings, seed_hosts: set[str]) -> None:
        self.include = [re.compile(p) for p in settings.INCLUDE]
        self.exclude = [re.compile(p) for p in settings.EXCLUDE]
        self.seed_hosts = seed_hosts
        self.depth_limit = settings.DEPTH_LIMIT

    def allows(self, url: str, depth: int, host: str) -> bool:
        """Whether to follow ``url`` (``host``: its ``host_key``, which the caller needs as well)."""
        if self.depth_limit and depth > self.depth_limit:
            return False
        if any(p.search(url) for p in self.exclude):
            return False
        if self.include:
            return any(p.search(url) for p in self.include)
        return host in self.seed_hosts


class Crawler:
    """One crawl run over a state store, writing to outputs; yields records as they are emitted."""

    def __init__(
        self,
        store: CrawlState,
        fetcher: Any,
        settings: Settings,
        outputs: list[Output],
        *,
        site: str | None = None,
        on_progress: Callable[[CrawlStats, int], None] | None = None,
        warc: Any = None,
        refetch: bool = False,
    ) -> None:
        self.store = store
        self.refetch = refetch
        """Every page the state holds is due now, whatever due time it was given (``--refetch``)."""
        self.fetcher = fetcher
        self.settings = settings
        self.outputs = outputs
        self.site = site
        self.on_progress = on_progress
        self.warc = warc
        self.stats = CrawlStats()
        self.scope = Scope(settings, set())
        # Bounded: workers wait while the caller has not taken the records yet, so
        # memory stays flat however slowly the caller consumes (see benchmarks/README.md).
        self._emitted: asyncio.Queue[PageRecord | None] = asyncio.Queue(maxsize=2 * max(settings.CONCURRENT_REQUESTS, 1))
        self._positions: dict[str, tuple[int, int]] = {}
        self._last_flush = time.monotonic()
        self._unflushed = 0
        self._queued = (0.0, 0)  # (when counted, how many): counting is a query, done at most once a second
        self._started_pages = 0
        self._idle_until = 0.0
        self._stop = False
        self._closing: asyncio.Future[None] | None = None  # the end-of-records marker, once the workers are done
        self._sources: list[AsyncGenerator[list[str], None]] = []
        self._feeding = False
        self._pool = ExtractPool(worker_count(settings.EXTRACT_WORKERS), settings.EXTRACT_TIMEOUT)

    # --- seeds -------------------------------------------------------------------------

    def add_seeds(self, urls: list[str]) -> int:
        entries = []
        for raw in urls:
            url = normalize_url(raw)
            if url is None:
                continue
            self.scope.seed_hosts.add(host_key(url))
            entries.append((url, host_key(url), 0))
        with self.store.transaction():
            added = self.store.add_urls(entries)
        self.stats.discovered += added
        return added

    def feed(self, sources: list[AsyncGenerator[list[str], None]]) -> None:
        """Seeds that arrive while the crawl runs (sitemaps, search APIs), in batches.

        Why not read them first: a sitemap index can list millions of URLs; queued
        batch by batch, memory stays flat and the first pages are fetched at once.
        Workers keep waiting for work while a source is still being read.
        """
        self._sources = sources
        self._feeding = bool(sources)

    async def _feed(self) -> None:
        try:
            for source in self._sources:
                async with aclosing(source) as batches:
                    async for batch in batches:
                        self.add_seeds(batch)
                        await asyncio.sleep(0)
        except Exception as exc:  # noqa: BLE001 - discovery failing must not stop the pages already queued
            _log.error("seed discovery stopped: %s: %s", type(exc).__name__, str(exc)[:300])
        finally:
            self._feeding = False

    def remember_seed_hosts(self) -> None:
        """On a resumed run the seeds are already in the store: their hosts are still in scope."""
        self.scope.seed_hosts.update(self.store.seed_hosts())

    # --- outputs -----------------------------------------------------------------------

    def _prepare_outputs(self) -> None:
        """Check each output against its committed position before anything is written.

        The pending records go along so a file output can tell its own unfinished
        write (a crash before commit: cut and written again) from bytes someone else
        added (refused).  A new offset (a file moved away starts again at 0) is
        committed at once, or the next run would find the file "shorter".
        """
        for output in self.outputs:
            seq, committed = self.store.output_position(output.path, output.format)
            pending = [json.loads(record) for _, _, _, record in self.store.pending_records(output.path, seq)]
            offset = output.prepare(committed, pending)
            if offset != committed:
                with self.store.transaction():
                    self.store.set_output_position(output.path, seq, offset)
            self._positions[output.path] = (seq, offset)
            self.stats.written[output.path] += 0  # named in the summary even when nothing is written
        self._flush(force=True)
        self.stats.written_earlier.update(self.stats.written)  # no page has been processed yet

    def _flush(self, force: bool = False) -> None:
        if (not force and self._unflushed < self.settings.FLUSH_RECORDS
                and time.monotonic() - self._last_flush < self.settings.FLUSH_INTERVAL):
            return
        for output in self.outputs:
            seq, _ = self._positions[output.path]
            pending = self.store.pending_records(output.path, seq)
            if not pending:
                continue
            offset = output.write([json.loads(record) for _, _, _, record in pending])
            self.stats.written[output.path] += len(pending)
            last_seq = pending[-1][0]
            with self.store.transaction():
                self.store.set_output_position(output.path, last_seq, offset)
            self._positions[output.path] = (last_seq, offset)
        self._last_flush = time.monotonic()
        self._unflushed = 0

    # --- one page ----------------------------------------------------------------------

    def _next_fetch_at(self, failure: str | None) -> float:
        if failure in _TRANSIENT:
            return time.time()  # due again on the next run
        return time.time() + self.settings.RECRAWL_INTERVAL

    def _host_wait(self, host: str) -> float:
        """How long the host must now be left alone: the delay, or a longer penalty the fetcher holds."""
        throttle = getattr(self.fetcher, "throttle", None)
        return throttle.wait_hint(host) if throttle is not None else self.settings.DOWNLOAD_DELAY

    @contextmanager
    def _finished(self, entry: UrlState) -> Iterator[None]:
        """The transaction that ends a page; it also tells a shared store when the host is free again."""
        with self.store.transaction():
            yield
            self.store.release_host(entry.host, self._host_wait(entry.host))

    def _fail(self, entry: UrlState, failure: str, detail: str | None, *, fetched_at: str, status: int | None) -> None:
        self.stats.failed[failure] += 1
        with self._finished(entry):
            self.store.mark_fetched(
                entry.url, state="failed", next_fetch_at=self._next_fetch_at(failure),
                fetched_at=fetched_at, http_status=status, failure=failure, detail=detail,
            )

    async def _process(self, entry: UrlState, result: FetchResult) -> PageRecord | None:
        """Everything one fetch changes, committed at once; returns the record to emit, if any.

        The extraction runs in the pool while the loop goes on fetching; only the
        store's transaction, which must stay in this process, is done here.
        """
        if result.failure is not None:
            self._fail(entry, result.failure, result.detail, fetched_at=result.fetched_at, status=result.status)
            return None
        next_at = self._next_fetch_at(None)
        if result.not_modified:
            self.stats.fetched += 1
            self.stats.not_modified += 1
            with self._finished(entry):
                self.store.mark_fetched(entry.url, state="done", next_fetch_at=next_at, fetched_at=result.fetched_at, http_status=304)
            return None
        content_hash = hashlib.sha256(result.body).hexdigest()
        headers = result.headers
        if self.warc is not None:
            self.warc.write(result)
        if content_hash == entry.content_hash:
            self.stats.fetched += 1
            self.stats.unchanged += 1
            with self._finished(entry):
                self.store.mark_fetched(
                    entry.url, state="done", next_fetch_at=next_at, fetched_at=result.fetched_at, http_status=result.status,
                    etag=headers.get("etag"), last_modified=headers.get("last-modified"),
                )
            return None
        page = result.page().with_sha256(content_hash)  # the worker need not hash the bytes again
        work = PageWork(page=page, url=entry.url, site=self.site,
                        follow_links=self.settings.FOLLOW_LINKS, max_links=self.settings.MAX_LINKS_PER_PAGE)
        try:
            analysis = await self._pool.analyse(work)
        except ExtractWorkerError as exc:
            _log.log(logging.ERROR if exc.kind == INTERNAL_ERROR else logging.WARNING, "%s: %s", entry.url, exc)
            self._fail(entry, exc.kind, str(exc), fetched_at=result.fetched_at, status=result.status)
            return None
        self.stats.fetched += 1
        if analysis.no_record is not None:
            self.stats.no_record[analysis.no_record] += 1
        if analysis.links_capped:
            self.stats.links_capped += 1
            _log.info("%s: more than %d links; the rest are not followed (MAX_LINKS_PER_PAGE)",
                      entry.url, self.settings.MAX_LINKS_PER_PAGE)
        with self._finished(entry):
            self.store.save_response(entry.url, result.fetched_at, result.status, result.final_url, headers, result.body,
                                     packed=analysis.packed_body)
            record = analysis.record
            emitted = self._store_record(entry, record, result.fetched_at) if record is not None else None
            self.store.mark_fetched(
                entry.url, state="done", next_fetch_at=next_at, fetched_at=result.fetched_at, http_status=result.status,
                etag=headers.get("etag"), last_modified=headers.get("last-modified"), content_hash=content_hash,
            )
            depth = entry.depth + 1
            found = [(u, host, depth) for u in analysis.links if self.scope.allows(u, depth, host := host_key(u))]
            self.stats.discovered += self.store.add_urls(found)
        return emitted

    async def _page(self, entry: UrlState) -> PageRecord | None:
        """Fetch and process one page; whatever goes wrong with it is that page's failure.

        Why a catch-all: a page nobody foresaw (a header, a charset, a value) must not
        stop the crawl, and must not stay queued either, or every resume would stop on it
        again.  The page is recorded as failed with kind ``internal_error`` and the
        exception in ``detail``, and is due again after ``RECRAWL_INTERVAL`` like any
        permanent failure.  Only cancellation (a stop) passes through.
        """
        try:
            conditional = entry.record_version > 0 or entry.content_hash is not None
            result = await self.fetcher.fetch(
                entry.url,
                etag=entry.etag if conditional else None,
                last_modified=entry.last_modified if conditional else None,
            )
            return await self._process(entry, result)
        except Exception as exc:  # noqa: BLE001 - the point: one page never stops the crawl
            detail = f"{type(exc).__name__}: {str(exc)[:300]}"
            _log.error("%s: %s (recorded as internal_error; please report it)", entry.url, detail)
            self._fail(entry, INTERNAL_ERROR, detail, fetched_at=utc_now(), status=None)
            return None

    def _store_record(self, entry: UrlState, record: PageRecord, fetched_at: str) -> PageRecord | None:
        stored = store_version(self.store, entry.url, record, fetched_at)
        if stored is None:
            self.stats.unchanged += 1
            return None
        if stored.crawl is not None and stored.crawl.change == "new":
            self.stats.records_new += 1
        else:
            self.stats.records_changed += 1
        self.stats.answers += len(stored.answers)
        self._unflushed += 1
        return stored

    # --- the loop ----------------------------------------------------------------------

    def _limit_reached(self) -> bool:
        limit = self.settings.CLOSESPIDER_PAGECOUNT
        return bool(limit) and self._started_pages >= limit

    async def _worker(self) -> None:
        while not self._stop:
            if self._limit_reached():
                return
            now = time.monotonic()
            if now < self._idle_until:  # another worker just found nothing due: do not ask again yet
                await asyncio.sleep(self._idle_until - now)
                continue
            batch = self.store.lease(1)
            if not batch:
                if not self.store.busy() and not self._feeding:
                    return
                # Pages in flight may still add links, or hosts come off their delay.
                self._idle_until = time.monotonic() + self.store.idle_wait()
                continue
            entry = batch[0]
            self._started_pages += 1
            finished = False
            try:
                record = await self._page(entry)
                finished = True
            finally:
                if not finished:  # cancelled (a stop): the page is due again, nothing was lost
                    self.store.release(entry.url)
            if record is not None:
                await self._emitted.put(record)
            self._flush()
            if self.on_progress:
                self.on_progress(self.stats, self._queued_count())

    def _queued_count(self) -> int:
        counted_at, queued = self._queued
        if time.monotonic() - counted_at >= 1.0:
            queued = self.store.queued_count()
            self._queued = (time.monotonic(), queued)
        return queued

    def _end_of_records(self, _: object) -> None:
        # The queue may be full: the end marker waits its turn like any record.
        self._closing = asyncio.ensure_future(self._emitted.put(None))

    async def run(self) -> AsyncGenerator[PageRecord, None]:
        """Crawl until the frontier is empty (or the page limit is reached), yielding emitted records.

        A stop is the caller's: cancelling the task that iterates, or closing this
        generator (``break`` inside ``contextlib.aclosing``).  Either way the pages in
        flight are given back to the frontier (due again, nothing half-stored), every
        stored record is flushed to the outputs, and the run is marked ``stopped``.
        """
        outcome = "stopped"
        run_id = self.store.start_run(utc_now())
        self.remember_seed_hosts()
        with self.store.transaction():
            # A due time is fixed when a page is fetched (RECRAWL_INTERVAL then); --refetch overrides them all.
            self.store.requeue_due(math.inf if self.refetch else time.time())
        self._prepare_outputs()
        feeder = asyncio.create_task(self._feed())
        workers = [asyncio.create_task(self._worker()) for _ in range(self.settings.CONCURRENT_REQUESTS)]
        done = asyncio.gather(*workers)
        done.add_done_callback(self._end_of_records)
        try:
            while (record := await self._emitted.get()) is not None:
                yield record
            await done
            outcome = "finished"
        except Exception:
            outcome = "failed"
            raise
        finally:
            self._stop = True
            for task in (feeder, *workers):
                task.cancel()
            await asyncio.gather(feeder, *workers, return_exceptions=True)
            if done.done():
                with suppress(BaseException):  # seen here; a worker's own error was raised above
                    done.exception()
            self._pool.close()
            self._flush(force=True)
            if self._closing is not None:
                self._closing.cancel()
            self.stats.outcome = outcome
            self.store.finish_run(run_id, utc_now(), self.stats.as_dict())
