"""The README's quick start, run as a newcomer would: every command and library snippet under its
"## Quick start" heading, in order, in a temporary directory, against a local HTTP server.

How the README is read:

- a ```console block holds commands (lines starting ``$ ``), each followed by the output it shows;
- a ```python block is run with the current interpreter; a ```text block right after it is its output;
- the ```sh block is the set-up (install, run the whole suite): not run here, but it must call
  ``./scripts/test``, which is what ``.ci/run`` runs.

A line of shown output is a pattern: ``...`` stands for any text, a line that is only ``...`` is
skipped, and the lines must appear in the real output in that order (stdout, then stderr, as a
terminal shows a command that prints its records and then its summary).  Every command must exit 0.

The server is the README's own ``python3 -m http.server`` line, run with a free port instead of
8000 (every ``127.0.0.1:8000`` in the commands and their outputs is changed to match) and stopped at the end.  Nothing
leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHOWN_PORT = "127.0.0.1:8000"


@dataclass
class Step:
    kind: str  # "command", "server" or "python"
    code: str
    shown: list[str]  # the output the README shows, as patterns


def quick_start() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Quick start\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks(section: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w+)\n(.*?)^```$", section, re.M | re.S)]


def steps(section: str) -> list[Step]:
    found: list[Step] = []
    for lang, body in blocks(section):
        if lang == "console":
            for line in body.splitlines():
                if line.startswith("$ "):
                    command = line[2:]
                    kind = "server" if "-m http.server" in command else "command"
                    found.append(Step(kind, command, []))
                else:
                    assert found and found[-1].kind == "command", f"output before any command: {line!r}"
                    found[-1].shown.append(line)
        elif lang == "python":
            found.append(Step("python", body, []))
        elif lang == "text":
            assert found and found[-1].kind == "python" and not found[-1].shown, "a text block must follow a python block"
            found[-1].shown = body.splitlines()
        else:
            assert lang == "sh", f"a {lang} block in the quick start: the test does not know how to run it"
    return found


def pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.strip().split("...")))


def assert_shows(shown: list[str], stdout: str, stderr: str, what: str) -> None:
    """Each shown line (as a pattern) matches a real line, in the same order."""
    real = (stdout + ("\n" if stdout and not stdout.endswith("\n") else "") + stderr).splitlines()
    at = 0
    for line in shown:
        if line.strip() in ("", "..."):
            continue
        want = pattern(line)
        while at < len(real) and not want.fullmatch(real[at].strip()):
            at += 1
        assert at < len(real), f"{what}: the README shows {line!r}, not in the real output (in this order):\n" + "\n".join(real)
        at += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert server.poll() is None, "the README's http.server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the README's http.server did not start listening")


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A fresh directory holding the repository's samples and fixtures, as a clone would."""
    for name in ("samples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    yield tmp_path


def test_the_set_up_block_is_the_ci_command() -> None:
    section = quick_start()
    setup = [body for lang, body in blocks(section) if lang == "sh"]
    assert len(setup) == 1
    commands = [line for line in setup[0].splitlines() if line and not line.startswith("#")]
    assert commands == ["python3 -m venv .venv && . .venv/bin/activate && pip install -e . && scraper extract samples/*.txt",
                        "./scripts/test"]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "./scripts/test"
    script = (ROOT / "scripts" / "test").read_text()
    assert "python3 -m venv .venv" in script and "python -m pytest -q" in script


def test_every_quick_start_step_runs_and_shows_what_the_readme_shows(workdir: Path) -> None:
    found = steps(quick_start())
    kinds = [step.kind for step in found]
    assert kinds.count("server") == 1 and "python" in kinds and kinds.count("command") >= 4
    assert any(step.code.startswith("scraper crawl ") for step in found)
    assert any(step.code.startswith("scraper status") for step in found)
    port = free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "NO_PROXY": "*", "COLUMNS": "200"}
    env.pop("HTTP_PROXY", None)
    env.pop("http_proxy", None)
    server: subprocess.Popen[bytes] | None = None
    try:
        for step in found:
            code = step.code.replace(SHOWN_PORT, f"127.0.0.1:{port}")
            if step.kind == "server":
                argv = shlex.split(code.removesuffix("&").strip())
                assert argv[:3] == ["python3", "-m", "http.server"] and "127.0.0.1" in argv
                argv[0] = sys.executable
                argv[3] = str(port)
                server = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wait_for(port, server)
                continue
            argv = [sys.executable, "-c", code] if step.kind == "python" else ["bash", "-c", code]
            assert server is not None or SHOWN_PORT not in step.code, "a step uses the server before the README starts it"
            proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=60)
            what = step.code.splitlines()[0] if step.kind == "command" else "the python snippet"
            assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{proc.stderr}"
            shown = [line.replace(SHOWN_PORT, f"127.0.0.1:{port}") for line in step.shown]
            assert_shows(shown, proc.stdout, proc.stderr, what)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
