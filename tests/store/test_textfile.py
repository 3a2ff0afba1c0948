"""``AtomicTextFile`` and ``scraper extract -o`` for each kind of target (issue 11)."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import scraper.store.textfile
from scraper.errors import ScraperError
from scraper.store.textfile import AtomicTextFile, OutputError
from tests.conftest import ROOT, SEED

LINES = '{"n": 1}\n{"n": 2}\n'


def write(target: str | Path, text: str = LINES) -> None:
    with AtomicTextFile(target) as out:
        out.write(text)


def current_umask() -> int:
    """The umask in force (reading it means setting it; it is put straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_files(directory: Path) -> list[Path]:
    return list(directory.glob(".scraper-*.tmp"))


def run_cli(*args: str, umask: int = -1) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scraper", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, umask=umask)


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- regular files ---------------------------------------------------------------------------


def test_an_existing_file_is_replaced_atomically_keeping_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    before = target.stat().st_ino
    write(target)
    assert target.read_text() == LINES
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != before, "a new inode renamed into place, not the old one rewritten"
    assert temp_files(tmp_path) == []


def test_an_existing_file_keeps_a_mode_wider_than_the_umask_allows(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o664 | (current_umask() & 0o066))  # the bits the umask would strip from a new file
    wanted = stat.S_IMODE(target.stat().st_mode)
    write(target)
    assert stat.S_IMODE(target.stat().st_mode) == wanted


def test_a_new_file_gets_the_mode_open_would_give(tmp_path: Path) -> None:
    target = tmp_path / "new.jsonl"
    write(target)
    assert target.read_text() == LINES
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~current_umask()
    assert temp_files(tmp_path) == []


def test_a_read_only_existing_file_is_not_replaced(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write any file")
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o444)
    with pytest.raises(OutputError, match="Permission denied|permission denied"):
        write(target)
    assert target.read_text() == "old\n"
    assert temp_files(tmp_path) == []


def test_an_exception_in_the_run_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with AtomicTextFile(target) as out:
            out.write('{"n": 1}\n')
            raise RuntimeError("the run fails half way")
    assert target.read_text() == "old\n"
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("broken", ["fsync", "replace"])
def test_a_failure_while_finishing_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       broken: str) -> None:
    def fail(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    monkeypatch.setattr(scraper.store.textfile.os, broken, fail)
    with pytest.raises(OutputError, match="No space left") as caught:
        write(target)
    monkeypatch.undo()
    assert caught.value.errno == errno.ENOSPC
    assert target.read_text() == "old\n"
    assert temp_files(tmp_path) == []


# --- symlinks --------------------------------------------------------------------------------


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "real.jsonl"
    real.write_text("old\n")
    real.chmod(0o604)
    link = tmp_path / "link.jsonl"
    link.symlink_to("data/real.jsonl")  # relative, resolved from the link's directory
    write(link)
    assert link.is_symlink() and os.readlink(link) == "data/real.jsonl"
    assert real.read_text() == LINES
    assert stat.S_IMODE(real.stat().st_mode) == 0o604
    assert temp_files(tmp_path) == [] and temp_files(tmp_path / "data") == []


def test_a_chain_of_links_writes_the_last_target(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    (tmp_path / "one").symlink_to(real)
    (tmp_path / "two").symlink_to(tmp_path / "one")
    write(tmp_path / "two")
    assert real.read_text() == LINES
    assert (tmp_path / "one").is_symlink() and (tmp_path / "two").is_symlink()


def test_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "made.jsonl")
    write(link)
    assert link.is_symlink()
    assert (tmp_path / "made.jsonl").read_text() == LINES
    assert stat.S_IMODE((tmp_path / "made.jsonl").stat().st_mode) == 0o666 & ~current_umask()


def test_a_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OutputError, match="loop"):
        write(tmp_path / "a")


# --- devices, pipes and descriptors ----------------------------------------------------------


def test_dev_null_is_written_into_not_replaced() -> None:
    write("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not list(Path("/dev").glob(".scraper-*.tmp"))


def test_a_terminal_receives_the_text() -> None:
    master, slave = os.openpty()
    try:
        write(os.ttyname(slave), "hello\n")
        received = os.read(master, 1000)
    finally:
        os.close(master)
        os.close(slave)
    assert received.replace(b"\r\n", b"\n") == b"hello\n"


def test_a_fifo_is_streamed_into(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write(fifo)
    reader.join(timeout=10)
    assert received == [LINES]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("form", ["/proc/self/fd/{}", "/dev/fd/{}", "/proc/{pid}/fd/{}"])
def test_a_descriptor_path_writes_to_that_descriptor(form: str) -> None:
    read_end, write_end = os.pipe()
    try:
        write(form.format(write_end, pid=os.getpid()))
        os.close(write_end)
        assert os.read(read_end, 1000).decode() == LINES
    finally:
        os.close(read_end)


def test_a_descriptor_on_a_regular_file_is_appended_to_not_replaced(tmp_path: Path) -> None:
    """As ``scraper ... -o /dev/stdout >> log``: the shell's file keeps its inode and earlier contents."""
    log = tmp_path / "log"
    log.write_text("earlier\n")
    inode = log.stat().st_ino
    with open(log, "a") as held:
        link = tmp_path / "stdout-link"
        link.symlink_to(f"/proc/self/fd/{held.fileno()}")
        write(link)
    assert log.read_text() == "earlier\n" + LINES
    assert log.stat().st_ino == inode
    assert temp_files(tmp_path) == []


# --- directories and other errors ------------------------------------------------------------


@pytest.mark.parametrize("via_link", [False, True])
def test_a_directory_is_a_clear_error(tmp_path: Path, via_link: bool) -> None:
    (tmp_path / "dir").mkdir()
    target = tmp_path / "dir"
    if via_link:
        (tmp_path / "link").symlink_to(target)
        target = tmp_path / "link"
    with pytest.raises(OutputError, match="is a directory: give a file name inside it") as caught:
        write(target)
    assert isinstance(caught.value, ScraperError)
    assert caught.value.errno == errno.EISDIR
    assert list((tmp_path / "dir").iterdir()) == []


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="create the directory first"):
        write(tmp_path / "nowhere" / "out.jsonl")


def test_output_errors_are_still_oserrors(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write(tmp_path / "nowhere" / "out.jsonl")


# --- through the CLI -------------------------------------------------------------------------


def test_cli_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    proc = run_cli("extract", str(SEED), "-o", str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    assert len(records(real.read_text())) == 1
    assert proc.stdout == ""


def test_cli_writes_into_dev_null() -> None:
    proc = run_cli("extract", str(SEED), "-o", "/dev/null")
    assert proc.returncode == 0, proc.stderr
    assert "extracted 1 page" in proc.stderr
    assert proc.stdout == ""
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_cli_writes_through_a_link_to_its_own_stdout(tmp_path: Path) -> None:
    link = tmp_path / "out.jsonl"
    link.symlink_to("/proc/self/fd/1")
    proc = run_cli("extract", str(SEED), str(SEED), "-o", str(link))
    assert proc.returncode == 0, proc.stderr
    assert [r["answer_count"] for r in records(proc.stdout)] == [5, 5]
    assert link.is_symlink()


def test_cli_writes_to_dev_stdout() -> None:
    proc = run_cli("extract", str(SEED), "-o", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    assert len(records(proc.stdout)) == 1


def test_cli_keeps_the_mode_of_an_existing_file_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    target.chmod(0o664)
    proc = run_cli("extract", str(SEED), "-o", str(target), umask=0o077)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o664
    assert len(records(target.read_text())) == 1


@pytest.mark.parametrize("umask", [0o002, 0o022, 0o027])
def test_cli_creates_a_new_file_with_the_umask_mode(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "out.jsonl"
    proc = run_cli("extract", str(SEED), "-o", str(target), umask=umask)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_an_existing_file_keeps_its_owner_where_permitted(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root may give a file to another user")
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    os.chown(target, 12345, 23456)
    target.chmod(0o2640)  # chown clears set-group-ID: the mode must be set after it
    write(target)
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o2640)
