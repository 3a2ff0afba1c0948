"""One crawl by ``scraper.crawl`` (fetch + extract + state + JSON Lines), as a child of run.py.

    python benchmarks/crawl_ours.py SEED_URL --workdir DIR [--concurrency 16] [--profile FILE]

Politeness off for a local server (no delay, robots.txt not read), the same concurrency overall
and per host as the Scrapy run.  Prints one JSON line on stdout: pages fetched, records written,
the crawl's seconds (from the call to the last record, output closed; interpreter start and
imports excluded, as for Scrapy) and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("seed")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", help="write a cProfile of the crawl to this file")
    parser.add_argument("--api", choices=("sync", "async"), default="sync",
                        help="scraper.crawl (a generator driving its own event loop; default) or async for over scraper.acrawl")
    parser.add_argument("--no-extract", action="store_true",
                        help="framework only: every page gives no record (links are still followed)")
    parser.add_argument("--site", default="realself", help="site adapter for every page (default realself; 'auto': by URL/content)")
    parser.add_argument("--extract-workers", type=int, default=0,
                        help="EXTRACT_WORKERS: 0 = one worker process per core (the default), 1 = in the crawl process")
    parser.add_argument("--transport", choices=("httpcore", "aiohttp"), default="httpcore", help="HTTP_TRANSPORT")
    args = parser.parse_args()

    import scraper

    if args.no_extract:
        # Measure the crawl machinery alone: the extractor is replaced by one that finds no Q&A
        # page, so each page is parsed for links only (page_links) and nothing is written.  The
        # replacement lives in this process, so extraction runs here too (EXTRACT_WORKERS=1).
        from scraper.crawler import extract_pool
        from scraper.errors import NotAQAPageError

        def no_record(page: object, *, site: object = None) -> object:
            raise NotAQAPageError("benchmark: extraction skipped")

        extract_pool.extract_page_explained = no_record  # type: ignore[assignment]
        args.extract_workers = 1

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    state, out = workdir / "ours-state.db", workdir / "ours.jsonl"
    for stale in (state, out, state.with_name(state.name + "-wal"), state.with_name(state.name + "-shm")):
        stale.unlink(missing_ok=True)
    settings = {
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0.0,
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "LOG_INTERVAL": 3600.0,
        "EXTRACT_WORKERS": args.extract_workers,
        "HTTP_TRANSPORT": args.transport,
    }
    stats: list = []
    site = None if args.site == "auto" else args.site

    def run() -> int:
        count = 0
        if args.api == "async":
            import asyncio

            async def consume() -> int:
                n = 0
                async for _record in scraper.acrawl([args.seed], state=state, output=out, stats=stats, site=site, **settings):
                    n += 1
                return n

            return asyncio.run(consume())
        for _record in scraper.crawl([args.seed], state=state, output=out, stats=stats, site=site, **settings):
            count += 1
        return count

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    start = time.perf_counter()
    if profiler is not None:
        records = profiler.runcall(run)
    else:
        records = run()
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.dump_stats(args.profile)
    with out.open("rb") as handle:
        lines = sum(1 for _ in handle)
    crawl_stats = stats[0].as_dict() if stats else {}
    result = {
        "crawler": "ours",
        "api": args.api,
        "pages": crawl_stats.get("pages_fetched", 0),
        "failed": sum(crawl_stats.get("failed", {}).values()),
        "records": records,
        "jsonl_lines": lines,
        "seconds": seconds,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "state_bytes": sum(p.stat().st_size for p in workdir.glob("ours-state.db*")),
        "output_bytes": out.stat().st_size,
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
