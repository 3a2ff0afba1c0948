"""One test suite for both crawl-state stores: embedded SQLite and shared PostgreSQL.

Every test here runs twice, once per backend (the ``backend`` parameter), through the
same methods the crawl engine calls.  PostgreSQL tests get a fresh database on a
throwaway server (tests/postgres.py).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scraper.errors import ScraperError
from scraper.settings import Settings
from scraper.store.state import SCHEMA_VERSION, CrawlLockedError, StateStore, open_state

Opener = Callable[..., Any]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def state_spec(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return str(tmp_path / "state.db")
    return str(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
def opener(state_spec: str) -> Iterator[Opener]:
    opened: list[Any] = []

    def open_(worker: str = "w1", lock: bool = True, **settings: Any) -> Any:
        store = open_state(state_spec, Settings(**settings), worker=worker, lock=lock)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def add(store: Any, *entries: tuple[str, str, int]) -> int:
    with store.transaction():
        return int(store.add_urls(entries))


def finish(store: Any, url: str, state: str = "done", next_fetch_at: float | None = None) -> None:
    with store.transaction():
        store.mark_fetched(url, state=state, next_fetch_at=next_fetch_at or time.time() + 3600,
                           fetched_at="2026-11-27T00:00:00Z", http_status=200)


def test_urls_are_queued_once_and_leased_in_discovery_order(opener: Opener) -> None:
    store = opener(DOWNLOAD_DELAY=0, CONCURRENT_REQUESTS_PER_DOMAIN=8)
    assert add(store, ("http://a.test/1", "a.test", 0), ("http://a.test/2", "a.test", 1)) == 2
    assert add(store, ("http://a.test/2", "a.test", 1), ("http://a.test/3", "a.test", 1)) == 1
    first = store.lease(2)
    assert [e.url for e in first] == ["http://a.test/1", "http://a.test/2"]
    assert [e.url for e in store.lease(5)] == ["http://a.test/3"]
    assert store.lease(5) == []  # all three are held
    assert store.busy()


def test_a_finished_url_is_not_leased_again_and_the_crawl_ends(opener: Opener) -> None:
    store = opener(DOWNLOAD_DELAY=0)
    add(store, ("http://a.test/1", "a.test", 0))
    (entry,) = store.lease(1)
    finish(store, entry.url)
    assert store.lease(1) == []
    assert not store.busy()
    got = store.get(entry.url)
    assert got.state == "done" and got.fetch_count == 1


def test_a_released_url_is_due_again(opener: Opener) -> None:
    store = opener(DOWNLOAD_DELAY=0)
    add(store, ("http://a.test/1", "a.test", 0))
    (entry,) = store.lease(1)
    store.release(entry.url)
    assert [e.url for e in store.lease(1)] == ["http://a.test/1"]


def test_leases_of_a_store_that_is_gone_come_back(opener: Opener, backend: str) -> None:
    # SQLite: a crawl process that dies loses its in-memory leases with it.
    # PostgreSQL: a worker's leases expire after LEASE_TIMEOUT and another worker takes them.
    first = opener(worker="dies", DOWNLOAD_DELAY=0, LEASE_TIMEOUT=0.3)
    add(first, ("http://a.test/1", "a.test", 0))
    assert len(first.lease(1)) == 1
    if backend == "sqlite":
        first.close()
        other = opener(worker="lives", DOWNLOAD_DELAY=0, LEASE_TIMEOUT=0.3)
    else:
        other = opener(worker="lives", DOWNLOAD_DELAY=0, LEASE_TIMEOUT=0.3)
        assert other.lease(1) == []  # still held
    deadline = time.monotonic() + 5  # expired leases are swept back at least once a second
    while not (got := other.lease(1)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e.url for e in got] == ["http://a.test/1"]


def test_requeue_due_brings_back_pages_whose_time_has_come(opener: Opener) -> None:
    store = opener(DOWNLOAD_DELAY=0, CONCURRENT_REQUESTS_PER_DOMAIN=4)
    add(store, ("http://a.test/old", "a.test", 0), ("http://a.test/new", "a.test", 0))
    for entry in store.lease(2):
        finish(store, entry.url, next_fetch_at=1000.0 if entry.url.endswith("old") else time.time() + 3600)
    with store.transaction():
        assert store.requeue_due(time.time()) == 1
    assert [e.url for e in store.lease(5)] == ["http://a.test/old"]
    assert store.get("http://a.test/new").state == "done"


def test_record_versions_and_output_positions(opener: Opener, tmp_path: Path) -> None:
    store = opener(DOWNLOAD_DELAY=0)
    add(store, ("http://a.test/1", "a.test", 0))
    out = str(tmp_path / "out.jsonl")
    assert store.output_position(out, "jsonl") == (0, 0)
    with store.transaction():
        assert store.add_record("http://a.test/1", extractor="x", change="new", record_json='{"v": 1}',
                                content_key="k1", created_at="t1") == 1
    with store.transaction():
        assert store.add_record("http://a.test/1", extractor="x", change="changed", record_json='{"v": 2}',
                                content_key="k2", created_at="t2") == 2
    assert store.latest_record("http://a.test/1") == (2, '{"v": 2}', "k2")
    assert store.get("http://a.test/1").record_version == 2
    pending = store.pending_records(out, 0)
    assert [(url, change, record) for _, url, change, record in pending] == [
        ("http://a.test/1", "new", '{"v": 1}'), ("http://a.test/1", "changed", '{"v": 2}')]
    assert pending[0][0] < pending[1][0]
    with store.transaction():
        store.set_output_position(out, pending[0][0], 11)
    assert store.output_position(out, "jsonl") == (pending[0][0], 11)
    assert [r for _, _, _, r in store.pending_records(out, pending[0][0])] == ['{"v": 2}']


def test_a_new_output_starts_with_records_stored_from_now_on(opener: Opener, tmp_path: Path) -> None:
    store = opener(DOWNLOAD_DELAY=0)
    add(store, ("http://a.test/1", "a.test", 0))
    with store.transaction():
        store.add_record("http://a.test/1", extractor="x", change="new", record_json="{}", content_key="k", created_at="t")
    later = str(tmp_path / "later.jsonl")
    seq, offset = store.output_position(later, "jsonl")
    assert store.pending_records(later, seq) == [] and offset == 0


def test_responses_round_trip_compressed(opener: Opener) -> None:
    store = opener()
    add(store, ("http://a.test/1", "a.test", 0), ("http://a.test/2", "a.test", 0))
    body = "Frage: ünïcödé\n".encode() * 200
    with store.transaction():
        store.save_response("http://a.test/1", "t1", 200, None, {"content-type": "text/html"}, body)
        store.save_response("http://a.test/2", "t2", 200, "http://a.test/2b", {}, b"<p>x</p>")
    with store.transaction():  # a re-fetch replaces the stored response
        store.save_response("http://a.test/1", "t3", 200, None, {"etag": '"e"'}, body + b"!")
    got = {r.url: r for r in store.responses()}
    assert got["http://a.test/1"].body == body + b"!" and got["http://a.test/1"].headers == {"etag": '"e"'}
    assert got["http://a.test/2"].final_url == "http://a.test/2b"


def test_a_failed_transaction_changes_nothing(opener: Opener) -> None:
    store = opener(DOWNLOAD_DELAY=0)
    with pytest.raises(RuntimeError), store.transaction():
        store.add_urls([("http://a.test/1", "a.test", 0)])
        raise RuntimeError("killed mid-page")
    assert store.get("http://a.test/1") is None


def test_runs_and_seed_hosts(opener: Opener) -> None:
    store = opener(DOWNLOAD_DELAY=0)
    add(store, ("http://a.test/1", "a.test", 0), ("http://b.test/1", "b.test", 1))
    assert store.seed_hosts() == {"a.test"}
    run = store.start_run("t0")
    store.finish_run(run, "t1", {"pages_fetched": 0})
    assert store.queued_count() == 2


def test_the_same_worker_cannot_run_twice(opener: Opener) -> None:
    opener(worker="same")
    with pytest.raises(CrawlLockedError):
        opener(worker="same")


def test_schema_is_migrated_to_the_current_version(opener: Opener, backend: str) -> None:
    store = opener()
    if backend == "sqlite":
        assert store.schema_version() == SCHEMA_VERSION
    else:
        from scraper.store.state_postgres import SCHEMA_VERSION as PG_VERSION

        assert store.schema_version() == PG_VERSION


def test_a_state_from_a_newer_scraper_is_refused(opener: Opener, backend: str) -> None:
    store = opener(worker="old")
    if backend == "sqlite":
        store.db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    else:
        store.db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    store.close()
    with pytest.raises(ScraperError, match="newer scraper"):
        opener(worker="new")


def test_sqlite_state_of_version_1_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    from scraper.store.state import _MIGRATIONS

    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[0])
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO urls (url, host, seq) VALUES ('http://a.test/1', 'a.test', 1)")
    db.commit()
    db.close()
    with StateStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert [e.url for e in store.lease(1)] == ["http://a.test/1"]
        indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"urls_queue", "urls_seq"} <= indexes


# --- politeness that only a shared store must hold across processes -------------------------


def test_postgres_hosts_with_a_delay_are_held_until_the_page_is_finished(postgres_dsn: str) -> None:
    with open_state(postgres_dsn, Settings(DOWNLOAD_DELAY=0.4), worker="a") as a, \
            open_state(postgres_dsn, Settings(DOWNLOAD_DELAY=0.4), worker="b") as b:
        add(a, ("http://h.test/1", "h.test", 0), ("http://h.test/2", "h.test", 0))
        first = a.lease(5)
        assert [e.url for e in first] == ["http://h.test/1"]  # one URL at a time per host when there is a delay
        add(a, ("http://i.test/1", "i.test", 0))
        other = b.lease(5)
        assert [e.url for e in other] == ["http://i.test/1"]  # b gets the other host, not the held one
        assert b.lease(5) == []  # both hosts are held
        with a.transaction():
            a.mark_fetched(first[0].url, state="done", next_fetch_at=0, fetched_at="t", http_status=200)
            a.release_host(first[0].host, 0.4)
        finished = time.monotonic()
        assert b.lease(5) == []  # the delay runs from the end of the page
        deadline = time.monotonic() + 10
        while not (got := b.lease(5)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert time.monotonic() - finished >= 0.35
        assert [e.url for e in got] == ["http://h.test/2"]


def test_postgres_per_host_concurrency_is_shared_by_all_workers(postgres_dsn: str) -> None:
    settings = Settings(DOWNLOAD_DELAY=0, CONCURRENT_REQUESTS_PER_DOMAIN=3)
    with open_state(postgres_dsn, settings, worker="a") as a, open_state(postgres_dsn, settings, worker="b") as b:
        add(a, *[(f"http://h.test/{i}", "h.test", 0) for i in range(10)])
        held_by_a = a.lease(2) + a.lease(5) + a.lease(5)  # a prefetches up to the host's limit
        assert len(held_by_a) == 3
        assert b.lease(5) == [] and a.lease(5) == []  # 3 in flight on the host, whoever holds them
        with a.transaction():
            a.mark_fetched(held_by_a[0].url, state="done", next_fetch_at=0, fetched_at="t", http_status=200)
            a.release_host("h.test", 0.0)
        assert len(b.lease(5)) == 1  # one finished, one free slot


def test_postgres_workers_write_only_their_own_records(postgres_dsn: str, tmp_path: Path) -> None:
    with open_state(postgres_dsn, Settings(), worker="a") as a, open_state(postgres_dsn, Settings(), worker="b") as b:
        add(a, ("http://h.test/1", "h.test", 0), ("http://h.test/2", "h.test", 0))
        for store, url in ((a, "http://h.test/1"), (b, "http://h.test/2")):
            with store.transaction():
                store.add_record(url, extractor="x", change="new", record_json=f'"{url}"', content_key="k", created_at="t")
        assert [r[1] for r in a.pending_records(str(tmp_path / "a.jsonl"), 0)] == ["http://h.test/1"]
        assert [r[1] for r in b.pending_records(str(tmp_path / "b.jsonl"), 0)] == ["http://h.test/2"]


def test_an_unreachable_database_is_a_clear_error() -> None:
    pytest.importorskip("psycopg")
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ScraperError, match="cannot connect to the state database"):
        open_state(f"postgresql://nobody@127.0.0.1:{port}/crawl")


def test_stored_responses_stream_in_batches_while_records_are_written(opener: Opener) -> None:
    """reextract reads every response and writes a record between reads: no open cursor, no list of all bodies."""
    from scraper.store.state import RESPONSE_BATCH

    store = opener(DOWNLOAD_DELAY=0)
    count = 2 * RESPONSE_BATCH + 7  # three batches, the last one short
    urls = [f"http://a.test/{i}" for i in range(count)]
    add(store, *[(u, "a.test", 0) for u in urls])
    with store.transaction():
        for i, url in enumerate(urls):
            store.save_response(url, "2026-12-03T00:00:00Z", 200, None, {}, f"<p>page {i}</p>".encode())
    seen = []
    for response in store.responses():
        seen.append(response.url)
        with store.transaction():  # what reextract does between two responses
            store.add_record(response.url, extractor="test", change="new", record_json="{}", content_key=response.url,
                             created_at=response.fetched_at)
        assert response.body == f"<p>page {len(seen) - 1}</p>".encode()
    assert seen == urls, "every response once, in the order stored"
