"""``scraper.crawl`` / ``scraper.acrawl``: the crawl as a library, same options as the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from contextlib import aclosing, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scraper.crawler.discovery import discovery_source, sitemap_pages
from scraper.crawler.engine import Crawler, CrawlStats
from scraper.errors import InputError, InvalidSeedError
from scraper.fetch.http import HttpFetcher
from scraper.fetch.urls import normalize_url
from scraper.models import PageRecord
from scraper.settings import Settings
from scraper.store.outputs import Output, open_output
from scraper.store.state import is_postgres_url, open_state, state_error

__all__ = ["acrawl", "check_seeds", "crawl", "read_url_file"]

_SHOWN_BAD_SEEDS = 5


def read_url_file(path: str | Path) -> list[str]:
    """URLs from a file, one a line; blank lines and ``#`` comments skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text file (byte {exc.start}); give one URL a line in UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the URL file ({exc.strerror or exc})") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _seed_problem(url: str) -> str | None:
    """Why ``url`` cannot be a crawl's seed, or None when it can."""
    if normalize_url(url) is not None:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "not a URL that can be parsed"
    if not parts.scheme or not parts.netloc:
        return "not an absolute URL"
    if parts.scheme.lower() not in ("http", "https"):
        return f"{parts.scheme}: URLs are not crawled, only http and https"
    return "not a valid http(s) URL (its host or port)"


def check_seeds(urls: Iterable[str], where: str = "") -> list[str]:
    """The seeds as given, or :class:`InvalidSeedError` naming every one that cannot be crawled.

    ``where`` says where they came from (a ``--urls`` file), for the message.
    """
    seeds = list(urls)
    bad = [(url, problem) for url in seeds if (problem := _seed_problem(url)) is not None]
    if bad:
        shown = "; ".join(f"{url!r}: {problem}" for url, problem in bad[:_SHOWN_BAD_SEEDS])
        more = f" (and {len(bad) - _SHOWN_BAD_SEEDS} more)" if len(bad) > _SHOWN_BAD_SEEDS else ""
        source = f" in {where}" if where else ""
        raise InvalidSeedError(f"{len(bad)} seed URL{'s' * (len(bad) != 1)}{source} cannot be crawled: {shown}{more}; "
                               "give absolute http:// or https:// URLs (nothing was fetched)")
    return seeds


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
    refetch: bool = False,
    settings: Settings | None = None,
    transport: Any = None,
    on_progress: Callable[[CrawlStats, int], None] | None = None,
    stats: list[CrawlStats] | None = None,
    **overrides: Any,
) -> AsyncGenerator[PageRecord, None]:
    """Crawl from seeds, yielding each new or changed record as it is stored.

    Keyword settings use Scrapy's names (``DOWNLOAD_DELAY=0.2``). The state file
    makes runs resumable and incremental; ``output`` also writes every record to
    a file (JSON Lines, CSV or SQLite). ``state`` may be a ``postgresql://`` URL
    shared by several workers (each writes the records it stored). ``refetch`` makes every
    page already in the state due now (else a page waits RECRAWL_INTERVAL after its last
    fetch, the interval in force when it was fetched). ``stats``, when given a list, receives the
    run's :class:`CrawlStats`.
    """
    settings = Settings.build(settings.model_dump() if settings else {}, overrides)
    seeds = check_seeds(urls) + (check_seeds(read_url_file(urls_file), str(urls_file)) if urls_file else [])
    outputs: list[Output] = [open_output(str(output), output_format)] if output else []
    warc = None
    if warc_out:
        from scraper.store.warc_writer import WarcWriter

        warc = WarcWriter(str(warc_out))
    worker = settings.WORKER_NAME
    if is_postgres_url(state) and not worker:
        from scraper.store.state_postgres import default_worker_name

        worker = default_worker_name(str(output) if output else None)
    store = open_state(state, settings, worker=worker)
    try:
        async with HttpFetcher(settings, transport=transport) as fetcher:
            sources = [sitemap_pages(fetcher, sitemap, settings) for sitemap in sitemaps]
            if discover:
                sources.append(discovery_source(fetcher, discover, settings, query=search))
            crawler = Crawler(store, fetcher, settings, outputs, site=site, on_progress=on_progress, warc=warc, refetch=refetch)
            if stats is not None:
                stats.append(crawler.stats)
            crawler.add_seeds(seeds)
            crawler.feed(sources)
            # aclosing: a caller that stops early (break, cancel) ends the run here, while
            # the store is still open, not at garbage collection after it was closed.
            async with aclosing(crawler.run()) as records:
                async for record in records:
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
    """The synchronous form of :func:`acrawl`: a generator of records.

    Breaking out of the loop, or a ``KeyboardInterrupt`` while it waits for the next
    record, stops the run as a signal does: pages in flight go back to the frontier,
    stored records are flushed to the outputs and the run is marked ``stopped``.
    """
    agen = acrawl(urls, **options)
    loop = asyncio.new_event_loop()
    step: asyncio.Task[PageRecord] | None = None

    async def next_record() -> PageRecord:
        return await agen.__anext__()

    try:
        while True:
            step = loop.create_task(next_record())
            try:
                yield loop.run_until_complete(step)
            except StopAsyncIteration:
                break
    finally:
        if step is not None and not step.done():  # interrupted while the crawl was running
            step.cancel()
            with suppress(asyncio.CancelledError, StopAsyncIteration):
                loop.run_until_complete(step)
        else:
            loop.run_until_complete(agen.aclose())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
