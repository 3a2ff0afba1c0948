"""The ``scraper`` command line.

Exit codes: 0 every input gave a record, 1 some inputs failed (each is named on
stderr with the reason), 2 usage error.  Records go to stdout (or ``-o``) in
input order; messages go to stderr, so ``scraper extract ... > out.jsonl``
always leaves a clean JSON Lines file.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from scraper._version import __version__
from scraper.errors import ExtractionError, InputError
from scraper.extract import extract_page
from scraper.models import PageRecord
from scraper.output import AtomicTextFile
from scraper.page import RawPage
from scraper.schema import page_record_schema_json
from scraper.sites import SITES

__all__ = ["main"]

_GLOB_CHARS = set("*?[")


def _expand(paths: tuple[str, ...]) -> Iterator[tuple[str, str | None]]:
    """(path as given or as the glob matched it, error or None), in the order given."""
    for path in paths:
        if path == "-" or os.path.lexists(path) or not (_GLOB_CHARS & set(path)):
            yield path, None
            continue
        matches = sorted(glob.glob(path, recursive=True))
        if not matches:
            yield path, "no file matches this pattern"
        for match in matches:
            if not os.path.isdir(match):
                yield match, None


def _read(path: str) -> RawPage:
    if path == "-":
        return RawPage(body=sys.stdin.buffer.read(), kind="stdin", path="-")
    target = Path(path)
    if target.is_dir():
        raise InputError("is a directory; give the files in it, e.g. 'DIR/*.txt'")
    try:
        body = target.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file") from None
    except OSError as exc:
        raise InputError(exc.strerror or str(exc)) from None
    return RawPage(body=body, kind="file", path=path)


def _error(path: str, reason: str) -> None:
    click.echo(f"scraper: {path}: {reason}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scraper")
def cli() -> None:
    """Structured records from expert-answer Q&A pages (RealSelf Doctor Answers first)."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write records to FILE (atomically) instead of stdout.")
@click.option("--url", help="The page URL of a single input (sets record.url and helps pick the site).")
@click.option("--site", type=click.Choice(sorted(SITES)), help="Force a site adapter instead of detecting it.")
@click.option("--pretty", is_flag=True, help="Indented JSON, one record after another (not JSON Lines).")
def extract(paths: tuple[str, ...], output: str | None, url: str | None, site: str | None, pretty: bool) -> None:
    """Extract one JSON record per input PATH (files, globs, or - for stdin)."""
    inputs = list(_expand(paths))
    if url and len(inputs) != 1:
        raise click.UsageError(f"--url names one page but {len(inputs)} inputs were given")
    failed = pages = answers = 0
    with AtomicTextFile(output) as out:
        for path, problem in inputs:
            record = None
            if problem is None:
                try:
                    raw = _read(path)
                    if url:
                        raw = RawPage(body=raw.body, kind=raw.kind, path=raw.path, url=url)
                    record = extract_page(raw, site=site)
                except (InputError, ExtractionError) as exc:
                    problem = str(exc)
            if record is None:
                failed += 1
                _error(path, problem or "failed")
                continue
            out.write(_dump(record, pretty) + "\n")
            pages += 1
            answers += len(record.answers)
    summary = f"scraper: extracted {pages} page{'s' * (pages != 1)}, {answers} answer{'s' * (answers != 1)}"
    click.echo(summary + (f"; {failed} input{'s' * (failed != 1)} failed" if failed else ""), err=True)
    sys.exit(1 if failed else 0)


def _dump(record: PageRecord, pretty: bool) -> str:
    return record.model_dump_json(indent=2 if pretty else None)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of a page record."""
    click.echo(page_record_schema_json(), nl=False)


def main() -> None:
    cli(prog_name="scraper")
