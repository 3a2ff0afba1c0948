"""One crawl shared by many workers: the frontier and all crawl state in PostgreSQL.

Each ``scraper crawl --state postgresql://...`` process is a *worker*.  The
methods are those of the SQLite :class:`~scraper.store.state.StateStore`, so
the crawl engine does not know which one it drives; what differs is how work
is shared:

- **Leases.**  A worker takes a URL with ``SELECT ... FOR UPDATE SKIP LOCKED``
  and marks it ``leased`` until ``LEASE_TIMEOUT`` from now.  Finishing the page
  sets its final state in the same transaction as its record and links.  A
  worker that dies holds its leases only until they expire; then any worker
  takes them again.
- **Politeness across workers.**  A ``hosts`` row holds the host's next allowed
  start, in the database's clock, so the machines' clocks do not matter.  With a
  delay, taking a URL blocks the host until the page is finished, and finishing
  it sets the next allowed start to *now + delay*: two requests to one host are
  never closer than the delay, whichever workers send them (robots.txt requests
  included, since they happen inside the page's fetch).  Without a delay, the
  number of unexpired leases per host is held to ``CONCURRENT_REQUESTS_PER_DOMAIN``.
  The host row is locked while a URL is taken, so two workers never both see a
  free slot.  Hosts with nothing left are parked and woken by a sweep every few
  seconds (see :meth:`_maybe_sweep`).
- **Outputs.**  Every worker writes the records *it* stored to its own output
  files, in the order it stored them: the union of the workers' files is the
  crawl, each record once.  A worker is known by its name (``WORKER_NAME``,
  default ``HOST:OUTPUT-PATH``); one restarted under the same name first writes
  what it had stored but not yet written.  Two live workers cannot share a name
  (a session advisory lock; the second gets :class:`CrawlLockedError`).

Requires the ``postgres`` extra (psycopg 3).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from scraper.errors import CrawlLockedError, MissingExtraError, StateStoreError
from scraper.store.state_sql import STREAM_BATCH, URL_COLUMNS, SharedQueries, UrlState, pack_body, status_report

if TYPE_CHECKING:
    import psycopg

    from scraper.settings import Settings

__all__ = ["PostgresStateStore", "default_worker_name"]

_MIGRATION_LOCK = 727_001  # pg_advisory_xact_lock key: one worker migrates at a time

# Migrations: the schema at version N is migrations 1..N, applied in order, each in the
# same transaction as the version bump. Never edit a released one; append.
_MIGRATIONS: list[str] = [
    """
CREATE SEQUENCE url_seq;
CREATE SEQUENCE emit_seq;
CREATE TABLE hosts (
    host TEXT PRIMARY KEY,
    next_allowed_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity'   -- no start before this (database clock)
);
CREATE TABLE urls (
    url TEXT PRIMARY KEY,
    host TEXT NOT NULL REFERENCES hosts (host),
    depth INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'queued',      -- queued | leased | done | failed
    seq BIGINT NOT NULL DEFAULT nextval('url_seq'),
    next_fetch_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_fetched_at TEXT,
    http_status INTEGER,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    failure TEXT,
    failure_detail TEXT,
    fetch_count INTEGER NOT NULL DEFAULT 0,
    record_version INTEGER NOT NULL DEFAULT 0,
    leased_by TEXT,
    lease_until TIMESTAMPTZ
);
CREATE INDEX urls_host_queue ON urls (host, seq) WHERE state = 'queued';
CREATE INDEX urls_leased ON urls (host, lease_until) WHERE state = 'leased';
CREATE INDEX urls_due ON urls (state, next_fetch_at);
CREATE INDEX urls_depth ON urls (depth) WHERE depth = 0;
CREATE INDEX hosts_ready ON hosts (next_allowed_at);
CREATE TABLE responses (
    id BIGSERIAL,
    url TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    status INTEGER,
    final_url TEXT,
    headers TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE TABLE records (
    url TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    extractor TEXT NOT NULL,
    change TEXT NOT NULL,
    record TEXT NOT NULL,
    content_key TEXT NOT NULL,
    worker TEXT NOT NULL,
    emit_seq BIGINT NOT NULL DEFAULT nextval('emit_seq'),
    PRIMARY KEY (url, version)
);
CREATE INDEX records_worker ON records (worker, emit_seq);
CREATE TABLE outputs (
    worker TEXT NOT NULL,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    emitted_seq BIGINT NOT NULL DEFAULT 0,
    "offset" BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (worker, path)
);
CREATE TABLE runs (
    id BIGSERIAL PRIMARY KEY,
    worker TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    stats TEXT
);
""",
    # 2: which run stored each record version (scraper export --since RUN); NULL for versions stored before.
    """
ALTER TABLE records ADD COLUMN run_id BIGINT;
""",
]
SCHEMA_VERSION = len(_MIGRATIONS)



def default_worker_name(output: str | None) -> str:
    """``HOST:ABS-OUTPUT-PATH``: a worker restarted with the same output resumes it."""
    # stdout ("-") is no file to resume: each process is a worker of its own, as without an output.
    where = os.path.abspath(output) if output and output != "-" else f"p{os.getpid()}"
    return f"{socket.gethostname()}:{where}"


class PostgresStateStore(SharedQueries):
    """The shared state of a crawl run by several workers (see the module docstring)."""

    placeholder = "%s"
    response_key = "id"
    _release_columns = ", leased_by=NULL, lease_until=NULL"


    def __init__(self, dsn: str, *, settings: Settings | None = None, worker: str = "", lock: bool = True) -> None:
        from scraper.settings import Settings

        settings = settings or Settings()
        self.dsn = dsn
        self.worker = worker or default_worker_name(None)
        self.lease_timeout = settings.LEASE_TIMEOUT
        self.poll_interval = settings.STATE_POLL_INTERVAL
        """Seconds a worker waits when no host is ready but work remains (here or at other workers)."""
        self.prefetch = settings.STATE_PREFETCH
        self.per_host = settings.CONCURRENT_REQUESTS_PER_DOMAIN
        self.delayed = settings.DOWNLOAD_DELAY > 0
        self._lock_wanted = lock
        self._last_sweep = -1e9
        self._buffer: list[UrlState] = []
        self.db: psycopg.Connection[Any] | None = None
        self.run_id: int | None = None
        """The run this worker's writes belong to (set by :meth:`start_run`)."""

    # --- lifecycle ---------------------------------------------------------------------

    def open(self) -> PostgresStateStore:
        try:
            import psycopg
        except ImportError:
            raise MissingExtraError("a postgresql:// state needs psycopg: pip install 'qa-scraper[postgres]'") from None
        try:
            self.db = psycopg.connect(self.dsn, autocommit=True, application_name="scraper")
        except psycopg.OperationalError as exc:
            raise StateStoreError(f"cannot connect to the state database: {str(exc).strip()}") from None
        if self._lock_wanted:
            self._take_lock()
        self._migrate()
        return self

    def close(self) -> None:
        if self.db is not None:
            if self._buffer and not (self.db.closed or self.db.broken):
                try:  # hand back what was leased but not started; if this fails, the leases expire
                    self._db.execute(
                        "UPDATE urls SET state='queued', leased_by=NULL, lease_until=NULL WHERE url = ANY(%s) AND leased_by=%s",
                        ([e.url for e in self._buffer], self.worker),
                    )
                except Exception:  # noqa: BLE001 - closing must not hide the error that ended the crawl
                    pass
            self._buffer.clear()
            self.db.close()  # also ends the session's advisory lock
            self.db = None

    def __enter__(self) -> PostgresStateStore:
        return self if self.db is not None else self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take_lock(self) -> None:
        taken = self._db.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (self.worker,)).fetchone()
        if not (taken and taken[0]):
            raise CrawlLockedError(
                f"another worker named {self.worker!r} is running on this state; give this one another output "
                "path or WORKER_NAME (-s WORKER_NAME=...)"
            )

    def _migrate(self) -> None:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._apply_migrations(_MIGRATIONS, "the state database")

    @property
    def _db(self) -> psycopg.Connection[Any]:
        assert self.db is not None, "open the PostgresStateStore first"
        return self.db

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self._db.execute(self._sql(query), params or None)  # no params: no placeholder parsing
        return cursor.fetchall() if cursor.description is not None else []

    def _one(self, query: str, params: Any = None) -> Any:
        return self._db.execute(query, params).fetchone()

    def transaction(self) -> Any:
        return self._db.transaction()

    # --- frontier ----------------------------------------------------------------------

    def add_urls(self, urls: Iterable[tuple[str, str, int]]) -> int:
        """Queue (url, host, depth) entries not seen before; returns how many were new."""
        entries = list(urls)
        if not entries:
            return 0
        hosts = sorted({host for _, host, _ in entries})
        # One statement: new hosts first (sorted, so concurrent pages insert them in one order),
        # then the URLs in the order given (discovery order = seq order).
        cursor = self._db.execute(
            "WITH new_hosts AS (INSERT INTO hosts (host) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING) "
            "INSERT INTO urls (url, host, depth) "
            "SELECT u, h, d FROM unnest(%s::text[], %s::text[], %s::int[]) WITH ORDINALITY AS t(u, h, d, n) "
            "ORDER BY n ON CONFLICT (url) DO NOTHING",
            (hosts, [u for u, _, _ in entries], [h for _, h, _ in entries], [d for _, _, d in entries]),
        )
        return cursor.rowcount

    def requeue_due(self, now: float) -> int:
        """Put pages whose re-crawl time has come back in the frontier (incremental runs)."""
        cursor = self._db.execute(
            "UPDATE urls SET state='queued' WHERE state IN ('done', 'failed') AND next_fetch_at <= %s", (now,)
        )
        self._last_sweep = -1e9
        self._maybe_sweep(idle=True)  # wake the hosts of pages due again
        return cursor.rowcount

    def lease(self, limit: int) -> list[UrlState]:
        """Take up to ``limit`` URLs of one host that may be fetched now; [] when no host is ready."""
        if self._buffer:
            taken, self._buffer = self._buffer[:limit], self._buffer[limit:]
            return taken
        with self._db.transaction():
            self._maybe_sweep(idle=False)
            for _ in range(8):  # a few hosts may turn out full; then try the next one
                # LATERAL ... LIMIT 1: one index probe per ready host, in next-allowed order (an
                # EXISTS may be planned as a join over every queued URL instead).
                row = self._one(
                    "SELECT h.host FROM hosts h CROSS JOIN LATERAL (SELECT 1 FROM urls u "
                    "WHERE u.host = h.host AND u.state = 'queued' LIMIT 1) AS has_queued "
                    "WHERE h.next_allowed_at <= clock_timestamp() "
                    "ORDER BY h.next_allowed_at LIMIT 1 FOR UPDATE OF h SKIP LOCKED"
                )
                if row is None:
                    break
                rows = self._take(row[0], max(limit, self.prefetch))
                if rows:
                    rows.sort(key=lambda r: r[-1])
                    entries = [UrlState(*r[:-1]) for r in rows]
                    self._buffer = entries[limit:]
                    return entries[:limit]
        self._maybe_sweep(idle=True)
        return []

    def _take(self, host: str, limit: int) -> list[Any]:
        """Lease URLs of a host whose row this transaction holds; block the host when it is now full."""
        active = int(self._one("SELECT count(*) FROM urls WHERE host=%s AND state='leased'", (host,))[0])
        room = self.per_host - active
        if room > 0:
            take = 1 if self.delayed else min(limit, room)
            rows = self._db.execute(
                f"UPDATE urls SET state='leased', leased_by=%s, lease_until=clock_timestamp() + make_interval(secs => %s) "
                f"WHERE url IN (SELECT url FROM urls WHERE host=%s AND state='queued' ORDER BY seq LIMIT %s "
                f"FOR UPDATE SKIP LOCKED) RETURNING {URL_COLUMNS}, seq",
                (self.worker, self.lease_timeout, host, take),
            ).fetchall()
            active += len(rows)
        else:
            rows = []
        if self.delayed or active >= self.per_host:
            # Held until one of its pages finishes (release_host) or, if its worker died, its
            # earliest lease runs out.
            self._db.execute(
                "UPDATE hosts SET next_allowed_at = COALESCE((SELECT min(lease_until) FROM urls "
                "WHERE host=%s AND state='leased'), clock_timestamp()) WHERE host=%s",
                (host, host),
            )
        return rows

    def _maybe_sweep(self, *, idle: bool) -> None:
        """Housekeeping no single page does: run it every few seconds, or at once when idle.

        - expired leases (a dead worker's) go back to the queue;
        - hosts with nothing queued or leased are parked (``infinity``), so the
          search for a ready host does not walk every finished host again;
        - parked hosts that got URLs since (links found on other hosts, a re-crawl
          coming due) are woken up.  Adding URLs never writes host rows, so pages
          committing at once never wait on (or deadlock over) each other's hosts.
        """
        now = time.monotonic()
        if now - self._last_sweep < (1.0 if idle else 5.0):
            return
        self._last_sweep = now
        self._db.execute(
            "UPDATE urls SET state='queued', leased_by=NULL, lease_until=NULL "
            "WHERE state='leased' AND lease_until < clock_timestamp()"
        )
        self._db.execute(
            "UPDATE hosts SET next_allowed_at = 'infinity' WHERE host IN (SELECT host FROM hosts h "
            "WHERE next_allowed_at <= clock_timestamp() "
            "AND NOT EXISTS (SELECT 1 FROM urls u WHERE u.host = h.host AND u.state IN ('queued', 'leased')) "
            "FOR UPDATE SKIP LOCKED)"
        )
        self._db.execute(
            "UPDATE hosts SET next_allowed_at = clock_timestamp() WHERE host IN (SELECT host FROM hosts h "
            "WHERE next_allowed_at = 'infinity' "
            "AND EXISTS (SELECT 1 FROM urls u WHERE u.host = h.host AND u.state = 'queued') FOR UPDATE SKIP LOCKED)"
        )

    def release(self, url: str) -> None:
        """Give a leased URL back unfetched (this worker failed on it): due again at once."""
        with self._db.transaction():
            row = self._one(
                "UPDATE urls SET state='queued', leased_by=NULL, lease_until=NULL "
                "WHERE url=%s AND state='leased' AND leased_by=%s RETURNING host",
                (url, self.worker),
            )
            if row is not None:
                self._db.execute("UPDATE hosts SET next_allowed_at = clock_timestamp() WHERE host=%s", (row[0],))

    def release_host(self, host: str, wait: float) -> None:
        """A page of ``host`` is finished: no worker may start another on it for ``wait`` seconds.

        Called inside the page's transaction. ``wait`` is the delay (DOWNLOAD_DELAY or
        Crawl-delay) or a longer penalty this worker learnt (Retry-After, a bot wall).
        """
        # With no wait and the host not held, there is nothing to write: skipping it keeps the
        # host's row free for other workers' leases (a page commit would lock it until COMMIT).
        self._db.execute(
            "UPDATE hosts SET next_allowed_at = clock_timestamp() + make_interval(secs => %s) "
            "WHERE host=%s AND (%s > 0 OR next_allowed_at > clock_timestamp())",
            (max(wait, 0.0), host, wait),
        )

    def idle_wait(self) -> float:
        """Until the next host comes off its delay (from the database), at most 0.5 s.

        A polite crawl spends most of its time waiting on delays; without this, every
        idle task of every worker would ask the database 20 times a second.  A host that
        is ready already was only locked by another worker's lease: ask again soon.
        """
        row = self._one(
            "SELECT EXTRACT(EPOCH FROM min(greatest(next_allowed_at, 'epoch')) - clock_timestamp()) FROM hosts "
            "WHERE next_allowed_at <> 'infinity'"
        )
        if row is None or row[0] is None:
            return 0.5
        wait = float(row[0])
        return 0.01 if wait <= 0 else min(max(wait, 0.01), 0.5)

    def busy(self) -> bool:
        """Is anything queued or leased by any worker (whose pages may add links)?"""
        return bool(self._one(
            "SELECT EXISTS (SELECT 1 FROM urls WHERE state = 'queued') OR EXISTS (SELECT 1 FROM urls WHERE state = 'leased')"
        )[0])

    # --- results -----------------------------------------------------------------------

    def save_response(self, url: str, fetched_at: str, status: int | None, final_url: str | None, headers: dict[str, str], body: bytes,
                      *, packed: bytes | None = None) -> None:
        self._db.execute(
            "INSERT INTO responses (url, fetched_at, status, final_url, headers, body) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (url) DO UPDATE SET fetched_at=EXCLUDED.fetched_at, status=EXCLUDED.status, "
            "final_url=EXCLUDED.final_url, headers=EXCLUDED.headers, body=EXCLUDED.body",
            (url, fetched_at, status, final_url, json.dumps(headers), packed if packed is not None else pack_body(body)),
        )

    def add_record(self, url: str, *, extractor: str, change: str, record_json: str, content_key: str, created_at: str) -> int:
        """Store a new record version, queued for this worker's outputs; returns its version."""
        row = self._one(
            "WITH ins AS (INSERT INTO records (url, version, created_at, extractor, change, record, content_key, worker, run_id) "
            "SELECT %s, COALESCE(max(version), 0) + 1, %s, %s, %s, %s, %s, %s, %s FROM records WHERE url = %s RETURNING version) "
            "UPDATE urls SET record_version = ins.version FROM ins WHERE urls.url = %s RETURNING ins.version",
            (url, created_at, extractor, change, record_json, content_key, self.worker, self.run_id, url, url),
        )
        if row is None:  # a record for a URL the frontier does not hold (nothing to update there)
            latest = self.latest_record(url)
            assert latest is not None
            return latest[0]
        return int(row[0])

    # --- output bookkeeping ------------------------------------------------------------

    def output_position(self, path: str, fmt: str) -> tuple[int, int]:
        """(this worker's records emitted up to this emit_seq, file offset after them)."""
        row = self._one('SELECT emitted_seq, "offset" FROM outputs WHERE worker=%s AND path=%s', (self.worker, path))
        if row is None:
            start = int(self._one("SELECT COALESCE(MAX(emit_seq), 0) FROM records WHERE worker=%s", (self.worker,))[0])
            size = os.path.getsize(path) if fmt != "sqlite" and os.path.exists(path) else 0
            self._db.execute(
                'INSERT INTO outputs (worker, path, format, emitted_seq, "offset") VALUES (%s, %s, %s, %s, %s)',
                (self.worker, path, fmt, start, size),
            )
            return start, size
        return int(row[0]), int(row[1])

    def pending_records(self, path: str, after_seq: int) -> list[tuple[int, str, str, str]]:
        """(emit_seq, url, change, record JSON) this worker stored and has not written to ``path``."""
        rows = self._db.execute(
            "SELECT emit_seq, url, change, record FROM records WHERE worker=%s AND emit_seq > %s ORDER BY emit_seq",
            (self.worker, after_seq),
        ).fetchall()
        return [(int(seq), url, change, record) for seq, url, change, record in rows]

    def set_output_position(self, path: str, emitted_seq: int, offset: int) -> None:
        self._db.execute(
            'UPDATE outputs SET emitted_seq=%s, "offset"=%s WHERE worker=%s AND path=%s', (emitted_seq, offset, self.worker, path)
        )

    # --- runs and stats ----------------------------------------------------------------

    def start_run(self, started_at: str) -> int:
        """A new run of this worker; the record versions it stores from now on belong to it."""
        self.run_id = int(self._one("INSERT INTO runs (worker, started_at) VALUES (%s, %s) RETURNING id", (self.worker, started_at))[0])
        return self.run_id

    def _stream(self, query: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """Rows from a server-side cursor, ``STREAM_BATCH`` at a time: a plain cursor would fetch the whole result."""
        with self._db.transaction(), self._db.cursor(name=f"stream_{id(self):x}") as cursor:
            cursor.itersize = STREAM_BATCH
            cursor.execute(self._sql(query), params or None)
            yield from cursor

    def status(self) -> dict[str, Any]:
        """What ``scraper status`` shows: URLs by state, leases by worker, records, recent runs."""
        leases = {worker: int(n) for worker, n in self._db.execute(
            "SELECT leased_by, count(*) FROM urls WHERE state='leased' GROUP BY leased_by ORDER BY leased_by")}
        runs = self._db.execute("SELECT id, worker, started_at, finished_at, stats FROM runs ORDER BY id DESC LIMIT 10").fetchall()
        return status_report(self.counts(), leases, int(self._one("SELECT count(*) FROM records")[0]), runs)
