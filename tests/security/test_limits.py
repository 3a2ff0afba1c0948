"""Security limits: compressed bombs, hostile URLs and pages.

Companions elsewhere: gzip bombs at the fetcher (tests/fetch/test_http.py), XML bombs and external
entities in sitemaps (tests/formats/test_sitemap.py), redirects to non-HTTP schemes and from public
pages into the local network (tests/fetch/test_http.py), names that resolve into the local network
(tests/security/test_resolved_addresses.py), gzip bombs in extract input (tests/extract/test_decode.py).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp import web

import scraper
from scraper.fetch.http import HttpFetcher
from tests.fetch.conftest import LocalServer, quick_settings

LIMIT = 1024 * 1024


def fetch_one(settings, url: str):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with HttpFetcher(settings) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(main())


def test_a_brotli_bomb_is_not_inflated(server: LocalServer) -> None:
    brotli = pytest.importorskip("brotli")
    bomb = brotli.compress(bytes(64 * 1024 * 1024), quality=5)
    assert len(bomb) < 100_000

    async def handler(request: web.Request) -> web.StreamResponse:
        # Sent although the fetcher never asked for br (it asks for gzip and deflate only).
        return web.Response(body=bomb, headers={"Content-Type": "text/html", "Content-Encoding": "br"})

    server.route("/br-bomb", handler)
    result = fetch_one(quick_settings(ROBOTSTXT_OBEY=False, DOWNLOAD_MAXSIZE=LIMIT), server.url("/br-bomb"))
    assert result.failure in ("too_large", "decode_error"), result
    assert len(result.body) <= LIMIT


def test_the_accepted_encodings_are_only_those_decoded_with_a_bound(server: LocalServer) -> None:
    server.text("/page", "<html><body><p>x</p></body></html>")
    fetch_one(quick_settings(ROBOTSTXT_OBEY=False), server.url("/page"))
    accepted = server.hits_for("/page")[0].headers.get("Accept-Encoding", "")
    assert "br" not in accepted and "gzip" in accepted


HOSTILE = """<!doctype html><html><head>
<link rel="stylesheet" href="/beacon/style.css"><script src="/beacon/script.js"></script>
<script>fetch('/beacon/fetch'); document.write('<img src="/beacon/written">');</script>
<meta http-equiv="refresh" content="0; url=/beacon/refresh">
</head><body><h1>Is this safe?</h1><img src="/beacon/img.png"><iframe src="/beacon/frame"></iframe>
<object data="/beacon/object"></object><video src="/beacon/video"></video>
<a href="/../../../../etc/passwd">up</a><a href="file:///etc/passwd">file</a><a href="javascript:alert(1)">js</a>
<a href="/q/%2e%2e%2f%2e%2e%2fstate.db">encoded</a><a href="/q/CON">con</a>
</body></html>"""


def test_a_crawled_page_is_never_executed_or_rendered_and_no_path_comes_from_a_url(make_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server: LocalServer = make_server()
    server.text("/hostile", HOSTILE)
    server.text("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    workdir = tmp_path / "work"
    workdir.mkdir()
    before = set(os.listdir(tmp_path))
    cwd = os.getcwd()
    os.chdir(workdir)  # any file named after a URL would land here or beside the state
    try:
        list(scraper.crawl([server.url("/hostile")], state=workdir / "s.db", output=workdir / "out.jsonl",
                           warc_out=workdir / "w.warc.gz", DOWNLOAD_DELAY=0, DEPTH_LIMIT=1))
    finally:
        os.chdir(cwd)
    paths = [hit.path for hit in server.all_hits()]
    assert not [p for p in paths if p.startswith("/beacon/")], "no script, style, image, frame or refresh was loaded"
    assert set(os.listdir(tmp_path)) == before, "nothing written outside the crawl's own files"
    made = set(os.listdir(workdir))
    assert made <= {"s.db", "s.db-wal", "s.db-shm", "s.db.lock", "out.jsonl", "w.warc.gz"}, made
    assert not any("passwd" in p for p in paths if not p.startswith("/etc")), "file: and javascript: links are not followed"
