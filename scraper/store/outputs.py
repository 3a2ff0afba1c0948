"""Crawl outputs: JSON Lines (default), CSV (one row per answer), SQLite (pages + answers).

Outputs only ever take records the state store already holds, in the store's
emit order, and report how far they got; the store remembers that position
(see ``scraper/store/state.py``).

What an output may do to a file it is given, by kind of target:

* **Regular file** (or a symlink to one: the file it points to).  Appended,
  flushed and fsynced before the position is committed.  On start the file must
  be exactly what this state wrote: bytes past the committed size are cut only
  when they are a prefix of what this state is about to write again (a crash
  between write and commit, possibly mid-line); anything else, or a file shorter
  than what this state wrote, is refused with :class:`OutputConflictError`, so
  no one else's data is ever deleted.  A missing file starts a new one.  A failed
  write (a full disk) cuts the file back to its last whole record before
  :class:`OutputWriteError` is raised, so a reader never sees half a line.
* **Stream** (character device such as ``/dev/null`` or a terminal, FIFO or pipe,
  ``-`` or ``/dev/stdout`` (the process's stdout), ``/dev/stderr``, ``/dev/fd/N``).  Written, never truncated,
  sought or fsynced; the offset just counts the bytes written.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol

from scraper.errors import ConfigError, OutputConflictError, OutputError, OutputWriteError

__all__ = ["FORMATS", "Output", "OutputConflictError", "OutputError", "OutputWriteError", "csv_cell", "open_output"]

_log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "sqlite")

CSV_COLUMNS = (
    "url", "site", "kind", "change", "version", "question_title", "answer_count", "answers_found",
    "answer_position", "answer_title", "answer_body", "author_name", "author_location", "author_specialty",
    "author_profile_url", "rating", "review_count", "votes", "answer_posted_at", "is_new_answer", "fetched_at",
)

# A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV Injection";
# NUL added as OWASP ASVS 1.2.10 lists it).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
_SQLITE_MIN, _SQLITE_MAX = -(2**63), 2**63 - 1
# Paths that name a descriptor this process already has: written through it, as a stream.
_INHERITED_FD = re.compile(r"^/(?:dev/fd|proc/self/fd)/(\d+)$")
_NAMED_FD = {"-": 1, "/dev/stdout": 1, "/dev/stderr": 2}
_SURROGATE = re.compile("[\ud800-\udfff]")


class Output(Protocol):
    path: str
    format: str

    def prepare(self, offset: int, pending: Sequence[dict[str, Any]] = ()) -> int:
        """Check the output against the committed position; returns the offset to continue from.

        ``pending`` are the records this state writes next: a file may only be cut back
        over bytes that are the start of them (its own write that was never committed).
        """

    def write(self, records: list[dict[str, Any]]) -> int:
        """Append records durably; returns the new offset."""

    def close(self) -> None: ...


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _inherited_fd(path: str) -> int | None:
    """The descriptor ``/dev/stdout`` and the like stand for: reopening them would lose the shell's offset."""
    if path in _NAMED_FD:
        return _NAMED_FD[path]
    match = _INHERITED_FD.match(path)
    return int(match.group(1)) if match else None


def _is_stream(path: str) -> bool:
    """True for targets that can only be written forward (devices, FIFOs, inherited descriptors)."""
    if _inherited_fd(path) is not None:
        return True
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a link is the file it points to
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OutputError(f"cannot use {path} as output: {_reason(exc)}") from exc
    if stat.S_ISDIR(mode):
        raise OutputError(f"cannot use {path} as output: it is a directory; give a file name")
    return not stat.S_ISREG(mode)


def _utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text``; a lone surrogate (not encodable) becomes U+FFFD rather than failing every flush."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is out: a write may be partial (a pipe, a nearly full disk)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _FileOutput:
    """An append-only text output whose committed size is the truth (see the module docstring)."""

    format = "jsonl"

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._stream = False
        self._offset = 0
        self._wrote = False  # anything written in this run (a stream's CSV header)

    def prepare(self, offset: int, pending: Sequence[dict[str, Any]] = ()) -> int:
        """Decide stream or file, check a file against ``offset`` (see :meth:`_reconcile`), open it."""
        self._stream = _is_stream(self.path)
        try:
            self._offset = offset if self._stream else self._reconcile(offset, pending)
        except OutputError:  # an OSError too: already says what is wrong
            raise
        except OSError as exc:  # e.g. no permission to read it back
            raise OutputError(f"cannot check output {self.path}: {_reason(exc)}; choose another -o") from exc
        self._fd = self._open()
        return self._offset

    def _reconcile(self, offset: int, pending: Sequence[dict[str, Any]]) -> int:
        """Make a regular file end where this state's records end, or refuse; returns the offset."""
        try:
            size = os.path.getsize(self.path)
        except FileNotFoundError:
            if offset:
                _log.warning("%s is gone (it had %d bytes from this state): starting a new file", self.path, offset)
            return 0
        if size < offset:
            raise OutputConflictError(
                f"output {self.path} has {size} bytes but this state wrote {offset}: it was truncated or replaced "
                f"since. Nothing was changed; write to a new -o file, or move {self.path} away (a new file is then "
                "started with the records from now on)"
            )
        if size > offset:
            self._cut_own_residue(offset, size, self._serialise(list(pending), offset == 0))
        if offset > 0:
            self._check_head(offset)
            offset = self._end_last_line(offset)
        return offset

    def _check_head(self, offset: int) -> None:
        """A format whose start matters (CSV's header) refuses a file that does not start as it writes one."""

    def _end_last_line(self, offset: int) -> int:
        """Records are appended after a newline: a file whose last line has none gets one (said on stderr).

        Why repair rather than refuse: a file edited by hand or written by ``printf`` often
        lacks it, and without it the first record appended would join that line, making
        both unreadable.  Adding the newline changes no byte already there.
        """
        with open(self.path, "rb") as handle:
            handle.seek(offset - 1)
            if handle.read(1) == b"\n":
                return offset
        with open(self.path, "ab") as handle:
            handle.write(b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        _log.warning("scraper: warning: %s did not end with a newline; one was added after its last line (byte %d) "
                     "so that the records appended start on a line of their own", self.path, offset)
        return offset + 1

    def _cut_own_residue(self, offset: int, size: int, expected: bytes) -> None:
        """Cut bytes past ``offset`` only if this state wrote them (a crash before commit); else refuse."""
        with open(self.path, "r+b") as handle:
            handle.seek(offset)
            extra = handle.read(len(expected) + 1)
            if len(extra) > len(expected) or not expected.startswith(extra):
                raise OutputConflictError(
                    f"output {self.path}: {size - offset} bytes this state did not write after byte {offset} "
                    "(another crawl, program or person added them). Nothing was deleted; write to a new -o file, "
                    f"or move {self.path} away (a new file is then started with the records from now on)"
                )
            handle.truncate(offset)
            handle.flush()
            os.fsync(handle.fileno())
        _log.info("%s: cut %d bytes of an unfinished write after byte %d; they are written again", self.path, size - offset, offset)

    def _open(self) -> int:
        """A raw descriptor: bytes are counted here, so nothing needs ``tell()`` (a pipe has none)."""
        inherited = _inherited_fd(self.path)
        try:
            if inherited is not None:
                return os.dup(inherited)
            flags = os.O_WRONLY | os.O_CLOEXEC
            return os.open(self.path, flags if self._stream else flags | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot open {self.path} for writing: {_reason(exc)}; choose another -o") from exc

    def _lines(self, records: list[dict[str, Any]], at_start: bool) -> str:
        return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)

    def render(self, records: list[dict[str, Any]], at_start: bool) -> str:
        """The text of ``records`` in this format, for writers that handle the file themselves
        (``scraper export``); ``at_start``: it begins the file, where a CSV puts its header."""
        return self._serialise(records, at_start).decode("utf-8")

    def _serialise(self, records: list[dict[str, Any]], at_start: bool) -> bytes:
        """The exact bytes a write of ``records`` puts in the file."""
        return _utf8(self._lines(records, at_start))

    def write(self, records: list[dict[str, Any]]) -> int:
        assert self._fd is not None, "prepare() first"
        at_start = not self._wrote if self._stream else self._offset == 0
        data = self._serialise(records, at_start)
        if data:
            if self._stream:
                self._write_stream(data)
            else:
                self._append(data)
            self._wrote = True
            self._offset += len(data)
        return self._offset

    def _append(self, data: bytes) -> None:
        """Append to a regular file and fsync; on failure, cut back so the file holds whole records only."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size != self._offset:
            raise OutputConflictError(
                f"output {self.path} changed during this crawl: {size} bytes where this state wrote {self._offset} "
                "(another program or crawl writes it). Nothing more was written; give each crawl its own -o file"
            )
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError as exc:
            self._cut_back(exc)

    def _cut_back(self, exc: OSError) -> NoReturn:
        assert self._fd is not None
        where = f"{self.path} (at byte {self._offset})"
        try:
            os.ftruncate(self._fd, self._offset)
        except OSError as again:
            raise OutputWriteError(
                f"cannot write to {where}: {_reason(exc)}, and cutting the partial record failed too ({_reason(again)}); "
                "the next run cuts it; fix the cause and run the same command again to resume"
            ) from exc
        raise OutputWriteError(
            f"cannot write to {where}: {_reason(exc)}. The file was cut back to its last whole record and the "
            "records not written stay in the state: fix the cause (free disk space) and run the same command again to resume"
        ) from exc

    def _write_stream(self, data: bytes) -> None:
        assert self._fd is not None
        try:
            _write_all(self._fd, data)
        except OSError as exc:
            raise OutputWriteError(
                f"cannot write to {self.path}: {_reason(exc)} (a reader may have got part of a record). The records "
                "not written stay in the state: run the same command again to write them"
            ) from exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class JsonLinesOutput(_FileOutput):
    format = "jsonl"


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP: prefix ``'``).

    Every ``str`` value starting with ``= + - @``, tab, CR or NUL gets a leading
    single quote, whatever the column (a text "-3" becomes "'-3").  Numbers from
    the record (``int``/``float``, e.g. votes of -3) are written as they are: a
    bare number is a value to a spreadsheet, not a formula, and quoting it would
    turn counts into text.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class CsvOutput(_FileOutput):
    """One row per answer; a page without answers still gets one row, so no page is lost.

    Text cells go through :func:`csv_cell`.  A row with a CR inside a cell is
    written with every text cell quoted: the csv module quotes only the
    characters of its line terminator ("\\n" here), and an unquoted CR splits the
    row for readers.
    """

    format = "csv"

    def _check_head(self, offset: int) -> None:
        """Appending rows under another header would file every value in the wrong column: refuse."""
        header = _utf8(self._lines([], at_start=True))
        with open(self.path, "rb") as handle:
            head = handle.read(len(header))
        if head != header:
            first = head.split(b"\n", 1)[0].decode("utf-8", "replace")
            shown = first if len(first) <= 80 else first[:77] + "..."
            raise OutputConflictError(
                f"output {self.path} is not a CSV file of this scraper (its first line is {shown!r}, not this "
                f"scraper's header {CSV_COLUMNS[0]},{CSV_COLUMNS[1]},...,{CSV_COLUMNS[-1]}): rows appended to it would "
                "fall under other columns. Nothing was written; write to a new -o file, or move it away"
            )

    def _lines(self, records: list[dict[str, Any]], at_start: bool) -> str:
        buffer = io.StringIO()
        plain = csv.writer(buffer, lineterminator="\n")
        quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        if at_start:
            plain.writerow(CSV_COLUMNS)
        for record in records:
            for row in csv_rows(record):
                cells = [csv_cell(row[c]) for c in CSV_COLUMNS]
                has_cr = any(isinstance(cell, str) and "\r" in cell for cell in cells)
                (quoted if has_cr else plain).writerow(cells)
        return buffer.getvalue()


def csv_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    crawl = record.get("crawl") or {}
    new = set(crawl.get("new_answers") or [])
    page = {
        "url": record.get("url"),
        "site": record.get("site"),
        "kind": record.get("kind"),
        "change": crawl.get("change"),
        "version": crawl.get("version"),
        "question_title": (record.get("question") or {}).get("title"),
        "answer_count": record.get("answer_count"),
        "answers_found": len(record.get("answers") or []),
        "fetched_at": (record.get("source") or {}).get("fetched_at"),
    }
    rows = []
    for answer in record.get("answers") or []:
        author = answer.get("author") or {}
        rows.append({
            **page,
            "answer_position": answer.get("position"),
            "answer_title": answer.get("title"),
            "answer_body": answer.get("body"),
            "author_name": author.get("name"),
            "author_location": author.get("location"),
            "author_specialty": author.get("specialty"),
            "author_profile_url": author.get("profile_url"),
            "rating": answer.get("rating"),
            "review_count": answer.get("review_count"),
            "votes": answer.get("votes"),
            "answer_posted_at": answer.get("posted_at"),
            "is_new_answer": answer.get("position") in new if crawl else None,
        })
    empty = dict.fromkeys(CSV_COLUMNS)
    return [{**empty, **row} for row in rows] or [{**empty, **page}]


def _sql_value(value: Any) -> Any:
    """A value SQLite can bind: ints beyond 64 bits become NULL, unencodable text is repaired.

    Why NULL, not text: the typed columns stay numeric (sums, comparisons), and
    the exact value is still in the row's ``record`` JSON.  Extraction bounds
    counts already (``scraper/extract/numbers.py``); this is the output's own guard.
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if _SQLITE_MIN <= value <= _SQLITE_MAX else None
    if isinstance(value, str):
        return _utf8(value).decode("utf-8")  # a lone surrogate cannot be bound: U+FFFD instead
    if isinstance(value, (dict, list)):
        return _sql_value(json.dumps(value, ensure_ascii=False))
    return value


# A record these raise for is skipped (and logged) so the others are still stored; an
# OperationalError (full disk, locked file) concerns every record and stops the write.
_RECORD_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError, sqlite3.DataError,
                  ValueError, TypeError, OverflowError)


class SqliteOutput:
    """``pages`` and ``answers`` tables; writes are idempotent (INSERT OR REPLACE), so no offset is needed.

    Integers outside SQLite's signed 64-bit range are stored as NULL (see
    :func:`_sql_value`); a record that still cannot be stored is skipped with a
    warning, so it never blocks the records after it.
    """

    format = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None

    def prepare(self, offset: int, pending: Sequence[dict[str, Any]] = ()) -> int:
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.executescript(
                """
                CREATE TABLE IF NOT EXISTS pages (
                    url TEXT NOT NULL, version INTEGER NOT NULL, change TEXT, site TEXT, kind TEXT,
                    title TEXT, body TEXT, answer_count INTEGER, answers_found INTEGER, truncated INTEGER,
                    fetched_at TEXT, record TEXT NOT NULL, PRIMARY KEY (url, version));
                CREATE TABLE IF NOT EXISTS answers (
                    url TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, title TEXT, body TEXT,
                    author_name TEXT, author_location TEXT, author_specialty TEXT, author_profile_url TEXT,
                    rating REAL, review_count INTEGER, votes INTEGER, posted_at TEXT, is_new INTEGER,
                    PRIMARY KEY (url, version, position));
                """
            )
        except sqlite3.Error as exc:
            raise OutputError(f"cannot use {self.path} as SQLite output: {exc}; choose another -o") from exc
        return 0

    def write(self, records: list[dict[str, Any]]) -> int:
        assert self.db is not None, "prepare() first"
        try:
            self.db.execute("BEGIN")
            for record in records:
                self._write_one(record)
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise OutputWriteError(
                f"cannot write to {self.path}: {exc}. Nothing of this batch was stored and the records stay in the "
                "state: fix the cause (free disk space) and run the same command again to resume"
            ) from exc
        return 0

    def _write_one(self, record: dict[str, Any]) -> None:
        """One record in its own savepoint: if it cannot be stored, only it is left out."""
        assert self.db is not None
        self.db.execute("SAVEPOINT record")
        try:
            self._insert(record)
        except _RECORD_ERRORS as exc:
            self.db.execute("ROLLBACK TO record")
            _log.warning("%s: record for %s not stored in SQLite (%s: %s); the others are",
                         self.path, record.get("url"), type(exc).__name__, exc)
        self.db.execute("RELEASE record")

    def _insert(self, record: dict[str, Any]) -> None:
        assert self.db is not None
        crawl = record.get("crawl") or {}
        version = crawl.get("version") or 1
        question = record.get("question") or {}
        page = (record.get("url"), version, crawl.get("change"), record.get("site"), record.get("kind"), question.get("title"),
                question.get("body"), record.get("answer_count"), len(record.get("answers") or []), int(bool(record.get("truncated"))),
                (record.get("source") or {}).get("fetched_at"), json.dumps(record, ensure_ascii=False))
        self.db.execute("INSERT OR REPLACE INTO pages VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [_sql_value(v) for v in page])
        new = set(crawl.get("new_answers") or [])
        for answer in record.get("answers") or []:
            author = answer.get("author") or {}
            row = (record.get("url"), version, answer.get("position"), answer.get("title"), answer.get("body"),
                   author.get("name"), author.get("location"), author.get("specialty"), author.get("profile_url"),
                   answer.get("rating"), answer.get("review_count"), answer.get("votes"), answer.get("posted_at"),
                   int(answer.get("position") in new))
            self.db.execute("INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [_sql_value(v) for v in row])

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def open_output(path: str, fmt: str | None = None) -> Output:
    """An output for ``path``; the format is given or guessed from the suffix (.csv, .db/.sqlite, else JSON Lines)."""
    if fmt is None:
        suffix = Path(path).suffix.lower()
        fmt = "csv" if suffix == ".csv" else "sqlite" if suffix in (".db", ".sqlite", ".sqlite3") else "jsonl"
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "sqlite" and _inherited_fd(path) is not None:
        raise ConfigError(f"a SQLite output needs a file name, not {path} (a database cannot be written to a stream)")
    makers: dict[str, Callable[[str], Output]] = {"jsonl": JsonLinesOutput, "csv": CsvOutput, "sqlite": SqliteOutput}
    return makers[fmt](path)
