"""The transport's ceiling: GET a list of URLs with N in flight and do nothing with the bodies.

    python benchmarks/fetch_only.py BASE_URL PATHS_FILE --client CLIENT [--concurrency 16]

``httpx`` is a bare ``httpx.AsyncClient`` (what our fetcher is built on), ``httpx-aiohttp`` the same
over the httpx-aiohttp package's transport, ``scraper`` is our whole ``HttpFetcher`` (throttle,
robots off, redirects, bounded body reading) on httpcore, ``scraper-aiohttp`` the same with
``HTTP_TRANSPORT=aiohttp`` (scraper/fetch/aio.py), ``aiohttp`` is ``aiohttp.ClientSession`` for comparison.  Prints one JSON line: pages, seconds, peak RSS.
Run by run.py to show how much of a crawl's time is the HTTP client alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path


async def with_httpx(urls: list[str], concurrency: int, transport: object | None = None) -> int:
    import httpx

    done = 0
    queue = iter(urls)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False, transport=transport) as client:  # type: ignore[arg-type]
        async def worker() -> None:
            nonlocal done
            for url in queue:
                response = await client.get(url)
                if response.status_code == 200 and response.content:
                    done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def with_aiohttp(urls: list[str], concurrency: int) -> int:
    import aiohttp

    done = 0
    queue = iter(urls)
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal done
            for url in queue:
                async with session.get(url) as response:
                    body = await response.read()
                    if response.status == 200 and body:
                        done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def with_httpx_aiohttp(urls: list[str], concurrency: int) -> int:
    """httpx over the ``httpx-aiohttp`` package's transport (pip install httpx-aiohttp)."""
    import httpx
    from httpx_aiohttp import AiohttpTransport

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return await with_httpx(urls, concurrency, AiohttpTransport(limits=limits, trust_env=False))


async def with_scraper(urls: list[str], concurrency: int, transport: str = "httpcore") -> int:
    from scraper.fetch.http import HttpFetcher
    from scraper.settings import Settings

    settings = Settings.build({"ROBOTSTXT_OBEY": False, "DOWNLOAD_DELAY": 0.0, "CONCURRENT_REQUESTS": concurrency,
                               "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency, "HTTP_TRANSPORT": transport})
    done = 0
    queue = iter(urls)
    async with HttpFetcher(settings) as fetcher:
        async def worker() -> None:
            nonlocal done
            for url in queue:
                result = await fetcher.fetch(url)
                if result.ok and result.body:
                    done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def with_scraper_aiohttp(urls: list[str], concurrency: int) -> int:
    """Our HttpFetcher with HTTP_TRANSPORT=aiohttp (scraper/fetch/aio.py)."""
    return await with_scraper(urls, concurrency, "aiohttp")


CLIENTS = {"httpx": with_httpx, "httpx-aiohttp": with_httpx_aiohttp, "aiohttp": with_aiohttp, "scraper": with_scraper,
           "scraper-aiohttp": with_scraper_aiohttp}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("paths", help="a file of URL paths, one a line")
    parser.add_argument("--client", choices=sorted(CLIENTS), required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    urls = [args.base + line.strip() for line in Path(args.paths).read_text().splitlines() if line.strip()]
    start = time.perf_counter()
    pages = asyncio.run(CLIENTS[args.client](urls, args.concurrency))
    seconds = time.perf_counter() - start
    sys.stdout.write(json.dumps({"client": args.client, "pages": pages, "urls": len(urls), "seconds": seconds,
                                 "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}) + "\n")


if __name__ == "__main__":
    main()
