"""The single-process engine: partitions, manifest counts, resume, Parquet, a killed client. No Dask needed."""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from scraper.cli import cli
from scraper.distributed import ManifestMismatch, OutputBusy, run_local_extract
from scraper.distributed.partition import _failure_reason
from scraper.errors import ExtractionError
from scraper.extract.api import extract_page
from scraper.page import RawPage
from tests.conftest import ROOT, SEED
from tests.distributed import hooks
from tests.distributed.archives import (
    NOT_QA_TEXT,
    QUESTION_PATTERN,
    Made,
    Spec,
    bad_header_record,
    cut_body,
    matching,
    page_specs,
    text_pages,
    write_archive,
)
from tests.distributed.conftest import comparable, counts_by_input, leftovers, manifest, read_records

# What goes wrong in the made archives, file by file (see archives.make_corpus).
EXPECTED_FAILURES = {
    "a-html.warc.gz": ({"http_error": 1, "not_a_qa_page": 1}, 0),  # a 404 response; a matching page that is no Q&A page
    "b-text.wet.gz": ({}, 0),
    "c-plain.warc": ({}, 0),
    "d-bad.warc.gz": ({"decode_error": 2}, 1),  # a record with unreadable headers (damage, no URL); a garbled HTTP block
    "e-truncated.warc.gz": ({}, 0),  # the last record is cut off: its page is read as far as it goes (see cut_outcome)
}
BROKEN_URLS = {"https://www.realself.com/question/gone", "https://www.realself.com/question/garbled"}


def _outcome(url: str, body: bytes, *, truncated: bool = False) -> str | None:
    """None when the page extracts, else the reason the manifest counts it under."""
    try:
        extract_page(RawPage(body=body, kind="warc", url=url, truncated=truncated))
    except ExtractionError as exc:
        return _failure_reason(exc)
    return None


def _extracts(url: str, body: bytes) -> bool:
    return _outcome(url, body) is None


def _archive_counts(archive: Made, wanted: list[Spec], *, truncated: int = 0) -> dict[str, object]:
    """What the reader must count in one made archive: every record read or skipped by reason."""
    skipped = Counter(s.kind for s in archive.specs if s.kind in ("warcinfo", "request"))
    skipped["url_pattern"] = len(page_specs(archive)) - len(wanted)
    skipped["unreadable"] = sum(s.kind == "raw" for s in archive.specs)  # bad_header_record
    return {"records": len(archive.specs), "read": len(wanted), "truncated": truncated,
            "skipped": dict(sorted((k, v) for k, v in skipped.items() if v))}


def test_manifest_counts_every_input(corpus: tuple[Path, dict[str, Made]], reference: Path) -> None:
    _, made = corpus
    got = counts_by_input(reference)
    assert sorted(got) == sorted(EXPECTED_FAILURES)
    # The cut record of e-truncated gives the page as far as the file goes, marked truncated: it is extracted
    # or fails as that prefix does (a decode_error before the reader read cut records as far as they go).
    cut = made["truncated"].specs[-1]
    cut_outcome = _outcome(cut.url, cut_body(made["truncated"]), truncated=True)
    for archive in made.values():
        name = archive.path.name
        failed, damaged = EXPECTED_FAILURES[name]
        failed = dict(failed)
        wanted = matching(archive, QUESTION_PATTERN)
        last_is_cut = name.startswith("e-truncated")
        readable = [s for s in wanted if s.url not in BROKEN_URLS and not (last_is_cut and s is archive.specs[-1])]
        extracted = sum(_extracts(s.url, s.body) for s in readable)
        if last_is_cut:
            if cut_outcome is None:
                extracted += 1
            else:
                failed[cut_outcome] = 1
        status, counts = got[name]
        assert status == "complete", name
        assert counts == {"seen": len(page_specs(archive)), "matched": len(wanted), "damaged": damaged,
                          "extracted": extracted, "failed": failed,
                          "archive": _archive_counts(archive, wanted, truncated=int(last_is_cut))}, name
        assert counts["extracted"] + sum(counts["failed"].values()) == counts["matched"] + counts["damaged"]
        assert 0 < counts["matched"] < counts["seen"] or name == "c-plain.warc"
    summary = manifest(reference)["summary"]
    assert summary["complete"] == 5 and summary["failed"] == summary["pending"] == 0
    assert summary["extracted"] == sum(c["extracted"] for _, c in got.values()) == len(read_records(reference))
    assert summary["failed_records"] == dict(sorted((Counter({"decode_error": 2, "http_error": 1, "not_a_qa_page": 1})
                                                     + Counter([cut_outcome] if cut_outcome else [])).items()))
    records = sum(len(a.specs) for a in made.values())
    assert summary["archives"] == {"inputs": 5, "records": records, "read": 49, "truncated": 1,
                                   "skipped": {"request": 21, "unreadable": 1, "url_pattern": 32, "warcinfo": 5}}
    truncated = [r for r in read_records(reference) if r["url"] == cut.url and r["source"]["path"].endswith("e-truncated.warc.gz")]
    assert truncated == [] if cut_outcome else [r["truncated"] for r in truncated] == [True]


def test_a_matched_response_that_is_no_page_is_skipped_and_counted(tmp_path: Path) -> None:
    """A matched image response gives no record: counted as skipped (non_html), in neither seen nor matched,
    and damage after it is damage, not its failure (it used to stay pending and take the blame)."""
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    (url, body), (other, other_body) = text_pages()[0], text_pages()[3]
    assert "realself.com/question/" in url and "realself.com/question/" not in other
    image = Spec("response", "https://www.realself.com/question/photo.png", png, content_type="image/png")
    unmatched = Spec("response", "https://forum.example.org/logo.png", png, content_type="image/png")
    (tmp_path / "in").mkdir()
    archives = [
        write_archive(tmp_path / "in" / "image-then-damage.warc.gz",
                      [Spec("warcinfo"), image, Spec("raw", body=bad_header_record()), Spec("conversion", url, body)]),
        write_archive(tmp_path / "in" / "image-last.warc", [Spec("warcinfo"), Spec("conversion", url, body), image], gz=False),
        write_archive(tmp_path / "in" / "images.warc.gz",
                      [Spec("warcinfo"), unmatched, image, Spec("conversion", other, other_body), image,
                       Spec("response", "https://www.realself.com/question/opening-hours", NOT_QA_TEXT, content_type="text/plain")]),
    ]
    summary = run_local_extract([str(a.path) for a in archives], str(tmp_path / "out"), url_pattern=QUESTION_PATTERN)
    assert summary["complete"] == 3
    got = counts_by_input(tmp_path / "out")
    assert got["image-then-damage.warc.gz"][1] == {
        "seen": 1, "matched": 1, "damaged": 1, "extracted": 1, "failed": {"decode_error": 1},
        "archive": {"records": 4, "read": 1, "truncated": 0, "skipped": {"non_html": 1, "unreadable": 1, "warcinfo": 1}},
    }
    assert got["image-last.warc"][1] == {
        "seen": 1, "matched": 1, "damaged": 0, "extracted": 1, "failed": {},
        "archive": {"records": 3, "read": 1, "truncated": 0, "skipped": {"non_html": 1, "warcinfo": 1}},
    }
    # The image the pattern leaves out is never read, so it is seen (its type is not known); the matched ones are not.
    assert got["images.warc.gz"][1] == {
        "seen": 3, "matched": 1, "damaged": 0, "extracted": 0, "failed": {"not_a_qa_page": 1},
        "archive": {"records": 6, "read": 1, "truncated": 0, "skipped": {"non_html": 2, "url_pattern": 2, "warcinfo": 1}},
    }
    for _, counts in got.values():
        assert counts["extracted"] + sum(counts["failed"].values()) == counts["matched"] + counts["damaged"]
        assert counts["seen"] - counts["matched"] == counts["archive"]["skipped"].get("url_pattern", 0)
    assert summary["archives"]["skipped"]["non_html"] == 4
    assert [r["url"] for r in read_records(tmp_path / "out")] == [url, url]


def test_archives_are_told_by_their_content(corpus: tuple[Path, dict[str, Made]], reference: Path, tmp_path: Path) -> None:
    """A renamed WARC (no archive suffix) is read record by record, as `scraper extract` reads it; a page file is one page."""
    _, made = corpus
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(made["plain"].path, folder / "c-plain.data")
    shutil.copy(made["truncated"].path, folder / "e-truncated.open")
    shutil.copy(SEED, folder / "seed.txt")
    summary = run_local_extract([str(folder / "*")], str(tmp_path / "out"), url_pattern=QUESTION_PATTERN)
    assert summary["complete"] == 3
    got, expected = counts_by_input(tmp_path / "out"), counts_by_input(reference)
    assert got["c-plain.data"] == expected["c-plain.warc"]
    assert got["e-truncated.open"] == expected["e-truncated.warc.gz"]
    assert got["seed.txt"][1] == {"seen": 1, "matched": 1, "damaged": 0, "extracted": 1, "failed": {}, "archive": None}
    assert summary["archives"]["inputs"] == 2


def test_partitions_hold_the_matching_records(reference: Path) -> None:
    data = manifest(reference)
    assert data["settings"] == {"format": "jsonl", "url_pattern": QUESTION_PATTERN, "site": None}
    for entry in data["inputs"]:
        lines = (reference / entry["partition"]).read_text(encoding="utf-8").splitlines()
        assert len(lines) == entry["counts"]["extracted"]
        for line in lines:
            record = json.loads(line)
            assert "realself.com/question/" in record["url"]
            assert record["source"]["kind"] == "warc" and record["source"]["path"] == entry["input"]
        samples = entry["errors"]
        assert len(samples) == sum(entry["counts"]["failed"].values())
        assert all(s["reason"] and s["detail"] for s in samples)
    assert leftovers(reference) == []


def test_same_records_as_scraper_extract(corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    """The partitioned run says exactly what `scraper extract --url-pattern` says over the same files."""
    out = tmp_path / "all.jsonl"
    result = CliRunner().invoke(cli, ["extract", corpus_glob, "--url-pattern", QUESTION_PATTERN, "-o", str(out)])
    assert result.exit_code == 1  # the broken records are named
    cli_records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert comparable(cli_records) == comparable(read_records(reference))


def test_rerun_skips_complete_inputs(corpus: tuple[Path, dict[str, Made]], tmp_path: Path) -> None:
    folder, made = corpus
    inputs = [str(made["wet"].path), str(made["plain"].path)]
    out, markers = tmp_path / "out", str(tmp_path / "markers")
    task = functools.partial(hooks.logged, marker_dir=markers)
    first = run_local_extract(inputs, str(out), url_pattern=QUESTION_PATTERN, task=task)
    assert first["run"]["submitted"] == 2 and first["complete"] == 2
    before = {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()}
    again = run_local_extract(inputs, str(out), url_pattern=QUESTION_PATTERN, task=task)
    assert again["run"] == {**again["run"], "submitted": 0, "skipped": 2, "finished": 0}
    assert len(hooks.calls(markers)) == 2
    assert {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()} == before
    assert {k: again[k] for k in ("seen", "matched", "extracted")} == {k: first[k] for k in ("seen", "matched", "extracted")}
    # An input that changed is done again; a new one is added; the rest stay skipped.
    changed = tmp_path / "changed.wet.gz"
    changed.write_bytes(made["wet"].path.read_bytes())
    third = run_local_extract([*inputs, str(changed)], str(out), url_pattern=QUESTION_PATTERN, task=task)
    assert third["run"]["submitted"] == 1 and third["complete"] == 3
    os.utime(changed, ns=(time.time_ns(), time.time_ns() + 10**9))
    fourth = run_local_extract([*inputs, str(changed)], str(out), url_pattern=QUESTION_PATTERN, task=task)
    assert fourth["run"]["submitted"] == 1 and fourth["run"]["skipped"] == 2
    assert hooks.calls(markers)[-1] == str(changed)


def test_other_settings_need_another_directory(corpus_glob: str, reference: Path) -> None:
    with pytest.raises(ManifestMismatch, match="url_pattern"):
        run_local_extract([corpus_glob], str(reference), url_pattern=r"realself\.com/review/")
    with pytest.raises(ManifestMismatch, match="format"):
        run_local_extract([corpus_glob], str(reference), url_pattern=QUESTION_PATTERN, output_format="parquet")


def test_parquet_rows_equal_json_lines(corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    summary = run_local_extract([corpus_glob], str(tmp_path), url_pattern=QUESTION_PATTERN, output_format="parquet")
    assert summary["complete"] == 5
    assert all(e["partition"].endswith(".parquet") for e in manifest(tmp_path)["inputs"])
    key = lambda r: json.dumps(r, sort_keys=True)
    assert sorted(map(key, read_records(tmp_path))) == sorted(map(key, read_records(reference)))
    assert counts_by_input(tmp_path) == counts_by_input(reference)


def test_parquet_partitions_read_as_one_dataset(corpus_glob: str, tmp_path: Path) -> None:
    """Every partition has the same schema, even one with no rows."""
    pytest.importorskip("pyarrow")
    import pyarrow.dataset as ds

    run_local_extract([corpus_glob], str(tmp_path), url_pattern=r"realself\.com/question/made-", output_format="parquet")
    rows = {Path(e["input"]).name: e["counts"]["extracted"] for e in manifest(tmp_path)["inputs"]}
    assert rows["b-text.wet.gz"] == 0 and rows["a-html.warc.gz"] == 3
    table = ds.dataset(str(tmp_path / "parts"), format="parquet").to_table()
    assert table.num_rows == 3
    assert {a["position"] for r in table.to_pylist() for a in r["answers"]} >= {1}


def test_missing_inputs_are_listed_as_failed(corpus: tuple[Path, dict[str, Made]], tmp_path: Path) -> None:
    _, made = corpus
    nothing = str(tmp_path / "none-*.warc.gz")
    summary = run_local_extract([str(tmp_path / "gone.warc.gz"), nothing, str(made["plain"].path)], str(tmp_path / "out"),
                                url_pattern=None)
    assert (summary["inputs"], summary["complete"], summary["failed"]) == (3, 1, 2)
    entries = manifest(tmp_path / "out")["inputs"]
    assert [(e["status"], e["error"]) for e in entries[:2]] == [("failed", "no such file"), ("failed", "no file matches this pattern")]
    assert entries[2]["counts"]["matched"] == entries[2]["counts"]["seen"] == 6  # no pattern: every page record


def test_a_failing_input_does_not_stop_the_others(corpus: tuple[Path, dict[str, Made]], tmp_path: Path) -> None:
    _, made = corpus
    task = functools.partial(hooks.always_raise, marker_dir=str(tmp_path / "m"), only="c-plain.warc")
    summary = run_local_extract([str(made["plain"].path), str(made["wet"].path)], str(tmp_path / "out"),
                                url_pattern=QUESTION_PATTERN, task=task)
    assert (summary["complete"], summary["failed"]) == (1, 1)
    entry = manifest(tmp_path / "out")["inputs"][0]
    assert entry["status"] == "failed" and "this input always fails" in entry["error"]
    assert not (tmp_path / "out" / entry["partition"]).exists()


def test_one_run_at_a_time_per_directory(corpus: tuple[Path, dict[str, Made]], tmp_path: Path) -> None:
    _, made = corpus
    busy = []

    def progress(entry: dict, done: int, total: int) -> None:
        with pytest.raises(OutputBusy):
            run_local_extract([str(made["plain"].path)], str(tmp_path), url_pattern=QUESTION_PATTERN)
        busy.append(entry["input"])

    run_local_extract([str(made["wet"].path)], str(tmp_path), url_pattern=QUESTION_PATTERN, on_progress=progress)
    assert busy == [str(made["wet"].path)]


KILLED_CLIENT = """
import functools, sys
from scraper.distributed import run_local_extract
from tests.distributed import hooks
task = functools.partial(hooks.slow, marker_dir=sys.argv[3], delay=0.4)
run_local_extract([sys.argv[1]], sys.argv[2], url_pattern=sys.argv[4], task=task)
"""


def test_a_killed_client_run_resumes(corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    out, markers = tmp_path / "out", str(tmp_path / "markers")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, corpus_glob, str(out), markers, QUESTION_PATTERN],
                            cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done = sum(e["status"] == "complete" for e in manifest(out)["inputs"])
            except (FileNotFoundError, json.JSONDecodeError):  # the manifest is replaced whole: never half read
                done = 0
            if done >= 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert 2 <= done < 5, "the client was not killed mid-run"
    data = manifest(out)
    complete = [e["input"] for e in data["inputs"] if e["status"] == "complete"]
    assert len(data["inputs"]) == 5 and 2 <= len(complete) < 5
    summary = run_local_extract([corpus_glob], str(out), url_pattern=QUESTION_PATTERN,
                                task=functools.partial(hooks.logged, marker_dir=markers))
    assert summary["run"]["skipped"] == len(complete) and summary["run"]["submitted"] == 5 - len(complete)
    assert not set(complete) & set(hooks.calls(markers)[-summary["run"]["submitted"]:])
    assert comparable(read_records(out)) == comparable(read_records(reference))
    assert counts_by_input(out) == counts_by_input(reference)
    assert leftovers(out) == []
