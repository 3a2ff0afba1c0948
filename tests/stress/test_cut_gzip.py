"""A gzip body cut short is never taken for a page (a small, fast reproduction of one fault of the big crawl).

Two ways to cut it: inside a well-framed response (Content-Length = the bytes sent, so HTTP sees a
complete message but the gzip stream never reaches its end) -> ``decode_error``, not retried; and
by the connection closing before the declared Content-Length -> ``connection_error`` after
RETRY_TIMES retries.  A whole gzip body gives the same record as the plain page.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import scraper
from tests.stress.faultsite import CRAWL_SETTINGS, RETRY_TIMES, FaultSite, FaultSiteServers, PagePlan, read_jsonl


def test_a_gzip_body_cut_short_is_a_failure_not_a_page(tmp_path: Path) -> None:
    plans = [PagePlan(0, "gzip_truncated", 0), PagePlan(1, "gzip_cut_connection", 1), PagePlan(2, "gzip_ok", 2),
             PagePlan(3, "ok", 2)]
    site = FaultSite(plans)
    with FaultSiteServers(site, max_seconds=60):
        out = tmp_path / "out.jsonl"
        stats: list = []
        list(scraper.crawl([site.url(p) for p in plans], state=tmp_path / "s.db", output=out, stats=stats,
                           FOLLOW_LINKS=False, **CRAWL_SETTINGS))
        log = site.log()
    db = sqlite3.connect(tmp_path / "s.db")
    rows = {url: (state, failure, detail) for url, state, failure, detail in
            db.execute("SELECT url, state, failure, failure_detail FROM urls")}
    db.close()

    state, failure, detail = rows[site.url(plans[0])]
    assert (state, failure) == ("failed", "decode_error")
    assert "gzip" in detail and site.url(plans[0]) in detail
    assert len(log.of("main", plans[0].path)) == 1, "a corrupt body is not retried"

    state, failure, detail = rows[site.url(plans[1])]
    assert (state, failure) == ("failed", "connection_error")
    assert f"after {1 + RETRY_TIMES} attempts" in detail
    assert len(log.of("main", plans[1].path)) == 1 + RETRY_TIMES

    records = {r["url"]: r for r in read_jsonl(out)}
    assert set(records) == {site.url(plans[2]), site.url(plans[3])}, "no record from half a page"
    whole, plain = records[site.url(plans[2])], records[site.url(plans[3])]
    assert whole["answers"] == plain["answers"] and whole["question"]["body"] == plain["question"]["body"]
    assert stats[0].failed == {"decode_error": 1, "connection_error": 1}
