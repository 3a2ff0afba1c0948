"""What a fetch gives back: the response with its facts, or why there is none.

One shape for every source (HTTP, files, web archives), so the crawl engine
and the state store never care where a page came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message

from scraper.page import RawPage

__all__ = ["FAILURE_KINDS", "FetchResult", "utc_now"]

FAILURE_KINDS = (
    "robots_disallowed",  # robots.txt forbids the URL: no request was made
    "timeout",  # connect or read timed out (after retries)
    "connection_error",  # refused, reset, DNS, TLS (after retries)
    "http_error",  # a 4xx/5xx that is not retried, or still failing after retries
    "rate_limited",  # 429/503 whose Retry-After is longer than RETRY_AFTER_MAX, or still limited after retries
    "too_large",  # body (after decompression) over DOWNLOAD_MAXSIZE
    "bad_content_type",  # not a page type we read (image, PDF, ...)
    "bot_wall",  # a challenge page (PerimeterX, Cloudflare, login wall), not content
    "redirect_loop",  # redirects went round or past REDIRECT_MAX_TIMES
    "redirect_refused",  # redirect to a non-HTTP scheme, or to a private address when not allowed
    "blocked_address",  # the host name resolved to a loopback/private/link-local/... address when not allowed
    "invalid_url",  # not an http(s) URL we can fetch
    "decode_error",  # a corrupt compressed body, or an archive record that cannot be read
    "not_found",  # a file that does not exist, a glob that matches nothing
    "unreadable",  # a directory, permission denied, an I/O error
    "robots_unavailable",  # robots.txt answered 5xx/429 or not at all: not fetched now, asked again with backoff
    "host_parked",  # HOST_MAX_CONNECTION_FAILURES connection failures in a row: the host is left alone this run
    "length_mismatch",  # the body is longer than its Content-Length (the rest would be read as another response)
    "fetch_error",  # the fetcher met something unforeseen on this URL (a bug: the detail names it)
    "extract_timeout",  # extracting the page took longer than EXTRACT_TIMEOUT: its worker was stopped
    "extract_crashed",  # the worker process extracting the page died (killed, out of memory)
    "internal_error",  # the crawler met something unforeseen while processing the page (a bug)
)


def utc_now() -> str:
    """Now as ISO 8601 UTC with a Z, the format of every timestamp we store."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return str(charset).strip() if isinstance(charset, str) and charset.strip() else None


@dataclass
class FetchResult:
    """One fetch: ``failure`` is None for a usable response (2xx with a body, or 304)."""

    url: str
    """The URL asked for."""
    final_url: str | None = None
    """Where the response came from, after redirects."""
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers, names lower-cased."""
    body: bytes = b""
    fetched_at: str = field(default_factory=utc_now)
    elapsed: float = 0.0
    """Seconds from the first request to the last byte, retries included."""
    attempts: int = 0
    failure: str | None = None
    """One of FAILURE_KINDS, or None."""
    detail: str | None = None
    """A human sentence about the failure (status, exception, what the wall was)."""
    source: str = "http"
    """"http", "file" or "warc"."""
    truncated: bool = False
    """The body is known to be cut off: an archive record that ends early or says so (WARC-Truncated)."""

    @property
    def ok(self) -> bool:
        return self.failure is None and self.status is not None and 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        return self.failure is None and self.status == 304

    def page(self, *, path: str | None = None) -> RawPage:
        """The body as a raw page for the extractors; ``path`` names the archive file a WARC record came from."""
        if self.source == "file":
            return RawPage(body=self.body, kind="file", path=self.url, fetched_at=None)
        return RawPage(
            body=self.body,
            kind="warc" if self.source == "warc" else "http",
            url=self.final_url or self.url,
            path=path,
            fetched_at=self.fetched_at,
            encoding=charset_of(self.headers.get("content-type")),
            headers=dict(self.headers),
            truncated=self.truncated,
        )
