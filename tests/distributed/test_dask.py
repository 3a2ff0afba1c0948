"""The Dask engine against the single-process reference: same records, same counts, retries, kills, resume."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from scraper.distributed import run_dask_extract
from tests.distributed import hooks
from tests.distributed.archives import QUESTION_PATTERN, Made
from tests.distributed.conftest import comparable, counts_by_input, leftovers, manifest, read_records

pytest.importorskip("distributed", reason="dask[distributed] is not installed: pip install 'qa-scraper[dask]'")


def assert_same_as_reference(out: Path, reference: Path) -> None:
    assert comparable(read_records(out)) == comparable(read_records(reference))
    assert counts_by_input(out) == counts_by_input(reference)
    summary, expected = manifest(out)["summary"], manifest(reference)["summary"]
    for key in ("inputs", "complete", "failed", "pending", "seen", "matched", "damaged", "extracted", "failed_records"):
        assert summary[key] == expected[key], key
    assert leftovers(out) == []


def test_output_equals_the_single_process_run(dask_scheduler: str, corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    markers = str(tmp_path / "markers")
    summary = run_dask_extract([corpus_glob], str(tmp_path / "out"), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler,
                               task=functools.partial(hooks.logged, marker_dir=markers))
    assert summary["run"]["engine"] == "dask" and summary["run"]["submitted"] == 5
    assert_same_as_reference(tmp_path / "out", reference)
    assert len(hooks.calls(markers)) == 5
    # The partitions are the very same files, byte for byte.
    for ours, theirs in zip(manifest(tmp_path / "out")["inputs"], manifest(reference)["inputs"], strict=True):
        assert ours["partition"] == theirs["partition"]
        assert (tmp_path / "out" / ours["partition"]).read_bytes() == (reference / theirs["partition"]).read_bytes()
    # A re-run submits no task for the inputs the manifest holds complete.
    again = run_dask_extract([corpus_glob], str(tmp_path / "out"), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler,
                             task=functools.partial(hooks.logged, marker_dir=markers))
    assert (again["run"]["submitted"], again["run"]["skipped"]) == (0, 5)
    assert len(hooks.calls(markers)) == 5
    assert_same_as_reference(tmp_path / "out", reference)


def test_a_killed_worker_loses_nothing(dask_scheduler: str, corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    """The worker running a-html.warc.gz dies mid-write (os._exit); the task runs again elsewhere."""
    markers = str(tmp_path / "markers")
    task = functools.partial(hooks.die_once, marker_dir=markers, only="a-html.warc.gz")
    summary = run_dask_extract([corpus_glob], str(tmp_path / "out"), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler,
                               task=task)
    assert (Path(markers) / "a-html.warc.gz.died").exists()
    calls = [Path(c).name for c in hooks.calls(markers)]
    assert calls.count("a-html.warc.gz") == 2
    assert summary["complete"] == 5 and summary["failed"] == 0
    assert_same_as_reference(tmp_path / "out", reference)


def test_a_task_that_raises_is_retried(dask_scheduler: str, corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    markers = str(tmp_path / "markers")
    summary = run_dask_extract([corpus_glob], str(tmp_path / "out"), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler,
                               task=functools.partial(hooks.raise_once, marker_dir=markers), retries=1)
    assert summary["complete"] == 5
    assert len(hooks.calls(markers)) == 10
    assert_same_as_reference(tmp_path / "out", reference)


def test_an_input_failing_every_retry_is_marked_failed(dask_scheduler: str, corpus: tuple[Path, dict[str, Made]],
                                                        tmp_path: Path) -> None:
    _, made = corpus
    markers = str(tmp_path / "markers")
    task = functools.partial(hooks.always_raise, marker_dir=markers, only="c-plain.warc")
    inputs = [str(made["plain"].path), str(made["wet"].path)]
    summary = run_dask_extract(inputs, str(tmp_path / "out"), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler,
                               task=task, retries=1)
    assert (summary["complete"], summary["failed"]) == (1, 1)
    entry = manifest(tmp_path / "out")["inputs"][0]
    assert entry["status"] == "failed" and "this input always fails" in entry["error"]
    assert [Path(c).name for c in hooks.calls(markers)].count("c-plain.warc") == 2  # the try and one retry
    # The failed input is tried again by the next run; the complete one is not.
    again = run_dask_extract(inputs, str(tmp_path / "out"), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler,
                             task=functools.partial(hooks.logged, marker_dir=markers))
    assert (again["run"]["submitted"], again["complete"], again["failed"]) == (1, 2, 0)


def test_without_a_scheduler_a_local_cluster_runs_it(corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    """No --scheduler: a LocalCluster of 2 worker processes is started and stopped; Parquet output."""
    pytest.importorskip("pyarrow")
    summary = run_dask_extract([corpus_glob], str(tmp_path / "out"), url_pattern=QUESTION_PATTERN, scheduler=None,
                               output_format="parquet", n_workers=2)
    assert summary["run"]["scheduler"] == "LocalCluster(n_workers=2, threads_per_worker=1)"
    assert all(e["partition"].endswith(".parquet") for e in manifest(tmp_path / "out")["inputs"])
    assert_same_as_reference(tmp_path / "out", reference)


def test_the_manifest_is_written_as_each_task_finishes(dask_scheduler: str, corpus_glob: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    seen = []

    def progress(entry: dict, done: int, total: int) -> None:
        statuses = [e["status"] for e in manifest(out)["inputs"]]
        seen.append((done, total, statuses.count("pending")))

    run_dask_extract([corpus_glob], str(out), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler, on_progress=progress)
    assert seen == [(done, 5, 5 - done) for done in range(1, 6)]


KILLED_CLIENT = """
import functools, sys
from scraper.distributed import run_dask_extract
from tests.distributed import hooks
task = functools.partial(hooks.slow, marker_dir=sys.argv[3], delay=0.5)
run_dask_extract([sys.argv[1]], sys.argv[2], url_pattern=sys.argv[4], scheduler=sys.argv[5], task=task)
"""


def test_a_killed_client_run_resumes(dask_scheduler: str, corpus_glob: str, reference: Path, tmp_path: Path) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    out, markers = tmp_path / "out", str(tmp_path / "markers")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, corpus_glob, str(out), markers, QUESTION_PATTERN, dask_scheduler],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    done = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done = sum(e["status"] == "complete" for e in manifest(out)["inputs"])
            except (FileNotFoundError, json.JSONDecodeError):
                done = 0
            if done >= 2:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert 2 <= done < 5, "the client was not killed mid-run"
    complete = {e["input"] for e in manifest(out)["inputs"] if e["status"] == "complete"}
    # Tasks the dead client had running finish on their workers (a thread cannot be stopped); let them, so
    # the re-run's clean-up and theirs do not cross (if they did, both would write the same partition).
    time.sleep(1.5)
    before = len(hooks.calls(markers))
    summary = run_dask_extract([corpus_glob], str(out), url_pattern=QUESTION_PATTERN, scheduler=dask_scheduler,
                               task=functools.partial(hooks.logged, marker_dir=markers))
    assert summary["run"]["skipped"] == len(complete) and summary["run"]["submitted"] == 5 - len(complete)
    assert not complete & set(hooks.calls(markers)[before:])
    assert_same_as_reference(out, reference)
