"""Dask is an optional extra: nothing but `--engine dask` may import it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, SEED


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_import_scraper_does_not_import_dask() -> None:
    proc = run_python("import scraper, sys; assert 'dask' not in sys.modules")
    assert proc.returncode == 0, proc.stderr


def test_the_distributed_package_imports_dask_only_when_a_run_starts() -> None:
    proc = run_python(
        "import sys, scraper.cli, scraper.distributed, scraper.distributed.cli, scraper.distributed.dask_extract\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pyarrow'))\n"
        "assert not leaked, leaked\n"
    )
    assert proc.returncode == 0, proc.stderr


def test_scraper_extract_without_the_dask_engine_does_not_import_dask(tmp_path) -> None:
    proc = run_python(
        "import sys\n"
        "from scraper.cli import cli\n"
        f"code = cli.main(['extract', {str(SEED)!r}, '-o', {str(tmp_path / 'out.jsonl')!r}], standalone_mode=False)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "assert not leaked, leaked\n"
    )
    # click's standalone_mode=False still lets the command's sys.exit(0) through as SystemExit(0)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8").count("\n") == 1
