"""Crawl settings: Scrapy's names and polite defaults, in one place.

Every default is an UPPER_CASE field below, named as Scrapy names it where
Scrapy has the setting (``DOWNLOAD_DELAY``, ``CONCURRENT_REQUESTS_PER_DOMAIN``,
``USER_AGENT``, ``ROBOTSTXT_OBEY``, ``RETRY_TIMES``, ...), so users carry
their habits over.  Layers, lowest first: these defaults < a config file
(TOML, ``--config``) < ``-s NAME=VALUE`` on the command line < keyword
arguments to :func:`scraper.crawl`.  Defaults are polite, like a generated
Scrapy project: obey robots.txt, one request at a time per host, one second
apart.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scraper._version import __version__
from scraper.errors import PatternError, SettingsError
from scraper.limits import DEFAULT_DOWNLOAD_MAXSIZE, DEFAULT_SITEMAP_MAXSIZE, MAX_EXTRACT_INPUT_SIZE

__all__ = ["DEFAULT_USER_AGENT", "Settings", "SettingsError", "parse_setting_assignments"]

DEFAULT_USER_AGENT = f"qa-scraper/{__version__} (+https://pypi.org/project/qa-scraper/)"


class Settings(BaseModel):
    """All tunables of fetching and crawling. Field names are the setting names."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # Identity and politeness
    USER_AGENT: str = DEFAULT_USER_AGENT
    """An honest User-Agent naming the tool and where to learn about it."""
    ROBOTSTXT_OBEY: bool = True
    DOWNLOAD_DELAY: float = Field(1.0, ge=0)
    """Minimum seconds between two requests to the same host (robots.txt Crawl-delay raises it)."""
    RANDOMIZE_DOWNLOAD_DELAY: bool = False
    """Scrapy's jitter: wait 0.5x to 1.5x DOWNLOAD_DELAY."""
    CONCURRENT_REQUESTS: int = Field(16, ge=1)
    CONCURRENT_REQUESTS_PER_DOMAIN: int = Field(1, ge=1)
    BOTWALL_BACKOFF_BASE: float = Field(30.0, ge=0)
    """Seconds a host is left alone after its first challenge page; doubles with each one after."""
    BOTWALL_BACKOFF_MAX: float = Field(3600.0, ge=0)
    MAX_CRAWL_DELAY: float = Field(60.0, ge=0)
    """Longest robots.txt Crawl-delay (or Request-rate) honoured; a longer one is capped to this, with a
    warning once per host (``Crawl-delay: 100000000`` would otherwise stall the host for ever)."""
    ROBOTS_RETRY_BACKOFF: float = Field(30.0, ge=0)
    """Seconds an unreachable robots.txt (5xx, 429, timeout, connection error) is cached before it is
    asked again; doubles with each failure in a row, up to ROBOTS_RETRY_BACKOFF_MAX.  Meanwhile the
    host's URLs fail as ``robots_unavailable`` (temporary), not ``robots_disallowed``."""
    ROBOTS_RETRY_BACKOFF_MAX: float = Field(600.0, ge=0)
    ROBOTSTXT_CACHE_TTL: float = Field(24 * 3600.0, gt=0)
    """Seconds a host's robots.txt (or its absence) is trusted before it is asked again."""

    # Transport
    DOWNLOAD_TIMEOUT: float = Field(30.0, gt=0)
    DOWNLOAD_MAXSIZE: int = Field(DEFAULT_DOWNLOAD_MAXSIZE, ge=1024)
    """Largest body accepted, after decompression (so a gzip bomb stops here too)."""
    HTTP2_ENABLED: bool = False
    """Offer HTTP/2 (needs ``pip install 'qa-scraper[http2]'``); HTTP/2 goes through httpcore whatever HTTP_TRANSPORT says."""
    HTTP_TRANSPORT: Literal["httpcore", "aiohttp"] = "httpcore"
    """What carries the bytes under httpx: ``httpcore`` (httpx's own) or ``aiohttp`` (its C parser is
    several times faster; the address guard is then aiohttp's resolver, see :mod:`scraper.fetch.aio`)."""
    HTTP_PROXY: str | None = None
    COOKIES_ENABLED: bool = True
    """Keep the cookies hosts set and send them back to the same host, as Scrapy does (off: no cookie is
    stored or sent).  Kept per host name and bounded as browsers bound them: at most 50 cookies per host
    (least recently set evicted), 4096 bytes per cookie (name plus value; a longer one is ignored),
    3000 over all hosts (see :mod:`scraper.fetch.cookies`)."""
    ALLOWED_CONTENT_TYPES: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain", "application/json", "application/xml", "text/xml")
    REDIRECT_ENABLED: bool = True
    REDIRECT_MAX_TIMES: int = Field(5, ge=0)
    REDIRECT_ALLOW_PRIVATE: bool = False
    """Follow redirects that lead to loopback or private addresses (off: a public page must not
    send the crawler into the local network)."""
    DNS_ALLOW_PRIVATE: bool = False
    """Connect to host names that resolve to loopback, private, link-local or other non-public
    addresses even when the fetch started on a public host (off: such a connection is refused as
    ``blocked_address``, checked on the resolved addresses at connect time, so DNS rebinding cannot
    get round it).  A fetch that starts on a private host (``127.0.0.1``, ``localhost``, ``10.x``)
    may always connect to private addresses.  Not applied through HTTP_PROXY, which resolves names
    itself."""

    # Retries
    RETRY_ENABLED: bool = True
    RETRY_TIMES: int = Field(2, ge=0)
    """Retries after the first attempt, as in Scrapy."""
    RETRY_HTTP_CODES: tuple[int, ...] = (500, 502, 503, 504, 522, 524, 408, 429)
    RETRY_BACKOFF_BASE: float = Field(1.0, ge=0)
    """First retry waits about this long (with jitter), doubling each time, unless Retry-After says more."""
    RETRY_BACKOFF_MAX: float = Field(120.0, ge=0)
    RETRY_AFTER_MAX: float = Field(3600.0, ge=0)
    """A Retry-After longer than this is not waited for: the URL fails as rate-limited."""
    HOST_MAX_CONNECTION_FAILURES: int = Field(5, ge=0)
    """After this many connection failures in a row to one host (refused, reset, DNS, connect timeout, no
    response at all; retries count), the host's robots.txt is asked once; when that gets no answer either,
    the host is parked for the rest of the run: its other URLs fail at once as ``host_parked``, without
    connecting.  Any response from the host resets the count; 0 = never park."""

    # Crawl scope
    DEPTH_LIMIT: int = Field(0, ge=0)
    """Link depth from the seeds; 0 = no limit."""
    CLOSESPIDER_PAGECOUNT: int = Field(0, ge=0)
    """Stop after this many pages fetched in one run; 0 = no limit."""
    INCLUDE: tuple[str, ...] = ()
    """Regexes: follow only links matching one of these (empty = any link on a seed's host)."""
    EXCLUDE: tuple[str, ...] = ()
    FOLLOW_LINKS: bool = True
    MAX_LINKS_PER_PAGE: int = Field(2000, ge=0)
    """Follow at most this many links of one page (in page order); 0 = no limit.
    A link farm of 500,000 anchors on one page otherwise floods the frontier and
    blocks the loop for many seconds; pages cut short are counted as ``links_capped``."""
    SITEMAP_MAXSIZE: int = Field(DEFAULT_SITEMAP_MAXSIZE, ge=1024)

    # scraper extract
    EXTRACT_MAXSIZE: int = Field(MAX_EXTRACT_INPUT_SIZE, ge=1024)
    """Largest local file or standard input ``scraper extract`` reads (WARC records: DOWNLOAD_MAXSIZE)."""

    # Extraction of crawled pages
    EXTRACT_WORKERS: int = Field(0, ge=0)
    """Worker processes that extract fetched pages, so fetching never waits for parsing; 0 = one per core.
    1 extracts in the crawl process itself (no EXTRACT_TIMEOUT then: nothing can stop a running parse)."""
    EXTRACT_TIMEOUT: float = Field(30.0, gt=0)
    """Seconds one page may take to extract; past that its worker is killed and replaced, and the
    page fails as ``extract_timeout`` (due again after RECRAWL_INTERVAL)."""

    # Site discovery sources (--discover SITE): the adapter's URLs unless overridden here
    DISCOVERY_SITEMAP_URL: str | None = None
    DISCOVERY_SEARCH_URL: str | None = None
    """A template with {query}, {offset} and {size}."""
    DISCOVERY_BASE_URL: str | None = None
    """What relative URIs in search results are joined to."""
    DISCOVERY_MAX_REQUESTS: int = Field(50, ge=1)
    """At most this many sitemap or search requests per run (bounded discovery)."""

    # Incremental crawls
    RECRAWL_INTERVAL: float = Field(24 * 3600.0, ge=0)
    """Seconds before a fetched page is due again on a later run."""

    # Several workers on one shared (PostgreSQL) state
    LEASE_TIMEOUT: float = Field(600.0, gt=0)
    """Seconds a worker may hold a leased URL; after that another worker may take it (the holder died)."""
    STATE_POLL_INTERVAL: float = Field(0.05, gt=0)
    """Seconds a crawl worker waits before asking the state again when nothing is due but work remains."""
    STATE_PREFETCH: int = Field(8, ge=1)
    """PostgreSQL: URLs leased at once where the host allows several in flight (fewer round trips;
    leased URLs count as in flight, so politeness holds)."""
    WORKER_NAME: str = ""
    """This worker's name in a shared state; default ``HOST:OUTPUT-PATH`` (or ``HOST:pPID`` with no output).
    A worker restarted under the same name writes the records it had stored but not yet written."""

    # Output
    LOG_INTERVAL: float = Field(10.0, gt=0)
    """Seconds between progress lines when not on a terminal."""
    FLUSH_INTERVAL: float = Field(0.5, ge=0)
    """A crawl writes stored records to its outputs at least this often (seconds)..."""
    FLUSH_RECORDS: int = Field(64, ge=1)
    """... or as soon as this many are waiting, whichever comes first (each flush is fsynced)."""

    @field_validator("INCLUDE", "EXCLUDE")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        """A bad regex is the user's to fix now, not a crash when the first link is checked."""
        for pattern in patterns:
            compile_pattern(pattern)
        return patterns

    @classmethod
    def names(cls) -> list[str]:
        return sorted(cls.model_fields)

    @classmethod
    def is_list(cls, name: str) -> bool:
        """Whether a setting holds several values (given as ``a,b,c`` after ``-s``), from its type."""
        field = cls.model_fields.get(name)
        return field is not None and get_origin(field.annotation) in (tuple, list, set, frozenset)

    @classmethod
    def build(cls, *layers: dict[str, Any]) -> Settings:
        """Settings from layers of overrides, later layers winning; names are checked."""
        merged: dict[str, Any] = {}
        for layer in layers:
            for name, value in layer.items():
                key = name.upper()
                if key not in cls.model_fields:
                    raise SettingsError(f"unknown setting {name!r}; known settings: {', '.join(cls.names())}")
                merged[key] = value
        try:
            return cls(**merged)
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
            raise SettingsError(f"bad setting value ({problems})") from None

    @classmethod
    def from_file(cls, path: str | Path) -> dict[str, Any]:
        """The overrides in a TOML config file: top-level ``NAME = value`` pairs (or a [scraper] table)."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
        return dict(data.get("scraper", data))


def compile_pattern(pattern: str, option: str = "") -> re.Pattern[str]:
    """A user's regex compiled, or a :class:`PatternError` naming the option and what is wrong."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        where = f"{option}: " if option else ""
        raise PatternError(f"{where}{pattern!r} is not a valid regular expression ({exc})") from None


def parse_setting_assignments(assignments: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["DOWNLOAD_DELAY=0.2", "USER_AGENT=me"]`` -> overrides; values are JSON when they parse as JSON."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep or not name.strip():
            raise SettingsError(f"-s expects NAME=VALUE, got {assignment!r}")
        value: Any
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if Settings.is_list(name.strip().upper()):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            elif not isinstance(value, list):  # one value that parsed as JSON: -s RETRY_HTTP_CODES=500
                value = [value]
        overrides[name.strip().upper()] = value
    return overrides
