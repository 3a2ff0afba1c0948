"""``scraper crawl`` as a command: settings layers, progress, summary, schedule, signals."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import click

from scraper.crawler.api import acrawl, read_url_file
from scraper.crawler.engine import CrawlStats
from scraper.crawler.state import CrawlLockedError, is_postgres_url
from scraper.errors import ScraperError
from scraper.settings import Settings, SettingsError, parse_setting_assignments

__all__ = ["CrawlCommand", "format_summary"]


def format_summary(stats: dict[str, Any]) -> str:
    failed = ", ".join(f"{k} {v}" for k, v in sorted(stats["failed"].items())) or "none"
    return (
        f"scraper: crawl done in {stats['seconds']}s: {stats['pages_fetched']} pages fetched "
        f"({stats['not_modified']} not modified, {stats['unchanged']} unchanged), failed: {failed}; "
        f"records {stats['records_new']} new, {stats['records_changed']} changed, {stats['answers']} answers; "
        f"{stats['pages_per_second']} pages/s"
    )


class _Reporter:
    """A rich progress bar on a terminal, else a plain line every LOG_INTERVAL seconds."""

    def __init__(self, quiet: bool, interval: float) -> None:
        self.quiet = quiet
        self.interval = interval
        self.last = time.monotonic()
        self.progress: Any = None
        self.task: Any = None
        if not quiet and sys.stderr.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("[bold]crawl[/]"), BarColumn(), TextColumn("{task.completed} fetched, {task.fields[queued]} queued, "
                "{task.fields[records]} records"), TimeElapsedColumn(), transient=True,
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
    _stopping: bool = field(default=False, repr=False)

    @classmethod
    def from_cli(cls, *, urls: tuple[str, ...], urls_file: str | None, sitemaps: tuple[str, ...], discover: str | None,
                 search: str | None, include: tuple[str, ...], exclude: tuple[str, ...], max_pages: int | None,
                 depth: int | None, state: str, output: str | None, output_format: str | None,
                 assignments: tuple[str, ...], config: str | None, warc_out: str | None, site: str | None,
                 quiet: bool, verbose: bool) -> CrawlCommand:
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
        seeds = list(urls) + (read_url_file(urls_file) if urls_file else [])
        if not seeds and not sitemaps and not discover:
            from pathlib import Path

            if not is_postgres_url(state) and not Path(state).exists():
                raise click.UsageError("give seed URLs, --urls FILE, --sitemap URL or --discover SITE (or an existing --state to resume)")
        options = dict(urls=seeds, state=state, output=output, output_format=output_format, sitemaps=sitemaps,
                       discover=discover, search=search, site=site, warc_out=warc_out)
        return cls(options=options, settings=settings, quiet=quiet, verbose=verbose)

    async def _once(self) -> dict[str, Any]:
        reporter = _Reporter(self.quiet, self.settings.LOG_INTERVAL)
        collected: list[CrawlStats] = []
        try:
            async for record in acrawl(settings=self.settings, on_progress=reporter, stats=collected, **self.options):
                if self.verbose:
                    change = record.crawl.change if record.crawl else "new"
                    click.echo(f"scraper: {change} {record.url} ({len(record.answers)} answers)", err=True)
                if self._stopping:
                    break
        finally:
            reporter.close()
        return collected[0].as_dict() if collected else CrawlStats().as_dict()

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stopping:
            raise KeyboardInterrupt
        self._stopping = True
        click.echo("scraper: stopping after the pages in flight (again to stop now; the next run resumes)", err=True)

    def run(self, every: float | None = None) -> int:
        """Run once, or every ``every`` seconds until stopped; returns the exit code."""
        previous = signal.signal(signal.SIGTERM, self._on_signal)
        try:
            while True:
                started = time.monotonic()
                try:
                    stats = asyncio.run(self._once())
                except CrawlLockedError as exc:
                    click.echo(f"scraper: {exc}", err=True)
                    return 3
                except ScraperError as exc:
                    click.echo(f"scraper: {exc}", err=True)
                    return 1
                click.echo(format_summary(stats), err=True)
                if every is None or self._stopping:
                    return 0
                wait = max(0.0, every - (time.monotonic() - started))
                if not self.quiet:
                    click.echo(f"scraper: next crawl in {wait:.0f}s", err=True)
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and not self._stopping:
                    time.sleep(min(1.0, deadline - time.monotonic()))
                if self._stopping:
                    return 0
        except KeyboardInterrupt:
            click.echo("scraper: interrupted; run the same command again to resume", err=True)
            return 130
        finally:
            signal.signal(signal.SIGTERM, previous)
