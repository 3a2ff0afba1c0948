"""Extraction throughput on one core: read + extract + validate + serialise.

    python benchmarks/extract_bench.py [--seconds 5] [--text-only | --html-only]

Text renders: the bundled samples plus the 40 made pages.  HTML: every page
under tests/fixtures/html/ (real Stack Exchange, Discourse and RealSelf review
pages, made RealSelf question pages), measured beside a bare
``lxml.html.fromstring`` of the same bytes so the ratio says what extraction
costs over parsing.  This is a measurement, never a test: nothing asserts on
the time it takes.
"""

from __future__ import annotations

import argparse
import glob
import os
import time
from collections.abc import Callable
from pathlib import Path

import lxml.html

from scraper.extract import extract_page
from scraper.page import RawPage

ROOT = Path(__file__).resolve().parent.parent
TEXT_INPUTS = [str(ROOT / "samples" / "*.txt"), str(ROOT / "tests" / "fixtures" / "textrender_made" / "*.txt")]
HTML_INPUTS = [str(ROOT / "tests" / "fixtures" / "html" / "*" / "page.html")]


def _files(patterns: list[str]) -> list[str]:
    return sorted({p for pattern in patterns for p in glob.glob(pattern)})


def timed(paths: list[str], seconds: float, work: Callable[[str, bytes], object]) -> tuple[int, float, int, float]:
    """(pages, elapsed seconds, bytes, CPU seconds) for repeated passes of ``work`` over ``paths``."""
    pages = size = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for path in paths:
            body = Path(path).read_bytes()  # reading is part of the measured work
            work(path, body)
            pages += 1
            size += len(body)
    return pages, time.perf_counter() - start, size, time.process_time() - cpu_start


def extract(path: str, body: bytes) -> object:
    return extract_page(RawPage(body=body, kind="file", path=path)).model_dump_json()


def bare_parse(path: str, body: bytes) -> object:
    return lxml.html.fromstring(body)


def report(name: str, paths: list[str], seconds: float, work: Callable[[str, bytes], object]) -> float:
    timed(paths, min(0.5, seconds / 4), work)  # warm-up: imports, regex compilation, caches
    pages, elapsed, size, cpu = timed(paths, seconds, work)
    rate = pages / elapsed
    # On a machine shared with other jobs the wall clock also counts time spent waiting for
    # the core; pages per CPU second counts only the time this process ran.
    print(
        f"{name}: inputs={len(paths)} pages={pages} seconds={elapsed:.2f} MB/s={size / elapsed / 1e6:.1f} "
        f"pages/s={rate:.0f} pages/cpu-s={pages / cpu:.0f}"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to run each measurement (default 5)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--text-only", action="store_true")
    group.add_argument("--html-only", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    figures = []
    if not args.html_only:
        rate = report("text-render extract", _files(TEXT_INPUTS), args.seconds, extract)
        figures.append(f"text_render_pages_per_second={rate:.0f}")
    if not args.text_only:
        html = _files(HTML_INPUTS)
        ours = report("html extract", html, args.seconds, extract)
        lxml_rate = report("bare lxml.html.fromstring", html, args.seconds, bare_parse)
        figures.append(f"html_pages_per_second={ours:.0f} html_extract_vs_lxml_parse={lxml_rate / ours:.2f}")
    print(" ".join(figures))


if __name__ == "__main__":
    main()
