"""Crawl outputs: JSON Lines (default), CSV (one row per answer), SQLite (pages + answers).

Outputs only ever take records the state store already holds, in the store's
emit order, and report how far they got; the store remembers that position.
File outputs are appended, flushed and fsynced before the position is
committed, and on start a file is cut back to its committed size, so a crash
never leaves half a line or a line twice (see ``scraper/crawler/state.py``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

__all__ = ["FORMATS", "Output", "open_output"]

FORMATS = ("jsonl", "csv", "sqlite")

CSV_COLUMNS = (
    "url", "site", "kind", "change", "version", "question_title", "answer_count", "answers_found",
    "answer_position", "answer_title", "answer_body", "author_name", "author_location", "author_specialty",
    "author_profile_url", "rating", "review_count", "votes", "answer_posted_at", "is_new_answer", "fetched_at",
)


class Output(Protocol):
    path: str
    format: str

    def prepare(self, offset: int) -> int:
        """Make the output consistent with the committed position; returns the offset to continue from."""

    def write(self, records: list[dict[str, Any]]) -> int:
        """Append records durably; returns the new offset."""

    def close(self) -> None: ...


class _FileOutput:
    """An append-only text file whose committed size is the truth."""

    format = "jsonl"

    def __init__(self, path: str) -> None:
        self.path = path
        self._handle: io.TextIOWrapper | None = None

    def prepare(self, offset: int) -> int:
        target = Path(self.path)
        size = target.stat().st_size if target.exists() else 0
        if size > offset:
            # Killed after writing but before the position was committed, or mid-line: cut back.
            with open(self.path, "r+b") as handle:
                handle.truncate(offset)
            size = offset
        self._handle = open(self.path, "a", encoding="utf-8", newline="")
        return size

    def _lines(self, records: list[dict[str, Any]], at_start: bool) -> str:
        return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)

    def write(self, records: list[dict[str, Any]]) -> int:
        assert self._handle is not None
        self._handle.write(self._lines(records, self._handle.tell() == 0))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return self._handle.tell()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class JsonLinesOutput(_FileOutput):
    format = "jsonl"


class CsvOutput(_FileOutput):
    """One row per answer; a page without answers still gets one row, so no page is lost."""

    format = "csv"

    def _lines(self, records: list[dict[str, Any]], at_start: bool) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if at_start:
            writer.writerow(CSV_COLUMNS)
        for record in records:
            for row in csv_rows(record):
                writer.writerow([row[c] for c in CSV_COLUMNS])
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


class SqliteOutput:
    """``pages`` and ``answers`` tables; writes are idempotent, so no offset is needed."""

    format = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None

    def prepare(self, offset: int) -> int:
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
        return 0

    def write(self, records: list[dict[str, Any]]) -> int:
        assert self.db is not None
        self.db.execute("BEGIN")
        for record in records:
            crawl = record.get("crawl") or {}
            version = crawl.get("version") or 1
            question = record.get("question") or {}
            self.db.execute(
                "INSERT OR REPLACE INTO pages VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.get("url"), version, crawl.get("change"), record.get("site"), record.get("kind"), question.get("title"),
                 question.get("body"), record.get("answer_count"), len(record.get("answers") or []), int(bool(record.get("truncated"))),
                 (record.get("source") or {}).get("fetched_at"), json.dumps(record, ensure_ascii=False)),
            )
            new = set(crawl.get("new_answers") or [])
            for answer in record.get("answers") or []:
                author = answer.get("author") or {}
                self.db.execute(
                    "INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (record.get("url"), version, answer.get("position"), answer.get("title"), answer.get("body"),
                     author.get("name"), author.get("location"), author.get("specialty"), author.get("profile_url"),
                     answer.get("rating"), answer.get("review_count"), answer.get("votes"), answer.get("posted_at"),
                     int(answer.get("position") in new)),
                )
        self.db.execute("COMMIT")
        return 0

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
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return {"jsonl": JsonLinesOutput, "csv": CsvOutput, "sqlite": SqliteOutput}[fmt](path)  # type: ignore[abstract]
