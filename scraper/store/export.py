"""``scraper export``: the current version of every record in a crawl state, as one file.

A crawl's ``-o`` file holds what each run stored (every version, appended); the state
holds all of it.  Export is the way to the whole: the newest version of each URL's
record, in URL order, from SQLite or PostgreSQL state, with ``since_run`` only those a
given run or a later one stored.

Memory stays flat: rows come from the database cursor (a server-side cursor in
PostgreSQL) and go out in batches of :data:`EXPORT_BATCH` through the crawl's own
writers (:mod:`scraper.store.outputs`), so a CSV or SQLite export has the columns
and tables a crawl's output has.  The file is a snapshot, written as ``scraper
extract -o`` writes one (:class:`~scraper.store.textfile.AtomicTextFile`, or
:class:`~scraper.store.atomic.AtomicReplacement` for SQLite): a reader sees the old
file or the whole new one, never half.  Without an output the records go to stdout.
"""

from __future__ import annotations

import json
import os
import stat
from contextlib import closing
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from scraper.errors import ConfigError, OutputError, StateError
from scraper.store.atomic import AtomicReplacement
from scraper.store.outputs import CsvOutput, JsonLinesOutput, SqliteOutput, open_output
from scraper.store.state import CrawlState, open_state
from scraper.store.textfile import AtomicTextFile

__all__ = ["EXPORT_BATCH", "ExportSummary", "Snapshot", "export_records"]

EXPORT_BATCH = 200
"""Records handed to a writer at a time."""


@dataclass
class ExportSummary:
    records: int
    output: str
    """Where they went: a path, or ``stdout``."""
    format: str


class Snapshot:
    """Records written into a file whole, in batches, through the crawl's writers.

    JSON Lines and CSV go through :class:`~scraper.store.textfile.AtomicTextFile` (a
    temporary file renamed over the target at the end; stdout when ``output`` is None);
    SQLite into a fresh database beside the target, renamed over it.  Leaving the ``with``
    block by an exception leaves the target as it was.
    """

    def __init__(self, output: str | None, fmt: str | None) -> None:
        self.output = None if output == "-" else output
        self.format = _format(self.output, fmt)
        self.count = 0
        self._text: AtomicTextFile | None = None
        self._replacement: AtomicReplacement | None = None
        self._database: SqliteOutput | None = None
        self._writer = CsvOutput("-") if self.format == "csv" else JsonLinesOutput("-")  # its rendering only: opens nothing

    def __enter__(self) -> Snapshot:
        if self.format == "sqlite":
            assert self.output is not None
            self._replacement = _sqlite_replacement(self.output)
            self._database = SqliteOutput(self._replacement.path)
            try:
                self._database.prepare(0)
            except BaseException:
                self._database.close()
                self._replacement.discard()
                raise
        else:
            self._text = AtomicTextFile(self.output).__enter__()
        return self

    def write(self, records: list[dict[str, Any]]) -> None:
        if self._database is not None:
            if records:
                self._database.write(records)
        else:
            assert self._text is not None, "use Snapshot as a context manager"
            if records or self.count == 0:  # a CSV gets its header even with no records
                self._text.write(self._writer.render(records, at_start=self.count == 0))
        self.count += len(records)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._text is not None:
            if exc_type is None and self.count == 0:
                self.write([])
            self._text.__exit__(exc_type, exc, tb)
            return
        assert self._database is not None and self._replacement is not None
        self._database.close()
        if exc_type is None:
            try:
                self._replacement.commit()
            except OSError as err:
                raise OutputError(f"cannot write {self.output}: {err.strerror or err}") from err
        else:
            self._replacement.discard()

    @property
    def label(self) -> str:
        """Where the records go, for messages."""
        return self.output or "stdout"


def _format(output: str | None, fmt: str | None) -> str:
    """The format asked for, else the one the file's suffix names (as for a crawl's -o), else jsonl."""
    if output is None:
        if fmt == "sqlite":
            raise ConfigError("--format sqlite needs -o FILE (a database cannot be written to stdout)")
        return fmt or "jsonl"
    return open_output(output, fmt).format  # checks the format and a SQLite file name; opens nothing


def _sqlite_replacement(output: str) -> AtomicReplacement:
    """A temporary file to build a SQLite database in; only a regular file (or a new one) may be replaced by it."""
    try:
        mode: int | None = os.stat(output).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"cannot use {output} as SQLite output: {exc.strerror or exc}") from exc
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"cannot use {output} as SQLite output: it is not a regular file; give a file name")
    try:
        return AtomicReplacement(output, prefix=".scraper-", suffix=".db.tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc


def export_records(state: str, output: str | None = None, fmt: str | None = None, *,
                   since_run: int | None = None) -> ExportSummary:
    """Write the current version of every record in ``state`` to ``output`` (None or ``-``: stdout)."""
    snapshot = Snapshot(output, fmt)  # a bad format or output is refused before the state is opened
    store = open_state(state, lock=False, read_only=True)
    try:
        if since_run is not None:
            _check_since(store, state, since_run)
        # closing: the cursor (a transaction in PostgreSQL) ends before the store closes, also on a failed write.
        with snapshot, closing(store.current_records(since_run)) as records:
            batch: list[dict[str, Any]] = []
            for current in records:
                batch.append(json.loads(current.record_json))
                if len(batch) >= EXPORT_BATCH:
                    snapshot.write(batch)
                    batch = []
            snapshot.write(batch)
    finally:
        store.close()
    return ExportSummary(records=snapshot.count, output=snapshot.label, format=snapshot.format)


def _check_since(store: CrawlState, state: str, since_run: int) -> None:
    """--since needs a run the state holds, and run ids on records (states written before them lack them)."""
    if not store.records_have_run_ids():
        raise StateError(f"{state} was written before record versions kept their run (an older scraper): "
                         "run scraper crawl or scraper reextract on it once, or export without --since")
    runs = store.run_ids()
    if runs is None or not runs[0] <= since_run <= runs[1]:
        held = f"runs {runs[0]}-{runs[1]}" if runs else "no runs yet"
        raise ConfigError(f"--since {since_run}: {state} has no run {since_run} ({held}; scraper status lists them)")
