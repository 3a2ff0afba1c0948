"""Where a crawl's seeds come from besides the command line: sitemaps and a site's own search API.

Every discovery request goes through the crawl's fetcher, so robots.txt,
per-host delays and the User-Agent apply to it as to pages; the number of
requests is bounded (``DISCOVERY_MAX_REQUESTS``).
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import quote, urljoin

from scraper.errors import NoDiscoveryError
from scraper.formats.sitemap import SitemapError, SitemapReader
from scraper.settings import Settings
from scraper.sites import discoverable, get_site

__all__ = ["discovery_source", "search_pages", "sitemap_pages"]

_log = logging.getLogger(__name__)

_PAGE_SIZE = 20


_BATCH = 5000  # URLs handed to the frontier at a time: one transaction, and the loop gets a turn


async def sitemap_pages(fetcher: Any, url: str, settings: Settings, *, keep: str | None = None) -> AsyncGenerator[list[str], None]:
    """Page URLs of a sitemap in batches, as they are read, following an index breadth-first.

    Streamed (see :class:`~scraper.formats.sitemap.SitemapReader`): memory holds one
    sitemap body and one batch, never the millions of URLs an index can list, and
    the crawl fetches the first batch while later sitemaps are still being read.
    Child sitemaps beyond the request budget are not even queued.
    """
    pattern = re.compile(keep) if keep else None
    queue, seen = deque([url]), {url}
    budget = settings.DISCOVERY_MAX_REQUESTS
    while queue and budget > 0:
        current = queue.popleft()
        budget -= 1
        result = await fetcher.fetch(current)
        if not result.ok:
            _log.warning("sitemap %s: %s; skipped", current, result.failure or result.status)
            continue
        reader: SitemapReader | None = None
        batch: list[str] = []
        try:  # the reader refuses a body over SITEMAP_MAXSIZE itself
            reader = SitemapReader(result.body, base_url=result.final_url or current, max_size=settings.SITEMAP_MAXSIZE)
            for entry in reader:
                if reader.kind == "sitemapindex":
                    if entry.loc not in seen and len(queue) < budget:
                        seen.add(entry.loc)
                        queue.append(entry.loc)
                elif pattern is None or pattern.search(entry.loc):
                    batch.append(entry.loc)
                    if len(batch) >= _BATCH:
                        yield batch
                        batch = []
        except SitemapError as exc:
            _log.warning("sitemap %s: %s; the URLs before the problem are kept", current, exc)
        for warning in reader.warnings if reader is not None else ():
            _log.info("sitemap %s: %s", current, warning)
        if batch:
            yield batch


def _result_urls(data: Any, base: str) -> list[str]:
    items = data.get("contents") or data.get("results") or data.get("questions") or [] if isinstance(data, dict) else []
    urls = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            target = item.get("uri") or item.get("url")
            if isinstance(target, str) and target:
                urls.append(urljoin(base, target))
    return urls


async def search_pages(fetcher: Any, template: str, base: str, query: str, settings: Settings,
                       keep: str | None) -> AsyncGenerator[list[str], None]:
    """Question URLs from a paged JSON search API ({"contents": [...], "total": N}), one batch per API page."""
    pattern = re.compile(keep) if keep else None
    seen: set[str] = set()  # doctor answers point at their question too: once each
    offset = 0
    for _ in range(settings.DISCOVERY_MAX_REQUESTS):
        result = await fetcher.fetch(template.format(query=quote(query), offset=offset, size=_PAGE_SIZE))
        if not result.ok:
            break
        try:
            data = json.loads(result.body)
        except ValueError:
            break
        urls = _result_urls(data, base)
        if not urls:
            break
        fresh = [u for u in dict.fromkeys(urls) if u not in seen and (pattern is None or pattern.search(u))]
        seen.update(fresh)
        if fresh:
            yield fresh
        offset += len(urls)
        total = data.get("total") if isinstance(data, dict) else None
        if isinstance(total, int) and offset >= total:
            break


def discovery_source(fetcher: Any, site_name: str, settings: Settings, *, query: str | None = None) -> AsyncGenerator[list[str], None]:
    """Seeds from a site adapter's discovery sources: its search API for ``query``, else its sitemap.

    Checked at once (a site without such a source is the caller's error); the
    URLs themselves come in batches while the crawl runs.
    """
    site = get_site(site_name)
    base = settings.DISCOVERY_BASE_URL or site.base_url or ""
    if query:
        template = settings.DISCOVERY_SEARCH_URL or site.discovery_search
        if not template:
            raise NoDiscoveryError(f"site {site_name!r} has no search API to discover from (--search); "
                                   f"sites that have one: {', '.join(discoverable('search')) or 'none'}")
        return search_pages(fetcher, template, base, query, settings, site.question_pattern)
    sitemap = settings.DISCOVERY_SITEMAP_URL or site.discovery_sitemap
    if not sitemap:
        raise NoDiscoveryError(f"site {site_name!r} has no sitemap to discover from; "
                               f"sites that have one: {', '.join(discoverable('sitemap')) or 'none'}")
    return sitemap_pages(fetcher, sitemap, settings, keep=site.question_pattern)
