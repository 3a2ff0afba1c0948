"""AtomicReplacement: the one way the -o output, the manifest and the partitions replace a file."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scraper.store.atomic import AtomicReplacement

RECORDS = '{"url": "https://example.com/q/1", "answers": 3}\n{"url": "https://example.com/q/2", "answers": 0}\n'
PREFIX = ".test-"


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(PREFIX))


def replace(target: Path, text: str = RECORDS) -> None:
    with AtomicReplacement(target, prefix=PREFIX) as replacement:
        replacement.open_text().write(text)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def enospc(*args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


# --- content and leftovers --------------------------------------------------------------------


def test_the_target_gets_the_new_content_in_a_new_inode(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    before = target.stat().st_ino
    replace(target)
    assert target.read_text() == RECORDS
    assert target.stat().st_ino != before, "renamed into place, not rewritten in place"
    assert leftovers(tmp_path) == []


def test_a_new_target_is_created(tmp_path: Path) -> None:
    replace(tmp_path / "new.jsonl")
    assert (tmp_path / "new.jsonl").read_text() == RECORDS
    assert leftovers(tmp_path) == []


def test_until_commit_the_temporary_file_sits_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    replacement = AtomicReplacement(target, prefix=PREFIX, suffix=".part")
    text = replacement.open_text()
    text.write(RECORDS)
    text.flush()
    assert os.path.dirname(replacement.path) == str(tmp_path)
    [name] = leftovers(tmp_path)
    assert name.endswith(".part") and Path(replacement.path).read_text() == RECORDS
    assert target.read_text() == "old\n", "a reader still sees the old file"
    replacement.commit()
    assert target.read_text() == RECORDS and leftovers(tmp_path) == []


def test_text_is_utf8_with_newline_line_ends(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with AtomicReplacement(target, prefix=PREFIX) as replacement:
        replacement.open_text().write(json.dumps({"title": "Réponse ✓"}, ensure_ascii=False) + "\n")
    assert target.read_bytes() == '{"title": "Réponse ✓"}\n'.encode()


def test_a_file_left_open_is_flushed_by_commit(tmp_path: Path) -> None:
    target = tmp_path / "part.parquet"
    replacement = AtomicReplacement(target, prefix=PREFIX)
    binary = replacement.open_binary()
    binary.write(b"PAR1" + bytes(range(256)) * 40 + b"PAR1")  # more than sits in the buffer, not closed
    replacement.commit()
    assert binary.closed
    assert target.read_bytes() == b"PAR1" + bytes(range(256)) * 40 + b"PAR1"


# --- failures leave the old file and no temporary file ----------------------------------------


def test_a_writer_that_raises_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")

    def write_half(replacement: AtomicReplacement) -> None:
        replacement.open_text().write(RECORDS[:20])
        raise ValueError("the record cannot be serialised")

    with pytest.raises(ValueError, match="cannot be serialised"):
        with AtomicReplacement(target, prefix=PREFIX) as replacement:
            write_half(replacement)
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_an_interrupt_while_writing_leaves_no_new_file(tmp_path: Path) -> None:
    target = tmp_path / "new.jsonl"
    with pytest.raises(KeyboardInterrupt):
        with AtomicReplacement(target, prefix=PREFIX) as replacement:
            replacement.open_text().write(RECORDS)
            raise KeyboardInterrupt
    assert not target.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("broken", ["fsync", "replace"])
def test_a_failing_fsync_or_rename_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    replacement = AtomicReplacement(target, prefix=PREFIX)
    replacement.open_text().write(RECORDS)
    monkeypatch.setattr(os, broken, enospc)
    with pytest.raises(OSError, match="No space left") as caught:
        replacement.commit()
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_a_failing_flush_of_an_open_file_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    replacement = AtomicReplacement(target, prefix=PREFIX)
    text = replacement.open_text()
    text.write(RECORDS)
    os.close(text.fileno())  # the buffered records can no longer be written: as a full disk at close
    with pytest.raises(OSError):
        replacement.commit()
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_discard_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    replacement = AtomicReplacement(target, prefix=PREFIX)
    replacement.open_text().write(RECORDS)
    replacement.discard()
    replacement.discard()  # twice is harmless
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_after_commit_discard_does_nothing_and_commit_refuses(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    replacement = AtomicReplacement(target, prefix=PREFIX)
    replacement.open_text().write(RECORDS)
    replacement.commit()
    replacement.discard()
    assert target.read_text() == RECORDS
    with pytest.raises(RuntimeError, match="already committed"):
        replacement.commit()
    with pytest.raises(RuntimeError, match="already committed"):
        replacement.open_text()


# --- durability -------------------------------------------------------------------------------


def test_the_file_is_synced_before_the_rename_and_the_directory_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        events.append("fsync dir" if stat.S_ISDIR(info.st_mode) else f"fsync file of {info.st_size} bytes")
        real_fsync(fd)

    def rename(source: str, destination: str) -> None:
        events.append("rename")
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", rename)
    replace(target)
    monkeypatch.undo()
    assert events == [f"fsync file of {len(RECORDS)} bytes", "rename", "fsync dir"]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOTSUP])
def test_a_directory_that_cannot_be_synced_is_let_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    replace(tmp_path / "out.jsonl")
    monkeypatch.undo()
    assert (tmp_path / "out.jsonl").read_text() == RECORDS


# --- modes, owners and links ------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o002, 0o022, 0o077])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path: Path, mask: int) -> None:
    with umask(mask):
        replace(tmp_path / "new.jsonl")
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o666 & ~mask


def test_a_umask_that_leaves_the_owner_no_write_bit_still_gets_the_content(tmp_path: Path) -> None:
    with umask(0o277):
        replace(tmp_path / "new.jsonl")
    assert stat.S_IMODE((tmp_path / "new.jsonl").stat().st_mode) == 0o400
    assert (tmp_path / "new.jsonl").read_text() == RECORDS


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o2640])
def test_an_existing_file_keeps_its_mode_whatever_the_umask(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(mode)
    with umask(0o077):
        replace(target)
    assert stat.S_IMODE(target.stat().st_mode) == mode


def test_a_read_only_target_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write any file")
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o444)
    with pytest.raises(PermissionError):
        AtomicReplacement(target, prefix=PREFIX)
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


# The owner and group of a replaced file: tests/store/test_textfile.py checks them through `-o`.


def test_through_a_symlink_the_file_it_names_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "manifest.json"
    real.write_text("{}\n")
    link = tmp_path / "manifest.json"
    link.symlink_to("data/manifest.json")
    replacement = AtomicReplacement(link, prefix=PREFIX)
    assert os.path.dirname(replacement.path) == str(tmp_path / "data"), "the rename must stay on the target's filesystem"
    replacement.open_text().write(RECORDS)
    replacement.commit()
    assert link.is_symlink() and os.readlink(link) == "data/manifest.json"
    assert real.read_text() == RECORDS
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "data") == []


def test_a_missing_directory_is_an_error_that_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        AtomicReplacement(tmp_path / "nowhere" / "out.jsonl", prefix=PREFIX)
    assert list(tmp_path.iterdir()) == []
