"""Every error a user can cause: one line on stderr, the documented exit code, never a traceback.

Each case is what a user typed (issue 12 lists them); the CLI runs in a subprocess as a
user would run it, and the library calls are made as a script would make them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scraper
from scraper.errors import (
    ConfigError,
    CrawlLockedError,
    InputError,
    OutputError,
    PatternError,
    ScraperError,
    SettingsError,
    UnknownSiteError,
    exit_code,
)
from scraper.page import RawPage
from scraper.settings import Settings, parse_setting_assignments
from tests.conftest import ROOT

SAMPLE = ROOT / "samples" / "realself-000-botox-atrophy.txt"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# A dead port on loopback: nothing is fetched in any of these cases, they fail before.
DEAD = "http://127.0.0.1:9/questions"


@pytest.mark.parametrize("site", ["stackexchange", "discourse", "generic"])
def test_discover_offers_only_sites_that_can_be_discovered(tmp_path: Path, site: str) -> None:
    result = run("crawl", "--discover", site, "--state", str(tmp_path / "s.db"), cwd=tmp_path)
    assert_one_line_error(result, 2, "--discover", "realself")


def test_discover_in_the_library_names_the_sites_that_have_a_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no sitemap to discover from; sites that have one: realself"):
        list(scraper.crawl([], discover="stackexchange", state=str(tmp_path / "s.db")))


@pytest.mark.parametrize("flag", [["--include", "("], ["--exclude", "[a-"], ["-s", "INCLUDE=("]])
def test_a_bad_crawl_regex_is_a_usage_error(tmp_path: Path, flag: list[str]) -> None:
    result = run("crawl", DEAD, *flag, "--state", str(tmp_path / "s.db"), cwd=tmp_path)
    assert_one_line_error(result, 2, "is not a valid regular expression")
    assert not (tmp_path / "s.db").exists(), "nothing was started"


def test_a_bad_url_pattern_is_a_usage_error(tmp_path: Path) -> None:
    result = run("extract", str(SAMPLE), "--url-pattern", "(", cwd=tmp_path)
    assert_one_line_error(result, 2, "scraper: --url-pattern: '(' is not a valid regular expression")
    assert result.stdout == ""


def test_an_output_in_a_missing_directory_names_the_path(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "out.jsonl"
    result = run("extract", str(SAMPLE), "-o", str(target), cwd=tmp_path)
    assert_one_line_error(result, 1, str(target), "create the directory first")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs a read-only sysfs")
def test_an_output_on_a_read_only_filesystem_names_the_path(tmp_path: Path) -> None:
    result = run("extract", str(SAMPLE), "-o", "/sys/out.jsonl", cwd=tmp_path)
    assert_one_line_error(result, 1, "/sys/out.jsonl")


def test_a_warc_out_in_a_missing_directory_names_the_path(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "crawl.warc.gz"
    result = run("crawl", DEAD, "--warc-out", str(target), "--state", str(tmp_path / "s.db"), cwd=tmp_path)
    assert_one_line_error(result, 1, str(target), "--warc-out")


def test_a_url_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_bytes(b"http://127.0.0.1:9/a\nhttp://127.0.0.1:9/\xff\xfe\n")
    result = run("crawl", "--urls", str(urls), "--state", str(tmp_path / "s.db"), cwd=tmp_path)
    assert_one_line_error(result, 1, str(urls), "not a UTF-8 text file")
    with pytest.raises(InputError, match="not a UTF-8"):
        list(scraper.crawl([], urls_file=str(urls), state=str(tmp_path / "t.db")))


def test_an_unknown_site_is_a_config_error_that_is_still_a_value_error() -> None:
    with pytest.raises(UnknownSiteError, match=r"known sites: apache_answer, .*discourse, .*generic, .*realself, .*stackexchange, .*zhihu$"):
        scraper.extract(SAMPLE.read_bytes(), site="nosuchsite")
    with pytest.raises(ValueError):  # what callers caught before
        scraper.extract(SAMPLE.read_bytes(), site="nosuchsite")


def test_a_gzip_page_whose_hash_was_read_first_still_extracts_and_keeps_the_raw_hash() -> None:
    raw = gzip.compress(SAMPLE.read_bytes())
    page = RawPage(body=raw, kind="file", path="page.txt.gz")
    assert page.sha256 == hashlib.sha256(raw).hexdigest()  # read before extraction: cached on the page
    record = scraper.extract_page(page)
    assert len(record.answers) == 5
    assert record.source.sha256 == hashlib.sha256(raw).hexdigest(), "the sha256 of the raw (compressed) bytes"


def test_list_settings_come_from_their_types() -> None:
    assert parse_setting_assignments(["RETRY_HTTP_CODES=500,503", "INCLUDE=/question/", "DOWNLOAD_DELAY=0.5"]) == {
        "RETRY_HTTP_CODES": ["500", "503"], "INCLUDE": ["/question/"], "DOWNLOAD_DELAY": 0.5,
    }
    assert Settings.build(parse_setting_assignments(["RETRY_HTTP_CODES=500,503"])).RETRY_HTTP_CODES == (500, 503)
    assert Settings.build(parse_setting_assignments(["RETRY_HTTP_CODES=500"])).RETRY_HTTP_CODES == (500,)
    assert Settings.build(parse_setting_assignments(['INCLUDE=["/a,b/"]'])).INCLUDE == ("/a,b/",)  # JSON keeps a comma
    with pytest.raises(SettingsError, match=r"INCLUDE: '\(' is not a valid regular expression"):
        Settings.build({"INCLUDE": ["("]})


def test_every_error_is_in_the_tree_with_its_exit_code() -> None:
    import scraper.errors as errors

    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, ScraperError), name
    assert exit_code(PatternError("x")) == exit_code(SettingsError("x")) == 2
    assert exit_code(CrawlLockedError("x")) == 3
    assert exit_code(OutputError("x")) == exit_code(InputError("x")) == 1
    # Errors defined beside the code that raises them are the same classes as the tree's.
    from scraper.settings import SettingsError as SettingsErrorOfSettings
    from scraper.store.outputs import OutputError as OutputErrorOfStore
    from scraper.store.state import StateDamagedError
    from scraper.store.textfile import OutputError as OutputErrorOfFiles

    assert OutputErrorOfFiles is OutputErrorOfStore is OutputError
    assert SettingsErrorOfSettings is SettingsError
    assert issubclass(StateDamagedError, errors.StateError)
