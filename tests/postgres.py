"""A throwaway PostgreSQL server for the tests: its own data directory, 127.0.0.1, a free port.

Tests that need PostgreSQL get a fresh database on it (the ``postgres_dsn``
fixture in ``tests/conftest.py``).  Where the server comes from, in order:

1. ``SCRAPER_TEST_POSTGRES`` holds the URL of a server you run yourself;
2. otherwise Debian's binaries (``/usr/lib/postgresql/*/bin`` or ``pg_ctl`` on PATH)
   start one for the test session (as the ``postgres`` user when run as root,
   because PostgreSQL refuses to run as root) and stop it at the end.

When neither works the tests are skipped, with the reason, unless
``SCRAPER_REQUIRE_POSTGRES`` is set (``.ci/run`` sets it): then they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be reached or started; the message says why."""


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    if versions:
        return Path(versions[-1]).parent
    raise PostgresUnavailable("no PostgreSQL server binaries (install Debian's 'postgresql' package, or set SCRAPER_TEST_POSTGRES)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TempPostgres:
    """A server in a temporary directory; :meth:`stop` removes it."""

    root: Path
    port: int
    bindir: Path
    as_user: str | None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls) -> TempPostgres:
        bindir = _bindir()
        as_user = "postgres" if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="scraper-pg-"))
        if as_user:
            shutil.chown(root, user=as_user)
        server = cls(root=root, port=_free_port(), bindir=bindir, as_user=as_user)
        data = root / "data"
        done = server._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        if done.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} -c fsync=off -c max_connections=200"
        done = server._run("pg_ctl", "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "-t", "60", "start")
        if done.returncode != 0:
            log = (root / "log").read_text(errors="replace")[-800:] if (root / "log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log}")
        return server

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def wait_until_ready(dsn: str, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=5).close()
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(f"cannot connect to {dsn}: {exc}") from None
            time.sleep(0.2)


def create_database(server_dsn: str, name: str) -> str:
    """A new empty database on the server; returns its URL."""
    import psycopg

    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_dsn.rpartition("/")
    return f"{base}/{name}"
