"""``scraper.crawl`` / ``scraper.acrawl``: the crawl as a library, same options as the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from scraper.crawler.discovery import discover_seeds, sitemap_seeds
from scraper.crawler.engine import Crawler, CrawlStats
from scraper.crawler.state import is_postgres_url, open_state, state_error
from scraper.fetch.http import HttpFetcher
from scraper.models import PageRecord
from scraper.settings import Settings
from scraper.store.outputs import Output, open_output

__all__ = ["acrawl", "crawl", "read_url_file"]


def read_url_file(path: str | Path) -> list[str]:
    """URLs from a file, one a line; blank lines and ``#`` comments skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


async def acrawl(
    urls: Iterable[str] = (),
    *,
    state: str | Path = "crawl.db",
    output: str | Path | None = None,
    output_format: str | None = None,
    urls_file: str | Path | None = None,
    sitemaps: Iterable[str] = (),
    discover: str | None = None,
    search: str | None = None,
    site: str | None = None,
    warc_out: str | Path | None = None,
    settings: Settings | None = None,
    transport: Any = None,
    on_progress: Callable[[CrawlStats, int], None] | None = None,
    stats: list[CrawlStats] | None = None,
    **overrides: Any,
) -> AsyncIterator[PageRecord]:
    """Crawl from seeds, yielding each new or changed record as it is stored.

    Keyword settings use Scrapy's names (``DOWNLOAD_DELAY=0.2``). The state file
    makes runs resumable and incremental; ``output`` also writes every record to
    a file (JSON Lines, CSV or SQLite). ``state`` may be a ``postgresql://`` URL
    shared by several workers (each writes the records it stored). ``stats``, when given a list, receives the
    run's :class:`CrawlStats`.
    """
    settings = Settings.build(settings.model_dump() if settings else {}, overrides)
    seeds = list(urls) + (read_url_file(urls_file) if urls_file else [])
    outputs: list[Output] = [open_output(str(output), output_format)] if output else []
    warc = None
    if warc_out:
        from scraper.fetch.warc_writer import WarcWriter

        warc = WarcWriter(str(warc_out))
    worker = settings.WORKER_NAME
    if is_postgres_url(state) and not worker:
        from scraper.crawler.state_postgres import default_worker_name

        worker = default_worker_name(str(output) if output else None)
    store = open_state(state, settings, worker=worker)
    try:
        async with HttpFetcher(settings, transport=transport) as fetcher:
            for sitemap in sitemaps:
                seeds.extend(await sitemap_seeds(fetcher, sitemap, settings))
            if discover:
                seeds.extend(await discover_seeds(fetcher, discover, settings, query=search))
            crawler = Crawler(store, fetcher, settings, outputs, site=site, on_progress=on_progress, warc=warc)
            if stats is not None:
                stats.append(crawler.stats)
            crawler.add_seeds(seeds)
            async for record in crawler.run():
                yield record
    except Exception as exc:
        translated = state_error(exc)
        if translated is None:
            raise
        raise translated from exc
    finally:
        for out in outputs:
            out.close()
        if warc is not None:
            warc.close()
        store.close()


def crawl(urls: Iterable[str] = (), **options: Any) -> Iterator[PageRecord]:
    """The synchronous form of :func:`acrawl`: a generator of records."""
    agen = acrawl(urls, **options)
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                break
    finally:
        loop.run_until_complete(agen.aclose())
        loop.close()
