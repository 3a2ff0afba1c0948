"""A MADE fault-injecting site on 127.0.0.1 for crawl reliability tests.

Two tiny HTTP/1.1 servers (plain asyncio streams, keep-alive, one background thread each)
serve one :class:`FaultSite`: the *main* host has a root page, listing pages and question
pages; the *other* host (another port, so another host to the crawler) serves the targets
of cross-host redirects.  A raw server, not aiohttp, because the faults need byte-level
control: a TCP reset (RST, SO_LINGER 0) before or in the middle of a body, a body that stops
and stalls, a gzip stream cut short inside a well-framed response, a Content-Length the
connection never delivers.

Every question URL's fault is decided by a seeded RNG (:func:`build_plan`), so a site is
the same on every run; faults that recover do so within ``RETRY_TIMES`` (2) retries, and
the server counts attempts per URL over its whole life, so a crawl killed mid-retry and
resumed sees the page recover too.  Question pages are the made text renders of
``tests/fixtures/textrender_made`` wrapped in HTML, each with its own marker
(``case 00042``) in the title so every record differs.

Every request is logged (:class:`Hit`: server, target, label of what was served, attempt,
arrival time, If-None-Match), so tests compare the crawler's own accounting with the
server's.  Bounded: each server stops by itself after ``max_seconds`` and refuses (resets)
connections after ``max_requests``; a stall sleeps at most ``STALL_SECONDS``.

:class:`FaultSiteServers` runs both servers in threads of this process; :class:`SiteProcess` runs
them in a child process (``python -m tests.stress.faultsite``), so a crawl in the test process
does not share a GIL with them, and hands the log over on request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import html
import json
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

MADE = Path(__file__).resolve().parent.parent / "fixtures" / "textrender_made"

RETRY_TIMES = 2
DOWNLOAD_TIMEOUT = 2.0
"""Short, so stalls cost little, yet well above how late an ordinary response can be read on a loaded
2-core machine (the crawler's one event loop also extracts pages; with 1 s, ordinary pages timed out
now and then in the 10,000-page run while other jobs loaded the machine)."""
STALL_SECONDS = 3.0
"""How long a stalled response hangs before the server closes it (> DOWNLOAD_TIMEOUT)."""
RETRY_AFTER_MAX = 5.0
IDLE_SECONDS = 30.0
"""A keep-alive connection idle this long is closed by the server (httpx drops its own after 5 s)."""

CRAWL_SETTINGS: dict[str, object] = {
    "DOWNLOAD_DELAY": 0.0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "RETRY_TIMES": RETRY_TIMES,
    "RETRY_BACKOFF_BASE": 0.05,
    "RETRY_BACKOFF_MAX": 0.2,
    "RETRY_AFTER_MAX": RETRY_AFTER_MAX,
    "DOWNLOAD_TIMEOUT": DOWNLOAD_TIMEOUT,
}


def cli_settings() -> list[str]:
    """CRAWL_SETTINGS as ``-s NAME=VALUE`` arguments for ``python -m scraper crawl``."""
    args: list[str] = []
    for name, value in CRAWL_SETTINGS.items():
        args += ["-s", f"{name}={value}"]
    return args


# --- what each kind of page does, and what the crawl must make of it ------------------------------


@dataclass(frozen=True)
class Expect:
    """The crawl's outcome for a URL of one kind."""

    failure: str | None
    """FAILURE_KINDS entry in the state DB, or None for a fetched page."""
    record: bool
    """A record comes out of it."""
    attempts: int | None
    """Requests the server sees for the URL in one crawl; None: depends on ``fails``."""
    no_record: str | None = None
    """ExtractionError subclass counted in CrawlStats.no_record."""


# kind -> (weight in the random mix, expectation)
KINDS: dict[str, tuple[float, Expect]] = {
    "ok": (62.0, Expect(None, True, 1)),
    "gzip_ok": (3.0, Expect(None, True, 1)),
    # charset: a windows-1252 body labelled utf-8 (header and meta), no charset anywhere (utf-8 body),
    # no charset anywhere (windows-1252 body), an unknown charset label (utf-8 body).
    "cs_mislabeled": (1.5, Expect(None, True, 1)),
    "cs_missing": (1.5, Expect(None, True, 1)),
    "cs_missing_1252": (1.0, Expect(None, True, 1)),
    "cs_bogus": (1.0, Expect(None, True, 1)),
    # redirects: to the other host (301, 302, 307 then 200 there), and a loop between the hosts
    "redirect": (2.5, Expect(None, True, 1)),
    "redirect_loop": (0.3, Expect("redirect_loop", False, 1)),
    # connection resets: before the status line, and in the middle of the body
    "reset": (1.0, Expect("connection_error", False, 1 + RETRY_TIMES)),
    "reset_recover": (2.0, Expect(None, True, None)),
    "reset_midbody_recover": (1.0, Expect(None, True, None)),
    # stalls mid-body (headers and half the body, then nothing for STALL_SECONDS)
    "stall": (0.25, Expect("timeout", False, 1 + RETRY_TIMES)),
    "stall_recover": (0.35, Expect(None, True, None)),
    # gzip cut short: inside a well-framed response (Content-Length = bytes sent), and by the
    # connection closing before the declared Content-Length
    "gzip_truncated": (1.0, Expect("decode_error", False, 1)),
    "gzip_cut_connection": (0.5, Expect("connection_error", False, 1 + RETRY_TIMES)),
    # rate limits and server errors
    "r503_burst": (0.0, Expect(None, True, None)),  # placed in runs by build_plan, Retry-After: 0
    "r429_recover": (1.0, Expect(None, True, None)),  # Retry-After: 0
    "r429_persist": (0.4, Expect("rate_limited", False, 1 + RETRY_TIMES)),
    "r503_retry_after_persist": (0.3, Expect("rate_limited", False, 1 + RETRY_TIMES)),
    "r429_too_long": (0.3, Expect("rate_limited", False, 1)),  # Retry-After: 3600 > RETRY_AFTER_MAX
    "r429_wait": (0.0, Expect(None, True, 2)),  # a few by name: Retry-After: 1
    "r503_wait_date": (0.0, Expect(None, True, 2)),  # one by name: Retry-After as an HTTP date, 1 s on
    "e500_recover": (2.0, Expect(None, True, None)),
    "e500_persist": (0.5, Expect("http_error", False, 1 + RETRY_TIMES)),
    "r503_persist": (0.4, Expect("http_error", False, 1 + RETRY_TIMES)),  # no Retry-After
    "e404": (0.5, Expect("http_error", False, 1)),
    # wrong Content-Type
    "type_png": (0.5, Expect("bad_content_type", False, 1)),
    "type_pdf": (0.3, Expect("bad_content_type", False, 1)),
    # 200s that are not pages
    "empty": (1.0, Expect(None, False, 1, "EmptyInputError")),
    "error_page": (1.0, Expect(None, False, 1, "NotAQAPageError")),
    # content that changes between runs (FaultSite.epoch)
    "changing": (0.7, Expect(None, True, 1)),
    # robots.txt disallows it: no request at all
    "disallowed": (0.3, Expect("robots_disallowed", False, 0)),
}

# Labels the server logs for what it sent, and the failure the crawler should make of a URL whose
# last request got it (None: a usable response).
LABEL_FAILURE: dict[str, str | None] = {
    "page": None, "gzip_page": None, "empty": None, "error_page": None, "index": None, "not_modified": None,
    "redirect": None,  # followed: the outcome is that of the target
    "loop": "redirect_loop",
    "reset": "connection_error", "reset_midbody": "connection_error", "gzip_cut_connection": "connection_error",
    "stall": "timeout",
    "gzip_truncated": "decode_error",
    "429": "rate_limited", "429_too_long": "rate_limited", "503_retry_after": "rate_limited",
    "500": "http_error", "503": "http_error", "404": "http_error",
    "png": "bad_content_type", "pdf": "bad_content_type",
}

ROBOTS = "User-agent: *\nDisallow: /private/\n"
ERROR_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Error - Something went wrong</title></head>"
    "<body><header><a href='/'>Home</a></header><main><h1>Oops! Something went wrong.</h1>"
    "<p>We are sorry, but an unexpected error occurred while loading this page. Please try again later.</p>"
    "<p>Error reference: {ref}</p></main></body></html>"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXTRA_ANSWER = (
    "A new answer headline\n\n{{ voteCount >= 0 ? '+' + (voteCount + 1) : (voteCount + 1) }}\n\n"
    "This answer was added after the first crawl and the crawler must report it as new.\n\n"
    "Jane Roe, MD\nBoston Plastic Surgeon\n\n"
)
DISCLAIMER_START = "These answers are for educational purposes"


@dataclass
class PagePlan:
    id: int
    kind: str
    render: int
    fails: int = 0
    """Failing attempts before the page is served (recovering kinds)."""

    @property
    def path(self) -> str:
        prefix = "/private/q" if self.kind == "disallowed" else "/question/q"
        return f"{prefix}{self.id:05d}"

    @property
    def other_path(self) -> str:
        """Where a redirect page lives on the other host."""
        return f"/moved/q{self.id:05d}"

    @property
    def marker(self) -> str:
        # The non-ASCII letter makes the charset faults matter on every page.
        return f"(case {self.id:05d}, café)"

    @property
    def expect(self) -> Expect:
        return KINDS[self.kind][1]

    @property
    def attempts(self) -> int:
        expected = self.expect.attempts
        return self.fails + 1 if expected is None else expected


def _load_renders() -> list[str]:
    renders = []
    for path in sorted(MADE.glob("made-*.txt")):
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        if DISCLAIMER_START in text:  # complete pages only, so "changing" can add an answer before the end
            renders.append(text)
    return renders


RENDERS = _load_renders()


def build_plan(count: int, seed: int) -> list[PagePlan]:
    """``count`` question pages, each with a fault drawn by a seeded RNG."""
    rng = random.Random(seed)
    names = [k for k, (w, _) in KINDS.items() if w > 0]
    weights = [KINDS[k][0] for k in names]
    plans: list[PagePlan] = []
    burst_left = 0
    for i in range(count):
        if burst_left:
            kind, burst_left = "r503_burst", burst_left - 1
        elif rng.random() < 0.004:  # a burst of 503s (Retry-After: 0) over consecutive pages
            kind, burst_left = "r503_burst", rng.randint(4, 12) - 1
        else:
            kind = rng.choices(names, weights)[0]
        plan = PagePlan(id=i, kind=kind, render=rng.randrange(len(RENDERS)))
        if plan.expect.attempts is None:
            plan.fails = rng.randint(1, RETRY_TIMES)
        plans.append(plan)
    # Every kind at least once, however small the site.
    present = {p.kind for p in plans}
    for kind in names:
        if kind not in present:
            plan = rng.choice([p for p in plans if p.kind == "ok"])
            plan.kind = kind
            plan.fails = rng.randint(1, RETRY_TIMES) if plan.expect.attempts is None else 0
    # A few pages by name: Retry-After that really makes the crawler wait (1 s, and an HTTP date).
    named = rng.sample([p for p in plans if p.kind == "ok"], 3)
    named[0].kind = named[1].kind = "r429_wait"
    named[2].kind = "r503_wait_date"
    for plan in named:
        plan.fails = 1
    return plans


# --- the site ------------------------------------------------------------------------------------


def page_html(text: str, title: str, *, meta_charset: bool = True) -> str:
    """A text render as an HTML page whose visible text is that render (as tests/crawler/site.py)."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    body = "\n".join("<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>" for block in blocks)
    meta = "<meta charset='utf-8'>" if meta_charset else ""
    return (
        f"<!doctype html><html><head>{meta}<title>{html.escape(title)}</title></head>"
        f"<body><nav><a href='/'>Home</a></nav><main>{body}</main></body></html>"
    )


@dataclass
class Reply:
    """What the server does for one request."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    send: int | None = None
    """Body bytes actually sent (None: all)."""
    length: int | None = None
    """Content-Length sent (None: len(body))."""
    then: str = "keep"
    """keep | close | reset (RST after what was sent) | reset_now (RST, nothing sent) | stall."""


@dataclass
class Hit:
    server: str
    target: str
    label: str
    attempt: int
    at: float
    if_none_match: str | None


class FaultSite:
    """The pages, their faults and the request log, shared by the main and the other server."""

    def __init__(self, plans: list[PagePlan], *, per_list: int = 100) -> None:
        self.plans = plans
        self.by_path = {p.path: p for p in plans}
        self.by_other_path = {p.other_path: p for p in plans if p.kind in ("redirect", "redirect_loop")}
        self.lists = [plans[i : i + per_list] for i in range(0, len(plans), per_list)]
        self.epoch = 0
        """Bump between runs: "changing" pages gain an answer from epoch 1 on."""
        self.hits: list[Hit] = []
        self.attempts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self.bases: dict[str, str] = {}
        """server name -> http://127.0.0.1:PORT, filled in when the servers start."""
        self._cache: dict[tuple[int, int, str], bytes] = {}

    # -- the log ------------------------------------------------------------------------------

    def log(self, start: int = 0) -> Log:
        """The requests logged so far (from the ``start``-th one on)."""
        with self.lock:
            return Log(self.hits[start:])

    def reset_log(self) -> None:
        """Forget requests and attempt counts (a fresh site for another crawl)."""
        with self.lock:
            self.hits.clear()
            self.attempts.clear()

    def question_hits(self) -> int:
        with self.lock:
            return sum(1 for h in self.hits if h.target.startswith(("/question/", "/moved/")))

    # -- URLs ---------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return self.bases["main"] + "/"

    def url(self, plan: PagePlan) -> str:
        return self.bases["main"] + plan.path

    def record_url(self, plan: PagePlan) -> str:
        """The URL a page's record carries: where the page was finally read from."""
        return self.bases["other"] + plan.other_path if plan.kind == "redirect" else self.url(plan)

    def expected_title(self, plan: PagePlan) -> str:
        return RENDERS[plan.render].split("\n", 1)[0].strip() + " " + plan.marker

    # -- bodies -------------------------------------------------------------------------------

    def page_text(self, plan: PagePlan, epoch: int | None = None) -> str:
        """The render a page shows (at ``epoch``, default the site's current one)."""
        text = RENDERS[plan.render]
        first, rest = text.split("\n", 1)
        text = f"{first.rstrip()} {plan.marker}\n{rest}"
        if plan.kind == "changing" and (self.epoch if epoch is None else epoch) >= 1:
            text = text.replace(DISCLAIMER_START, EXTRA_ANSWER + DISCLAIMER_START, 1)
        return text

    def page_bytes(self, plan: PagePlan, encoding: str = "utf-8", meta_charset: bool = True, epoch: int | None = None) -> bytes:
        """The page's HTML as served in ``encoding`` (at ``epoch``, default the site's current one)."""
        epoch = self.epoch if epoch is None else epoch
        key = (plan.id, epoch if plan.kind == "changing" else 0, f"{encoding}/{meta_charset}")
        found = self._cache.get(key)
        if found is None:
            text = self.page_text(plan, epoch)
            found = page_html(text, text.split("\n", 1)[0], meta_charset=meta_charset).encode(encoding, "xmlcharrefreplace")
            self._cache[key] = found
        return found

    def index_html(self, links: list[str]) -> bytes:
        items = "".join(f"<li><a href='{html.escape(link)}'>{html.escape(link)}</a></li>" for link in links)
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>Questions</title></head>"
                f"<body><h1>Questions</h1><ul>{items}</ul></body></html>").encode()

    def root_links(self) -> list[str]:
        return [f"/list/{i}" for i in range(len(self.lists))]

    def list_links(self, index: int) -> list[str]:
        links = [p.path for p in self.lists[index]]
        if index > 0:  # the same pages again, spelled differently: the crawl must not fetch them twice
            previous = self.lists[index - 1][:3]
            links += [p.path + "#answers" for p in previous] + [p.path.replace("/q", "/./q") for p in previous]
        links += ["/", "/list/0"]
        return links

    # -- answering ----------------------------------------------------------------------------

    def respond(self, server: str, target: str, headers: dict[str, str]) -> Reply:
        now = time.monotonic()
        with self.lock:
            self.attempts[(server, target)] += 1
            attempt = self.attempts[(server, target)]
        reply, label = self._reply(server, target, attempt)
        if reply.status == 200 and label in ("page", "gzip_page", "gzip_truncated", "index", "error_page", "empty"):
            etag = '"' + hashlib.sha256(reply.body).hexdigest()[:16] + '"'
            if headers.get("if-none-match") == etag:
                reply, label = Reply(304, [("ETag", etag)]), "not_modified"
            else:
                reply.headers.append(("ETag", etag))
        with self.lock:
            self.hits.append(Hit(server, target, label, attempt, now, headers.get("if-none-match")))
        return reply

    def _reply(self, server: str, target: str, attempt: int) -> tuple[Reply, str]:
        html_type = ("Content-Type", "text/html; charset=utf-8")
        if target == "/robots.txt":
            return Reply(200, [("Content-Type", "text/plain")], ROBOTS.encode()), "robots"
        if server == "main" and target == "/":
            return Reply(200, [html_type], self.index_html(self.root_links())), "index"
        if server == "main" and target.startswith("/list/"):
            index = int(target.rsplit("/", 1)[1])
            return Reply(200, [html_type], self.index_html(self.list_links(index))), "index"
        plan = self.by_path.get(target) if server == "main" else self.by_other_path.get(target)
        if plan is None:
            return Reply(404, [("Content-Type", "text/plain")], b"not found"), "404"
        if server == "other":
            if plan.kind == "redirect_loop":
                return Reply(302, [("Location", self.bases["main"] + plan.path)]), "loop"
            return Reply(200, [html_type], self.page_bytes(plan)), "page"
        return self._question(plan, attempt)

    def _question(self, plan: PagePlan, attempt: int) -> tuple[Reply, str]:
        kind = plan.kind
        html_type = ("Content-Type", "text/html; charset=utf-8")
        failing = attempt <= plan.fails
        body = self.page_bytes(plan)
        if kind in ("ok", "changing") or (plan.fails and not failing):
            return Reply(200, [html_type], body), "page"
        if kind == "gzip_ok":
            return Reply(200, [html_type, ("Content-Encoding", "gzip")], gzip.compress(body, mtime=0)), "gzip_page"
        if kind == "cs_mislabeled":
            return Reply(200, [html_type], self.page_bytes(plan, "cp1252")), "page"
        if kind == "cs_missing":
            return Reply(200, [("Content-Type", "text/html")], self.page_bytes(plan, "utf-8", meta_charset=False)), "page"
        if kind == "cs_missing_1252":
            return Reply(200, [("Content-Type", "text/html")], self.page_bytes(plan, "cp1252", meta_charset=False)), "page"
        if kind == "cs_bogus":
            return Reply(200, [("Content-Type", "text/html; charset=x-unknown-42")], self.page_bytes(plan, "utf-8", meta_charset=False)), "page"
        if kind == "redirect":
            status = (301, 302, 307)[plan.id % 3]
            return Reply(status, [("Location", self.bases["other"] + plan.other_path)]), "redirect"
        if kind == "redirect_loop":
            return Reply(302, [("Location", self.bases["other"] + plan.other_path)]), "redirect"
        if kind in ("reset", "reset_recover"):
            return Reply(then="reset_now"), "reset"
        if kind == "reset_midbody_recover":
            return Reply(200, [html_type], body, send=len(body) // 2, then="reset"), "reset_midbody"
        if kind in ("stall", "stall_recover"):
            return Reply(200, [html_type], body, send=len(body) // 2, then="stall"), "stall"
        if kind == "gzip_truncated":
            packed = gzip.compress(body, mtime=0)
            cut = packed[: len(packed) // 2]
            return Reply(200, [html_type, ("Content-Encoding", "gzip")], cut, then="close"), "gzip_truncated"
        if kind == "gzip_cut_connection":
            packed = gzip.compress(body, mtime=0)
            return Reply(200, [html_type, ("Content-Encoding", "gzip")], packed, send=len(packed) // 2, then="close"), "gzip_cut_connection"
        text = ("Content-Type", "text/plain")
        if kind == "r503_burst":
            return Reply(503, [text, ("Retry-After", "0")], b"busy"), "503_retry_after"
        if kind in ("r429_recover", "r429_persist"):
            return Reply(429, [text, ("Retry-After", "0")], b"slow down"), "429"
        if kind == "r503_retry_after_persist":
            return Reply(503, [text, ("Retry-After", "0")], b"busy"), "503_retry_after"
        if kind == "r429_too_long":
            return Reply(429, [text, ("Retry-After", "3600")], b"come back in an hour"), "429_too_long"
        if kind == "r429_wait":
            return Reply(429, [text, ("Retry-After", "1")], b"slow down"), "429"
        if kind == "r503_wait_date":
            now = time.time()
            return Reply(503, [text, ("Date", formatdate(now, usegmt=True)),
                               ("Retry-After", formatdate(now + 1, usegmt=True))], b"busy"), "503_retry_after"
        if kind in ("e500_recover", "e500_persist"):
            return Reply(500, [text], b"internal error"), "500"
        if kind == "r503_persist":
            return Reply(503, [text], b"unavailable"), "503"
        if kind == "e404":
            return Reply(404, [text], b"not found"), "404"
        if kind == "type_png":
            return Reply(200, [("Content-Type", "image/png")], PNG), "png"
        if kind == "type_pdf":
            return Reply(200, [("Content-Type", "application/pdf")], PDF), "pdf"
        if kind == "empty":
            return Reply(200, [html_type], b""), "empty"
        if kind == "error_page":
            return Reply(200, [html_type], ERROR_PAGE.format(ref=plan.id).encode()), "error_page"
        raise AssertionError(f"no reply for kind {kind!r}")  # "disallowed" is never requested

    # -- expectations -------------------------------------------------------------------------

    def outcome_from_log(self, plan: PagePlan, log: Log) -> str | None:
        """The failure the server's log says the crawler should report for ``plan`` (None: fetched)."""
        label = self.final_label(plan, log)
        if label is None:
            return "robots_disallowed" if plan.path.startswith("/private/") else "never requested"
        return LABEL_FAILURE[label]

    def final_label(self, plan: PagePlan, log: Log) -> str | None:
        """What the server last sent for ``plan`` (after a followed redirect: what the target sent)."""
        hits = log.of("main", plan.path)
        if not hits:
            return None
        if hits[-1].label == "redirect":
            other = log.of("other", plan.other_path)
            return other[-1].label if other else "redirect target never requested"
        return hits[-1].label


class Log:
    """A snapshot of the request log, indexed by (server, target)."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.by_target: dict[tuple[str, str], list[Hit]] = defaultdict(list)
        for hit in hits:
            self.by_target[(hit.server, hit.target)].append(hit)

    def of(self, server: str, target: str) -> list[Hit]:
        return self.by_target.get((server, target), [])

    def __len__(self) -> int:
        return len(self.hits)


# --- the servers ---------------------------------------------------------------------------------

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 307: "Temporary Redirect",
            404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class FaultServer:
    """One HTTP/1.1 server on 127.0.0.1 (port 0) in a background thread, answering from a FaultSite.

    Bounded: it stops by itself after ``max_seconds`` and resets connections after
    ``max_requests`` requests; ``with`` starts it and stops it early.
    """

    def __init__(self, site: FaultSite, name: str, *, max_seconds: float = 300.0, max_requests: int = 200_000) -> None:
        self.site = site
        self.name = name
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.requests = 0
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._run, name=f"fault-server-{name}", daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault server did not start")
        self.site.bases[self.name] = self.base
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=256)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), self.max_seconds)
        except TimeoutError:
            pass  # ran out of time: stop by itself
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_SECONDS)
                except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                self.requests += 1
                if self.requests > self.max_requests:
                    _reset(writer)
                    return
                reply = self.site.respond(self.name, parts[1], headers)
                if not await self._send(writer, reply):
                    return
        except (ConnectionError, OSError):
            return
        except asyncio.CancelledError:
            return  # the server is stopping (a stalled reply is cut short)
        finally:
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.transport.close()

    async def _send(self, writer: asyncio.StreamWriter, reply: Reply) -> bool:
        """Write the reply; True when the connection stays open for the next request."""
        if reply.then == "reset_now":
            _reset(writer)
            return False
        keep = reply.then == "keep"
        length = len(reply.body) if reply.length is None else reply.length
        head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
        head += [f"{name}: {value}" for name, value in reply.headers]
        if reply.status != 304:
            head.append(f"Content-Length: {length}")
        if not keep:
            head.append("Connection: close")
        body = reply.body if reply.send is None else reply.body[: reply.send]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        if reply.then == "reset":
            await asyncio.sleep(0.01)  # let the half body reach the client first
            _reset(writer)
            return False
        if reply.then == "stall":
            await asyncio.sleep(STALL_SECONDS)
            return False
        return keep


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed server or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class FaultSiteServers:
    """``with FaultSiteServers(site) as servers:`` runs the main and the other host."""

    def __init__(self, site: FaultSite, *, max_seconds: float = 300.0) -> None:
        self.site = site
        self.main = FaultServer(site, "main", max_seconds=max_seconds)
        self.other = FaultServer(site, "other", max_seconds=max_seconds)

    def __enter__(self) -> FaultSiteServers:
        self.main.__enter__()
        try:
            self.other.__enter__()
        except BaseException:
            self.main.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.other.__exit__()
        self.main.__exit__()


def _child_main(count: int, seed: int, max_seconds: float) -> None:
    """``python -m tests.stress.faultsite COUNT SEED MAX_SECONDS``: the child of :class:`SiteProcess`.

    Runs both servers and answers one JSON command a line on stdin with one JSON line on stdout.
    Bounded: it stops by itself after ``max_seconds``, or when stdin closes (the parent is gone).
    """
    site = FaultSite(build_plan(count, seed))
    deadline = time.monotonic() + max_seconds
    with FaultSiteServers(site, max_seconds=max_seconds):
        _answer(site.bases)
        while time.monotonic() < deadline:
            ready, _, _ = select.select([sys.stdin], [], [], 0.2)
            if not ready:
                continue
            line = sys.stdin.readline()
            if not line:
                return
            command, argument = json.loads(line)
            if command == "stop":
                _answer(None)
                return
            if command == "log":
                with site.lock:
                    _answer([dataclasses.astuple(hit) for hit in site.hits[argument:]])
            elif command == "count":
                _answer(site.question_hits())
            elif command == "epoch":
                site.epoch = argument
                _answer(None)
            elif command == "reset":
                site.reset_log()
                _answer(None)


def _answer(value: object) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


class SiteProcess:
    """Both servers of a FaultSite in a child process, so the crawler under test shares no GIL with them.

    ``site`` is a local copy (same seed, same plan) for URLs and expected content; the request
    log comes from the child (:meth:`log`).  The child stops by itself after ``max_seconds``.
    """

    def __init__(self, count: int, seed: int, *, max_seconds: float = 300.0) -> None:
        self.site = FaultSite(build_plan(count, seed))
        self._args = [str(count), str(seed), str(max_seconds)]
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SiteProcess:
        root = Path(__file__).resolve().parent.parent.parent
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.stress.faultsite", *self._args], cwd=root,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        try:
            self.site.bases.update(self._read())  # type: ignore[arg-type]
        except BaseException:
            self._process.kill()
            self._process.wait(10)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        try:
            self._ask("stop")
        except (OSError, RuntimeError, ValueError):
            pass
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def _read(self) -> object:
        assert self._process is not None and self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], 30)
        line = self._process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("the fault site process did not answer")
        return json.loads(line)

    def _ask(self, command: str, argument: object = None) -> object:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps([command, argument]) + "\n")
        self._process.stdin.flush()
        return self._read()

    def log(self, start: int = 0) -> Log:
        return Log([Hit(*row) for row in self._ask("log", start)])  # type: ignore[union-attr]

    def question_hits(self) -> int:
        return int(self._ask("count"))  # type: ignore[call-overload]

    def set_epoch(self, epoch: int) -> None:
        self._ask("epoch", epoch)
        self.site.epoch = epoch

    def reset_log(self) -> None:
        self._ask("reset")


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    _child_main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
