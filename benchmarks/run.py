"""All benchmarks in one command: extraction vs lxml and trafilatura, our crawl vs Scrapy.

    python benchmarks/run.py            # full: extraction; crawls of 1k, 10k and 100k question pages
    python benchmarks/run.py --quick    # under two minutes: extraction; crawls of 1k question pages

Prints tables; the LAST line is machine-readable:

    crawl_vs_scrapy=X rss_vs_scrapy=Y extract_vs_lxml=Z fetch_vs_aiohttp=F text_pages_per_s=T

X = our pages/s over Scrapy's (the headline crawl: 10k question pages, 1k with --quick);
Y = our peak RSS over Scrapy's (same crawl); Z = our extraction time per HTML page over a bare
``lxml.html.fromstring`` of the same bytes (``tests/fixtures/html/*/page.html``); F = our fetcher's
pages/s alone (default HTTP_TRANSPORT) over bare aiohttp's; T = text renders extracted per second, one core.  Every figure is
a ratio of two measurements taken side by side in this run, on this machine.  Nothing here asserts
on time: these are measurements, never tests.

Needs the benchmark extra (scrapy, trafilatura, lxml_html_clean, psutil): ``pip install -e
'.[bench]'``; nginx from Debian (``apt-get install -y nginx-light``) for the server, else a slower
Python server is used and named in the table.  All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

REQUIRED = {  # import name -> what to install
    "scrapy": "scrapy",
    "trafilatura": "trafilatura",
    "lxml_html_clean": "lxml_html_clean (trafilatura needs it with lxml >= 5.2)",
    "psutil": "psutil",
}
FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000,)


def missing_dependencies() -> list[str]:
    return [what for name, what in REQUIRED.items() if importlib.util.find_spec(name) is None]


def fail_missing(missing: list[str]) -> None:
    sys.stderr.write(
        "benchmarks/run.py: missing benchmark dependencies: " + ", ".join(missing) + "\n"
        "  install them with:  pip install -e '.[bench]'\n"
        "  (or: pip install scrapy trafilatura lxml_html_clean psutil)\n"
    )
    raise SystemExit(2)


def cpus() -> tuple[int, int | None]:
    """(CPU for the process under test, CPU for the server, or None when there is only one)."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    return available[0], (available[-1] if len(available) > 1 else None)


def log(message: str) -> None:
    print(f"[run] {message}", file=sys.stderr, flush=True)


# --- children ----------------------------------------------------------------------------------------


class Child:
    """A Python script in its own process pinned to one CPU; its peak RSS and CPU time from the kernel
    (``os.wait4``), its RSS over time from psutil polling; its result is the last line of its stdout."""

    def __init__(self, args: list[str], cpu: int, workdir: Path, wrapper: list[str] | None = None) -> None:
        self.args = [*(wrapper or []), sys.executable, *args]
        self.cpu = cpu
        self.workdir = workdir
        self.samples: list[tuple[float, int]] = []

    def run(self, timeout: float) -> dict[str, Any]:
        import psutil

        out_path, err_path = self.workdir / "child.out", self.workdir / "child.err"
        cpu = self.cpu
        pin = (lambda: os.sched_setaffinity(0, {cpu})) if hasattr(os, "sched_setaffinity") else None
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(self.args, stdout=out, stderr=err, cwd=str(HERE.parent), preexec_fn=pin)
            stop = threading.Event()
            poller = threading.Thread(target=self._poll, args=(psutil, proc.pid, start, stop), daemon=True)
            poller.start()
            deadline = start + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()  # bounded: a run past its time is stopped (by its own pid)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - start
            stop.set()
            poller.join(2)
        stdout = out_path.read_text(encoding="utf-8", errors="replace").strip()
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        lines = [line for line in stdout.splitlines() if line.startswith("{")]  # py-spy adds its own lines
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"{' '.join(self.args)} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
        result = json.loads(lines[-1])
        result["wall_seconds"] = wall
        result["wait4_maxrss_kb"] = usage.ru_maxrss
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        result["rss_samples_mb"] = [round(rss / 2**20, 1) for _, rss in self.samples[:: max(1, len(self.samples) // 40)]]
        return result

    def _poll(self, psutil: Any, pid: int, start: float, stop: threading.Event) -> None:
        try:
            process = psutil.Process(pid)
            while not stop.is_set():
                self.samples.append((time.perf_counter() - start, process.memory_info().rss))
                stop.wait(0.25)
        except psutil.Error:
            return


def run_extraction(seconds: float, cpu: int, workdir: Path) -> dict[str, Any]:
    return Child([str(HERE / "extract_compare.py"), "--json", "--seconds", str(seconds)], cpu, workdir).run(timeout=1800)


def run_crawl(kind: str, seed: str, cpu: int, workdir: Path, concurrency: int, timeout: float, *,
              extra: list[str] = (), wrapper: list[str] | None = None) -> dict[str, Any]:
    script = HERE / ("crawl_ours.py" if kind == "ours" else "crawl_scrapy.py")
    args = [str(script), seed, "--workdir", str(workdir), "--concurrency", str(concurrency), *extra]
    result = Child(args, cpu, workdir, wrapper).run(timeout)
    result["pages_per_second"] = result["pages"] / result["seconds"] if result["seconds"] else 0.0
    result["peak_rss_mb"] = result["wait4_maxrss_kb"] / 1024
    return result


def run_fetch_only(client: str, base: str, paths_file: Path, cpu: int, workdir: Path, concurrency: int) -> dict[str, Any]:
    args = [str(HERE / "fetch_only.py"), base, str(paths_file), "--client", client, "--concurrency", str(concurrency)]
    result = Child(args, cpu, workdir).run(timeout=1800)
    result["pages_per_second"] = result["pages"] / result["seconds"] if result["seconds"] else 0.0
    result["peak_rss_mb"] = result["wait4_maxrss_kb"] / 1024
    return result


# --- tables ---------------------------------------------------------------------------------------------


def fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def extraction_tables(ext: dict[str, Any]) -> str:
    rows = []
    for corpus, tools in ext["speed"].items():
        ours, lxml, traf = tools["ours"], tools.get("lxml"), tools.get("trafilatura")
        rows.append([
            corpus, str(ours["inputs"]), f"{ours['mean_kb']:.1f}", fmt_int(ours["pages_per_second"]),
            fmt_int(lxml["pages_per_second"]) if lxml else "-",
            f"{lxml['pages_per_second'] / ours['pages_per_second']:.2f}" if lxml else "-",
            fmt_int(traf["pages_per_second"]) if traf else "-",
            f"{ours['pages_per_second'] / traf['pages_per_second']:.2f}" if traf else "-",
        ])
    out = [f"Extraction, one core (CPU {ext.get('cpu')}), {ext['seconds_per_measure']:g}s per measurement; "
           "pages/s = read + extract + validate + serialise (ours), read + parse (lxml), read + trafilatura.extract",
           table(rows, ["corpus", "pages", "mean KB", "ours p/s", "lxml p/s", "ours time / lxml time",
                        "trafilatura p/s", "ours speed / trafilatura"])]
    srows = []
    for corpus, tools in ext["structure"].items():
        for tool, s in tools.items():
            srows.append([
                corpus, tool, str(s["pages"]), str(s["answers"]), str(s["answers_as_items"]),
                f"{100 * s['answer_full_recall']:.0f}%", f"{100 * s['answer_shingle_recall']:.0f}%",
                f"{100 * s['question_body_full_recall']:.0f}%", f"{100 * s['author_names_as_fields']:.0f}%",
                f"{100 * s['author_names_in_text']:.0f}%", f"{100 * s['title_equal']:.0f}%",
                str(s["pages_with_template_junk"]), str(s["pages_with_disclaimer"]),
            ])
    out += ["", f"Q&A structure recovered (trafilatura {ext.get('trafilatura_version')}, defaults + metadata): "
                "'full' = answer body verbatim in the output, '5-gram' = share of its 5-word shingles found",
            table(srows, ["corpus", "extractor", "pages", "answers", "answers as items", "full", "5-gram",
                          "question body", "author as field", "author in text", "title", "pages w/ {{junk",
                          "pages w/ disclaimer"])]
    return "\n".join(out)


def crawl_rows(crawls: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for c in crawls:
        rss = c.get("rss_samples_mb") or []
        rows.append([
            fmt_int(c["urls"]), c["crawler"] + (" (no extract)" if c.get("no_extract") else ""), fmt_int(c["pages"]),
            fmt_int(c["records"]), fmt_int(c["jsonl_lines"]), f"{c['seconds']:.1f}", f"{c['wall_seconds']:.1f}",
            f"{100 * c['cpu_seconds'] / c['wall_seconds']:.0f}%", f"{c['pages_per_second']:.0f}",
            f"{c['pages'] / c['cpu_seconds']:.0f}", str(c.get("runs", 1)),
            f"{c['peak_rss_mb']:.0f}", f"{rss[len(rss) // 2]:.0f}" if rss else "-",
            f"{c['state_bytes'] / 1e6:.0f}" if c["state_bytes"] else "-",
        ])
    return rows


CRAWL_HEADER = ["URLs", "crawler", "pages", "records", "JSONL lines", "crawl s", "process s", "CPU busy", "pages/s",
                "pages/CPU-s", "runs",
                "peak RSS MB", "RSS MB mid-run", "state MB"]


def ratio_rows(crawls: list[dict[str, Any]]) -> list[list[str]]:
    pairs: dict[tuple[int, bool], dict[str, dict[str, Any]]] = {}
    for c in crawls:
        pairs.setdefault((c["urls"], bool(c.get("no_extract"))), {})[c["crawler"]] = c
    rows = []
    for (urls, no_extract), pair in pairs.items():
        if "ours" in pair and "scrapy" in pair:
            rows.append([fmt_int(urls) + (" no extract" if no_extract else ""),
                         f"{pair['ours']['pages_per_second'] / pair['scrapy']['pages_per_second']:.2f}",
                         f"{pair['ours']['peak_rss_mb'] / pair['scrapy']['peak_rss_mb']:.2f}"])
    return rows


# --- main -------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (1k-page crawls, short measurements): under two minutes")
    parser.add_argument("--sizes", help="question pages per crawled site, comma-separated (default 1000,10000,100000; quick: 1000)")
    parser.add_argument("--headline", type=int, help="the site size whose crawl gives the last line (default 10000; quick: 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight, in total and per host, for both crawlers")
    parser.add_argument("--seconds", type=float, help="seconds per extraction measurement (default 5; quick: 1.5)")
    parser.add_argument("--server", choices=("nginx", "python"), default="nginx", help="nginx, or the stdlib fallback")
    parser.add_argument("--site-dir", help="where the generated sites go (kept and reused); default: a temp dir, removed after")
    parser.add_argument("--repeat", type=int, default=1, help="crawl each site (up to 10k questions) this many times, "
                                                                "alternating who goes first, and keep each crawler's fastest run")
    parser.add_argument("--no-extras", action="store_true", help="skip the fetch-only and no-extraction runs")
    parser.add_argument("--profile", metavar="DIR", help="also profile our crawl (headline size) into DIR: cProfile, "
                                                          "and py-spy of both crawlers when py-spy is installed")
    parser.add_argument("--json", metavar="FILE", help="write every measurement to FILE as JSON")
    parser.add_argument("--skip-extraction", action="store_true")
    parser.add_argument("--skip-crawl", action="store_true")
    args = parser.parse_args()

    missing = missing_dependencies()
    if missing:
        fail_missing(missing)
    from servers import StaticServer, find_nginx
    from static_site import generate_site, site_paths, url_count

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else FULL_SIZES)
    headline = args.headline or (1_000 if args.quick else 10_000)
    if headline not in sizes:
        headline = min(sizes, key=lambda s: abs(math.log(s / headline)))
    seconds = args.seconds or (1.5 if args.quick else 5.0)
    crawl_cpu, server_cpu = cpus()
    if args.server == "nginx" and find_nginx() is None:
        log("nginx not found (apt-get install -y nginx-light): using the Python fallback server, which may be the bottleneck")

    started = time.perf_counter()
    results: dict[str, Any] = {"loadavg_start": os.getloadavg()[0], "quick": args.quick, "sizes": sizes, "headline": headline, "concurrency": args.concurrency,
                               "python": sys.version.split()[0], "cpus": os.cpu_count()}
    workdir = Path(tempfile.mkdtemp(prefix="bench-work-"))
    site_root = Path(args.site_dir) if args.site_dir else Path(tempfile.mkdtemp(prefix="bench-site-"))
    site_root.mkdir(parents=True, exist_ok=True)
    os.chmod(site_root, 0o755)  # nginx started as root serves as an unprivileged worker user
    ext: dict[str, Any] | None = None
    crawls: list[dict[str, Any]] = []
    all_crawls: list[dict[str, Any]] = []
    extras: list[dict[str, Any]] = []
    fetch_only: list[dict[str, Any]] = []
    server_name = ""
    profile_texts: list[str] = []
    try:
        if not args.skip_extraction:
            log(f"extraction: ours, bare lxml, trafilatura ({seconds:g}s per measurement) ...")
            ext = run_extraction(seconds, crawl_cpu, workdir)
            results["extraction"] = ext
        if not args.skip_crawl:
            for size in sizes:
                info = generate_site(site_root, size)
                log(f"site {info.prefix}: {info.pages:,} pages, {info.bytes / 1e6:.0f} MB (generated in {info.seconds:.1f}s)")
            with StaticServer(site_root, prefer=args.server, cpu=server_cpu) as server:
                server_name = f"{server.kind} {server.version}"
                results["server"] = server_name
                paths_file = workdir / "paths.txt"
                paths_file.write_text("\n".join(site_paths(headline)) + "\n")
                if not args.no_extras:
                    clients = ["httpx", "scraper"]
                    if importlib.util.find_spec("aiohttp"):
                        clients += ["scraper-aiohttp", "aiohttp"]
                    if importlib.util.find_spec("httpx_aiohttp"):
                        clients.insert(1, "httpx-aiohttp")
                    for client in clients:  # also warms the server and the page cache
                        log(f"fetch only, {url_count(headline):,} URLs with {client} ...")
                        fetch_only.append(run_fetch_only(client, server.base, paths_file, crawl_cpu, workdir, args.concurrency))
                for size in sizes:
                    seed = server.base + f"/n{size}/questions/page-1"
                    urls = url_count(size)
                    timeout = max(900.0, urls / 10)  # a crawl slower than 10 pages/s is stopped
                    repeat = args.repeat if size <= 10_000 else 1
                    runs: list[tuple[str, bool]] = []
                    for r in range(repeat):  # alternate who goes first
                        pair = [("ours", False), ("scrapy", False)]
                        runs += pair if (r + size) % 2 == 0 else pair[::-1]
                    if size == headline and not args.no_extras:
                        runs += [("ours", True), ("scrapy", True)]
                    for kind, no_extract in runs:
                        log(f"crawl {urls:,} URLs with {kind}{' (no extraction)' if no_extract else ''} ...")
                        result = run_crawl(kind, seed, crawl_cpu, workdir, args.concurrency, timeout,
                                           extra=["--no-extract"] if no_extract else [])
                        result.update(urls=urls, questions=size, no_extract=no_extract, loadavg=os.getloadavg()[0])
                        (extras if no_extract else all_crawls).append(result)
                        log(f"  {result['pages']:,} pages, {result['records']:,} records in {result['seconds']:.1f}s "
                            f"({result['pages_per_second']:.0f} pages/s), peak RSS {result['peak_rss_mb']:.0f} MB")
                        if result["pages"] < urls or (not no_extract and result["records"] < size):
                            log(f"  WARNING: expected {urls:,} pages and {size:,} records")
                crawls = best_runs(all_crawls)
                if args.profile:
                    profile_texts = profile_crawls(args.profile, server.base + f"/n{headline}/questions/page-1",
                                                   crawl_cpu, workdir, args.concurrency)
            results.update(crawls=crawls, all_crawls=all_crawls, no_extract=extras, fetch_only=fetch_only)
        results["seconds"] = time.perf_counter() - started
        results["loadavg_end"] = os.getloadavg()[0]
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
        print_report(results, ext, crawls, extras, fetch_only, server_name, args, crawl_cpu, server_cpu, headline, profile_texts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.site_dir:
            shutil.rmtree(site_root, ignore_errors=True)


def best_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each crawler's fastest run per site size (the least disturbed by other load), in first-seen order."""
    best: dict[tuple[int, str], dict[str, Any]] = {}
    for run in runs:
        key = (run["urls"], run["crawler"])
        run_count = sum(1 for r in runs if (r["urls"], r["crawler"]) == key)
        if key not in best or run["pages_per_second"] > best[key]["pages_per_second"]:
            best[key] = {**run, "runs": run_count}
    return list(best.values())


def profile_crawls(directory: str, seed: str, cpu: int, workdir: Path, concurrency: int) -> list[str]:
    """cProfile of our crawl; py-spy of both crawlers when py-spy is there. Not timed runs."""
    from profile_report import pyspy_summary, summary

    out = Path(directory).resolve()
    out.mkdir(parents=True, exist_ok=True)
    texts = []
    log(f"cProfile of our crawl -> {out / 'ours.prof'} ...")
    run_crawl("ours", seed, cpu, workdir, concurrency, 7200, extra=["--profile", str(out / "ours.prof")])
    texts.append(summary(str(out / "ours.prof"), top=15))
    pyspy = shutil.which("py-spy")
    if pyspy:
        for kind in ("ours", "scrapy"):
            target = out / f"{kind}.pyspy.txt"
            log(f"py-spy of the {kind} crawl -> {target} ...")
            wrapper = [pyspy, "record", "--rate", "250", "--format", "raw", "--output", str(target), "--"]
            try:
                run_crawl(kind, seed, cpu, workdir, concurrency, 7200, wrapper=wrapper)
                texts.append(pyspy_summary(kind, str(target)))
            except RuntimeError as exc:
                texts.append(f"py-spy of {kind} failed: {str(exc)[:300]}")
    else:
        texts.append("(py-spy not installed: pip install py-spy for sampled profiles of both crawlers)")
    return texts


def print_report(results: dict[str, Any], ext: dict[str, Any] | None, crawls: list[dict[str, Any]],
                 extras: list[dict[str, Any]], fetch_only: list[dict[str, Any]], server_name: str, args: argparse.Namespace,
                 crawl_cpu: int, server_cpu: int | None, headline: int, profile_texts: list[str]) -> None:
    print()
    if ext:
        print(extraction_tables(ext))
        print()
    if crawls:
        where = f"crawlers pinned to CPU {crawl_cpu}" + (f", server on CPU {server_cpu}" if server_cpu is not None else "")
        print(f"Crawl: {server_name} on 127.0.0.1 ({where}); concurrency {args.concurrency} in total and "
              f"{args.concurrency} per host; no delay, robots.txt off; fetch + extract + JSON Lines; each crawl in its own process")
        print(table(crawl_rows(crawls + extras), CRAWL_HEADER))
        print()
        print(table(ratio_rows(crawls + extras), ["URLs", "ours/scrapy pages/s", "ours/scrapy peak RSS"]))
        print()
    if fetch_only:
        print(f"HTTP client alone ({fmt_int(fetch_only[0]['urls'])} URLs of the {headline:,}-question site, "
              f"{args.concurrency} in flight, bodies discarded, one core)")
        print(table([[f["client"], fmt_int(f["pages"]), f"{f['seconds']:.1f}", f"{f['pages_per_second']:.0f}",
                      f"{f['peak_rss_mb']:.0f}"] for f in fetch_only],
                    ["client", "pages", "seconds", "pages/s", "peak RSS MB"]))
        print()
    for text in profile_texts:
        print(text)
        print()
    print(f"(took {results['seconds']:.0f}s; mode {'quick' if args.quick else 'full'}; headline crawl {headline:,} "
          f"questions; Python {results['python']}; {results['cpus']} CPUs; 1-min load average "
          f"{results['loadavg_start']:.1f} at start, {results['loadavg_end']:.1f} at end: other load skews absolute "
          "figures, less so the side-by-side ratios)")
    head = {c["crawler"]: c for c in crawls if c["questions"] == headline}
    nan = float("nan")
    x = head["ours"]["pages_per_second"] / head["scrapy"]["pages_per_second"] if len(head) == 2 else nan
    y = head["ours"]["peak_rss_mb"] / head["scrapy"]["peak_rss_mb"] if len(head) == 2 else nan
    z = nan
    if ext:
        html = ext["speed"]["html"]
        z = html["lxml"]["pages_per_second"] / html["ours"]["pages_per_second"]
    fetched = {f["client"]: f["pages_per_second"] for f in fetch_only}
    f = fetched["scraper"] / fetched["aiohttp"] if "scraper" in fetched and fetched.get("aiohttp") else nan  # the default transport
    t = ext["speed"]["text"]["ours"]["pages_per_second"] if ext else nan
    print(f"crawl_vs_scrapy={x:.2f} rss_vs_scrapy={y:.2f} extract_vs_lxml={z:.2f} fetch_vs_aiohttp={f:.2f} text_pages_per_s={t:.0f}")


if __name__ == "__main__":
    main()
