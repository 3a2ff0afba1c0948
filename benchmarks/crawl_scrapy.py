"""The same crawl by a minimal Scrapy spider, as a child of run.py.

    python benchmarks/crawl_scrapy.py SEED_URL --workdir DIR [--concurrency 16]

The spider does what ``scraper.crawl`` does on the benchmark site: fetch, follow every link on
the seed's host (Scrapy's own duplicate filter), run the SAME extractor
(``scraper.extract_page``) on every page inside the callback (pages that are no Q&A page raise
``ExtractionError`` and give no item, as in our crawl), and write each record as JSON Lines
through Scrapy's feed export.  Settings: no delay, robots.txt off, AutoThrottle off, the same
concurrency overall and per host as our run.  Links are taken the idiomatic Scrapy way
(``response.follow_all(css="a")``), which parses the page a second time with parsel; see
README.md for what that costs (little: the pages are ~6 KB).

Prints one JSON line on stdout like crawl_ours.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("seed")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-extract", action="store_true", help="framework only: follow links, yield no items")
    parser.add_argument("--site", default="realself", help="site adapter for every page (default realself; 'auto': by URL/content)")
    args = parser.parse_args()

    import scrapy
    from scrapy.crawler import CrawlerProcess

    import scraper

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "scrapy.jsonl"
    out.unlink(missing_ok=True)
    site = None if args.site == "auto" else args.site
    no_extract = args.no_extract

    class QASpider(scrapy.Spider):
        name = "qa"

        def __init__(self, seed: str, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.start_urls = [seed]
            self.allowed_domains = [urlsplit(seed).hostname or ""]

        def parse(self, response):  # type: ignore[no-untyped-def]
            if no_extract:
                yield from response.follow_all(css="a", callback=self.parse)
                return
            page = scraper.RawPage(
                body=response.body, kind="http", url=response.url,
                encoding=response.encoding if hasattr(response, "encoding") else None,
            )
            try:
                record = scraper.extract_page(page, site=site)
            except scraper.ExtractionError:
                pass
            else:
                yield record.model_dump(mode="json")
            yield from response.follow_all(css="a", callback=self.parse)

    settings = {
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "USER_AGENT": "qa-scraper-benchmark-scrapy (+local benchmark)",
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {str(out): {"format": "jsonlines", "encoding": "utf8"}},
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(QASpider)
    start = time.perf_counter()
    process.crawl(crawler, seed=args.seed)
    process.start()
    seconds = time.perf_counter() - start
    stats = crawler.stats.get_stats() if crawler.stats else {}
    with out.open("rb") as handle:
        lines = sum(1 for _ in handle)
    result = {
        "crawler": "scrapy",
        "scrapy_version": scrapy.__version__,
        "pages": int(stats.get("response_received_count", 0)),
        "failed": int(stats.get("downloader/exception_count", 0)) + sum(
            int(v) for k, v in stats.items() if k.startswith("downloader/response_status_count/") and not k.endswith("/200")
        ),
        "records": int(stats.get("item_scraped_count", 0)),
        "jsonl_lines": lines,
        "seconds": seconds,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "state_bytes": 0,
        "output_bytes": out.stat().st_size,
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
