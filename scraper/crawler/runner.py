"""``scraper crawl`` as a command: settings layers, progress, summary, schedule, signals."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import click

from scraper.crawler.api import acrawl, check_seeds, read_url_file
from scraper.crawler.engine import CrawlStats
from scraper.errors import ScraperError, exit_code
from scraper.settings import Settings, SettingsError, parse_setting_assignments
from scraper.store.state import is_postgres_url

__all__ = ["EXIT_NOTHING_FETCHED", "EXIT_SOME_FAILED", "MIN_EVERY", "CrawlCommand", "crawl_exit_code", "format_summary",
           "output_label"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

EXIT_SOME_FAILED = 1
"""Some pages failed (each is counted by kind in the summary); others were fetched."""
EXIT_NOTHING_FETCHED = 4
"""Pages were tried and not one could be fetched: 404s only, a dead host, robots.txt unreachable."""
MIN_EVERY = 1.0
"""The shortest ``--every`` (seconds): below it a schedule is a busy loop, not a schedule."""
# Not a failure of the crawl: the page was never meant to be fetched (no request was made).
_POLICY_SKIPS = frozenset({"robots_disallowed"})


def crawl_exit_code(stats: dict[str, Any]) -> int:
    """0 when every page tried was fetched (or nothing was due), 1 when some failed, 4 when all did.

    A page refused by robots.txt is a skip, not a failure, unless nothing at all was
    fetched: then the crawl got nothing, which is what exit 4 says.
    """
    failed = {kind: n for kind, n in stats["failed"].items() if n}
    if stats["pages_fetched"] == 0:
        return EXIT_NOTHING_FETCHED if failed else 0
    return EXIT_SOME_FAILED if set(failed) - _POLICY_SKIPS else 0


def format_summary(stats: dict[str, Any]) -> str:
    failed = ", ".join(f"{k} {v}" for k, v in sorted(stats["failed"].items())) or "none"
    return (
        f"scraper: crawl {'stopped' if stats.get('outcome') == 'stopped' else 'done'} in {stats['seconds']}s: {stats['pages_fetched']} pages fetched "
        f"({stats['not_modified']} not modified, {stats['unchanged']} unchanged), failed: {failed}; "
        f"records {stats['records_new']} new, {stats['records_changed']} changed, {stats['answers']} answers; "
        f"{stats['pages_per_second']} pages/s"
        + (f"; {stats['links_capped']} pages had more links than MAX_LINKS_PER_PAGE" if stats.get("links_capped") else "")
        + _written(stats)
        + (_NOTHING_DUE if stats["pages_fetched"] == 0 and not stats["failed"] and stats.get("outcome") != "stopped" else "")
    )


_NOTHING_DUE = ("; nothing was due (a page is fetched again RECRAWL_INTERVAL after its last fetch; "
                "--refetch fetches every page now)")


def output_label(path: str) -> str:
    """How an output is named in messages: ``-`` is stdout."""
    return "stdout" if path == "-" else path


def _written(stats: dict[str, Any]) -> str:
    """``; wrote 6 records to out.jsonl (2 stored before this run: ...)`` for each output."""
    parts = []
    for path, n in sorted(stats.get("written", {}).items()):
        earlier = stats.get("written_earlier", {}).get(path, 0)
        part = f"wrote {n} record{'s' * (n != 1)} to {output_label(path)}"
        if earlier:
            part += (f" ({earlier} of them stored before this run: new versions from scraper reextract, "
                     "or records of a run stopped before writing them)")
        parts.append(part)
    return "".join(f"; {part}" for part in parts)


class _Reporter:
    """A rich progress bar on a terminal, else a plain line every LOG_INTERVAL seconds."""

    def __init__(self, quiet: bool, interval: float) -> None:
        self.quiet = quiet
        self.interval = interval
        self.last = time.monotonic()
        self.progress: Any = None
        self.task: Any = None
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(  # on stderr: stdout may be carrying the records
                TextColumn("[bold]crawl[/]"), BarColumn(), TextColumn("{task.completed} fetched, {task.fields[queued]} queued, "
                "{task.fields[records]} records"), TimeElapsedColumn(), transient=True,
                console=Console(stderr=True),
            )
            self.progress.start()
            self.task = self.progress.add_task("crawl", total=None, queued=0, records=0)

    def __call__(self, stats: CrawlStats, queued: int) -> None:
        if self.quiet:
            return
        done = stats.fetched + sum(stats.failed.values())
        if self.progress is not None:
            self.progress.update(self.task, completed=done, total=done + queued, queued=queued,
                                 records=stats.records_new + stats.records_changed)
        elif time.monotonic() - self.last >= self.interval:
            self.last = time.monotonic()
            click.echo(f"scraper: {done} fetched, {queued} queued, {stats.records_new + stats.records_changed} records, "
                       f"{sum(stats.failed.values())} failed", err=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@dataclass
class CrawlCommand:
    options: dict[str, Any]
    settings: Settings
    quiet: bool = False
    verbose: bool = False
    _stopped_by: int | None = field(default=None, repr=False)  # the signal that stopped the crawl

    @classmethod
    def from_cli(cls, *, urls: tuple[str, ...], urls_file: str | None, sitemaps: tuple[str, ...], discover: str | None,
                 search: str | None, include: tuple[str, ...], exclude: tuple[str, ...], max_pages: int | None,
                 depth: int | None, state: str, output: str | None, output_format: str | None,
                 assignments: tuple[str, ...], config: str | None, warc_out: str | None, site: str | None,
                 quiet: bool, verbose: bool, refetch: bool = False) -> CrawlCommand:
        flags: dict[str, Any] = {}
        if include:
            flags["INCLUDE"] = list(include)
        if exclude:
            flags["EXCLUDE"] = list(exclude)
        if max_pages is not None:
            flags["CLOSESPIDER_PAGECOUNT"] = max_pages
        if depth is not None:
            flags["DEPTH_LIMIT"] = depth
        try:
            settings = Settings.build(Settings.from_file(config) if config else {}, parse_setting_assignments(assignments), flags)
        except SettingsError as exc:
            raise click.UsageError(str(exc)) from None
        seeds = check_seeds(urls) + (check_seeds(read_url_file(urls_file), urls_file) if urls_file else [])
        if not seeds and not sitemaps and not discover:
            from pathlib import Path

            if not is_postgres_url(state) and not Path(state).exists():
                raise click.UsageError("give seed URLs, --urls FILE, --sitemap URL or --discover SITE (or an existing --state to resume)")
        if output is None:  # records always go somewhere a user can reach: stdout, as scraper extract does
            if output_format == "sqlite":
                raise click.UsageError("--format sqlite needs -o FILE (a database cannot be written to stdout)")
            output = "-"
        options = {"urls": seeds, "state": state, "output": output, "output_format": output_format, "sitemaps": sitemaps,
                   "discover": discover, "search": search, "site": site, "warc_out": warc_out, "refetch": refetch}
        return cls(options=options, settings=settings, quiet=quiet, verbose=verbose)

    async def _once(self) -> dict[str, Any]:
        if self._stopped_by is not None:  # a signal came while the run was being set up
            return self._no_run_stats()
        reporter = _Reporter(self.quiet, self.settings.LOG_INTERVAL)
        collected: list[CrawlStats] = []
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for signum in _STOP_SIGNALS:
            loop.add_signal_handler(signum, self._on_loop_signal, signum, task)
        try:
            async with aclosing(acrawl(settings=self.settings, on_progress=reporter, stats=collected, **self.options)) as records:
                async for record in records:
                    if self.verbose:
                        change = record.crawl.change if record.crawl else "new"
                        click.echo(f"scraper: {change} {record.url} ({len(record.answers)} answers)", err=True)
        except asyncio.CancelledError:
            if self._stopped_by is None:
                raise
        finally:
            for signum in _STOP_SIGNALS:
                loop.remove_signal_handler(signum)
            reporter.close()
        return collected[0].as_dict() if collected else self._no_run_stats()

    def _no_run_stats(self) -> dict[str, Any]:
        """The summary of a run that never got to crawling (stopped before its crawler existed)."""
        return CrawlStats(outcome="stopped" if self._stopped_by is not None else "running").as_dict()

    def _on_loop_signal(self, signum: int, task: asyncio.Task[Any]) -> None:
        """First signal: cancel the crawl task, whose cleanup flushes and marks the run stopped."""
        if self._stopped_by is not None:
            raise KeyboardInterrupt  # second signal: stop now (the state is safe; the next run resumes)
        self._stopped_by = signum
        click.echo(f"scraper: {signal.Signals(signum).name}: stopping; pages in flight go back to the queue "
                   "(again to stop at once; the next run resumes)", err=True)
        task.cancel()

    def _on_signal(self, signum: int, frame: Any) -> None:
        """Outside a crawl (setting up, or waiting for the next scheduled run)."""
        if self._stopped_by is not None:
            raise KeyboardInterrupt
        self._stopped_by = signum

    def _stopped(self) -> bool:
        """Whether a signal has asked to stop (a method: the handler sets it between two reads)."""
        return self._stopped_by is not None

    def _exit_code_for_stop(self) -> int:
        return 128 + int(self._stopped_by or signal.SIGTERM)

    def run(self, every: float | None = None) -> int:
        """Run once, or every ``every`` seconds until stopped; returns the exit code.

        A stop by SIGTERM exits 143 and by SIGINT 130 (128 + the signal number, as a
        shell reports a process killed by it), after the summary of the stopped run.
        """
        previous = {signum: signal.signal(signum, self._on_signal) for signum in _STOP_SIGNALS}
        try:
            while True:
                started = time.monotonic()
                try:
                    stats = asyncio.run(self._once())
                except ScraperError as exc:
                    click.echo(f"scraper: {exc}", err=True)
                    return exit_code(exc)
                for signum in _STOP_SIGNALS:  # asyncio put the default handlers back
                    signal.signal(signum, self._on_signal)
                click.echo(format_summary(stats), err=True)
                if self._stopped_by is not None:
                    click.echo("scraper: stopped; run the same command again to resume", err=True)
                    return self._exit_code_for_stop()
                code = crawl_exit_code(stats)
                if code == EXIT_NOTHING_FETCHED:
                    failed = ", ".join(f"{k} {v}" for k, v in sorted(stats["failed"].items()))
                    click.echo(f"scraper: no page could be fetched ({failed}); check the seed URLs and that the site "
                               "answers", err=True)
                if every is None:
                    return code
                wait = max(0.0, every - (time.monotonic() - started))
                if not self.quiet:
                    click.echo(f"scraper: next crawl in {wait:.0f}s", err=True)
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and not self._stopped():
                    time.sleep(min(1.0, deadline - time.monotonic()))
                if self._stopped():
                    click.echo("scraper: stopped between scheduled runs", err=True)
                    return self._exit_code_for_stop()
        except KeyboardInterrupt:
            click.echo("scraper: interrupted; run the same command again to resume", err=True)
            return 130
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
