"""Site adapters from other packages (the ``scraper.sites`` entry-point group), as their authors ship them.

The README's example package is built and installed with pip, then a page of its made-up site is
read through ``scraper extract`` and through ``scraper.extract``.  It is installed with
``pip install --target`` into a temporary directory put on the path, not into the test venv: the
install is the same (pip builds the wheel and writes the ``.dist-info`` with ``entry_points.txt``,
about a second), but other test runs sharing the venv never see the plugin, and a crashed test
leaves nothing to uninstall.  Broken plugins need no build, so those tests write the
``.dist-info`` pip would leave by hand (faster, and a broken package may not even build).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import scraper
from scraper.errors import ExtractorCrashError, NotAQAPageError, UnknownSiteError
from scraper.sites import BUILTIN, SITES, PluginWarning, get_site, reload_site_plugins, site_plugins
from tests.conftest import FIXTURES, ROOT, SEED

URL = "https://qa.hollow.example/q/17-can-moss-grow-on-north-walls"
STACK_PAGE = FIXTURES / "html" / "stackoverflow-1732348" / "page.html"

# A made page of a made-up site (no real site serves it): the markup the README's adapter reads.
PAGE = """<!doctype html>
<!-- Made for this test: a page of "Hollow Answers", a site that does not exist. -->
<html><head><title>Can moss grow on north walls? - Hollow Answers</title>
<meta name="generator" content="HollowQA 4.2"><meta name="hollow:topic" content="Gardening">
</head><body>
<article class="hq-question"><h1>Can moss grow on north walls?</h1>
<div class="hq-body"><p>My north wall stays damp all year.</p><p>Will moss take hold on brick?</p></div></article>
<article class="hq-answer"><div class="hq-body"><p>Yes: shade and damp are all it needs.</p></div>
<span class="hq-who">Ada Fern</span></article>
<article class="hq-answer"><div class="hq-body"><p>Brush it off in spring if you do not want it.</p></div>
<span class="hq-who">Tom Reed</span></article>
</body></html>
"""


def _readme_example() -> dict[str, str]:
    """The files of the README's example plugin package, by the path its comment names."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = dict(re.findall(r"<!-- plugin example: (\S+) -->\n```\w+\n(.*?)```", readme, re.S))
    assert set(found) == {"pyproject.toml", "hollow_adapter/__init__.py"}
    return found


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the README's plugin package as pip installed it."""
    root = tmp_path_factory.mktemp("plugin")
    package = _write(root / "hollow-adapter", _readme_example())
    target = root / "site-packages"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
           "--disable-pip-version-check", "--target", str(target), str(package)]
    proc = subprocess.run(pip, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (target / "hollow_adapter-0.3.dist-info" / "entry_points.txt").is_file()
    return target


def _dist_info(root: Path, name: str, entry_points: dict[str, str], modules: dict[str, str] | None = None) -> Path:
    """What pip leaves for a package declaring ``entry_points`` in the group (and its modules, if any)."""
    dist = name.replace("-", "_")
    _write(root, modules or {})
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    return _write(root, {f"{dist}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
                         f"{dist}-1.0.dist-info/entry_points.txt": f"[scraper.sites]\n{lines}"})


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Directories appended to this list are on sys.path, with plugins read again on the next lookup."""
    added: list[Path] = []

    class _Paths(list[Path]):
        def append(self, path: Path) -> None:
            monkeypatch.syspath_prepend(str(path))
            reload_site_plugins()
            added.append(path)

    yield _Paths()
    reload_site_plugins()
    for module in [m for m in sys.modules if m.startswith(("hollow_adapter", "broken_adapter", "made_"))]:
        del sys.modules[module]


def _cli(*args: str, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The ``scraper`` command of this venv, with ``path`` where Python looks for packages."""
    command = Path(sys.executable).with_name("scraper")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "scraper"]
    env = {**os.environ, "PYTHONPATH": str(path) if path else ""}
    return subprocess.run([*argv, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def _check_record(record: dict) -> None:
    assert record["site"] == "hollow"  # the plugin's name, so the plugin read the page
    assert record["source"]["extractor"]["name"] == "html:site-selectors+meta"
    assert record["question"]["title"] == "Can moss grow on north walls?"
    assert record["question"]["body"] == "My north wall stays damp all year.\n\nWill moss take hold on brick?"
    assert record["question"]["topic"] == "Gardening"  # the plugin's meta_fields
    assert [(a["position"], a["author"]["name"]) for a in record["answers"]] == [(1, "Ada Fern"), (2, "Tom Reed")]
    assert record["answers"][0]["body"] == "Yes: shade and damp are all it needs."


def test_without_the_plugin_the_made_page_gives_no_record() -> None:
    with pytest.raises(NotAQAPageError):
        scraper.extract(PAGE, url=URL)


def test_an_installed_plugin_reads_its_site_through_the_command(installed: Path, tmp_path: Path) -> None:
    page = tmp_path / "moss.html"
    page.write_text(PAGE, encoding="utf-8")
    by_url = _cli("extract", str(page), "--url", URL, path=installed)
    assert by_url.returncode == 0, by_url.stderr
    _check_record(json.loads(by_url.stdout))
    by_markup = _cli("extract", str(page), path=installed)  # no URL: the CSS signature (the generator meta) names the site
    assert by_markup.returncode == 0, by_markup.stderr
    _check_record(json.loads(by_markup.stdout))
    assert "warning" not in by_url.stderr + by_markup.stderr


def test_an_installed_plugin_reads_its_site_through_the_library(installed: Path, on_path: list[Path]) -> None:
    on_path.append(installed)
    record = scraper.extract(PAGE.encode(), url=URL)
    _check_record(record.model_dump(mode="json"))
    assert list(SITES)[-2:] == ["hollow", "generic"]  # after the built-ins, before the generic adapter
    (plugin,) = site_plugins()
    assert (plugin.distribution, plugin.problem, get_site("hollow").version) == ("hollow-adapter 0.3", None, "0.3")
    assert scraper.extract(STACK_PAGE.read_bytes()).site == "stackexchange"  # other sites as before


def test_extractors_lists_the_plugin_with_its_package(installed: Path) -> None:
    proc = _cli("extractors", path=installed)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\s+hollow\s+0\.3\s+Hollow Answers question pages \[plugin: hollow-adapter 0\.3\]$", proc.stdout, re.M)
    forced = _cli("extract", "--site", "hollow", str(STACK_PAGE), path=installed)  # --site knows plugins too
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["site"] == "hollow"
    assert _cli("extract", "--site", "hollow", str(STACK_PAGE)).returncode == 2  # not installed: a usage error


def test_a_broken_plugin_is_named_in_one_warning_and_costs_nothing_else(tmp_path: Path, on_path: list[Path]) -> None:
    _dist_info(tmp_path, "broken-adapter", {"broken": "broken_adapter:SITE"})  # the module was never installed
    proc = _cli("extract", str(SEED), str(STACK_PAGE), path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["site"] for line in proc.stdout.splitlines()] == ["realself", "stackexchange"]
    warning = ("scraper: warning: site plugin 'broken' (broken-adapter 1.0: broken = broken_adapter:SITE) is skipped: "
               "it could not be loaded (ModuleNotFoundError: No module named 'broken_adapter')")
    assert [line for line in proc.stderr.splitlines() if "warning" in line] == [warning]  # once, not per page
    assert "Traceback" not in proc.stderr
    on_path.append(tmp_path)
    with pytest.warns(PluginWarning, match=r"site plugin 'broken' \(broken-adapter 1\.0.*ModuleNotFoundError"):
        assert scraper.extract(SEED.read_bytes()).site == "realself"
    with pytest.raises(UnknownSiteError, match="unknown site 'broken': site plugin 'broken' .* could not be loaded"):
        scraper.extract(SEED.read_bytes(), site="broken")
    listing = _cli("extractors", path=tmp_path).stdout
    assert re.search(r"^site plugins skipped.*\n\s+broken\s+site plugin 'broken'", listing, re.M)


def test_a_plugin_taking_a_built_in_name_is_an_error_not_an_override(tmp_path: Path, on_path: list[Path]) -> None:
    made = {"made_clash.py": "SITE = {'url_patterns': ['.']}\n"}  # would claim every URL
    on_path.append(_dist_info(tmp_path, "clash-adapter", {"realself": "made_clash:SITE", "made": "made_clash:SITE"}, made))
    with pytest.warns(PluginWarning, match="site plugin 'realself' .* a built-in site adapter has that name"):
        assert SITES["realself"] is BUILTIN["realself"]
    assert scraper.extract(SEED.read_bytes()).site == "realself"
    assert scraper.extract(STACK_PAGE.read_bytes(), url="https://stackoverflow.com/questions/1732348").site == "stackexchange"
    assert scraper.extract(STACK_PAGE.read_bytes(), url="https://example.org/x").site == "made"  # wins over generic


def test_bad_data_in_a_plugin_is_named_by_its_key(tmp_path: Path, on_path: list[Path]) -> None:
    made = {"made_bad.py": ("BAD_REGEX = {'url_patterns': ['(']}\nBAD_CSS = {'css_signatures': ['div[']}\n"
                            "BAD_XPATH = {'html_signatures': ['//div[']}\nTYPO = {'url_pattern': ['x']}\n"
                            "BAD_FIELD = {'meta_fields': {'answers': 'x'}}\nNOT_A_SITE = 42\n")}
    names = ("BAD_REGEX", "BAD_CSS", "BAD_XPATH", "TYPO", "BAD_FIELD", "NOT_A_SITE")
    on_path.append(_dist_info(tmp_path, "bad-adapter", {n.lower(): f"made_bad:{n}" for n in names}, made))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "bad_regex" not in SITES
    problems = sorted(str(w.message) for w in caught if issubclass(w.category, PluginWarning))
    for needle in ("url_patterns: '(' is not a valid regular expression", "css_signatures: 'div[' is not a valid CSS selector",
                   "html_signatures: '//div[' is not a valid XPath expression", "unknown key 'url_pattern'",
                   "meta_fields: 'answers'", "gives a int, not a SiteProfile"):
        assert any(needle in p for p in problems), (needle, problems)
    assert len(problems) == len(names)


def test_a_callable_plugin_is_forced_by_name_and_its_crash_names_it(tmp_path: Path, on_path: list[Path]) -> None:
    made = {"made_callable.py": ('def read(doc):\n    """Made pages that crash."""\n    raise RuntimeError("boom")\n'
                                 "def wrong(doc):\n    return {'title': 'x'}\n")}
    on_path.append(_dist_info(tmp_path, "callable-adapter", {"crash": "made_callable:read", "wrong": "made_callable:wrong"}, made))
    assert get_site("crash").description == "Made pages that crash."
    assert scraper.extract(STACK_PAGE.read_bytes()).site == "stackexchange"  # no signatures: never detected
    with pytest.raises(ExtractorCrashError, match=r"site plugin 'crash' \(callable-adapter 1\.0.*RuntimeError: boom.*plugin's authors"):
        scraper.extract(STACK_PAGE.read_bytes(), site="crash")
    with pytest.raises(ExtractorCrashError, match="site plugin 'wrong' .* returned a dict, not a PartialPage"):
        scraper.extract(STACK_PAGE.read_bytes(), site="wrong")


def test_importing_scraper_loads_no_plugin(tmp_path: Path) -> None:
    _dist_info(tmp_path, "loud-adapter", {"loud": "made_loud:SITE"}, {"made_loud.py": "raise SystemError('imported')\n"})
    code = "import scraper, scraper.sites, scraper.cli; import sys; print('made_loud' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (0, "False"), proc.stderr
    assert _cli("schema", path=tmp_path).stderr == ""
