"""`scraper extract --engine dask`: the wiring handed to scraper/cli.py, exercised through click.

``wired_extract`` below is the exact code proposed for the ``extract`` command (options
and the branch at its top); once scraper/cli.py carries it, the last test runs the real
command too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scraper.cli import cli
from tests.distributed.archives import QUESTION_PATTERN, Made
from tests.distributed.conftest import comparable, manifest, read_records


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(writable=True))
@click.option("--url")
@click.option("--site")
@click.option("--pretty", is_flag=True)
@click.option("--explain", is_flag=True)
@click.option("--url-pattern")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", metavar="ADDRESS")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "parquet"]))
@click.option("--workers", "n_workers", type=int)
def wired_extract(paths, output, url, site, pretty, explain, url_pattern, engine, scheduler, output_format, n_workers):
    if engine == "dask":
        from scraper.distributed.cli import extract_with_dask

        sys.exit(extract_with_dask(paths, output, url_pattern=url_pattern, site=site, scheduler=scheduler,
                                   output_format=output_format, n_workers=n_workers, url=url, pretty=pretty, explain=explain))
    for flag, given in (("--scheduler", scheduler), ("--format", output_format), ("--workers", n_workers)):
        if given is not None:
            raise click.UsageError(f"{flag} needs --engine dask")
    click.echo("local engine")


def test_dask_engine_writes_partitions_and_a_manifest(dask_scheduler: str, corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--engine", "dask", "--scheduler", dask_scheduler, corpus_glob, "--url-pattern", QUESTION_PATTERN, "-o", f"{out}/"]
    result = CliRunner().invoke(wired_extract, args)
    assert result.exit_code == 1, result.output  # the made archives hold broken records, and say so
    assert "d-bad.warc.gz: 5 of 7 records matched, 4 extracted, 2 failed" in result.stderr
    assert "5 inputs (5 done now, 0 already complete, 0 failed): 81 records seen, 49 matched, 45 extracted, 5 failed" in result.stderr
    # The archive records, read and skipped by reason, as `scraper extract` sums them up.
    assert ("; 5 archives, 108 records: 49 read (1 truncated), 59 skipped (32 url_pattern, 21 request, 5 warcinfo, "
            "1 unreadable); manifest ") in result.stderr
    assert comparable(read_records(out)) == comparable(read_records(reference))
    again = CliRunner().invoke(wired_extract, args)
    assert "(0 done now, 5 already complete, 0 failed)" in again.stderr


def test_clean_inputs_exit_zero(dask_scheduler: str, corpus: tuple[Path, dict[str, Made]], tmp_path: Path) -> None:
    _, made = corpus
    args = ["--engine", "dask", "--scheduler", dask_scheduler, str(made["wet"].path), "-o", str(tmp_path / "out"),
            "--url-pattern", QUESTION_PATTERN]
    result = CliRunner().invoke(wired_extract, args)
    assert result.exit_code == 0, result.stderr
    assert manifest(tmp_path / "out")["summary"]["extracted"] == 30


@pytest.mark.parametrize(("extra", "message"), [
    ([], "give it with -o DIR"),
    (["-o", "X", "--pretty"], "--pretty is not available with --engine dask"),
    (["-o", "X", "--url", "https://www.realself.com/question/x"], "--url is not available"),
    (["-o", "X", "--workers", "0"], "--workers must be at least 1"),
    (["-o", "X", "--scheduler", "tcp://127.0.0.1:1", "--workers", "3"], "--workers sizes the local cluster"),
    (["-o", "X", "--url-pattern", "("], "not a valid regular expression"),
])
def test_usage_errors(corpus_glob: str, tmp_path: Path, extra: list[str], message: str) -> None:
    pytest.importorskip("distributed")
    args = ["--engine", "dask", corpus_glob, *[str(tmp_path / a) if a == "X" else a for a in extra]]
    result = CliRunner().invoke(wired_extract, args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_dask_options_need_the_dask_engine(corpus_glob: str) -> None:
    result = CliRunner().invoke(wired_extract, [corpus_glob, "--format", "parquet"])
    assert result.exit_code == 2 and "--format needs --engine dask" in result.stderr


def test_the_real_command_once_wired(dask_scheduler: str, corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    if "engine" not in {p.name for p in cli.commands["extract"].params}:
        pytest.skip("scraper/cli.py does not have --engine yet")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["extract", "--engine", "dask", "--scheduler", dask_scheduler, corpus_glob,
                                      "--url-pattern", QUESTION_PATTERN, "-o", str(out)])
    assert result.exit_code == 1, result.stderr
    assert comparable(read_records(out)) == comparable(read_records(reference))
    assert json.loads((out / "manifest.json").read_text())["summary"]["complete"] == 5
