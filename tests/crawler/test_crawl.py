"""Crawls over a real local HTTP server (tests/crawler/site.py): scope, politeness, outputs, incremental runs."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

import scraper
from scraper.store.state import CrawlLockedError, StateStore
from tests.crawler.site import ServerThread, build_site, render_html

FAST = {"DOWNLOAD_DELAY": 0.0, "CONCURRENT_REQUESTS": 4, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}


@pytest.fixture(params=["sqlite", "postgres"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The crawl state, once as a SQLite file and once as a PostgreSQL database: same tests, both stores."""
    if request.param == "sqlite":
        return str(tmp_path / "s.db")
    return str(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
def server():
    with ServerThread(build_site()) as running:
        yield running


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_crawl_from_a_listing_follows_links_and_extracts_every_question(server: ServerThread, state: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    records = list(scraper.crawl([server.base + "/questions"], state=state, output=out, **FAST))
    questions = {server.base + q for q in server.site.questions}
    assert {r.url for r in records} == questions
    written = lines(out)
    assert sorted(r["url"] for r in written) == sorted(questions), "each record once in the file"
    assert all(r["crawl"] == {"change": "new", "version": 1, "new_answers": []} for r in written)
    assert "/private/secret" not in server.site.paths_hit(), "robots.txt Disallow obeyed"
    assert all(hit.user_agent.startswith("qa-scraper/") for hit in server.site.hits)
    fetched = [p for p in server.site.paths_hit() if p.startswith("/question/")]
    assert len(fetched) == len(set(fetched)) == len(questions), "no page fetched twice"


def test_crawled_pages_match_their_facts(server: ServerThread, tmp_path: Path) -> None:
    records = {r.url: r for r in scraper.crawl([server.base + "/questions"], state=tmp_path / "s.db", **FAST)}
    made = Path(__file__).resolve().parent.parent / "fixtures" / "textrender_made"
    for path in server.site.questions:
        slug = path.rsplit("/", 1)[1]
        facts = json.loads(next(made.glob(f"made-*-{slug}.facts.json")).read_text(encoding="utf-8"))
        record = records[server.base + path]
        assert record.question.title == facts["question"]["title"]
        assert record.answer_count == facts["answer_count_stated"]
        assert [a.title for a in record.answers][: len(facts["answers"])] == [a["title"] for a in facts["answers"]][: len(record.answers)]


def test_include_exclude_depth_and_page_limit(server: ServerThread, tmp_path: Path) -> None:
    records = list(scraper.crawl([server.base + "/questions"], state=tmp_path / "a.db", INCLUDE=["/question/"],
                                 EXCLUDE=["bcc|basal"], DEPTH_LIMIT=1, **FAST))
    assert records and all("/question/" in r.url and "bcc" not in r.url and "basal" not in r.url for r in records)
    assert "/questions/page-2" not in server.site.paths_hit(), "INCLUDE keeps the crawl to question pages"
    server.site.hits.clear()
    limited = list(scraper.crawl([server.base + "/questions"], state=tmp_path / "b.db", CLOSESPIDER_PAGECOUNT=3, **FAST))
    assert len([p for p in server.site.paths_hit() if p != "/robots.txt"]) == 3
    assert len(limited) <= 2  # the listing page gives no record


def test_second_run_fetches_only_what_is_due_and_reports_changes(server: ServerThread, state: str, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first = list(scraper.crawl([server.base + "/questions"], state=state, output=out, RECRAWL_INTERVAL=0, **FAST))
    # One question gains an answer.
    changed_path = server.site.questions[0]
    made = Path(__file__).resolve().parent.parent / "fixtures" / "textrender_made"
    render = next(made.glob(f"made-*-{changed_path.rsplit('/', 1)[1]}.txt")).read_text(encoding="utf-8")
    extra = ("A new answer headline\n\n{{ voteCount >= 0 ? '+' + (voteCount + 1) : (voteCount + 1) }}\n\n"
             "This answer was added after the first crawl and the crawler must report it as new.\n\n"
             "Jane Roe, MD\nBoston Plastic Surgeon\n\n")
    marker = "These answers are for educational purposes"
    new_render = render.replace(marker, extra + marker) if marker in render else render + "\n\n" + extra
    server.site.set_page(changed_path, render_html(new_render, "changed"))
    server.site.hits.clear()
    stats: list = []
    second = list(scraper.crawl(state=state, output=out, RECRAWL_INTERVAL=0, stats=stats, **FAST))
    assert [r.url for r in second] == [server.base + changed_path]
    change = second[0].crawl
    assert change is not None and change.change == "changed" and change.version == 2
    assert change.new_answers == [len(second[0].answers)]
    summary = stats[0].as_dict()
    assert summary["not_modified"] >= len(server.site.questions) - 1, "conditional requests answered 304"
    assert summary["records_changed"] == 1 and summary["records_new"] == 0
    assert len(lines(out)) == len(first) + 1


def test_pages_not_yet_due_are_not_fetched_again(server: ServerThread, state: str) -> None:
    list(scraper.crawl([server.base + "/questions"], state=state, **FAST))  # default interval: one day
    server.site.hits.clear()
    assert list(scraper.crawl(state=state, **FAST)) == []
    assert [p for p in server.site.paths_hit() if p != "/robots.txt"] == []


def test_csv_and_sqlite_outputs(server: ServerThread, tmp_path: Path) -> None:
    csv_path, db_path = tmp_path / "out.csv", tmp_path / "out.sqlite"
    records = list(scraper.crawl([server.base + "/questions"], state=tmp_path / "a.db", output=csv_path, **FAST))
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert len(rows) == sum(max(1, len(r.answers)) for r in records)
    assert {row["url"] for row in rows} == {r.url for r in records}
    list(scraper.crawl([server.base + "/questions"], state=tmp_path / "b.db", output=db_path, **FAST))
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM pages").fetchone()[0] == len(records)
    assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == sum(len(r.answers) for r in records)


def test_sitemap_seeds(server: ServerThread, tmp_path: Path) -> None:
    records = list(scraper.crawl(state=tmp_path / "s.db", sitemaps=[server.base + "/sitemap.xml"], FOLLOW_LINKS=False, **FAST))
    assert {r.url for r in records} == {server.base + q for q in server.site.questions}


def test_site_search_api_discovery(server: ServerThread, tmp_path: Path) -> None:
    records = list(scraper.crawl(
        state=tmp_path / "s.db", discover="realself", search="mohs surgery", FOLLOW_LINKS=False,
        DISCOVERY_SEARCH_URL=server.base + "/api/search?query={query}&type=question&size={size}&from={offset}",
        DISCOVERY_BASE_URL=server.base, **FAST,
    ))
    assert {r.url for r in records} == {server.base + q for q in server.site.questions}
    assert any(p.startswith("/api/search?") for p in server.site.paths_hit())


def test_a_second_crawl_on_the_same_state_is_refused_while_one_runs(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.db"):
        with pytest.raises(CrawlLockedError, match="another crawl is running"):
            StateStore(tmp_path / "s.db").open()


def test_reextract_rebuilds_records_without_fetching(server: ServerThread, tmp_path: Path) -> None:
    state, out = tmp_path / "s.db", tmp_path / "re.jsonl"
    records = list(scraper.crawl([server.base + "/questions"], state=state, **FAST))
    from scraper.crawler.reextract import reextract_state

    server.site.hits.clear()
    # Same extractor: nothing changes.
    assert reextract_state(str(state), output=str(out))["changed"] == 0
    # A record made by an "older extractor" (different content) is rebuilt as a new version.
    db = sqlite3.connect(state)
    db.execute("UPDATE records SET content_key='old' WHERE url=?", (records[0].url,))
    db.commit()
    db.close()
    summary = reextract_state(str(state), output=str(out))
    assert summary["changed"] == 1 and summary["responses"] >= len(records)
    assert [r["url"] for r in lines(out)] == [records[0].url]
    assert server.site.hits == [], "re-extraction fetches nothing"


def test_warc_out_keeps_every_fetched_response_for_later(server: ServerThread, tmp_path: Path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    records = list(scraper.crawl([server.base + "/questions"], state=tmp_path / "s.db", warc_out=warc, **FAST))
    from scraper.formats.warc import iter_archive

    archived = [r for r in iter_archive(str(warc)) if r.failure is None]
    assert {r.url for r in archived} >= {r.url for r in records}
    again = {r.url: scraper.extract_page(a.page()) for a in archived for r in records if a.url == r.url}
    for record in records:
        assert again[record.url].answers == record.answers


def test_async_crawl_yields_the_same_records(server: ServerThread, state: str) -> None:
    import asyncio

    async def collect() -> list[str]:
        return [r.url async for r in scraper.acrawl([server.base + "/questions"], state=state, **FAST)]

    assert sorted(asyncio.run(collect())) == sorted(server.base + q for q in server.site.questions)


def test_politeness_delay_holds_across_the_whole_crawl(server: ServerThread, state: str) -> None:
    list(scraper.crawl([server.base + "/questions"], state=state, DOWNLOAD_DELAY=0.15,
                       CONCURRENT_REQUESTS=4, CONCURRENT_REQUESTS_PER_DOMAIN=1, CLOSESPIDER_PAGECOUNT=6))
    starts = sorted(hit.at for hit in server.site.hits)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # Measured at the server (robots.txt included), less 0.05 s for the server thread's own scheduling.
    assert len(starts) >= 6 and min(gaps) >= 0.10, gaps


def test_status_shows_what_the_crawl_did(server: ServerThread, state: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from scraper.cli import cli

    records = list(scraper.crawl([server.base + "/questions"], state=state, **FAST))
    fetched = {p for p in server.site.paths_hit() if p != "/robots.txt"}
    result = CliRunner().invoke(cli, ["status", "--state", state, "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["records"] == len(records) == len(server.site.questions)
    # Every URL fetched is done or failed (the robots-disallowed one fails without a request).
    assert info["urls"].get("done", 0) + info["urls"].get("failed", 0) >= len(fetched)
    assert "queued" not in info["urls"] and "leased" not in info["urls"] and info["leases"] == {}
    assert info["runs"][0]["pages_fetched"] == info["urls"]["done"] and info["runs"][0]["finished_at"]
    text = CliRunner().invoke(cli, ["status", "--state", state])
    assert f"records: {len(records)} (all versions)" in text.output


def test_status_of_a_missing_state_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from scraper.cli import cli

    result = CliRunner().invoke(cli, ["status", "--state", str(tmp_path / "nothing.db")])
    assert result.exit_code == 2 and "no crawl state" in result.output


def test_a_big_sitemap_index_is_streamed_into_the_frontier(tmp_path: Path) -> None:
    """MADE index of 3 sitemaps x 20,000 URLs: pages are fetched before the last sitemap is read."""
    from tests.crawler.site import FixtureSite

    site = FixtureSite()
    with ServerThread(site) as server:
        for n in range(3):
            urls = "".join(f"<url><loc>{server.base}/p/{n}-{i}</loc></url>" for i in range(20_000))
            site.set_page(f"/s{n}.xml", f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>",
                          "application/xml")
        index = "".join(f"<sitemap><loc>{server.base}/s{n}.xml</loc></sitemap>" for n in range(3))
        site.set_page("/index.xml", f"<sitemapindex>{index}</sitemapindex>", "application/xml")
        list(scraper.crawl(state=tmp_path / "s.db", sitemaps=[server.base + "/index.xml"], FOLLOW_LINKS=False,
                           CLOSESPIDER_PAGECOUNT=20, **FAST))
        hits = server.site.paths_hit()
    first_page = next(i for i, p in enumerate(hits) if p.startswith("/p/"))
    assert "/s1.xml" not in hits[:first_page] and "/s2.xml" not in hits[:first_page]
    with sqlite3.connect(tmp_path / "s.db") as db:
        queued = db.execute("SELECT COUNT(*) FROM urls").fetchone()[0]
    assert 5000 <= queued <= 60_000  # batches went in as read; the run ended at 20 pages


def test_reextract_says_which_answers_a_rebuilt_record_added(server: ServerThread, tmp_path: Path) -> None:
    """The same versioning rule as a crawl: a version made by reextract names its new answers."""
    state, out = tmp_path / "s.db", tmp_path / "re.jsonl"
    records = list(scraper.crawl([server.base + "/questions"], state=state, **FAST))
    target = next(r for r in records if len(r.answers) >= 2)
    from scraper.crawler.reextract import reextract_state

    # As if an older extractor had missed the last answer of one page.
    older = target.model_copy(update={"answers": target.answers[:-1]})
    with sqlite3.connect(state) as db:
        db.execute("UPDATE records SET record=?, content_key='older' WHERE url=?", (older.model_dump_json(), target.url))
    summary = reextract_state(str(state), output=str(out))
    assert summary["changed"] == 1
    (rebuilt,) = lines(out)
    assert rebuilt["url"] == target.url
    assert rebuilt["crawl"]["change"] == "changed" and rebuilt["crawl"]["version"] == 2
    assert rebuilt["crawl"]["new_answers"] == [target.answers[-1].position]
