"""The file source: paths and globs in order, bad inputs as failed results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scraper.distributed.dask_extract import _expand as distributed_expand
from scraper.fetch.files import expand_paths, iter_files, read_file
from tests.conftest import SEED


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pages" / "sub").mkdir(parents=True)
    (tmp_path / "pages" / "b.txt").write_bytes(b"page b")
    (tmp_path / "pages" / "a.txt").write_bytes(b"page a")
    (tmp_path / "pages" / "sub" / "c.txt").write_bytes(b"page c")
    (tmp_path / "pages" / "dir.txt").mkdir()  # a directory a glob matches
    (tmp_path / "odd[1].txt").write_bytes(b"brackets")
    return tmp_path


def test_paths_and_globs_in_order(tree: Path) -> None:
    got = list(iter_files(["pages/b.txt", "pages/*.txt", "pages/**/*.txt", "odd[1].txt"]))
    assert [path for path, _ in got] == [
        "pages/b.txt",
        "pages/a.txt",
        "pages/b.txt",
        "pages/a.txt",
        "pages/b.txt",
        "pages/sub/c.txt",
        "odd[1].txt",
    ]
    for path, result in got:
        assert result.ok and result.failure is None
        assert result.status == 200 and result.source == "file"
        assert result.url == path and result.body == Path(path).read_bytes()


def test_failures_do_not_stop_the_batch(tree: Path) -> None:
    os.chmod("pages/a.txt", 0)
    unreadable = not os.access("pages/a.txt", os.R_OK)
    got = dict(iter_files(["missing.txt", "nothing/*.html", "pages", "pages/a.txt", "pages/b.txt"]))
    assert (got["missing.txt"].failure, got["missing.txt"].detail) == ("not_found", "no such file")
    assert (got["nothing/*.html"].failure, got["nothing/*.html"].detail) == ("not_found", "no file matches this pattern")
    assert got["pages"].failure == "unreadable" and "is a directory" in got["pages"].detail
    if unreadable:  # root reads anything
        assert got["pages/a.txt"].failure == "unreadable" and got["pages/a.txt"].detail
    assert got["pages/b.txt"].ok
    assert all(not r.ok for p, r in got.items() if p != "pages/b.txt" and (unreadable or p != "pages/a.txt"))


def test_size_bound_and_real_page(tree: Path) -> None:
    assert read_file("pages/a.txt", max_size=3).failure == "too_large"
    result = read_file(str(SEED))
    assert result.ok and result.body == SEED.read_bytes()
    assert result.page().body == SEED.read_bytes()


# --- expand_paths: the one expansion behind `scraper extract` and the distributed engines ------


def test_expansion_sorts_matches_skips_directories_and_reports_empty_globs(tree: Path) -> None:
    assert list(expand_paths(["pages/**/*.txt", "nothing/*.html", "pages/*"])) == [
        ("pages/a.txt", None),
        ("pages/b.txt", None),
        ("pages/sub/c.txt", None),  # ** spans directories; pages/dir.txt is a directory and skipped
        ("nothing/*.html", "no file matches this pattern"),
        ("pages/a.txt", None),  # named again, yielded again: de-duplicating is the caller's choice
        ("pages/b.txt", None),
    ]


def test_a_glob_matching_only_directories_matches_no_file(tree: Path) -> None:
    assert list(expand_paths(["pages/s*"])) == [("pages/s*", "no file matches this pattern")]


def test_names_that_exist_or_hold_no_glob_characters_are_themselves(tree: Path) -> None:
    (tree / "odd1.txt").write_bytes(b"would match odd[1].txt as a pattern")
    os.symlink("gone.txt", tree / "dangling[2].txt")
    assert list(expand_paths(["odd[1].txt", "dangling[2].txt", "missing.txt", "pages"])) == [
        ("odd[1].txt", None),
        ("dangling[2].txt", None),
        ("missing.txt", None),  # not a pattern: the reader reports it missing
        ("pages", None),  # named, not globbed: the reader reports it is a directory
    ]


def test_a_glob_does_not_match_hidden_files_or_follow_links_to_directories(tree: Path) -> None:
    (tree / "pages" / ".draft.txt").write_bytes(b"hidden")
    os.symlink("sub", tree / "pages" / "link.txt")  # a link to a directory, matched by *.txt
    assert [path for path, _ in expand_paths(["pages/*.txt"])] == ["pages/a.txt", "pages/b.txt"]


def test_the_distributed_planner_expands_the_same_way_but_refuses_stdin(tree: Path) -> None:
    patterns = ["pages/**/*.txt", "odd[1].txt", "nothing/*", "missing.txt"]
    assert list(distributed_expand(patterns)) == list(expand_paths(patterns))
    planned = distributed_expand(["pages/a.txt", "-"])
    assert next(planned) == ("pages/a.txt", None)
    with pytest.raises(ValueError, match="standard input"):
        next(planned)
