"""One input file -> one output partition: the unit of work of an archive-scale extraction.

:func:`process_input` is the task both engines run (one call per input file, on a Dask
worker or in this process).  It reads a web archive (WARC, WET or ARC, told by its
name or, whatever its name, by its first bytes, as ``scraper extract`` tells it) record
by record with :func:`scraper.formats.warc.iter_archive` (the URL pattern is applied on
the record headers, before a block is read, and so before any parsing), counts every
record read or skipped by reason (an :class:`~scraper.formats.warc.ArchiveStats`),
extracts every matching page record, streams the records into a temporary file beside
the partition and renames it into place only when the whole input has been read.  A task that dies half way leaves
at most a ``.tmp-*`` file, never a torn partition; running the task again simply
writes the partition again, so retries are safe.

It returns a small, JSON-ready dict of counts (never the records), so the client's
memory does not grow with the archive.

This module imports no Dask: it is plain Python, importable anywhere.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any, Protocol

from scraper._version import __version__
from scraper.errors import BinaryInputError, EmptyInputError, ExtractionError, NotAQAPageError
from scraper.fetch.result import FetchResult
from scraper.formats.warc import ArchiveStats, is_archive_path, iter_archive, looks_like_archive
from scraper.page import RawPage
from scraper.store.atomic import AtomicReplacement

__all__ = ["FORMATS", "MAX_ERROR_SAMPLES", "TMP_PREFIX", "partition_name", "process_input"]

FORMATS = ("jsonl", "parquet")
MAX_ERROR_SAMPLES = 20
"""How many failed records a partition's manifest entry names (the counts cover them all)."""
TMP_PREFIX = ".tmp-"
"""Temporary partitions start with this; a run removes leftovers of killed tasks."""
_PARQUET_BATCH = 512
_SUFFIX = {"jsonl": ".jsonl", "parquet": ".parquet"}


def partition_name(abspath: str, output_format: str) -> str:
    """The partition file (relative to the output directory) of an input, stable across runs."""
    import hashlib

    digest = hashlib.sha1(abspath.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(abspath))[:80] or "input"
    return f"parts/part-{digest}-{stem}{_SUFFIX[output_format]}"


# --- counting what the archive reader sees -------------------------------------------------------


_DAMAGE_REASONS = frozenset({"unreadable", "truncated_header"})
"""Skip reasons ``iter_archive`` counts together with a damage result (``<path>#offset=N``); every other
reason is a quiet skip, one that gives no result at all."""


def _quiet_skips(stats: ArchiveStats) -> int:
    return sum(n for reason, n in stats.skipped.items() if reason not in _DAMAGE_REASONS)


class _CountingPattern:
    """Stands in for the compiled URL regex that ``iter_archive`` searches each page record's URI with.

    ``iter_archive`` calls ``search`` once for every page record (response, conversion or
    resource, with a target URI, not already skipped by its header) after reading its
    record headers and before reading its block, so counting the calls counts the page
    records seen without reading any block twice.

    A matched record can still give no result: a response whose HTTP Content-Type turns
    out to be neither HTML nor plain text is skipped (``non_html``) once its block is
    read.  The reader counts that skip in ``stats``; :meth:`settle` sees it there and
    takes the record back out of ``seen`` and ``matched`` (it held no page), so it can
    neither stay pending, and have later damage blamed on it, nor be a matched record
    that ends neither extracted nor failed.
    """

    def __init__(self, pattern: re.Pattern[str] | None, stats: ArchiveStats) -> None:
        self._pattern = pattern
        self._stats = stats
        self.seen = 0
        self.matched = 0
        self.damaged = 0
        """Unreadable stretches of the file that no matched record accounts for."""
        self.pending_match = False
        """A matched record whose result has not come out of the reader yet."""
        self._quiet_at_match = 0

    def search(self, uri: str) -> object | None:
        self.settle()
        self.seen += 1
        found = True if self._pattern is None else self._pattern.search(uri)
        if found is not None:
            self.matched += 1
            self.pending_match = True
            self._quiet_at_match = _quiet_skips(self._stats)
        return found

    def settle(self) -> None:
        """Drop the pending match when the reader skipped that record after reading its block.

        Called before a result is looked at, before the next record is matched and at
        the end.  Between a match and its record's outcome the reader counts no other
        record, so a quiet skip counted since the match is that record's.
        """
        if self.pending_match and _quiet_skips(self._stats) > self._quiet_at_match:
            self.pending_match = False
            self.seen -= 1
            self.matched -= 1


def _failure_reason(exc: ExtractionError) -> str:
    if isinstance(exc, NotAQAPageError):
        return "not_a_qa_page"
    if isinstance(exc, EmptyInputError):
        return "empty_input"
    if isinstance(exc, BinaryInputError):
        return "binary_input"
    return "extraction_error"


# --- writers -------------------------------------------------------------------------------------


class _Writer(Protocol):
    def write(self, line: str) -> None: ...
    def close(self) -> None: ...


class _JsonLinesWriter:
    """Records as JSON Lines into the partition's temporary file (fsynced by the replacement's commit)."""

    def __init__(self, replacement: AtomicReplacement) -> None:
        self._fh = replacement.open_text()

    def write(self, line: str) -> None:
        self._fh.write(line)
        self._fh.write("\n")

    def close(self) -> None:
        self._fh.close()

    def abort(self) -> None:
        self._fh.close()


class _ParquetWriter:
    """Records in batches into a Parquet file; pyarrow writes through the replacement's binary file."""

    def __init__(self, replacement: AtomicReplacement) -> None:
        import pyarrow.parquet as pq

        from scraper.distributed.parquet_schema import record_schema

        self._schema = record_schema()
        self._fh: IO[bytes] = replacement.open_binary()
        self._writer = pq.ParquetWriter(self._fh, self._schema)
        self._rows: list[dict[str, Any]] = []

    def write(self, line: str) -> None:
        self._rows.append(json.loads(line))
        if len(self._rows) >= _PARQUET_BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
        self._rows = []

    def close(self) -> None:
        if self._rows:
            self._flush()
        self._writer.close()  # writes the footer; the file given to pyarrow stays open
        self._fh.close()

    def abort(self) -> None:
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - the file is being thrown away
            pass


def _open_writer(replacement: AtomicReplacement, output_format: str) -> _JsonLinesWriter | _ParquetWriter:
    if output_format == "jsonl":
        return _JsonLinesWriter(replacement)
    if output_format == "parquet":
        return _ParquetWriter(replacement)
    raise ValueError(f"unknown output format {output_format!r}; one of {', '.join(FORMATS)}")


# --- the task ------------------------------------------------------------------------------------


def _is_archive(abspath: str) -> bool:
    """A web archive by name, or by its first bytes whatever its name (as ``scraper extract`` decides)."""
    return is_archive_path(abspath) or (os.path.isfile(abspath) and looks_like_archive(abspath))


def _pages(path: str, abspath: str, counter: _CountingPattern,
           stats: ArchiveStats | None) -> Iterator[tuple[str, RawPage | None, str | None, str | None]]:
    """(url, raw page or None, failure reason or None, detail) per record of one input.

    ``stats`` is None for an input that is no archive (read as one page file); for an
    archive it is the one ``counter`` watches, and counts every record as it is read.
    """
    from scraper.fetch.files import read_file

    if stats is None:
        # A plain page file (.txt, .html, ...): one record, as `scraper extract FILE` reads it.
        read = read_file(abspath)
        if read.failure is not None:
            raise _InputFailed(read.detail or read.failure)
        counter.seen += 1
        counter.matched += 1
        yield path, RawPage(body=read.body, kind="file", path=path), None, None
        return

    damaged_prefix = f"{abspath}#offset="
    result: FetchResult
    for result in iter_archive(abspath, url_pattern=counter, stats=stats):  # type: ignore[arg-type]  # duck-typed pattern
        counter.settle()
        if result.failure is not None and result.url.startswith(damaged_prefix):
            # The reader could not read a stretch of the file (bad header, corrupt gzip member,
            # truncation).  When it happened inside a record that had matched, it is that record's
            # failure; otherwise it is damage no URL can be given for.
            if counter.pending_match:
                counter.pending_match = False
            else:
                counter.damaged += 1
            yield result.url.replace(abspath, path, 1), None, result.failure, result.detail
            continue
        counter.pending_match = False
        if result.failure is not None:
            yield result.url, None, result.failure, result.detail
            continue
        page = result.page(path=path)
        yield page.url or result.url, page, None, None
    counter.settle()


class _InputFailed(Exception):
    """The input as a whole could not be read (missing, unreadable, too large)."""


def process_input(
    path: str,
    out_dir: str,
    partition: str,
    *,
    label: str | None = None,
    url_pattern: str | None = None,
    site: str | None = None,
    output_format: str = "jsonl",
) -> dict[str, Any]:
    """Extract every matching record of one input file into ``out_dir/partition``, atomically.

    ``path`` is the file to open (the engines pass an absolute path: a worker must see
    the same file system as the client); ``label`` is the input as the user named it,
    recorded as ``source.path`` of each record (default: ``path``).  Returns ``{"status",
    "error", "counts", "errors", "seconds", "host", "pid", "extractor_version"}``:
    ``status`` is ``"complete"`` when the input was read to its end (damaged records are
    counted, not fatal) and ``"failed"`` when it could not be read at all.  Unexpected
    exceptions propagate, so the engine's retries apply.
    """
    from scraper.extract.api import extract_page

    started = time.monotonic()
    abspath = os.path.abspath(path)
    pattern = re.compile(url_pattern) if url_pattern else None
    stats = ArchiveStats() if _is_archive(abspath) else None
    counter = _CountingPattern(pattern, stats or ArchiveStats())
    extracted = 0
    failed: Counter[str] = Counter()
    errors: list[dict[str, str | None]] = []
    target = os.path.join(out_dir, partition)
    directory = os.path.dirname(target)
    os.makedirs(directory, exist_ok=True)
    replacement = AtomicReplacement(target, prefix=f"{TMP_PREFIX}{os.path.basename(target)}.", suffix="")
    writer = None
    try:
        writer = _open_writer(replacement, output_format)
        try:
            for url, raw, reason, detail in _pages(label or path, abspath, counter, stats):
                if raw is not None:
                    try:
                        record = extract_page(raw, site=site)
                    except ExtractionError as exc:
                        reason, detail = _failure_reason(exc), str(exc)
                    except Exception as exc:  # noqa: BLE001 - one page's bug must not sink the file
                        reason, detail = "extractor_crash", f"{type(exc).__name__}: {exc}"
                    else:
                        writer.write(record.model_dump_json())
                        extracted += 1
                        continue
                failed[reason or "failed"] += 1
                if len(errors) < MAX_ERROR_SAMPLES:
                    errors.append({"url": url, "reason": reason, "detail": detail})
        except (_InputFailed, OSError) as exc:
            writer.abort()
            writer = None
            message = str(exc) if isinstance(exc, _InputFailed) else (exc.strerror or str(exc))
            return _result("failed", counter, stats, extracted, failed, errors, started, error=message)
        writer.close()
        writer = None
        replacement.commit()
    finally:
        if writer is not None:
            writer.abort()
        replacement.discard()  # a no-op once committed
    return _result("complete", counter, stats, extracted, failed, errors, started)


def _archive_counts(stats: ArchiveStats | None) -> dict[str, Any] | None:
    """An archive's record counts as its manifest entry holds them (None for an input that is no archive)."""
    if stats is None:
        return None
    return {"records": stats.records, "read": stats.read, "truncated": stats.truncated,
            "skipped": dict(sorted(stats.skipped.items()))}


def _result(status: str, counter: _CountingPattern, stats: ArchiveStats | None, extracted: int, failed: Counter[str],
            errors: list[dict[str, str | None]], started: float, *, error: str | None = None) -> dict[str, Any]:
    return {
        "status": status,
        "error": error,
        "counts": {
            "seen": counter.seen,
            "matched": counter.matched,
            "damaged": counter.damaged,
            "extracted": extracted,
            "failed": dict(sorted(failed.items())),
            "archive": _archive_counts(stats),
        },
        "errors": errors,
        "seconds": round(time.monotonic() - started, 3),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "extractor_version": __version__,
    }
