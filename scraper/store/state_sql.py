"""What the two crawl state stores share: the queries they run word for word, and how responses are kept.

SQLite (``state.py``) and PostgreSQL (``state_postgres.py``) differ where the
databases really do: leases (an in-memory set for one process against
``SKIP LOCKED`` rows for many workers), upserts, sequences, and per-worker
outputs.  Everything else is written once here, in SQLite's ``?`` placeholder
style; :class:`SharedQueries` turns it into the backend's own.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from scraper.errors import StateError

__all__ = ["RESPONSE_BATCH", "STREAM_BATCH", "URL_COLUMNS", "CurrentRecord", "SharedQueries", "StoredResponse", "UrlState",
           "pack_body", "status_report", "unpack_body"]

URL_COLUMNS = "url, host, depth, state, etag, last_modified, content_hash, record_version, fetch_count"
"""The columns of a :class:`UrlState`, in its field order."""
RESPONSE_BATCH = 100
"""Stored responses read at a time by ``responses()``: bodies can be megabytes each."""
STREAM_BATCH = 500
"""Rows a PostgreSQL server-side cursor hands over at a time (records are a few KB each)."""
_ZLIB_LEVEL = 1
"""One level for both stores.  Measured on the 21 saved HTML pages in tests/fixtures/html
(400 KB on average): level 1 takes 2.2 ms a page and keeps 16% of the bytes, level 6
takes 6.2 ms for 12%.  Compression runs on the crawl's event loop, so speed wins."""


@dataclass
class UrlState:
    url: str
    host: str
    depth: int
    state: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    record_version: int
    fetch_count: int


@dataclass
class StoredResponse:
    url: str
    fetched_at: str
    status: int | None
    final_url: str | None
    headers: dict[str, str]
    body: bytes


@dataclass
class CurrentRecord:
    """The newest version of one URL's record, as ``scraper export`` writes it."""

    url: str
    version: int
    run_id: int | None
    record_json: str


def pack_body(body: bytes) -> bytes:
    """A raw response body as both stores keep it (zlib; see ``_ZLIB_LEVEL``)."""
    return zlib.compress(body, _ZLIB_LEVEL)


def unpack_body(stored: bytes) -> bytes:
    return zlib.decompress(stored)


class SharedQueries:
    """Queries both stores run unchanged; a backend provides :meth:`_rows` and its placeholder."""

    placeholder = "?"
    response_key = "rowid"
    """The column that orders stored responses (SQLite's rowid, PostgreSQL's id)."""

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        return query if self.placeholder == "?" else query.replace("?", self.placeholder)

    def _first(self, query: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(query, params)
        return rows[0] if rows else None

    def _apply_migrations(self, migrations: Sequence[str], where: str) -> None:
        """Bring the schema up to ``len(migrations)``, inside the caller's transaction.

        Each migration is a script of statements split on ``;`` (none of ours holds one
        inside a string); the version reached is recorded in ``meta``.  A state written by
        a newer scraper is refused rather than half-understood.
        """
        self._rows("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        found = self._first("SELECT value FROM meta WHERE key='schema_version'")
        version = int(found[0]) if found else 0
        if version > len(migrations):
            raise StateError(f"{where} was written by a newer scraper (state schema {version}); upgrade scraper")
        for script in migrations[version:]:
            for statement in script.split(";"):
                if statement.strip():
                    self._rows(statement)
        self._rows("DELETE FROM meta WHERE key='schema_version'")
        self._rows("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(len(migrations)),))

    def schema_version(self) -> int:
        return int(self._first("SELECT value FROM meta WHERE key='schema_version'")[0])

    def seed_hosts(self) -> set[str]:
        return {row[0] for row in self._rows("SELECT DISTINCT host FROM urls WHERE depth=0")}

    def queued_count(self) -> int:
        return int(self._first("SELECT COUNT(*) FROM urls WHERE state='queued'")[0])

    def get(self, url: str) -> UrlState | None:
        row = self._first(f"SELECT {URL_COLUMNS} FROM urls WHERE url=?", (url,))
        return UrlState(*row) if row else None

    def responses(self) -> Iterator[StoredResponse]:
        """Every stored response, read in batches: memory stays flat, and no cursor stays open
        between batches, so the caller may write on the same connection (reextract does)."""
        last = 0
        key = self.response_key
        while True:
            rows = self._rows(f"SELECT {key}, url, fetched_at, status, final_url, headers, body FROM responses "
                              f"WHERE {key} > ? ORDER BY {key} LIMIT ?", (last, RESPONSE_BATCH))
            for last, url, fetched_at, status, final_url, headers, body in rows:  # noqa: B007 - the next batch starts after it
                yield StoredResponse(url, fetched_at, status, final_url, json.loads(headers), unpack_body(body))
            if len(rows) < RESPONSE_BATCH:
                return

    def _stream(self, query: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """Rows of a query one at a time, never the whole result in memory (each backend has its way)."""
        raise NotImplementedError

    def current_records(self, since_run: int | None = None) -> Generator[CurrentRecord, None, None]:
        """The newest version of every URL's record, by URL; with ``since_run``, only those stored
        by that run or a later one.  Streamed from the database cursor: memory stays flat.

        Versions stored before runs were recorded (state schema 1-2 in SQLite, 1 in
        PostgreSQL) have no run, so ``since_run`` leaves them out.
        """
        run_column = "r.run_id" if self.records_have_run_ids() else "NULL"
        query = (f"SELECT r.url, r.version, {run_column}, r.record FROM records r "
                 "WHERE r.version = (SELECT MAX(m.version) FROM records m WHERE m.url = r.url)")
        params: tuple[Any, ...] = ()
        if since_run is not None:
            if run_column == "NULL":
                return
            query += " AND r.run_id >= ?"
            params = (since_run,)
        for url, version, run_id, record in self._stream(query + " ORDER BY r.url", params):
            yield CurrentRecord(url, int(version), int(run_id) if run_id is not None else None, record)

    def records_have_run_ids(self) -> bool:
        """Whether record versions say which run stored them (a state opened read-only may predate that)."""
        return True

    def run_ids(self) -> tuple[int, int] | None:
        """(first, last) run id the state holds, or None before any run."""
        row = self._first("SELECT MIN(id), MAX(id) FROM runs")
        return (int(row[0]), int(row[1])) if row and row[0] is not None else None

    def latest_record(self, url: str) -> tuple[int, str, str] | None:
        """(version, record JSON, content key) of the URL's newest record."""
        row = self._first("SELECT version, record, content_key FROM records WHERE url=? ORDER BY version DESC LIMIT 1", (url,))
        return (int(row[0]), row[1], row[2]) if row else None

    _release_columns = ""
    """Extra assignments when a URL is marked fetched (PostgreSQL clears the row's lease)."""

    def _forget_lease(self, url: str) -> None:
        """A backend that keeps leases outside the row lets go of this URL's here."""

    def mark_fetched(
        self,
        url: str,
        *,
        state: str,
        next_fetch_at: float,
        fetched_at: str | None,
        http_status: int | None,
        etag: str | None = None,
        last_modified: str | None = None,
        content_hash: str | None = None,
        failure: str | None = None,
        detail: str | None = None,
    ) -> None:
        """A URL's fetch is over: its state, when it is due again, and what the response said.
        Validators and the content hash keep their old values when this fetch gave none."""
        self._forget_lease(url)
        self._rows(
            "UPDATE urls SET state=?, next_fetch_at=?, last_fetched_at=COALESCE(?, last_fetched_at), http_status=?, "
            "etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified), content_hash=COALESCE(?, content_hash), "
            f"failure=?, failure_detail=?, fetch_count=fetch_count+1{self._release_columns} WHERE url=?",
            (state, next_fetch_at, fetched_at, http_status, etag, last_modified, content_hash, failure, detail, url),
        )

    def finish_run(self, run_id: int, finished_at: str, stats: dict[str, Any]) -> None:
        self._rows("UPDATE runs SET finished_at=?, stats=? WHERE id=?", (finished_at, json.dumps(stats), run_id))

    def counts(self) -> dict[str, int]:
        return {state: int(n) for state, n in self._rows("SELECT state, COUNT(*) FROM urls GROUP BY state")}


def status_report(counts: dict[str, int], leases: dict[str, int], records: int, runs: list[Any]) -> dict[str, Any]:
    """What ``scraper status`` shows, from either store."""
    return {
        "urls": counts,
        "leases": leases,
        "records": records,
        "runs": [_run_row(int(run_id), worker, started, finished, stats) for run_id, worker, started, finished, stats in runs],
    }


def _run_row(run_id: int, worker: str, started: str, finished: str | None, stats: str | None) -> dict[str, Any]:
    data = json.loads(stats) if stats else {}
    # Runs stored before outcomes were recorded ended normally if they have stats at all.
    outcome = data.get("outcome", "finished") if finished else None
    return {"id": run_id, "command": data.get("command", "crawl"), "worker": worker, "started_at": started,
            "finished_at": finished, "pages_fetched": data.get("pages_fetched"), "outcome": outcome,
            "records_stored": _stored(data)}


def _stored(stats: dict[str, Any]) -> int | None:
    """Record versions a run stored (a crawl's new + changed, a reextract's changed); None for old runs."""
    if "records_new" in stats:
        return int(stats["records_new"]) + int(stats.get("records_changed", 0))
    if "changed" in stats:
        return int(stats["changed"])
    return None
