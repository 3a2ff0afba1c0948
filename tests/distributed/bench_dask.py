"""Throughput of archive extraction: single process vs Dask with 1 and 2 workers.

    python -m tests.distributed.bench_dask [--files 8] [--records 500] [--dir KEEP]

Generates ``files`` WARC/WET files of ``records`` records each (fixture pages under
RealSelf and other URLs, see archives.make_bulk), then times, over the same inputs and
``--url-pattern realself\\.com/question/``: the single-process engine; Dask on an
already started LocalCluster of 1 and of 2 worker processes (processing time only); and
``run_dask_extract(scheduler=None)`` end to end (cluster start-up included).  Records/s
counts every record read (seen), matched or not.  Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tests.distributed.archives import QUESTION_PATTERN, make_bulk


def _warm(address: str) -> None:
    from distributed import Client

    with Client(address) as client:
        client.run(lambda: __import__("scraper.extract.api"))


def _burn(n: int = 3_000_000) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - started


def cpu_parallelism() -> float:
    """How many CPU-bound processes this machine really runs at once (2.0 on two free cores)."""
    import multiprocessing

    alone = min(_burn() for _ in range(2))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [10_000] * 2)  # start-up
        started = time.perf_counter()
        pool.map(_burn, [3_000_000] * 2)
        both = time.perf_counter() - started
    return round(2 * alone / both, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--dir", help="Keep the generated archives here and reuse them on the next run.")
    args = parser.parse_args()
    from scraper.distributed import run_dask_extract, run_local_extract
    from scraper.distributed.dask_extract import start_local_cluster

    print(json.dumps({"cpu_parallelism": cpu_parallelism()}), flush=True)
    base = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    started = time.perf_counter()
    corpus = Path(args.dir) if args.dir else base / "in"
    inputs = sorted(str(p) for p in corpus.glob("bulk-*")) if args.dir else []
    if len(inputs) != args.files:
        inputs = [str(p) for p in make_bulk(corpus, files=args.files, records_per_file=args.records)]
    print(json.dumps({"generated": len(inputs), "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    rows = []

    def report(name: str, seconds: float, summary: dict) -> None:
        rows.append({"run": name, "seconds": round(seconds, 2), "seen": summary["seen"], "matched": summary["matched"],
                     "extracted": summary["extracted"], "records_per_s": round(summary["seen"] / seconds, 1),
                     "matched_per_s": round(summary["matched"] / seconds, 1)})
        print(json.dumps(rows[-1]), flush=True)

    started = time.perf_counter()
    summary = run_local_extract(inputs, str(base / "local"), url_pattern=QUESTION_PATTERN)
    report("single process", time.perf_counter() - started, summary)
    for workers in (1, 2):
        with start_local_cluster(workers) as cluster:
            _warm(cluster.scheduler_address)
            started = time.perf_counter()
            summary = run_dask_extract(inputs, str(base / f"dask{workers}"), url_pattern=QUESTION_PATTERN,
                                       scheduler=cluster.scheduler_address)
            report(f"dask, {workers} worker{'s' * (workers > 1)} (cluster up)", time.perf_counter() - started, summary)
    for workers in (1, 2):
        started = time.perf_counter()
        summary = run_dask_extract(inputs, str(base / f"e2e{workers}"), url_pattern=QUESTION_PATTERN, scheduler=None,
                                   n_workers=workers)
        report(f"dask, {workers} worker{'s' * (workers > 1)}, LocalCluster start included", time.perf_counter() - started, summary)


if __name__ == "__main__":
    main()
