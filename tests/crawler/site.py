"""A MADE fixture site served on 127.0.0.1 for crawl tests: RealSelf-like question pages.

Question pages are the made text-render pages of tests/fixtures/textrender_made/ (real question
and answer text, see that folder's README) wrapped in simple HTML: one <p> per paragraph, the
author block's lines joined with <br>, so the visible text is the render again.  Listing pages
link to them (and to pages the crawl must not follow), robots.txt disallows one path, a
sitemap lists the questions, and a search endpoint answers in the shape of RealSelf's search API
(STRUCTURE-NOTES.md).  Pages carry ETag and Last-Modified and answer conditional requests.

The server records every request (path, time, User-Agent) so tests check politeness at the
server.  It runs aiohttp in a background thread with its own event loop, on port 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

MADE = Path(__file__).resolve().parent.parent / "fixtures" / "textrender_made"


def render_html(text: str, title: str) -> str:
    """A text render as an HTML page whose visible text is that render."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    body = "\n".join("<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>" for block in blocks)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><nav><a href='/'>Home</a> <a href='/private/secret'>Private</a></nav><main>{body}</main>"
        f"<footer><a href='/about'>About</a></footer></body></html>"
    )


@dataclass
class Hit:
    path: str
    at: float
    user_agent: str
    status: int


@dataclass
class FixtureSite:
    """Pages by path; change them between runs with :meth:`set_page`."""

    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path -> (content type, body)
    hits: list[Hit] = field(default_factory=list)
    robots: str = "User-agent: *\nDisallow: /private/\n"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_page(self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.pages[path] = (content_type, body.encode("utf-8") if isinstance(body, str) else body)

    def paths_hit(self) -> list[str]:
        with self.lock:
            return [h.path for h in self.hits]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.query_string else request.path
        arrived = time.monotonic()  # when the request reached the server: what politeness is about
        status = 200
        try:
            if request.path == "/robots.txt":
                return web.Response(text=self.robots, content_type="text/plain")
            if request.path == "/api/search":
                return self._search(request)
            found = self.pages.get(request.path)
            if found is None:
                status = 404
                return web.Response(status=404, text="not found")
            content_type, body = found
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if request.headers.get("If-None-Match") == etag:
                status = 304
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=body, headers={"Content-Type": content_type, "ETag": etag,
                                                    "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"})
        finally:
            with self.lock:
                self.hits.append(Hit(path, arrived, request.headers.get("User-Agent", ""), status))

    def _search(self, request: web.Request) -> web.Response:
        questions = sorted(p for p in self.pages if p.startswith("/question/"))
        offset, size = int(request.query.get("from", 0)), int(request.query.get("size", 20))
        contents = [{"id": i, "type": "question", "uri": p, "title": p} for i, p in enumerate(questions)][offset : offset + size]
        return web.json_response({"contents": contents, "total": len(questions)})


def build_site(count: int = 12) -> FixtureSite:
    """``count`` question pages from the made renders, two listing pages, a sitemap."""
    site = FixtureSite()
    renders = sorted(MADE.glob("made-*.txt"))[:count]
    questions = []
    for render in renders:
        facts = json.loads(render.with_name(render.stem + ".facts.json").read_text(encoding="utf-8"))
        path = "/question/" + render.stem.split("-", 2)[2]
        site.set_page(path, render_html(render.read_text(encoding="utf-8"), facts["question"]["title"]))
        questions.append(path)
    half = len(questions) // 2
    for name, chunk in (("/questions", questions[:half]), ("/questions/page-2", questions[half:])):
        links = "".join(f"<li><a href='{q}'>{q}</a></li>" for q in chunk)
        nxt = "<a href='/questions/page-2'>Next</a>" if name == "/questions" else ""
        site.set_page(name, f"<!doctype html><html><body><h1>Questions</h1><ul>{links}</ul>{nxt}"
                            f"<a href='/private/secret'>secret</a><a href='/about'>About</a></body></html>")
    site.set_page("/about", "<!doctype html><html><body><h1>About us</h1><p>Made fixture site.</p></body></html>")
    site.set_page("/private/secret", "<!doctype html><html><body><p>never fetched</p></body></html>")
    urlset = "".join(f"<url><loc>{{base}}{q}</loc></url>" for q in questions)
    site.sitemap_template = f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urlset}</urlset>"  # type: ignore[attr-defined]
    site.questions = questions  # type: ignore[attr-defined]
    return site


class ServerThread:
    """Serve a FixtureSite on 127.0.0.1 from a background thread; ``with`` starts and stops it."""

    def __init__(self, site: FixtureSite) -> None:
        self.site = site
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.site.handle)
        self._runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self._runner.setup())
        tcp = web.TCPSite(self._runner, "127.0.0.1", 0)
        self.loop.run_until_complete(tcp.start())
        self.port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if hasattr(self.site, "sitemap_template"):
            self.site.set_page("/sitemap.xml", self.site.sitemap_template.replace("{base}", self.base), "application/xml")
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
