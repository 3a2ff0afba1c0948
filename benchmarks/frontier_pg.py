"""How much a PostgreSQL frontier takes, and what several crawl workers on it fetch.

    python benchmarks/frontier_pg.py [--dsn postgresql://...] [--rows 100000] [--questions 2000]

Without ``--dsn`` a throwaway server is started (tests/postgres.py: Debian's binaries,
127.0.0.1, fsync off, so the figures are the frontier's CPU cost, not a disk's).  Prints:

1. **inserts**: rows/s that ``add_urls`` takes, in batches of 20 (the links of one page)
   and of 1,000, from one process;
2. **lease cycles**: pages/s the frontier alone can hand out and finish (lease one URL,
   then in one transaction mark it done, free its host and queue 5 new links) with
   1, 2 and 4 processes over 1,000 hosts, no fetching;
3. **crawl**: ``scraper crawl`` workers on one PostgreSQL state against nginx (a
   static site of ``--questions`` question pages, benchmarks/static_site.py), 1, 2 and 3
   workers at once, beside one worker on SQLite: pages/s in total and per worker.

All on this machine's cores, shared by the server, the database and the workers;
nothing here is a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def fresh_db(server_dsn: str, name: str) -> str:
    from tests.postgres import create_database

    return create_database(server_dsn, name)


def bench_inserts(dsn: str, rows: int, batch: int) -> float:
    from scraper.settings import Settings
    from scraper.store.state import open_state

    with open_state(dsn, Settings(), worker=f"insert-{batch}") as store:
        started = time.perf_counter()
        for start in range(0, rows, batch):
            entries = [(f"http://h{i % 1000}.test/b{batch}/{i}", f"h{i % 1000}.test", 1) for i in range(start, start + batch)]
            with store.transaction():
                store.add_urls(entries)
        return rows / (time.perf_counter() - started)


def _cycle_worker(dsn: str, name: str, seconds: float, counter: multiprocessing.Value) -> None:  # type: ignore[valid-type]
    from scraper.settings import Settings
    from scraper.store.state import open_state

    rng = random.Random(name)
    done = 0
    with open_state(dsn, Settings(DOWNLOAD_DELAY=0), worker=name) as store:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            batch = store.lease(1)
            if not batch:
                continue
            entry = batch[0]
            links = [(f"http://h{h}.test/{name}/{done}/{k}", f"h{h}.test", entry.depth + 1)
                     for k, h in enumerate(rng.sample(range(1000), 5))]
            with store.transaction():
                store.mark_fetched(entry.url, state="done", next_fetch_at=time.time() + 86400, fetched_at="t", http_status=200)
                store.release_host(entry.host, 0.0)
                store.add_urls(links)
            done += 1
    with counter.get_lock():  # type: ignore[attr-defined]
        counter.value += done  # type: ignore[attr-defined]


def bench_cycles(dsn: str, processes: int, seconds: float) -> float:
    counter = multiprocessing.Value("i", 0)
    procs = [multiprocessing.Process(target=_cycle_worker, args=(dsn, f"c{processes}-{i}", seconds, counter)) for i in range(processes)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    return counter.value / seconds  # type: ignore[no-any-return]


_SUMMARY = re.compile(r"(\d+) pages fetched")


def run_workers(state: str, seed: str, workers: int, workdir: Path) -> tuple[float, list[int]]:
    cmd = [sys.executable, "-m", "scraper", "crawl", seed, "--state", state, "--site", "realself", "-q",
           "-s", "ROBOTSTXT_OBEY=false", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS=16",
           "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=48", "-s", "LOG_INTERVAL=3600"]
    started = time.perf_counter()
    procs = [subprocess.Popen([*cmd, "-o", str(workdir / f"w{i}.jsonl")], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for i in range(workers)]
    pages = []
    for proc in procs:
        _, err = proc.communicate()
        found = _SUMMARY.search(err)
        if proc.returncode != 0 or not found:
            raise SystemExit(f"a worker failed ({proc.returncode}): {err[-800:]}")
        pages.append(int(found.group(1)))
    return time.perf_counter() - started, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dsn", help="a PostgreSQL server URL (its user may create databases); default: start one")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each lease-cycle measurement")
    parser.add_argument("--questions", type=int, default=2000)
    args = parser.parse_args()

    from tests.postgres import TempPostgres, wait_until_ready

    server = None
    dsn = args.dsn
    if dsn is None:
        server = TempPostgres.start()
        dsn = server.dsn
    wait_until_ready(dsn)
    try:
        print(f"load average at start: {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
        for batch in (20, 1000):
            rate = bench_inserts(fresh_db(dsn, f"bench_ins_{batch}"), args.rows, batch)
            print(f"inserts   batch {batch:>5}: {rate:>9,.0f} rows/s  ({args.rows:,} rows, one process)")
        cycles_db = fresh_db(dsn, "bench_cycles")
        from scraper.settings import Settings
        from scraper.store.state import open_state

        with open_state(cycles_db, Settings(), worker="fill") as store, store.transaction():
            store.add_urls([(f"http://h{i % 1000}.test/seed/{i}", f"h{i % 1000}.test", 0) for i in range(50_000)])
        for processes in (1, 2, 4):
            rate = bench_cycles(cycles_db, processes, args.seconds)
            print(f"lease cycles, {processes} process(es): {rate:>7,.0f} pages/s  (lease + finish + 5 links, no fetch)")

        from servers import StaticServer
        from static_site import generate_site

        with tempfile.TemporaryDirectory(prefix="frontier-bench-") as tmp:
            os.chmod(tmp, 0o755)  # nginx workers run as another user
            info = generate_site(tmp, args.questions)
            with StaticServer(tmp) as static:
                seed = static.base + info.seed_path
                runs: list[tuple[str, int, float, list[int]]] = []
                seconds, pages = run_workers(str(Path(tmp) / "state.db"), seed, 1, Path(tmp))
                runs.append(("sqlite", 1, seconds, pages))
                for workers in (1, 2, 3):
                    seconds, pages = run_workers(fresh_db(dsn, f"bench_crawl_{workers}"), seed, workers, Path(tmp))
                    runs.append(("postgres", workers, seconds, pages))
                print(f"crawl: {info.questions:,} questions ({sum(runs[0][3]):,} URLs) on {static.kind}, 16 in flight per worker")
                for kind, workers, seconds, pages in runs:
                    total = sum(pages)
                    print(f"  {kind:<8} {workers} worker(s): {total:>6,} pages in {seconds:6.1f} s = {total / seconds:6.1f} pages/s, "
                          f"{total / seconds / workers:6.1f} per worker (pages per worker: {pages})")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
