"""Where a profiled crawl spends its time: cProfile and py-spy files read back as breakdowns.

    python benchmarks/run.py --quick --profile /tmp/prof      # makes /tmp/prof/ours.prof (+ py-spy files)
    python benchmarks/profile_report.py /tmp/prof/ours.prof [--top 25]
    python benchmarks/profile_report.py --pyspy ours /tmp/prof/ours.pyspy.txt
    python benchmarks/profile_report.py --pyspy scrapy /tmp/prof/scrapy.pyspy.txt

cProfile: the inclusive time of the crawl's steps, then the functions with the most time of their
own.  Caveats: a coroutine's inclusive time counts only its stretches between awaits (so the
fetch line undercounts; httpcore's pool functions below show the rest), and cProfile slows
pure-Python code more than C code.  py-spy (``py-spy record -f raw``, sampling an unprofiled run)
does not distort, and its stacks go through ``await``: each sample is put in the first bucket whose
marker is on its stack, so the shares add up to 100%.
"""

from __future__ import annotations

import argparse
import io
import pstats

# (label, file suffix, function name): inclusive time of these steps.
STEPS = [
    ("crawl total (Crawler.run)", "scraper/crawler/engine.py", "run"),
    ("  worker loop (Crawler._worker)", "scraper/crawler/engine.py", "_worker"),
    ("  fetch coroutine (its own stretches only: see the httpcore rows)", "scraper/fetch/http.py", "fetch"),
    ("  httpcore pool: _assign_requests_to_connections", "httpcore/_async/connection_pool.py", "_assign_requests_to_connections"),
    ("    anyio extra_attributes (via has_expired -> is_socket_readable)", "anyio/abc/_sockets.py", "extra_attributes"),
    ("  process one page (Crawler._process)", "scraper/crawler/engine.py", "_process"),
    ("    extract (extract_page_explained)", "scraper/extract/api.py", "extract_page_explained"),
    ("    links (page_links)", "scraper/crawler/links.py", "page_links"),
    ("    store record (_store_record)", "scraper/crawler/engine.py", "_store_record"),
    ("      record_content_key (json.dumps sort_keys + sha256)", "scraper/crawler/engine.py", "record_content_key"),
    ("    state: save_response (zlib level 6 + INSERT)", "scraper/store/state.py", "save_response"),
    ("    state: add_urls (MAX(seq) + INSERT OR IGNORE per link)", "scraper/store/state.py", "add_urls"),
    ("      state: _next_seq (SELECT MAX(seq) FROM urls)", "scraper/store/state.py", "_next_seq"),
    ("    state: mark_fetched", "scraper/store/state.py", "mark_fetched"),
    ("    state: add_record", "scraper/store/state.py", "add_record"),
    ("    state: latest_record", "scraper/store/state.py", "latest_record"),
    ("    commit (BEGIN IMMEDIATE / COMMIT)", "scraper/store/state.py", "__exit__"),
    ("  state: next_batch (frontier query)", "scraper/store/state.py", "next_batch"),
    ("  output flush (Crawler._flush)", "scraper/crawler/engine.py", "_flush"),
    ("    JSONL write + fsync (output.write)", "scraper/store/outputs.py", "write"),
    ("pydantic model_dump / model_dump_json / model_copy", "pydantic/main.py", None),
    ("event loop idle (epoll wait)", "~", "<method 'poll' of 'select.epoll' objects>"),
]


def _match(stats: pstats.Stats, suffix: str, name: str | None) -> tuple[float, int]:
    total, calls = 0.0, 0
    for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if not filename.replace("\\", "/").endswith(suffix):
            continue
        if name is None:
            if func in ("model_dump", "model_dump_json", "model_copy"):
                total += ct
                calls += nc
        elif func == name:
            total += ct
            calls += nc
    return total, calls


def summary(path: str, top: int = 20) -> str:
    stats = pstats.Stats(path)
    total = stats.total_tt  # type: ignore[attr-defined]
    lines = [f"cProfile of one crawl of ours: {total:.1f}s profiled (profiling slows it; shares are what counts)",
             f"{'step':64} {'seconds':>8} {'share':>6} {'calls':>9}"]
    for label, suffix, name in STEPS:
        seconds, calls = _match(stats, suffix, name)
        if calls:
            lines.append(f"{label:64} {seconds:8.2f} {100 * seconds / total:5.1f}% {calls:9,}")
    buffer = io.StringIO()
    pstats.Stats(path, stream=buffer).sort_stats("tottime").print_stats(top)
    body = buffer.getvalue()
    start = body.find("   ncalls")
    lines += ["", f"Top {top} functions by own time:", body[start:].rstrip() if start >= 0 else body.rstrip()]
    return "\n".join(lines)


# py-spy buckets: (label, markers); a sample goes to the first bucket with a marker on its stack.
PYSPY_BUCKETS = {
    "ours": [
        ("extraction (extract_page_explained)", ("extract_page_explained",)),
        ("link extraction + URL normalisation (page_links)", ("page_links",)),
        ("SQLite state (StateStore: frontier, responses + zlib, records, commits)", ("StateStore.", "_Transaction.")),
        ("record bookkeeping (model_dump, content key, model_copy, model_dump_json)", ("_store_record",)),
        ("output flush (json.loads of stored records, JSONL write, fsync)", ("Crawler._flush",)),
        ("HTTP client: httpcore connection pool", ("AsyncConnectionPool._assign_requests_to_connections",
                                                    "AsyncConnectionPool._close_connections")),
        ("HTTP client: rest of httpx/httpcore/h11 + our fetcher", ("HttpFetcher", "httpcore", "httpx", "h11", "anyio")),
        ("imports and startup", ("_find_and_load", "_call_with_frames_removed")),
        ("asyncio event loop and the rest", ("",)),
    ],
    "scrapy": [
        ("extraction (extract_page, same extractor)", ("extract_page",)),
        ("link extraction (response.follow_all: parsel + Request objects)", ("follow_all",)),
        ("feed export (JSON Lines)", ("FeedExporter", "JsonLinesItemExporter", "ItemExporter")),
        ("scheduler + duplicate filter", ("Scheduler.", "RFPDupeFilter", "fingerprint")),
        ("download (Twisted HTTP/1.1 client)", ("HTTP11DownloadHandler", "_ScrapyAgent", "HTTP11ClientProtocol",
                                                "Connection.doRead", "_ResponseReader")),
        ("imports and startup", ("_find_and_load", "_call_with_frames_removed")),
        ("engine, middlewares, signals, Deferreds, event loop", ("",)),
    ],
}


def pyspy_summary(kind: str, path: str) -> str:
    """Shares of py-spy samples (raw/collapsed format) per bucket."""
    counts = {label: 0 for label, _ in PYSPY_BUCKETS[kind]}
    total = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            stack, _, number = line.rstrip("\n").rpartition(" ")
            if not number.isdigit():
                continue
            samples = int(number)
            total += samples
            for label, markers in PYSPY_BUCKETS[kind]:
                if any(marker in stack for marker in markers):
                    counts[label] += samples
                    break
    lines = [f"py-spy of one unprofiled crawl ({kind}): {total:,} samples"]
    for label, samples in counts.items():
        lines.append(f"  {label:78} {100 * samples / max(total, 1):5.1f}%")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pyspy", choices=sorted(PYSPY_BUCKETS), help="the file is py-spy raw output of this crawler")
    args = parser.parse_args()
    print(pyspy_summary(args.pyspy, args.profile) if args.pyspy else summary(args.profile, args.top))


if __name__ == "__main__":
    main()
