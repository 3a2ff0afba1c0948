"""Every module imports on its own, in a fresh interpreter, and all of them in any order.

Why: an import cycle works only by import order, and breaks (``ImportError: partially
initialized module``) the day one more import is added in the wrong place.  Each module
is imported first thing in its own interpreter, then all of them in shuffled orders.
"""

from __future__ import annotations

import ast
import pkgutil
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import scraper
from tests.conftest import ROOT


def _modules() -> list[str]:
    found = [m.name for m in pkgutil.walk_packages(scraper.__path__, "scraper.")]
    # __main__ runs the command line when imported: it is what `python -m scraper` executes.
    return sorted(name for name in found if not name.endswith("__main__"))


MODULES = _modules()


def _import(names: list[str]) -> subprocess.CompletedProcess[str]:
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    return subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_package_has_the_modules_this_test_expects() -> None:
    assert {"scraper.extract.api", "scraper.extract.profile", "scraper.sites.realself.review", "scraper.crawler.engine"} <= set(MODULES)


def test_each_module_imports_on_its_own() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(MODULES, pool.map(lambda name: _import([name]), MODULES), strict=True))
    failed = {name: r.stderr.strip().splitlines()[-1] for name, r in results.items() if r.returncode != 0}
    assert failed == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_all_modules_import_in_a_random_order(seed: int) -> None:
    order = MODULES[:]
    random.Random(seed).shuffle(order)
    result = _import(order)
    assert result.returncode == 0, result.stderr[-2000:]


def _imported_modules(path: Path) -> set[str]:
    """Modules a file imports, anywhere in it (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_extraction_toolkit_does_not_import_the_site_adapters() -> None:
    """Adapters use the toolkit; the pipeline is handed them (scraper.sites.CHOICE), never imports them.

    Only the entry point, scraper/extract/api.py, brings the two together.  (Read from the
    source: importing any submodule runs scraper/__init__.py, which imports everything.)
    """
    toolkit = [p for p in (ROOT / "scraper" / "extract").rglob("*.py") if p.name != "api.py"]
    assert len(toolkit) > 10
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imported_modules(p) if m.startswith("scraper.sites"))
                 for p in toolkit}
    assert {k: v for k, v in offenders.items() if v} == {}
