"""``scraper extract`` and ``scraper schema`` as a user runs them: a real subprocess each time."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED

SEED_URL = "https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles"


def run(*args: str, stdin: bytes | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "scraper", *args],
        input=stdin.decode("utf-8", "surrogateescape") if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    return proc


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    """A folder with two copies of the seed page, a binary file and a note that is no Q&A page."""
    shutil.copy(SEED, tmp_path / "a.txt")
    shutil.copy(SEED, tmp_path / "b.txt")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "note.txt").write_text("Remember to water the plants.\n\nAnd the cat.\n")
    return tmp_path


def test_extract_prints_one_json_line_per_input_with_the_path_as_given() -> None:
    proc = run("extract", "samples/realself-000-botox-atrophy.txt")
    assert proc.returncode == 0, proc.stderr
    (record,) = records(proc.stdout)
    assert record["source"]["path"] == "samples/realself-000-botox-atrophy.txt"
    assert record["source"]["kind"] == "file"
    assert len(record["answers"]) == 5
    assert "extracted 1 page, 5 answers" in proc.stderr


def test_url_option_sets_the_record_url() -> None:
    proc = run("extract", str(SEED), "--url", SEED_URL)
    assert records(proc.stdout)[0]["url"] == SEED_URL


def test_url_with_several_inputs_is_a_usage_error(pages: Path) -> None:
    proc = run("extract", str(pages / "a.txt"), str(pages / "b.txt"), "--url", SEED_URL)
    assert proc.returncode == 2
    assert "--url" in proc.stderr


def test_bad_inputs_are_reported_and_the_batch_goes_on_in_order(pages: Path) -> None:
    proc = run("extract", str(pages / "a.txt"), str(pages / "image.txt"), str(pages / "missing.txt"),
               str(pages / "note.txt"), str(pages / "b.txt"))
    assert proc.returncode == 1
    assert [Path(r["source"]["path"]).name for r in records(proc.stdout)] == ["a.txt", "b.txt"]
    err = proc.stderr
    assert f"{pages / 'image.txt'}: the input is a PNG image" in err
    assert f"{pages / 'missing.txt'}: no such file" in err
    assert f"{pages / 'note.txt'}: no answer section" in err
    assert "extracted 2 pages, 10 answers; 3 inputs failed" in err


def test_globs_expand_in_sorted_order(pages: Path) -> None:
    proc = run("extract", str(pages / "[ab].txt"))
    assert proc.returncode == 0
    assert [Path(r["source"]["path"]).name for r in records(proc.stdout)] == ["a.txt", "b.txt"]


def test_glob_that_matches_nothing_fails_that_input(pages: Path) -> None:
    proc = run("extract", str(pages / "*.html"), str(pages / "a.txt"))
    assert proc.returncode == 1
    assert "no file matches" in proc.stderr
    assert len(records(proc.stdout)) == 1


def test_stdin_is_read_for_a_dash() -> None:
    proc = run("extract", "-", stdin=SEED.read_bytes())
    assert proc.returncode == 0, proc.stderr
    (record,) = records(proc.stdout)
    assert record["source"]["kind"] == "stdin" and record["source"]["path"] == "-"


def test_output_file_is_written_whole(pages: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    proc = run("extract", str(pages / "a.txt"), str(pages / "b.txt"), "-o", str(out))
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert len(records(out.read_text())) == 2
    assert not list(tmp_path.glob(".scraper-*.tmp")), "no temporary file is left behind"


def test_output_file_is_written_even_when_some_inputs_fail(pages: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    proc = run("extract", str(pages / "a.txt"), str(pages / "note.txt"), "-o", str(out))
    assert proc.returncode == 1
    assert len(records(out.read_text())) == 1


def test_pretty_output_is_indented_json() -> None:
    proc = run("extract", str(SEED), "--pretty")
    assert proc.stdout.startswith("{\n  ")
    assert json.loads(proc.stdout)["answer_count"] == 5


def test_sha256_is_of_the_raw_bytes() -> None:
    import hashlib

    proc = run("extract", str(SEED))
    assert records(proc.stdout)[0]["source"]["sha256"] == hashlib.sha256(SEED.read_bytes()).hexdigest()


def test_a_directory_is_a_clear_error(pages: Path) -> None:
    proc = run("extract", str(pages))
    assert proc.returncode == 1
    assert "is a directory" in proc.stderr


def test_no_arguments_is_a_usage_error() -> None:
    assert run("extract").returncode == 2


def test_console_script_and_module_agree() -> None:
    exe = shutil.which("scraper")
    if exe is None:
        pytest.skip("the package is not installed in this environment (pip install -e .)")
    proc = subprocess.run([exe, "extract", str(SEED)], capture_output=True, text=True, timeout=60)
    assert records(proc.stdout) == records(run("extract", str(SEED)).stdout)


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and "scraper" in proc.stdout


HASHED = ROOT / "tests" / "fixtures" / "html" / "realself-made-question-hashed" / "page.html"


def test_html_pages_extract_from_the_cli() -> None:
    proc = run("extract", str(HASHED), "tests/fixtures/html/stackoverflow-6377231/page.html")
    assert proc.returncode == 0, proc.stderr
    first, second = records(proc.stdout)
    assert (first["site"], len(first["answers"])) == ("realself", 5)
    assert first["answers"][2]["author"]["location"] == "Los Angeles"
    assert (second["site"], second["answers"][0]["author"]["name"]) == ("stackexchange", "jterrace")
    assert first["source"]["extractor"]["name"] == "html:json-ld+visible-text"


def test_explain_names_the_strategy_behind_each_field() -> None:
    proc = run("extract", str(HASHED), "--explain")
    assert proc.returncode == 0
    assert "strategies=json-ld > visible-text" in proc.stderr
    assert re.search(r"answers\[1\]\.author_location\s+<- visible-text", proc.stderr)
    assert re.search(r"answers\[1\]\.posted_at\s+<- json-ld", proc.stderr)
    assert len(records(proc.stdout)) == 1, "the explanation goes to stderr, records stay clean"


def test_site_option_forces_an_adapter() -> None:
    proc = run("extract", str(HASHED), "--site", "generic")
    assert records(proc.stdout)[0]["site"] is None
    assert run("extract", str(HASHED), "--site", "nosuchsite").returncode == 2


def test_extractors_lists_adapters_and_strategies_with_versions() -> None:
    proc = run("extractors")
    assert proc.returncode == 0
    for name in ("realself", "stackexchange", "discourse", "phpbb", "xenforo", "reddit", "generic", "json-ld", "microdata", "app-state", "page-structure", "visible-text"):
        assert re.search(rf"^\s+{name}\s+\d+\.\d+", proc.stdout, re.M), name


def test_hostile_values_cost_a_field_or_a_page_never_the_batch(tmp_path: Path) -> None:
    """Made pages (modelled on a JSON-LD QAPage): absurd counts, a non-text charset; the batch goes on."""
    ld = (
        '{"@context": "https://schema.org", "@type": "QAPage", "mainEntity": {"@type": "Question",'
        ' "name": "How long does Botox last?", "text": "Three months ago.", "answerCount": NaN,'
        ' "suggestedAnswer": [{"@type": "Answer", "text": "Three to four months.", "upvoteCount": 1e999,'
        ' "author": {"@type": "Person", "name": "Jane Roe, MD"}}]}}'
    )
    counts = tmp_path / "counts.html"
    counts.write_text(f"<html><head><script type='application/ld+json'>{ld}</script></head><body><h1>How long does Botox last?</h1></body></html>")
    codec = tmp_path / "codec.html"
    codec.write_text(counts.read_text().replace("<head>", "<head><meta charset='base64'>"))
    result = run("extract", str(counts), str(codec), str(SEED))
    assert result.returncode == 0, result.stderr
    got = records(result.stdout)
    assert [Path(r["source"]["path"]).name for r in got] == ["counts.html", "codec.html", SEED.name]
    for record in got[:2]:
        assert record["answer_count"] is None
        assert record["answers"][0]["votes"] is None
        assert record["answers"][0]["author"]["name"] == "Jane Roe, MD"


def test_an_output_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    result = run("extract", str(SEED), "-o", str(tmp_path / "no-such-dir" / "out.jsonl"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "no-such-dir" in result.stderr


def test_extract_takes_settings_like_crawl(tmp_path: Path) -> None:
    """-s and --config as for crawl: EXTRACT_MAXSIZE bounds local files and stdin; unknown names are usage errors."""
    seed = Path(SEED)
    small = run("extract", str(seed), "-s", f"EXTRACT_MAXSIZE={seed.stat().st_size - 1}")
    assert small.returncode == 1 and "over the" in small.stderr and small.stdout == ""
    config = tmp_path / "scraper.toml"
    config.write_text(f"EXTRACT_MAXSIZE = {seed.stat().st_size}\n", encoding="utf-8")
    enough = run("extract", str(seed), "--config", str(config))
    assert enough.returncode == 0 and len(records(enough.stdout)) == 1
    piped = run("extract", "-", "-s", "EXTRACT_MAXSIZE=1024", stdin=seed.read_bytes())
    assert piped.returncode == 1 and "EXTRACT_MAXSIZE" in piped.stderr
    unknown = run("extract", str(seed), "-s", "NO_SUCH_SETTING=1")
    assert unknown.returncode == 2 and "unknown setting 'NO_SUCH_SETTING'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + piped.stderr + small.stderr


# --- web archives --------------------------------------------------------------------------------


def warc_resource(uri: str, body: bytes, content_type: str = "text/plain; charset=utf-8", extra: bytes = b"") -> bytes:
    """One WARC resource record, written by hand (a page stored without its HTTP envelope)."""
    head = b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Target-URI: %s\r\nWARC-Date: 2024-03-01T12:00:00Z\r\n" % uri.encode()
    return head + b"Content-Type: %s\r\n%sContent-Length: %d\r\n\r\n%s\r\n\r\n" % (content_type.encode(), extra, len(body), body)


def test_extract_reads_every_real_archive_and_counts_what_it_skips() -> None:
    """17 real archives of other tools' test suites, none with a Q&A page: no record, no crash, each page named."""
    from tests.formats.test_archives_real import ARCHIVES, EXPECTED, FILES

    result = run("extract", *(str(ARCHIVES / name) for name in FILES))
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for name in FILES:
        named = [line for line in lines if f"{name} [" in line]
        reads = EXPECTED[name][0]
        damage = EXPECTED[name][4].get("truncated_header", 0)
        assert len(named) == reads + damage, name
        for line in named:
            reason = line.split("]: ", 1)[1]
            assert reason.startswith(("no Q&A found in the HTML", "no answer section", "http_error:", "decode_error:")), line
    read = sum(e[0] for e in EXPECTED.values())
    skipped = sum(sum(e[4].values()) for e in EXPECTED.values())
    summary = lines[-1]
    assert summary.startswith("scraper: extracted 0 pages, 0 answers; ")
    assert f"; 17 archives, {read + skipped} records: {read} read (1 truncated), {skipped} skipped (40 request, 15 warcinfo, " in summary


def test_an_archive_is_known_by_its_content_and_its_pages_extracted(tmp_path: Path) -> None:
    seed_url = "https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles"
    body = Path(SEED).read_bytes()
    archive = tmp_path / "capture"  # no suffix at all
    archive.write_bytes(
        warc_resource("metadata://crawler/log.txt", b"fetched 1 page\n")
        + warc_resource(seed_url, body)
        + warc_resource(seed_url + "?cut", body, extra=b"WARC-Truncated: length\r\n")
    )
    result = run("extract", str(archive))
    assert result.returncode == 0, result.stderr
    whole, cut = records(result.stdout)
    assert (whole["url"], whole["source"]["kind"], whole["source"]["path"]) == (seed_url, "warc", str(archive))
    assert len(whole["answers"]) == 5 and whole["truncated"] is False
    assert cut["truncated"] is True and "truncated" in [w["code"] for w in cut["warnings"]]
    assert result.stderr.splitlines()[-1] == (
        "scraper: extracted 2 pages, 10 answers; 1 archive, 3 records: 2 read (1 truncated), 1 skipped (1 not_web)")


def test_an_archive_larger_than_extract_maxsize_is_streamed(tmp_path: Path) -> None:
    """EXTRACT_MAXSIZE bounds a page file; an archive is read record by record (DOWNLOAD_MAXSIZE bounds each)."""
    archive = tmp_path / "big.warc"
    archive.write_bytes(warc_resource("https://example.com/", b"<html><body><p>hello</p></body></html>", "text/html") * 50)
    result = run("extract", str(archive), "-s", "EXTRACT_MAXSIZE=1024")
    assert "over the" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].endswith("; 1 archive, 50 records: 50 read, 0 skipped")
    missing = run("extract", str(tmp_path / "gone.warc.gz"))
    assert missing.returncode == 1 and "gone.warc.gz: no such file" in missing.stderr


def test_pretty_output_of_several_inputs_is_one_json_array(tmp_path: Path) -> None:
    """--pretty of several inputs used to print objects one after another, which no JSON parser reads."""
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(SEED.read_bytes())
    (tmp_path / "note.txt").write_text("not a page", encoding="utf-8")
    for inputs in ([str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), str(tmp_path / "note.txt")], [str(tmp_path / "*.txt")]):
        proc = run("extract", *inputs, "--pretty")
        assert proc.returncode == 1, proc.stderr  # note.txt fails, the others are in the array
        records = json.loads(proc.stdout)
        assert isinstance(records, list) and [r["answer_count"] for r in records] == [5, 5]
        assert proc.stdout.startswith("[\n{\n  ")
    one_glob = run("extract", str(tmp_path / "a.*"), "--pretty")
    assert isinstance(json.loads(one_glob.stdout), list), "a glob gives an array whatever it matched"
    none = run("extract", str(tmp_path / "note.txt"), str(tmp_path / "note.txt"), "--pretty")
    assert json.loads(none.stdout) == []


def test_the_size_limit_of_plain_inputs_is_said_in_mib(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(SEED.read_bytes() + b" " * (3 * 1024 * 1024))
    proc = run("extract", str(big), "-s", f"EXTRACT_MAXSIZE={2 * 1024 * 1024}")
    assert proc.returncode == 1
    assert "too_large: the file is 3.0" in proc.stderr and "MiB, over the 2 MiB limit (EXTRACT_MAXSIZE)" in proc.stderr
    piped = subprocess.run([sys.executable, "-m", "scraper", "extract", "-", "-s", "EXTRACT_MAXSIZE=1572864"],
                           input=big.read_bytes(), capture_output=True, timeout=120, cwd=ROOT)
    assert b"standard input is over the 1.5 MiB limit (EXTRACT_MAXSIZE)" in piped.stderr
