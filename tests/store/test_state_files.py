"""SQLite state files that cannot be fooled (issue 11): damaged, emptied, foreign, symlinked.

Each test does to a real state file what the hostile-input review did: writes garbage into
its middle, truncates it to 0 bytes, points --state at another program's database, or
reaches one state through a symlink while a crawl holds it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.store.state import CrawlLockedError, StateDamagedError, StateStore


def filled_state(path: Path, urls: int = 3000) -> Path:
    """A state with enough rows that its pages span far more than 16 KB."""
    with StateStore(path) as store, store.transaction():
        store.add_urls((f"https://example.org/question/{i}-{'x' * 80}", "example.org", 0) for i in range(urls))
    return path


def test_garbage_in_the_middle_of_a_state_is_refused_on_open(tmp_path: Path) -> None:
    path = filled_state(tmp_path / "s.db")
    size = path.stat().st_size
    assert size > 64 * 1024
    with open(path, "r+b") as fh:
        fh.seek(size // 2 - 8192)
        fh.write(os.urandom(16 * 1024))
    with pytest.raises(StateDamagedError, match="damaged|not a readable crawl state"):
        StateStore(path).open()


def test_an_empty_state_file_is_refused_not_silently_restarted(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"")
    with pytest.raises(StateDamagedError, match="empty file"):
        StateStore(path).open()
    assert path.stat().st_size == 0, "nothing written into it"


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_text("url,title\nhttps://example.org/q/1,hello\n")
    with pytest.raises(StateDamagedError, match="not a readable crawl state"):
        StateStore(path).open()


def test_another_programs_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers VALUES (1, 'Ada')")
    before = path.read_bytes()
    with pytest.raises(StateDamagedError, match="another program"):
        StateStore(path).open()
    assert path.read_bytes() == before


def test_status_opens_read_only_and_adds_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    done = subprocess.run([sys.executable, "-m", "scraper", "status", "--state", str(path)], capture_output=True, text=True)
    assert done.returncode == 1
    assert "another program" in done.stderr and "Traceback" not in done.stderr
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"customers"}


def test_status_of_a_real_state_still_works_read_only(tmp_path: Path) -> None:
    path = filled_state(tmp_path / "s.db", urls=5)
    os.chmod(path, 0o444)
    done = subprocess.run([sys.executable, "-m", "scraper", "status", "--state", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "urls: 5" in done.stdout


def test_the_lock_holds_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "s.db"
    link = tmp_path / "alias.db"
    link.symlink_to(real)
    with StateStore(real):
        with pytest.raises(CrawlLockedError):
            StateStore(link).open()
    with StateStore(link):  # and the other way round
        with pytest.raises(CrawlLockedError):
            StateStore(real).open()
