"""Where a crawl's seeds come from besides the command line: sitemaps and a site's own search API.

Every discovery request goes through the crawl's fetcher, so robots.txt,
per-host delays and the User-Agent apply to it as to pages; the number of
requests is bounded (``DISCOVERY_MAX_REQUESTS``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urljoin

from scraper.fetch.sitemap import SitemapError, parse_sitemap
from scraper.settings import Settings
from scraper.sites import get_site

__all__ = ["discover_seeds", "sitemap_seeds"]

_PAGE_SIZE = 20


async def sitemap_seeds(fetcher: Any, url: str, settings: Settings, *, keep: str | None = None) -> list[str]:
    """Page URLs of a sitemap, following a sitemap index breadth-first within the request budget."""
    pattern = re.compile(keep) if keep else None
    queue, seen, pages = [url], set(), []
    budget = settings.DISCOVERY_MAX_REQUESTS
    while queue and budget > 0:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        budget -= 1
        result = await fetcher.fetch(current)
        if not result.ok:
            continue
        try:
            sitemap = parse_sitemap(result.body, base_url=result.final_url or current, max_size=settings.SITEMAP_MAXSIZE)
        except SitemapError:
            continue
        queue.extend(sitemap.sitemaps)
        pages.extend(u.loc for u in sitemap.urls if pattern is None or pattern.search(u.loc))
    return pages


def _result_urls(data: Any, base: str) -> list[str]:
    items = data.get("contents") or data.get("results") or data.get("questions") or [] if isinstance(data, dict) else []
    urls = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            target = item.get("uri") or item.get("url")
            if isinstance(target, str) and target:
                urls.append(urljoin(base, target))
    return urls


async def search_seeds(fetcher: Any, template: str, base: str, query: str, settings: Settings, keep: str | None) -> list[str]:
    """Question URLs from a paged JSON search API ({"contents": [...], "total": N})."""
    pattern = re.compile(keep) if keep else None
    found: list[str] = []
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
        found.extend(u for u in urls if pattern is None or pattern.search(u))
        offset += len(urls)
        total = data.get("total") if isinstance(data, dict) else None
        if isinstance(total, int) and offset >= total:
            break
    return list(dict.fromkeys(found))  # doctor answers point at their question too: once each


async def discover_seeds(fetcher: Any, site_name: str, settings: Settings, *, query: str | None = None) -> list[str]:
    """Seeds from a site adapter's discovery sources: its search API for ``query``, else its sitemap."""
    site = get_site(site_name)
    base = settings.DISCOVERY_BASE_URL or site.base_url or ""
    if query:
        template = settings.DISCOVERY_SEARCH_URL or site.discovery_search
        if not template:
            raise ValueError(f"site {site_name!r} names no search API to discover from")
        return await search_seeds(fetcher, template, base, query, settings, site.question_pattern)
    sitemap = settings.DISCOVERY_SITEMAP_URL or site.discovery_sitemap
    if not sitemap:
        raise ValueError(f"site {site_name!r} names no sitemap to discover from")
    return await sitemap_seeds(fetcher, sitemap, settings, keep=site.question_pattern)
