"""Tasks that stand in for ``process_input`` in the tests: they must be importable on the Dask workers.

Each takes the task's arguments plus a ``marker_dir`` (bound with ``functools.partial``),
logs every call there (one line per call, so a test can count the tasks that ran) and
then misbehaves once per input file, remembered by a marker file, before doing the
real work on the next try.
"""

from __future__ import annotations

import os
import time
from typing import Any

from scraper.distributed.partition import TMP_PREFIX, process_input


def _log_call(marker_dir: str, path: str) -> None:
    os.makedirs(marker_dir, exist_ok=True)
    with open(os.path.join(marker_dir, "calls.log"), "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {path}\n")


def _first_time(marker_dir: str, path: str, what: str) -> bool:
    """True once per (input, what): the marker file is created exclusively."""
    marker = os.path.join(marker_dir, f"{os.path.basename(path)}.{what}")
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def calls(marker_dir: str) -> list[str]:
    """The input paths of every task that ran, in the order they started."""
    try:
        with open(os.path.join(marker_dir, "calls.log"), encoding="utf-8") as fh:
            return [line.split(" ", 1)[1].rstrip("\n") for line in fh if line.strip()]
    except FileNotFoundError:
        return []


def logged(path: str, out_dir: str, partition: str, *, marker_dir: str, **kwargs: Any) -> dict[str, Any]:
    _log_call(marker_dir, path)
    return process_input(path, out_dir, partition, **kwargs)


def die_once(path: str, out_dir: str, partition: str, *, marker_dir: str, only: str, **kwargs: Any) -> dict[str, Any]:
    """Kill the worker process (``os._exit``) the first time the file named ``only`` is processed,
    after leaving half a partition behind, as a worker killed mid-write would."""
    _log_call(marker_dir, path)
    if os.path.basename(path) == only and _first_time(marker_dir, path, "died"):
        half = os.path.join(out_dir, os.path.dirname(partition), f"{TMP_PREFIX}{os.path.basename(partition)}.killed")
        os.makedirs(os.path.dirname(half), exist_ok=True)
        with open(half, "w", encoding="utf-8") as fh:
            fh.write('{"half": "a rec')
        os._exit(1)
    return process_input(path, out_dir, partition, **kwargs)


def raise_once(path: str, out_dir: str, partition: str, *, marker_dir: str, **kwargs: Any) -> dict[str, Any]:
    """Raise the first time each file is processed (Dask's ``retries`` must run it again)."""
    _log_call(marker_dir, path)
    if _first_time(marker_dir, path, "raised"):
        raise RuntimeError(f"injected failure on {os.path.basename(path)}")
    return process_input(path, out_dir, partition, **kwargs)


def always_raise(path: str, out_dir: str, partition: str, *, marker_dir: str, only: str, **kwargs: Any) -> dict[str, Any]:
    _log_call(marker_dir, path)
    if os.path.basename(path) == only:
        raise RuntimeError("this input always fails")
    return process_input(path, out_dir, partition, **kwargs)


def slow(path: str, out_dir: str, partition: str, *, marker_dir: str, delay: float, **kwargs: Any) -> dict[str, Any]:
    _log_call(marker_dir, path)
    time.sleep(delay)
    return process_input(path, out_dir, partition, **kwargs)
