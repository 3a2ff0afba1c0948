"""``scraper extract --engine dask``: the command-line face of :func:`run_dask_extract`.

:func:`extract_with_dask` is called from the ``extract`` command in ``scraper/cli.py``;
it validates the options that make no sense for a partitioned run, runs it, prints
a line per finished input and a summary on stderr, and returns the exit code
(0 every input complete and every matched record extracted, 1 some input or record
failed).  Usage errors raise :class:`click.UsageError` (exit 2).  Dask is imported
only once the run starts.
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["extract_with_dask"]


def extract_with_dask(
    paths: tuple[str, ...] | list[str],
    output: str | None,
    *,
    url_pattern: str | None,
    site: str | None,
    scheduler: str | None,
    output_format: str | None,
    n_workers: int | None,
    url: str | None = None,
    pretty: bool = False,
    explain: bool = False,
    quiet: bool = False,
) -> int:
    from scraper.distributed.dask_extract import (
        DaskNotInstalled,
        ManifestMismatch,
        OutputBusy,
        run_dask_extract,
    )

    if not output:
        raise click.UsageError("--engine dask writes a directory of partitions: give it with -o DIR")
    for flag, given in (("--url", url), ("--pretty", pretty), ("--explain", explain)):
        if given:
            raise click.UsageError(f"{flag} is not available with --engine dask")
    if "-" in paths:
        raise click.UsageError("--engine dask reads files, not standard input")
    if n_workers is not None and n_workers < 1:
        raise click.UsageError("--workers must be at least 1")
    if scheduler and n_workers is not None:
        raise click.UsageError("--workers sizes the local cluster; with --scheduler the cluster's own workers are used")

    def progress(entry: dict[str, Any], done: int, total: int) -> None:
        counts = entry.get("counts") or {}
        if entry.get("status") != "complete":
            click.echo(f"scraper: {entry['input']}: {entry.get('error') or 'failed'}", err=True)
        elif not quiet:
            failed = sum((counts.get("failed") or {}).values())
            click.echo(f"scraper: [{done}/{total}] {entry['input']}: {counts.get('matched', 0)} of {counts.get('seen', 0)} "
                       f"records matched, {counts.get('extracted', 0)} extracted, {failed} failed", err=True)

    try:
        summary = run_dask_extract(
            list(paths), output, url_pattern=url_pattern, scheduler=scheduler, output_format=output_format or "jsonl",
            site=site, n_workers=n_workers or 2, on_progress=progress,
        )
    except DaskNotInstalled as exc:
        raise click.UsageError(str(exc)) from None
    except (ManifestMismatch, OutputBusy, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    for entry in _failed_before_run(summary):
        click.echo(f"scraper: {entry}", err=True)
    click.echo(_summary_line(summary), err=True)
    failed_records = sum(summary["failed_records"].values())
    return 1 if summary["failed"] or summary["pending"] or failed_records else 0


def _failed_before_run(summary: dict[str, Any]) -> list[str]:
    """Inputs marked failed while planning (no such file, a glob matching nothing): no task ran for them."""
    import json

    with open(summary["manifest"], encoding="utf-8") as fh:
        entries = json.load(fh)["inputs"]
    return [f"{e['input']}: {e.get('error')}" for e in entries if e.get("status") == "failed" and e.get("counts") is None
            and e.get("partition") is None]


def _summary_line(summary: dict[str, Any]) -> str:
    run = summary.get("run") or {}
    reasons = ", ".join(f"{name} {count}" for name, count in summary["failed_records"].items())
    failed_records = sum(summary["failed_records"].values())
    line = (
        f"scraper: {summary['inputs']} inputs ({run.get('finished', 0)} done now, {run.get('skipped', 0)} already complete, "
        f"{summary['failed']} failed): {summary['seen']} records seen, {summary['matched']} matched, "
        f"{summary['extracted']} extracted, {failed_records} failed"
    )
    if reasons:
        line += f" ({reasons})"
    if summary.get("damaged"):
        line += f", {summary['damaged']} damaged stretch{'es' * (summary['damaged'] != 1)}"
    return line + _archive_line(summary.get("archives") or {}) + f"; manifest {summary['manifest']}"


def _archive_line(archives: dict[str, Any]) -> str:
    """``; 5 archives, 87 records: 49 read (1 truncated), 38 skipped (20 request, ...)``, as ``scraper extract`` says it.

    Why: most records of a WARC are no page (requests, images, revisits), and the count
    by reason tells "skipped as expected" from "lost".  Nothing when no archive was read.
    """
    from collections import Counter

    from scraper.formats.warc import ArchiveStats

    inputs = int(archives.get("inputs") or 0)
    if not inputs:
        return ""
    stats = ArchiveStats(read=int(archives.get("read") or 0), truncated=int(archives.get("truncated") or 0),
                         skipped=Counter(archives.get("skipped") or {}))
    return f"; {inputs} archive{'s' * (inputs != 1)}, {stats.describe()}"
