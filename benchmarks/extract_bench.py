"""Extraction throughput on one core: read + extract + validate + serialise.

    python benchmarks/extract_bench.py [--seconds 5] [PATH ...]

Defaults to the bundled text-render samples plus the made test pages.  Prints
pages per second; the figure goes in README.md and in closing notes.  This is a
measurement, never a test: nothing asserts on the time it takes.
"""

from __future__ import annotations

import argparse
import glob
import os
import time
from pathlib import Path

from scraper.extract import extract_page
from scraper.page import RawPage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUTS = [str(ROOT / "samples" / "*.txt"), str(ROOT / "tests" / "fixtures" / "textrender_made" / "*.txt")]


def run(paths: list[str], seconds: float) -> tuple[int, float, int]:
    """(pages, elapsed seconds, bytes) for repeated passes over ``paths`` for about ``seconds``."""
    pages = 0
    size = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for path in paths:
            body = Path(path).read_bytes()  # read is part of the measured work
            record = extract_page(RawPage(body=body, kind="file", path=path))
            record.model_dump_json()
            pages += 1
            size += len(body)
    return pages, time.perf_counter() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="input files or globs (default: samples + made pages)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    paths = sorted({p for pattern in (args.paths or DEFAULT_INPUTS) for p in glob.glob(pattern)})
    if not paths:
        raise SystemExit("no input files")
    run(paths, 0.5)  # warm-up: imports, regex compilation, caches
    pages, elapsed, size = run(paths, args.seconds)
    print(f"inputs={len(paths)} pages={pages} seconds={elapsed:.2f} MB/s={size / elapsed / 1e6:.1f}")
    print(f"text_render_pages_per_second={pages / elapsed:.0f}")


if __name__ == "__main__":
    main()
