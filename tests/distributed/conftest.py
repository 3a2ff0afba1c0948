"""Fixtures for the distributed-extraction tests: made archives, the single-process reference, a Dask cluster."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scraper.crawler.engine import record_content_key
from scraper.distributed import run_local_extract
from tests.distributed.archives import QUESTION_PATTERN, Made, make_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Made]]:
    folder = tmp_path_factory.mktemp("archives")
    return folder, make_corpus(folder)


@pytest.fixture(scope="session")
def corpus_glob(corpus: tuple[Path, dict[str, Made]]) -> str:
    return str(corpus[0] / "*")


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, corpus_glob: str) -> Path:
    """The single-process run over the corpus: what every engine's output must equal."""
    out = tmp_path_factory.mktemp("reference")
    summary = run_local_extract([corpus_glob], str(out), url_pattern=QUESTION_PATTERN)
    assert summary["complete"] == 5
    return out


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """A LocalCluster of 2 single-threaded worker processes, shared by the Dask tests."""
    pytest.importorskip("distributed", reason="dask[distributed] is not installed: pip install 'qa-scraper[dask]'")
    from scraper.distributed.dask_extract import start_local_cluster

    cluster = start_local_cluster(2)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def read_records(out: Path) -> list[dict[str, Any]]:
    """Every record of the partitions the manifest lists as complete (JSON Lines or Parquet)."""
    records: list[dict[str, Any]] = []
    for entry in manifest(out)["inputs"]:
        if entry["status"] != "complete":
            continue
        path = out / entry["partition"]
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            records += pq.read_table(path).to_pylist()
        else:
            records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return records


def comparable(records: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """Records as a multiset of (content key, source without its path): equal iff the outputs say the same."""
    keys: Counter[tuple[str, str]] = Counter()
    for record in records:
        source = {k: v for k, v in (record.get("source") or {}).items() if k != "path"}
        keys[(record_content_key(record), json.dumps(source, sort_keys=True))] += 1
    return keys


def counts_by_input(out: Path) -> dict[str, Any]:
    return {Path(e["input"]).name: (e["status"], e["counts"]) for e in manifest(out)["inputs"]}


def leftovers(out: Path) -> list[str]:
    """Temporary files a run should have cleaned away."""
    return sorted(p.name for p in out.rglob("*") if p.name.startswith((".tmp-", ".manifest-")))
