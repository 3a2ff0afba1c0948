"""One page's failure is that page's: odd headers and values never stop a crawl (issue 11).

The server here is a MADE one: a raw socket server on 127.0.0.1 that answers every request
for ``/page`` with exactly the bytes a test (or hypothesis) gives it, so headers no HTTP
library would produce (``Retry-After: ²``, ``Location: http://[oops/next``) reach the
fetcher as a hostile site would send them.  The pages are modelled on the schema.org QAPage
JSON-LD of the real Stack Exchange pages in ../shared/realdata/qa-html/.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scraper
import scraper.crawler.engine as engine
import scraper.crawler.extract_pool as extract_pool
from tests.crawler.site import ServerThread, build_site
from tests.rawserver import RawServer, request_path

FAST = {"DOWNLOAD_DELAY": 0.0, "CONCURRENT_REQUESTS": 2, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 2.0,
        "FOLLOW_LINKS": False, "RETRY_AFTER_MAX": 0.0, "BOTWALL_BACKOFF_BASE": 0.0}


def qa_page(answer_count: str = "2", upvotes: str = "3") -> bytes:
    """A QAPage with its question and two answers in JSON-LD; the counts are raw JSON tokens."""
    ld = (
        '{"@context": "https://schema.org", "@type": "QAPage", "mainEntity": {"@type": "Question",'
        ' "name": "How long does Botox last on the forehead?", "text": "I had Botox three months ago.",'
        f' "answerCount": {answer_count}, "upvoteCount": {upvotes},'
        ' "suggestedAnswer": ['
        f'{{"@type": "Answer", "text": "Usually three to four months.", "upvoteCount": {upvotes},'
        ' "author": {"@type": "Person", "name": "Jane Roe, MD"}},'
        '{"@type": "Answer", "text": "Between three and six months for most patients.",'
        ' "author": {"@type": "Person", "name": "John Doe, MD"}}]}}'
    )
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>How long does Botox last?</title>"
        f"<script type='application/ld+json'>{ld}</script></head><body><h1>How long does Botox last?</h1>"
        "</body></html>"
    )
    return html.encode("utf-8")


class PageServer(RawServer):
    """Answers ``/page`` with ``self.response`` (raw bytes) and anything else with 404."""

    def __init__(self) -> None:
        self.response = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        super().__init__(self._page)

    def _page(self, _: int, request: bytes) -> bytes:
        if request_path(request) == b"/page":
            return self.response
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def respond(status: str, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return (f"HTTP/1.1 {status}\r\n".encode() + head + b"Content-Length: " + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n" + body)


@pytest.fixture(scope="module")
def raw_server():
    server = PageServer()
    yield server
    server.close()


def crawl_once(server: PageServer, state: Path) -> tuple[list[scraper.PageRecord], tuple[str, str | None, str | None]]:
    records = list(scraper.crawl([server.base + "/page"], state=str(state), **FAST))
    with sqlite3.connect(state) as db:
        row = db.execute("SELECT state, failure, failure_detail FROM urls WHERE url LIKE '%/page'").fetchone()
    return records, row


@pytest.mark.parametrize(
    "status, headers",
    [
        ("503 Service Unavailable", [(b"Retry-After", "²".encode())]),
        ("503 Service Unavailable", [(b"Retry-After", b"9" * 5000)]),
        ("429 Too Many Requests", [(b"Retry-After", b"-1")]),
        ("302 Found", [(b"Location", b"http://[oops/next")]),
        ("301 Moved Permanently", [(b"Location", b"http://[::1/x")]),
    ],
    ids=["superscript-two", "5000-digits", "negative", "bad-ipv6-location", "unclosed-ipv6-location"],
)
def test_a_hostile_header_is_that_pages_named_failure(raw_server: PageServer, tmp_path: Path, status: str,
                                                      headers: list[tuple[bytes, bytes]]) -> None:
    raw_server.response = respond(status, headers, b"<html><body>gone</body></html>")
    records, (state, failure, detail) = crawl_once(raw_server, tmp_path / "s.db")
    assert records == []
    assert state == "failed"
    assert failure is not None and failure != engine.INTERNAL_ERROR, f"{failure}: {detail}"


@pytest.mark.parametrize("count", ["NaN", "1e999", "-Infinity", '"' + "7" * 5000 + '"'])
def test_absurd_json_ld_counts_still_give_the_record(raw_server: PageServer, tmp_path: Path, count: str) -> None:
    raw_server.response = respond("200 OK", [(b"Content-Type", b"text/html; charset=utf-8")], qa_page(count, count))
    records, (state, failure, detail) = crawl_once(raw_server, tmp_path / "s.db")
    assert state == "done", f"{failure}: {detail}"
    assert len(records) == 1 and len(records[0].answers) == 2
    assert records[0].answers[0].author is not None and records[0].answers[0].author.name == "Jane Roe, MD"


@pytest.mark.parametrize("charset", ["base64", "rot13", "hex", "zlib", "uu"])
def test_a_non_text_charset_is_ignored_not_fatal(raw_server: PageServer, tmp_path: Path, charset: str) -> None:
    raw_server.response = respond("200 OK", [(b"Content-Type", b"text/html; charset=" + charset.encode())], qa_page())
    records, (state, failure, detail) = crawl_once(raw_server, tmp_path / "s.db")
    assert state == "done", f"{failure}: {detail}"
    assert len(records) == 1 and records[0].question.title


def test_an_unforeseen_exception_fails_that_page_and_the_crawl_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any bug on one page: the page fails as internal_error, leaves the queue, the rest is crawled.

    The bug is planted by monkeypatching, so extraction runs in this process (EXTRACT_WORKERS=1);
    tests/crawler/test_extract_pool.py does the same to a worker process.
    """
    real = extract_pool.extract_page_explained
    poisoned: list[str] = []

    def explode_on_one(page, site=None):  # type: ignore[no-untyped-def]
        if page.url and page.url.endswith("/question/" + victim) :
            poisoned.append(page.url)
            raise RuntimeError("a bug nobody found yet")
        return real(page, site=site)

    with ServerThread(build_site()) as server:
        victim = server.site.questions[0].rsplit("/", 1)[1]
        monkeypatch.setattr(extract_pool, "extract_page_explained", explode_on_one)
        state = tmp_path / "s.db"
        records = list(scraper.crawl([server.base + "/questions"], state=str(state), DOWNLOAD_DELAY=0.0, EXTRACT_WORKERS=1))
        assert poisoned, "the poisoned page was processed"
        assert len(records) == len(server.site.questions) - 1, "every other question still gives its record"
        with sqlite3.connect(state) as db:
            row = db.execute("SELECT state, failure, failure_detail FROM urls WHERE url = ?", (poisoned[0],)).fetchone()
        assert row[0] == "failed" and row[1] == engine.INTERNAL_ERROR
        assert "RuntimeError: a bug nobody found yet" in row[2]
        hits_before = len(server.site.hits)
        assert list(scraper.crawl([], state=str(state), DOWNLOAD_DELAY=0.0)) == []
        assert len(server.site.hits) == hits_before, "a resumed run does not stop on (or refetch) the failed page"


_HEADER_NAMES = [b"Retry-After", b"Location", b"Content-Type", b"Content-Encoding", b"Set-Cookie", b"ETag",
                 b"Last-Modified", b"Date", b"Refresh", b"Link", b"X-Robots-Tag", b"Transfer-Encoding"]
_header_value = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
_count_token = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "0.5", "null", "true", '""', "[]", "{}"]),
    st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
    st.integers(min_value=1, max_value=6000).map(lambda n: '"' + "9" * n + '"'),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.sampled_from(["200 OK", "301 Moved Permanently", "302 Found", "304 Not Modified", "429 Too Many Requests",
                            "503 Service Unavailable", "500 Internal Server Error"]),
    headers=st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), _header_value), max_size=6),
    answer_count=_count_token,
    upvotes=_count_token,
)
def test_random_headers_and_json_ld_values_never_stop_the_crawl(raw_server: PageServer, tmp_path_factory: pytest.TempPathFactory,
                                                                 status: str, headers: list[tuple[bytes, bytes]],
                                                                 answer_count: str, upvotes: str) -> None:
    raw_server.response = respond(status, headers, qa_page(answer_count, upvotes))
    state = tmp_path_factory.mktemp("hyp") / "s.db"
    records, (url_state, failure, detail) = crawl_once(raw_server, state)
    assert url_state in ("done", "failed"), "the page left the queue"
    # Still to do (issue 11): every such failure named, none left to the internal_error catch-all.
    assert failure is not None or url_state == "done", detail
    assert len(records) <= 1
