"""The ``scraper`` command line.

Exit codes: 0 every input gave a record, 1 some inputs failed (each is named on
stderr with the reason) or an output could not be written, 2 usage error (a bad
option, setting, pattern, site name or seed URL), 3 the crawl state is locked by
another run; ``scraper crawl`` adds 4, pages were tried and none could be fetched
(``scraper.crawler.runner.crawl_exit_code``).  Records go to stdout (or ``-o``) in
input order; messages go to stderr, so ``scraper extract ... > out.jsonl`` and
``scraper crawl ... > out.jsonl`` always leave a clean JSON Lines file.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TextIO

import click

from scraper._version import __version__
from scraper.errors import ExtractionError, ScraperError, exit_code
from scraper.extract.api import Explained, extract_page_explained
from scraper.fetch.files import expand_paths, read_file
from scraper.formats.warc import ArchiveStats, is_archive_path, iter_archive, looks_like_archive
from scraper.limits import format_size
from scraper.models import PageRecord
from scraper.page import RawPage
from scraper.schema import page_record_schema_json
from scraper.settings import Settings, compile_pattern, parse_setting_assignments
from scraper.sites import SITES, PluginWarning, discoverable, site_plugins
from scraper.store.textfile import AtomicTextFile

__all__ = ["main"]

def _pages(paths: tuple[str, ...], url: str | None, url_pattern: str | None, settings: Settings,
           archives: list[ArchiveStats]) -> Iterator[tuple[str, RawPage | None, str | None]]:
    """(label, raw page or None, problem or None) for every input, archives opened record by record.

    An archive (by name, or by its first bytes whatever its name) is streamed, never read
    whole, so its size is not bounded by EXTRACT_MAXSIZE; each one appends its record
    counts to ``archives`` for the summary.
    """
    limit = settings.EXTRACT_MAXSIZE
    for path in paths:
        if path == "-":
            body = sys.stdin.buffer.read(limit + 1)  # bounded like a file: never the whole of an endless pipe
            if len(body) > limit:
                yield path, None, f"too_large: standard input is over the {format_size(limit)} limit (EXTRACT_MAXSIZE)"
            else:
                yield path, RawPage(body=body, kind="stdin", path="-", url=url), None
            continue
        for name, missing in expand_paths([path]):
            if missing is not None:
                yield name, None, missing
            elif _is_archive(name):
                stats = ArchiveStats()
                archives.append(stats)
                yield from _archive_pages(name, url_pattern, settings.DOWNLOAD_MAXSIZE, stats)
            else:
                result = read_file(name, max_size=limit)
                if result.failure == "too_large":
                    yield name, None, f"too_large: {result.detail} (EXTRACT_MAXSIZE)"
                elif result.failure is not None:
                    yield name, None, result.detail or result.failure
                else:
                    yield name, RawPage(body=result.body, kind="file", path=name, url=url), None


def _is_archive(name: str) -> bool:
    """A regular file named or shaped as a web archive (anything else is read, and its problem named, as a page)."""
    return os.path.isfile(name) and (is_archive_path(name) or looks_like_archive(name))


def _archive_pages(path: str, url_pattern: str | None, max_record_size: int,
                   stats: ArchiveStats) -> Iterator[tuple[str, RawPage | None, str | None]]:
    try:
        for result in iter_archive(path, url_pattern=url_pattern, max_record_size=max_record_size, stats=stats):
            label = f"{path} [{result.url}]"
            if result.failure is not None:
                yield label, None, f"{result.failure}: {result.detail}"
            else:
                yield label, result.page(path=path), None
    except OSError as exc:
        yield path, None, f"unreadable: {exc.strerror or exc}"


class _SiteName(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 on; subscripting it fails on the 8.1 pyproject allows
    """A site adapter's name, checked when the option is given.

    Why not ``click.Choice``: that lists its choices when the command is defined, and the
    list includes plugins, which are loaded only when a command needs a site.
    """

    name = "site"

    def __init__(self, names: Callable[[], Collection[str]]) -> None:
        self._names = names

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        names = self._names()
        if value not in names:
            self.fail(f"{value!r} is not one of {', '.join(sorted(names))} (see scraper extractors)", param, ctx)
        return str(value)


def _site_names() -> Collection[str]:
    return tuple(SITES)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """A skipped site plugin as one line on stderr, like every other message of the command."""
    if issubclass(category, PluginWarning):
        click.echo(f"scraper: warning: {message}", err=True)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning


def _error(path: str, reason: str) -> None:
    click.echo(f"scraper: {path}: {reason}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scraper")
def cli() -> None:
    """Structured records from expert-answer Q&A pages (RealSelf Doctor Answers first)."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(writable=True),
              help="Write records to FILE (atomically) instead of stdout; with --engine dask, the output DIR.")
@click.option("--url", help="The page URL of a single input (sets record.url and helps pick the site).")
@click.option("--site", type=_SiteName(_site_names), help="Force a site adapter instead of detecting it.")
@click.option("--pretty", is_flag=True,
              help="Indented JSON for reading: one object for one input file, a JSON array for several inputs "
                   "(several PATHs, a glob, a web archive). Not JSON Lines.")
@click.option("--explain", is_flag=True, help="Say on stderr which strategy supplied each field of each record.")
@click.option("--url-pattern", help="For web-archive inputs (WARC, WET, ARC): only records whose URL matches this regex.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: read WARC/WET files in parallel on a Dask cluster, one task per file, into a directory "
                   "of partitions with a manifest (-o DIR; resumable). Needs: pip install 'qa-scraper[dask]'.")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: a Dask scheduler, e.g. tcp://HOST:8786 (default: a LocalCluster on this machine).")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "parquet"]),
              help="With --engine dask: the partition format (default jsonl; parquet needs pyarrow).")
@click.option("--workers", "n_workers", type=int,
              help="With --engine dask and no --scheduler: worker processes of the LocalCluster (default 2).")
@click.option("-s", "--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="A setting, as for crawl: EXTRACT_MAXSIZE bounds files and stdin, DOWNLOAD_MAXSIZE WARC records.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="A TOML file of settings (NAME = value).")
def extract(paths: tuple[str, ...], output: str | None, url: str | None, site: str | None, pretty: bool, explain: bool,
            url_pattern: str | None, engine: str, scheduler: str | None, output_format: str | None,
            n_workers: int | None, assignments: tuple[str, ...], config: str | None) -> None:
    """Extract one JSON record per input PATH (files, globs, - for stdin; a WARC/WET/ARC file gives one per page record)."""
    if engine == "dask":
        if assignments or config:
            raise click.UsageError("-s/--config are not read by --engine dask (its partitions use the default limits)")
        from scraper.distributed.cli import extract_with_dask

        sys.exit(extract_with_dask(paths, output, url_pattern=url_pattern, site=site, scheduler=scheduler,
                                   output_format=output_format, n_workers=n_workers, url=url, pretty=pretty,
                                   explain=explain))
    for flag, given in (("--scheduler", scheduler), ("--format", output_format), ("--workers", n_workers)):
        if given is not None:
            raise click.UsageError(f"{flag} needs --engine dask")
    if output and Path(output).is_dir():
        raise click.UsageError(f"-o {output} is a directory: write a directory of partitions with --engine dask")
    if url and (len(paths) != 1 or set(paths[0]) & set("*?[")):
        raise click.UsageError(f"--url names one page but {len(paths)} inputs were given")
    if url_pattern is not None:
        compile_pattern(url_pattern, "--url-pattern")
    settings = Settings.build(Settings.from_file(config) if config else {}, parse_setting_assignments(assignments))
    failed = pages = answers = 0
    archives: list[ArchiveStats] = []
    # --pretty of several inputs is one JSON array: indented objects one after another are no JSON a parser reads.
    as_array = pretty and _several_inputs(paths)
    with AtomicTextFile(output) as out:
        if as_array:
            out.write("[")
        for label, raw, problem in _pages(paths, url, url_pattern, settings, archives):
            record = None
            if problem is None and raw is not None:
                try:
                    explained = extract_page_explained(raw, site=site)
                    record = explained.record
                    if explain:
                        _explain(label, explained)
                except ExtractionError as exc:
                    problem = str(exc)
            if record is None:
                failed += 1
                _error(label, problem or "failed")
                continue
            if as_array:
                out.write(("," if pages else "") + "\n" + _dump(record, pretty))
            else:
                out.write(_dump(record, pretty) + "\n")
            pages += 1
            answers += len(record.answers)
        if as_array:
            out.write("\n]\n")
    summary = f"scraper: extracted {pages} page{'s' * (pages != 1)}, {answers} answer{'s' * (answers != 1)}"
    summary += f"; {failed} input{'s' * (failed != 1)} failed" if failed else ""
    click.echo(summary + _archive_summary(archives), err=True)
    sys.exit(1 if failed else 0)


def _several_inputs(paths: tuple[str, ...]) -> bool:
    """Whether the command line names more than one page: several PATHs, a glob, or a web archive (of many records).

    Decided from the command, not from how many records came out, so a script gets the same
    shape whatever a glob matched.
    """
    if len(paths) != 1:
        return True
    path = paths[0]
    return path != "-" and (bool(set(path) & set("*?[")) or _is_archive(path))


def _archive_summary(archives: list[ArchiveStats]) -> str:
    """``; 2 archives, 42 records: 13 read, 29 skipped (16 request, ...)``, or nothing when no archive was read.

    Why: most records of a WARC are no page (requests, images, revisits), and the count
    by reason tells "skipped as expected" from "lost".
    """
    if not archives:
        return ""
    return f"; {len(archives)} archive{'s' * (len(archives) != 1)}, {ArchiveStats.combined(archives).describe()}"


def _explain(path: str, explained: Explained) -> None:
    """Which strategy gave which field: the debug view of the merge."""
    record = explained.record
    click.echo(f"# {path}: site={record.site or '-'} strategies={' > '.join(explained.strategies)}", err=True)
    if not explained.provenance:
        click.echo(f"#   every field <- {record.source.extractor.name}", err=True)
    for field, strategy in sorted(explained.provenance.items(), key=lambda kv: _field_order(kv[0])):
        click.echo(f"#   {field:<32} <- {strategy}", err=True)


def _field_order(field: str) -> tuple[int, int, str]:
    found = re.match(r"answers\[(\d+)\]\.(.*)", field)
    if found:
        return (2, int(found.group(1)), found.group(2))
    return (0 if field.startswith(("question", "kind")) else 1, 0, field)


def _dump(record: PageRecord, pretty: bool) -> str:
    return record.model_dump_json(indent=2 if pretty else None)


def _duration(text: str) -> float:
    """Seconds from "90", "30s", "15m", "6h", "1d"."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not found:
        raise click.BadParameter(f"{text!r} is not a duration such as 30m, 6h or 1d")
    return float(found.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]


def _every(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """``--every``: a duration of at least MIN_EVERY (``--every 0`` was a busy loop printing "next crawl in 0s")."""
    if value is None:
        return None
    from scraper.crawler.runner import MIN_EVERY

    seconds = _duration(value)
    if seconds < MIN_EVERY:
        raise click.BadParameter(f"{value!r} is shorter than the minimum of {MIN_EVERY:g}s between scheduled crawls "
                                 "(give e.g. 30m or 6h; without --every the crawl runs once)")
    return seconds


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("--urls", "urls_file", type=click.Path(exists=True, dir_okay=False), help="A file of seed URLs, one a line.")
@click.option("--sitemap", "sitemaps", multiple=True, help="Seed from a sitemap or sitemap index URL (repeatable).")
@click.option("--discover", "discover", type=_SiteName(discoverable),
              help="Seed from a site adapter's own discovery source (sitemap, or search API with --search).")
@click.option("--search", help="With --discover: a query for the site's search API.")
@click.option("--include", multiple=True, help="Follow only links matching this regex (repeatable).")
@click.option("--exclude", multiple=True, help="Never follow links matching this regex (repeatable).")
@click.option("--max-pages", type=int, help="Stop after this many fetches in this run (CLOSESPIDER_PAGECOUNT).")
@click.option("--depth", type=int, help="Follow links at most this deep from the seeds (DEPTH_LIMIT; 0: no limit, as in Scrapy).")
@click.option("--state", default="crawl.db", show_default=True,
              help="The crawl's state: a SQLite file, or a postgresql:// URL shared by several workers.")
@click.option("-o", "--output", metavar="FILE",
              help="Append the records this run stores (new and changed) to FILE (default: stdout).")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "csv", "sqlite"]),
              help="Output format (default: from the file suffix, else jsonl; sqlite needs -o).")
@click.option("-s", "--set", "assignments", multiple=True, metavar="NAME=VALUE", help="A setting by Scrapy's name, e.g. -s DOWNLOAD_DELAY=0.2.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), help="A TOML file of settings (NAME = value).")
@click.option("--warc-out", help="Also write every fetched response to this WARC file.")
@click.option("--site", type=_SiteName(_site_names), help="Force a site adapter for extraction.")
@click.option("--every", callback=_every, metavar="DURATION",
              help="Keep running, starting a crawl every DURATION (e.g. 6h; at least 1s): for containers.")
@click.option("--refetch", is_flag=True,
              help="Fetch every page the state holds now, not when it is due (RECRAWL_INTERVAL after its last fetch).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")
@click.option("-v", "--verbose", is_flag=True, help="A line on stderr per record stored (new or changed), besides the progress.")
def crawl(urls: tuple[str, ...], urls_file: str | None, sitemaps: tuple[str, ...], discover: str | None, search: str | None,
          include: tuple[str, ...], exclude: tuple[str, ...], max_pages: int | None, depth: int | None, state: str,
          output: str | None, output_format: str | None, assignments: tuple[str, ...], config: str | None,
          warc_out: str | None, site: str | None, every: float | None, refetch: bool, quiet: bool, verbose: bool) -> None:
    """Crawl politely from seed URLs, keeping state so that later runs only do new work.

    Records go to stdout as JSON Lines (or to -o FILE); progress and the summary go to stderr.

    \b
    Exit codes:
      0    every page tried was fetched (304 and unchanged pages too; pages robots.txt
           refuses are skipped, not failed), or nothing was due
      1    some pages failed (counted by kind in the summary), or an output or the
           state failed (the message says which)
      2    usage error: an option, setting, pattern, seed URL or --every below 1s
      3    the state is locked by another run
      4    pages were tried and not one could be fetched (404s only, a dead host)
      130  stopped by SIGINT (Ctrl-C); 143 by SIGTERM
    """
    from scraper.crawler.runner import CrawlCommand

    command = CrawlCommand.from_cli(
        urls=urls, urls_file=urls_file, sitemaps=sitemaps, discover=discover, search=search, include=include,
        exclude=exclude, max_pages=max_pages, depth=depth, state=state, output=output, output_format=output_format,
        assignments=assignments, config=config, warc_out=warc_out, site=site, quiet=quiet, verbose=verbose,
        refetch=refetch,
    )
    sys.exit(command.run(every=every))


@cli.command()
@click.option("--state", default="crawl.db", show_default=True, help="The crawl's state: a SQLite file or a postgresql:// URL.")
@click.option("-o", "--output", metavar="FILE",
              help="Append the records that changed (their new versions) to FILE, as a crawl appends; with --all, "
                   "write every record to FILE, replaced whole (default: stdout).")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "csv", "sqlite"]),
              help="Output format (default: from the file suffix, else jsonl; sqlite needs -o).")
@click.option("--all", "rebuild_all", is_flag=True,
              help="A full rebuild: write every record, changed or not (not the responses that now give none).")
@click.option("--site", type=_SiteName(_site_names), help="Force a site adapter.")
def reextract(state: str, output: str | None, output_format: str | None, rebuild_all: bool, site: str | None) -> None:
    """Rebuild every record from the stored raw responses with this extractor version (no fetching).

    A record that changes is stored as a new version; later crawls write it to their -o files too.
    """
    from scraper.crawler.reextract import reextract_state
    from scraper.crawler.runner import output_label

    _require_state(state)
    if output is None and output_format == "sqlite":
        raise click.UsageError("--format sqlite needs -o FILE (a database cannot be written to stdout)")
    summary = reextract_state(state, output=output or "-", output_format=output_format, site=site, rebuild_all=rebuild_all)
    changed, written = summary["changed"], summary["written"]
    line = (f"scraper: re-extracted {summary['responses']} responses (run {summary['run']}): {changed} "
            f"record{'s' * (changed != 1)} changed (stored as new versions), {summary['unchanged']} unchanged, "
            f"{summary['failed']} without a record; wrote {written} record{'s' * (written != 1)} to {output_label(output or '-')}")
    if rebuild_all:
        line += f" (every record: {changed} changed, {summary['unchanged']} unchanged)"
    elif summary["written_earlier"]:
        line += (f" ({changed} changed, and {summary['written_earlier']} stored before this run and not yet written "
                 "there)")
    else:
        line += " (the changed ones)"
    click.echo(line, err=True)


def _require_state(state: str) -> None:
    from scraper.store.state import is_postgres_url

    if not is_postgres_url(state) and not Path(state).exists():
        raise click.UsageError(f"no crawl state at {state}")


@cli.command()
@click.option("--state", default="crawl.db", show_default=True, help="The crawl's state: a SQLite file or a postgresql:// URL.")
@click.option("-o", "--output", metavar="FILE",
              help="Write the records to FILE, replaced whole when done (default: stdout).")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "csv", "sqlite"]),
              help="Output format (default: from the file suffix, else jsonl; sqlite needs -o). The columns and tables "
                   "of a crawl's -o file.")
@click.option("--since", "since_run", type=click.IntRange(min=1), metavar="RUN",
              help="Only records whose current version run RUN or a later one stored (run numbers: scraper status).")
def export(state: str, output: str | None, output_format: str | None, since_run: int | None) -> None:
    """Write the current version of every record the state holds (streamed; the state is only read)."""
    from scraper.store.export import export_records

    _require_state(state)
    done = export_records(state, output, output_format, since_run=since_run)
    which = f", stored by run {since_run} or later" if since_run is not None else ""
    click.echo(f"scraper: exported {done.records} record{'s' * (done.records != 1)} (each URL's current version{which}) "
               f"to {done.output} as {done.format}", err=True)


@cli.command()
@click.option("--state", default="crawl.db", show_default=True, help="The crawl's state: a SQLite file or a postgresql:// URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(state: str, as_json: bool) -> None:
    """Show a crawl's state: URLs by state, pages in flight by worker, records, recent runs."""
    import json

    from scraper.errors import ScraperError
    from scraper.store.state import open_state

    _require_state(state)
    try:
        store = open_state(state, lock=False, read_only=True)
    except ScraperError as exc:
        click.echo(f"scraper: {exc}", err=True)
        sys.exit(1)
    try:
        info = store.status()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    urls = info["urls"]
    click.echo(f"urls: {sum(urls.values())} (" + ", ".join(f"{k} {v}" for k, v in sorted(urls.items())) + ")")
    click.echo(f"records: {info['records']} (all versions)")
    for worker, n in info["leases"].items():
        click.echo(f"in flight: {n} leased by {worker}")
    for run in info["runs"]:
        who = f"{run['worker']}: " if run["worker"] else ""
        end = run["finished_at"] or "not finished (running, or killed)"
        if run.get("outcome") in ("stopped", "failed"):
            end += f" ({run['outcome']})"
        did = f"{run['pages_fetched'] if run['pages_fetched'] is not None else '?'} pages"
        if run["command"] != "crawl":
            did = run["command"]
        if run["records_stored"] is not None:
            did += f", {run['records_stored']} record{'s' * (run['records_stored'] != 1)} stored"
        click.echo(f"run {run['id']}: {who}{run['started_at']} -> {end}, {did}")


@cli.command()
def extractors() -> None:
    """List the site adapters and extraction strategies, with their versions."""
    click.echo(f"scraper {__version__}")
    click.echo("site adapters (chosen by URL, else by what the page shows; force one with --site):")
    plugins = {p.name: p for p in site_plugins()}
    for site in SITES.values():
        origin = f" [plugin: {plugins[site.name].distribution}]" if site.name in plugins else ""
        click.echo(f"  {site.name:<14} {site.version:<6} {site.description}{origin}")
    skipped = [p for p in plugins.values() if p.problem]
    if skipped:
        click.echo("site plugins skipped (see the warnings above):")
        for plugin in skipped:
            click.echo(f"  {plugin.name:<14} {plugin.problem}")
    click.echo("strategies, in order (merged field by field):")
    for name, what in _STRATEGIES:
        click.echo(f"  {name:<14} {__version__:<6} {what}")


_STRATEGIES = (
    ("site-selectors", "a site adapter's own selectors (RealSelf review pages)"),
    ("meta", "a site adapter's <meta> fields (RealSelf rs:topic-name)"),
    ("json-ld", "schema.org QAPage/Question/Answer, DiscussionForumPosting, Review in JSON-LD"),
    ("microdata", "the same vocabulary in microdata"),
    ("rdfa", "the same vocabulary in RDFa Lite (vocab/typeof/property)"),
    ("app-state", "Q&A found by shape in embedded JSON (__NEXT_DATA__, __INITIAL_STATE__, ...)"),
    ("page-structure", "the page's repeated post blocks (bylines, dates, votes; no class names): forum threads, comment pages"),
    ("visible-text", "the page's visible text read by the text-render extractor"),
    ("text-render", "text renders (WET records, C4-style dumps): the input is already visible text"),
)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of a page record."""
    click.echo(page_record_schema_json(), nl=False)


def main() -> None:
    """The ``scraper`` command: any error a user can cause is one line on stderr and its exit code."""
    warnings.showwarning = _show_warning
    try:
        cli(prog_name="scraper")
    except ScraperError as exc:
        click.echo(f"scraper: {exc}", err=True)
        sys.exit(exit_code(exc))
