"""A crawl's memory in one embedded SQLite file: frontier, per-URL facts, raw responses, records.

Why SQLite: no server to start, one file to copy, and transactions make a
crawl killed at any moment (Ctrl-C, ``kill -9``) resumable.  The frontier
lives on disk, so memory stays flat however large the crawl grows.

The order of writes is what makes resume exact:

1. a fetched page's raw response, its record and its discovered links are
   committed together, with the record marked *pending output*;
2. pending records are appended to the output file, the file is flushed and
   fsynced, then the new file size is committed as the output's offset.

A run that starts finds the output file longer than its committed offset
(killed between 2's write and commit) or ending in half a line: when the extra
bytes are the start of what this state writes next, it cuts the file to the
offset and writes the pending records again; any other difference is refused
(``OutputConflictError``), so data this state did not write is never deleted.  No page is
fetched twice (step 1 is atomic) and every record is in the file once.

:class:`StateStore` is the embedded default.  :class:`~scraper.store.state_postgres.PostgresStateStore`
has the same methods for several workers sharing one crawl; :func:`open_state`
picks one from the ``--state`` value (a path, or a ``postgresql://`` URL).
Both keep a versioned list of schema migrations and apply the missing ones on open.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Generator, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scraper.errors import CrawlLockedError, ScraperError, StateDamagedError, StateStoreError
from scraper.store.state_sql import (
    RESPONSE_BATCH,
    CurrentRecord,
    SharedQueries,
    StoredResponse,
    UrlState,
    pack_body,
    status_report,
)

if TYPE_CHECKING:
    from scraper.settings import Settings

__all__ = [
    "RESPONSE_BATCH",
    "CrawlLockedError",
    "CrawlState",
    "StateDamagedError",
    "StateStore",
    "StateStoreError",
    "StoredResponse",
    "UrlState",
    "is_postgres_url",
    "open_state",
    "state_error",
]


# Migrations: the schema at version N is migrations 1..N applied in order. Never edit
# a released one; append a new one. A file at a higher version than this code knows is refused.
_MIGRATIONS: list[str] = [
    """
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    depth INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'queued',      -- queued | done | failed
    seq INTEGER NOT NULL,                      -- discovery order: the frontier is FIFO
    next_fetch_at REAL NOT NULL DEFAULT 0,     -- epoch seconds when due
    last_fetched_at TEXT,
    http_status INTEGER,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    failure TEXT,
    failure_detail TEXT,
    fetch_count INTEGER NOT NULL DEFAULT 0,
    record_version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS urls_due ON urls (state, next_fetch_at, seq);
CREATE TABLE IF NOT EXISTS responses (
    url TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    status INTEGER,
    final_url TEXT,
    headers TEXT NOT NULL,
    body BLOB NOT NULL                          -- zlib-compressed raw bytes
);
CREATE TABLE IF NOT EXISTS records (
    url TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    extractor TEXT NOT NULL,
    change TEXT NOT NULL,                       -- new | changed
    record TEXT NOT NULL,                       -- the record as JSON
    content_key TEXT NOT NULL,                  -- hash of the record's content fields
    emit_seq INTEGER,                           -- order in which it is due for output
    PRIMARY KEY (url, version)
);
CREATE INDEX IF NOT EXISTS records_pending ON records (emit_seq);
CREATE TABLE IF NOT EXISTS outputs (
    path TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    emitted_seq INTEGER NOT NULL DEFAULT 0,     -- records up to this emit_seq are in the file
    offset INTEGER NOT NULL DEFAULT 0           -- the file's size after them
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    stats TEXT
);
""",
    # 2: the frontier query and MAX(seq) were full index scans, quadratic over a 100k-page crawl.
    """
CREATE INDEX IF NOT EXISTS urls_queue ON urls (state, seq);
CREATE INDEX IF NOT EXISTS urls_seq ON urls (seq);
""",
    # 3: which run stored each record version (scraper export --since RUN); NULL for versions stored before.
    """
ALTER TABLE records ADD COLUMN run_id INTEGER;
""",
]
SCHEMA_VERSION = len(_MIGRATIONS)


def state_error(exc: BaseException) -> StateStoreError | None:
    """The :class:`StateStoreError` for a database driver's exception, or None for any other."""
    if isinstance(exc, sqlite3.OperationalError) or type(exc).__module__.startswith("psycopg"):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StateStoreError(f"the crawl's state database failed ({detail}); nothing committed is lost: "
                               "run the same command again to resume")
    return None


class CrawlState(Protocol):
    """What the crawl engine needs of a state store; :class:`StateStore` and
    :class:`~scraper.store.state_postgres.PostgresStateStore` both provide it."""

    poll_interval: float
    run_id: int | None

    def transaction(self) -> Any: ...
    def add_urls(self, urls: Iterable[tuple[str, str, int]]) -> int: ...
    def requeue_due(self, now: float) -> int: ...
    def lease(self, limit: int) -> list[UrlState]: ...
    def release(self, url: str) -> None: ...
    def release_host(self, host: str, wait: float) -> None: ...
    def idle_wait(self) -> float: ...
    def busy(self) -> bool: ...
    def seed_hosts(self) -> set[str]: ...
    def queued_count(self) -> int: ...
    def get(self, url: str) -> UrlState | None: ...
    def mark_fetched(self, url: str, *, state: str, next_fetch_at: float, fetched_at: str | None, http_status: int | None,
                     etag: str | None = None, last_modified: str | None = None, content_hash: str | None = None,
                     failure: str | None = None, detail: str | None = None) -> None: ...
    def save_response(self, url: str, fetched_at: str, status: int | None, final_url: str | None,
                      headers: dict[str, str], body: bytes, *, packed: bytes | None = None) -> None:
        """Keep the raw response; ``packed``: the body as ``pack_body`` made it, when the caller did so already."""
    def responses(self) -> Iterator[StoredResponse]: ...
    def current_records(self, since_run: int | None = None) -> Generator[CurrentRecord, None, None]: ...
    def records_have_run_ids(self) -> bool: ...
    def run_ids(self) -> tuple[int, int] | None: ...
    def latest_record(self, url: str) -> tuple[int, str, str] | None: ...
    def add_record(self, url: str, *, extractor: str, change: str, record_json: str, content_key: str, created_at: str) -> int: ...
    def output_position(self, path: str, fmt: str) -> tuple[int, int]: ...
    def pending_records(self, path: str, after_seq: int) -> list[tuple[int, str, str, str]]: ...
    def set_output_position(self, path: str, emitted_seq: int, offset: int) -> None: ...
    def start_run(self, started_at: str) -> int: ...
    def finish_run(self, run_id: int, finished_at: str, stats: dict[str, Any]) -> None: ...
    def counts(self) -> dict[str, int]: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


def is_postgres_url(state: str | os.PathLike[str]) -> bool:
    return str(state).startswith(("postgresql://", "postgres://"))


def open_state(state: str | os.PathLike[str], settings: Settings | None = None, *, worker: str = "", lock: bool = True,
               read_only: bool = False) -> CrawlState:
    """The store a ``--state`` value names, opened: a SQLite file, or a shared PostgreSQL database."""
    if is_postgres_url(state):
        from scraper.store.state_postgres import PostgresStateStore

        return PostgresStateStore(str(state), settings=settings, worker=worker, lock=lock).open()
    store = StateStore(state, lock=lock)
    if settings is not None:
        store.poll_interval = settings.STATE_POLL_INTERVAL
    return store.open(read_only=read_only)


class StateStore(SharedQueries):
    """The SQLite state of one crawl. Use as a context manager: it takes the crawl lock.

    One process owns the file (the lock), so a lease is an in-memory set: a URL
    handed to a worker is not handed out again until it is marked or released,
    and a killed process's leases vanish with it.  Politeness is the fetcher's
    in-process throttle, which sees every request of the crawl.
    """

    poll_interval = 0.05
    """Seconds a worker waits when nothing is due but pages are still in flight (STATE_POLL_INTERVAL)."""

    def __init__(self, path: str | os.PathLike[str], *, lock: bool = True) -> None:
        self.path = Path(path)
        self._lock_wanted = lock
        self._lock_file: Any = None
        self.db: sqlite3.Connection | None = None
        self._leased: set[str] = set()
        self._seq: int | None = None
        self.run_id: int | None = None
        """The run this store's writes belong to (set by :meth:`start_run`)."""

    # --- lifecycle ---------------------------------------------------------------------

    def open(self, *, read_only: bool = False) -> StateStore:
        """Open (and lock) the state; ``read_only`` (``scraper status``) changes nothing in the file.

        The file is checked first: resuming on a damaged or foreign file would silently
        lose or duplicate work, so it is refused with the way out in the message.
        """
        if self._lock_wanted:
            self._take_lock()
        try:
            self._refuse_empty_file()
            if read_only:
                self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=30)
            else:
                self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._check_integrity()
            if not read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self._migrate()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StateDamagedError(
                f"{self.path} is not a readable crawl state ({exc}); move it away to start a new crawl, "
                "or restore it from a backup"
            ) from None
        except ScraperError:
            self.close()
            raise
        return self

    def _refuse_empty_file(self) -> None:
        if self.path.exists() and self.path.is_file() and self.path.stat().st_size == 0:
            raise StateDamagedError(
                f"{self.path} is an empty file (0 bytes), not a crawl state: it was truncated or created by hand. "
                "Delete it to start a new crawl (every URL will be fetched again), or restore it from a backup"
            )

    def _check_integrity(self) -> None:
        """``PRAGMA quick_check`` (pages and structure, not every index entry) and our own meta table."""
        db = self._db
        problems = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StateDamagedError(
                f"{self.path} is damaged ({'; '.join(problems)[:300]}); restore it from a backup, or move it away "
                "to start a new crawl"
            )
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            raise StateDamagedError(
                f"{self.path} is a SQLite database of another program (tables: {', '.join(sorted(tables)[:5])}), "
                "not a crawl state; give --state a new file"
            )

    def _migrate(self) -> None:
        with self.transaction():
            self._apply_migrations(_MIGRATIONS, str(self.path))

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> StateStore:
        return self if self.db is not None else self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take_lock(self) -> None:
        # Keyed on the real file, not the name: through a symlink two runs must meet the same lock.
        real = self.path.resolve()
        lock_path = real.with_name(real.name + ".lock")
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the store's life, closed in close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise CrawlLockedError(
                f"another crawl is running on {self.path} (lock {lock_path} is held); wait for it or use another --state"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    @property
    def _db(self) -> sqlite3.Connection:
        assert self.db is not None, "open the StateStore first"
        return self.db

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._db.execute(query, params).fetchall()

    def transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # --- frontier ----------------------------------------------------------------------

    def _next_seq(self) -> int:
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM urls").fetchone()
        return int(row[0])

    def add_urls(self, urls: Iterable[tuple[str, str, int]]) -> int:
        """Queue (url, host, depth) entries not seen before; returns how many were new."""
        seq = self._next_seq()
        added = 0
        for url, host, depth in urls:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO urls (url, host, depth, state, seq, next_fetch_at) VALUES (?, ?, ?, 'queued', ?, 0)",
                (url, host, depth, seq),
            )
            if cursor.rowcount:
                added += 1
                seq += 1
        return added

    def requeue_due(self, now: float) -> int:
        """Put pages whose re-crawl time has come back in the frontier (incremental runs)."""
        cursor = self._db.execute(
            "UPDATE urls SET state='queued' WHERE state IN ('done', 'failed') AND next_fetch_at <= ?", (now,)
        )
        return cursor.rowcount

    def next_batch(self, limit: int, exclude: AbstractSet[str] = frozenset()) -> list[UrlState]:
        """The next queued URLs in discovery order, skipping those already in flight."""
        rows = self._db.execute(
            "SELECT url, host, depth, state, etag, last_modified, content_hash, record_version, fetch_count "
            "FROM urls WHERE state='queued' ORDER BY seq LIMIT ?",
            (limit + len(exclude),),
        ).fetchall()
        return [UrlState(*row) for row in rows if row[0] not in exclude][:limit]

    def lease(self, limit: int) -> list[UrlState]:
        """Hand out up to ``limit`` queued URLs nobody holds, in discovery order."""
        batch = self.next_batch(limit, self._leased)
        self._leased.update(entry.url for entry in batch)
        return batch

    def release(self, url: str) -> None:
        """Give a leased URL back unfetched (its worker failed): it is due again."""
        self._leased.discard(url)

    def release_host(self, host: str, wait: float) -> None:
        """A page of ``host`` is finished; the next may start after ``wait`` s.

        The fetcher's in-process throttle already enforces this in a single-process
        crawl, so there is nothing to share.
        """

    def idle_wait(self) -> float:
        """Seconds to wait before asking for work again after :meth:`lease` found none."""
        return self.poll_interval

    def busy(self) -> bool:
        """Is there anything queued or in flight, i.e. may more work still appear?"""
        return self._db.execute("SELECT 1 FROM urls WHERE state='queued' LIMIT 1").fetchone() is not None

    # --- results -----------------------------------------------------------------------

    def _forget_lease(self, url: str) -> None:
        self._leased.discard(url)

    def save_response(self, url: str, fetched_at: str, status: int | None, final_url: str | None, headers: dict[str, str], body: bytes,
                      *, packed: bytes | None = None) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
            (url, fetched_at, status, final_url, json.dumps(headers), packed if packed is not None else pack_body(body)),
        )

    def add_record(self, url: str, *, extractor: str, change: str, record_json: str, content_key: str, created_at: str) -> int:
        """Store a new record version, queued for output; returns its version."""
        latest = self.latest_record(url)
        version = (latest[0] if latest else 0) + 1
        emit_seq = int(self._db.execute("SELECT COALESCE(MAX(emit_seq), 0) + 1 FROM records").fetchone()[0])
        self._db.execute(
            "INSERT INTO records (url, version, created_at, extractor, change, record, content_key, emit_seq, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (url, version, created_at, extractor, change, record_json, content_key, emit_seq, self.run_id),
        )
        self._db.execute("UPDATE urls SET record_version=? WHERE url=?", (version, url))
        return version

    # --- output bookkeeping ------------------------------------------------------------

    def output_position(self, path: str, fmt: str) -> tuple[int, int]:
        """(records emitted up to this emit_seq, file offset after them) for an output file."""
        row = self._db.execute("SELECT emitted_seq, offset FROM outputs WHERE path=?", (path,)).fetchone()
        if row is None:
            # A new output starts with the records stored from now on, not the state's history.
            start = int(self._db.execute("SELECT COALESCE(MAX(emit_seq), 0) FROM records").fetchone()[0])
            size = os.path.getsize(path) if fmt != "sqlite" and os.path.exists(path) else 0
            self._db.execute("INSERT INTO outputs (path, format, emitted_seq, offset) VALUES (?, ?, ?, ?)", (path, fmt, start, size))
            return start, size
        return int(row[0]), int(row[1])

    def pending_records(self, path: str, after_seq: int) -> list[tuple[int, str, str, str]]:
        """(emit_seq, url, change, record JSON) due for an output, in order."""
        return [
            (int(seq), url, change, record)
            for seq, url, change, record in self._db.execute(
                "SELECT emit_seq, url, change, record FROM records WHERE emit_seq > ? ORDER BY emit_seq", (after_seq,)
            )
        ]

    def set_output_position(self, path: str, emitted_seq: int, offset: int) -> None:
        self._db.execute("UPDATE outputs SET emitted_seq=?, offset=? WHERE path=?", (emitted_seq, offset, path))

    # --- runs and stats ----------------------------------------------------------------

    def start_run(self, started_at: str) -> int:
        """A new run; the record versions stored from now on belong to it."""
        cursor = self._db.execute("INSERT INTO runs (started_at) VALUES (?)", (started_at,))
        self.run_id = int(cursor.lastrowid or 0)
        return self.run_id

    def records_have_run_ids(self) -> bool:
        """False for a state of schema 1-2 opened read-only (``scraper status``, ``scraper export``): not migrated."""
        return any(row[1] == "run_id" for row in self._db.execute("PRAGMA table_info(records)"))

    def _stream(self, query: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """Rows one at a time from the open cursor (SQLite steps through the result; nothing is loaded whole)."""
        yield from self._db.execute(query, params)

    def status(self) -> dict[str, Any]:
        """What ``scraper status`` shows: URLs by state, in flight, records, recent runs."""
        return status_report(self.counts(), {"this process": len(self._leased)} if self._leased else {},
                       int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0]),
                       self._db.execute("SELECT id, '', started_at, finished_at, stats FROM runs ORDER BY id DESC LIMIT 5").fetchall())


class _Transaction:
    """``with store.transaction():`` — one atomic step (BEGIN IMMEDIATE ... COMMIT)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
