"""Archive-scale extraction: many web archives (WARC, WET, ARC) in parallel on Dask, or one after another here.

    >>> from scraper.distributed import run_dask_extract
    >>> summary = run_dask_extract(["segments/*.warc.gz"], "out", url_pattern=r"realself\\.com/question/",
    ...                            scheduler=None, n_workers=2)

Work is split **one task per input file** (a file is read front to back by one
worker; byte ranges of one large file are not split across workers, so a run
has as much parallelism as it has files; Common Crawl segments come as many
files of about 1 GB each, which suits this).  Each task
(:func:`scraper.distributed.partition.process_input`) filters records by URL on
their record headers before reading or parsing them, extracts the rest, and
writes its own partition ``out/parts/part-<hash>-<name>.jsonl`` (or
``.parquet``) atomically: temporary file, fsync, rename.  Only counts travel
back to the client, which records them in ``out/manifest.json`` (see
:mod:`scraper.distributed.manifest`) as each task finishes, atomically too.

Nothing is lost when something dies:

* a task that raises is retried (``retries``, default 2) by Dask; a task whose
  worker process dies (killed, out of memory, ``os._exit``) is rescheduled on
  another worker by the scheduler, up to ``distributed.scheduler.allowed-failures``
  times (3 by default) before the input is marked ``failed``;
* a partition is only ever replaced whole, so a retry or a re-run rewrites it
  without duplicating a record;
* a re-run with the same output directory skips every input the manifest holds
  ``complete`` (file unchanged, same extractor version, partition present): no
  task is submitted for it.  A killed client therefore resumes too.

Without ``scheduler`` a ``LocalCluster`` is started on this machine (worker
processes, ``n_workers`` of them, one thread each) and stopped at the end.
With ``scheduler="tcp://host:8786"`` the workers must see the inputs and
``out_dir`` under the same absolute paths (a shared file system), and have
``qa-scraper`` installed (and pyarrow for Parquet).

:func:`run_local_extract` does the same in this process, one input after
another, and writes exactly the same layout: it is the reference the Dask
engine is tested against, and works without Dask installed.

This module imports Dask only inside :func:`run_dask_extract`, so importing it
(or :mod:`scraper`) never loads Dask.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from scraper._version import __version__
from scraper.distributed.manifest import Manifest
from scraper.distributed.partition import FORMATS, TMP_PREFIX, partition_name, process_input
from scraper.errors import ConfigError, DaskNotInstalled, ManifestMismatch, OutputBusy
from scraper.fetch.files import expand_paths
from scraper.fetch.result import utc_now
from scraper.settings import compile_pattern

__all__ = [
    "DASK_INSTALL_HINT",
    "DaskNotInstalled",
    "ManifestMismatch",
    "OutputBusy",
    "run_dask_extract",
    "run_local_extract",
]

DASK_INSTALL_HINT = "pip install 'qa-scraper[dask]'"
DEFAULT_RETRIES = 2

Task = Callable[..., dict[str, Any]]
"""``process_input``'s signature: ``(path, out_dir, partition, *, label, url_pattern, site, output_format) -> dict``."""
Progress = Callable[[dict[str, Any], int, int], None]
"""Called with ``(manifest entry, inputs finished so far, inputs to do)`` as each input finishes."""

@dataclass
class _Job:
    key: str
    path: str
    """The input as named (glob expanded): ``source.path`` of its records."""
    abspath: str
    partition: str


# --- the plan: which inputs, which are already done -----------------------------------------------


def _expand(inputs: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """:func:`scraper.fetch.files.expand_paths`, refusing ``-``: a worker cannot read the client's standard input."""
    for pattern in inputs:
        if pattern == "-":
            raise ValueError("standard input cannot be split across workers; name files instead")
        yield from expand_paths([pattern])


def _settings(url_pattern: str | None, site: str | None, output_format: str) -> dict[str, Any]:
    """What identifies a run in its manifest (a rerun with other values is refused), checked
    by the same rules as ``scraper extract`` before any task starts."""
    if output_format not in FORMATS:
        raise ConfigError(f"unknown output format {output_format!r}; one of {', '.join(FORMATS)}")
    if output_format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DaskNotInstalled(f"--format parquet needs pyarrow: {DASK_INSTALL_HINT}") from None
    if url_pattern:
        compile_pattern(url_pattern, "--url-pattern")
    if site is not None:
        from scraper.sites import get_site

        get_site(site)  # an unknown name raises here, not in every task
    return {"format": output_format, "url_pattern": url_pattern or None, "site": site}


def _plan(inputs: list[str], manifest: Manifest, output_format: str) -> tuple[list[_Job], int]:
    """The jobs to run, and how many inputs are skipped as already complete; the manifest lists them all."""
    jobs: list[_Job] = []
    keys: list[str] = []
    known: set[str] = set()
    skipped = 0
    for path, problem in _expand(inputs):
        if problem is not None:
            key = f"glob:{path}"
            keys.append(key)
            manifest.put(key, _failed_entry(path, None, problem))
            continue
        abspath = os.path.abspath(path)
        if abspath in known:
            continue  # named twice
        known.add(abspath)
        keys.append(abspath)
        try:
            stat = os.stat(abspath)
        except OSError as exc:
            manifest.put(abspath, _failed_entry(path, abspath, "no such file" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc))))
            continue
        if os.path.isdir(abspath):
            manifest.put(abspath, _failed_entry(path, abspath, "is a directory; give the files in it, e.g. 'DIR/*.warc.gz'"))
            continue
        if manifest.is_complete(abspath, stat.st_size, stat.st_mtime_ns):
            skipped += 1
            continue
        partition = partition_name(abspath, output_format)
        manifest.put(abspath, {
            "input": path, "abspath": abspath, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "partition": partition, "status": "pending", "error": None, "counts": None, "errors": [],
            "extractor_version": __version__,
        })
        jobs.append(_Job(key=abspath, path=path, abspath=abspath, partition=partition))
    manifest.order(keys)
    return jobs, skipped


def _failed_entry(path: str, abspath: str | None, error: str) -> dict[str, Any]:
    return {
        "input": path, "abspath": abspath, "size": None, "mtime_ns": None, "partition": None, "status": "failed",
        "error": error, "counts": None, "errors": [], "extractor_version": __version__, "finished_at": utc_now(),
    }


def _finish(manifest: Manifest, job: _Job, result: dict[str, Any] | None, problem: str | None) -> dict[str, Any]:
    entry = dict(manifest.entries[job.key])
    if result is None:
        result = {"status": "failed", "error": problem or "the task failed"}
    entry.update(result)
    entry["finished_at"] = utc_now()
    if entry["status"] != "complete":
        # The partition on disk (if any) is from an earlier run of a file that no longer reads: drop it,
        # so every partition in out/parts belongs to a complete input.
        stale = os.path.join(manifest.out_dir, job.partition)
        if os.path.exists(stale):
            os.unlink(stale)
    manifest.put(job.key, entry)
    return entry


# --- the output directory ------------------------------------------------------------------------


class _OutDir:
    """The output directory, locked for this run; leftovers of killed tasks are removed on entry and exit."""

    def __init__(self, out_dir: str) -> None:
        self.path = os.path.abspath(out_dir)
        self._lock_fh: Any = None

    def __enter__(self) -> _OutDir:
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"{self.path} is a file; the output of a distributed extraction is a directory")
        os.makedirs(os.path.join(self.path, "parts"), exist_ok=True)
        self._lock_fh = open(os.path.join(self.path, ".lock"), "a+")
        try:
            import fcntl

            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # not on POSIX: no lock
            pass
        except OSError:
            self._lock_fh.close()
            raise OutputBusy(f"another run is writing to {self.path}") from None
        self.clean()
        return self

    def clean(self) -> None:
        for folder, prefix in ((os.path.join(self.path, "parts"), TMP_PREFIX), (self.path, ".manifest-")):
            for name in os.listdir(folder):
                if name.startswith(prefix):
                    try:
                        os.unlink(os.path.join(folder, name))
                    except OSError:
                        pass

    def __exit__(self, *exc: object) -> None:
        try:
            self.clean()
        finally:
            self._lock_fh.close()


# --- the driver both engines share ---------------------------------------------------------------


class _Run:
    def __init__(self, inputs: list[str] | str, out_dir: str, *, url_pattern: str | None, site: str | None,
                 output_format: str, engine: str, on_progress: Progress | None) -> None:
        if isinstance(inputs, str):
            inputs = [inputs]
        self.inputs = list(inputs)
        self.settings = _settings(url_pattern, site, output_format)
        self.out = _OutDir(out_dir)
        self.url_pattern = self.settings["url_pattern"]
        self.site = site
        self.output_format = output_format
        self.engine = engine
        self.on_progress = on_progress
        self.manifest: Manifest | None = None
        self.jobs: list[_Job] = []
        self.done = 0
        self.started = time.monotonic()
        self._last_save = 0.0
        self._save_interval = 0.0

    def plan(self) -> None:
        self.manifest = Manifest.open(self.out.path, self.settings)
        self.jobs, skipped = _plan(self.inputs, self.manifest, self.output_format)
        self._save_interval = 0.0 if len(self.manifest.entries) <= 1000 else 1.0
        self.manifest.run = {
            "engine": self.engine, "started_at": utc_now(), "submitted": len(self.jobs), "skipped": skipped,
            "finished": 0, "seconds": None, "records_per_second": None,
        }
        self.manifest.save()

    def task_kwargs(self, job: _Job) -> dict[str, Any]:
        return {"label": job.path, "url_pattern": self.url_pattern, "site": self.site, "output_format": self.output_format}

    def finish(self, job: _Job, result: dict[str, Any] | None, problem: str | None = None) -> None:
        assert self.manifest is not None
        entry = _finish(self.manifest, job, result, problem)
        self.done += 1
        self.manifest.run["finished"] = self.done
        now = time.monotonic()
        if now - self._last_save >= self._save_interval or self.done == len(self.jobs):
            self._close_run()
            self.manifest.save()
            self._last_save = now
        if self.on_progress is not None:
            self.on_progress(entry, self.done, len(self.jobs))

    def flush(self) -> None:
        """Save what has finished so far (also when the run is interrupted)."""
        if self.manifest is not None:
            self._close_run()
            self.manifest.save()

    def _close_run(self) -> None:
        assert self.manifest is not None
        elapsed = time.monotonic() - self.started
        seen = sum(int((self.manifest.entries[j.key].get("counts") or {}).get("seen") or 0) for j in self.jobs)
        self.manifest.run["seconds"] = round(elapsed, 3)
        self.manifest.run["records_per_second"] = round(seen / elapsed, 1) if elapsed > 0 and seen else None

    def summary(self) -> dict[str, Any]:
        assert self.manifest is not None
        self._close_run()
        self.manifest.save()
        summary = self.manifest.summary()
        summary["manifest"] = self.manifest.path
        summary["out_dir"] = self.out.path
        return summary


def _problem(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- the engines ---------------------------------------------------------------------------------


def run_local_extract(
    inputs: list[str],
    out_dir: str,
    *,
    url_pattern: str | None = None,
    output_format: str = "jsonl",
    site: str | None = None,
    task: Task | None = None,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """The single-process reference: the same partitions and manifest as :func:`run_dask_extract`.

    Inputs are processed one after another in this process (no Dask needed); an input
    whose task raises is marked ``failed`` (no retries).  Returns the manifest summary.
    """
    run = _Run(inputs, out_dir, url_pattern=url_pattern, site=site, output_format=output_format,
               engine="local", on_progress=on_progress)
    work = task or process_input
    with run.out:
        run.plan()
        try:
            for job in run.jobs:
                try:
                    result = work(job.abspath, run.out.path, job.partition, **run.task_kwargs(job))
                except Exception as exc:  # noqa: BLE001 - recorded in the manifest, the batch goes on
                    run.finish(job, None, _problem(exc))
                else:
                    run.finish(job, result)
        finally:
            run.flush()
        return run.summary()


def run_dask_extract(
    inputs: list[str],
    out_dir: str,
    *,
    url_pattern: str | None,
    scheduler: str | None,
    output_format: str = "jsonl",
    site: str | None = None,
    n_workers: int = 2,
    retries: int = DEFAULT_RETRIES,
    task: Task | None = None,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Extract ``inputs`` (files or globs of web archives, told by name or content, or page files) into ``out_dir`` on Dask.

    One task per input file; ``scheduler`` is a Dask scheduler address
    (``tcp://host:8786``), or None to start a ``LocalCluster`` of ``n_workers``
    single-threaded worker processes for the run.  ``retries`` is Dask's per-task
    retry count for tasks that raise.  ``task`` replaces
    :func:`~scraper.distributed.partition.process_input` (same signature; it must be
    importable on the workers): for tests and instrumentation.  Returns the manifest
    summary (``inputs``, ``complete``, ``failed``, ``pending``, ``seen``, ``matched``,
    ``damaged``, ``extracted``, ``failed_records`` by reason, ``archives`` = the archive
    records read and skipped by reason, ``run`` = this run's
    ``submitted``/``skipped``/``finished``/``seconds``, plus ``manifest`` and ``out_dir``).

    Raises :class:`DaskNotInstalled` without Dask, :class:`ManifestMismatch` when
    ``out_dir`` holds a run with other settings, :class:`OutputBusy` when another run
    holds ``out_dir``, ``ValueError`` for a bad pattern, format or site.
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise DaskNotInstalled(f"the dask engine needs dask[distributed]: {DASK_INSTALL_HINT}") from None
    if n_workers < 1:
        raise ValueError("n_workers must be at least 1")
    run = _Run(inputs, out_dir, url_pattern=url_pattern, site=site, output_format=output_format,
               engine="dask", on_progress=on_progress)
    with run.out:
        run.plan()
        assert run.manifest is not None
        run.manifest.run["scheduler"] = scheduler or f"LocalCluster(n_workers={n_workers}, threads_per_worker=1)"
        if run.jobs:
            try:
                _run_on_dask(run, scheduler=scheduler, n_workers=n_workers, retries=retries, task=task or process_input)
            finally:
                run.flush()
        return run.summary()


def start_local_cluster(n_workers: int = 2) -> Any:
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes, as a run without a scheduler starts.

    Its workers run without Dask's statistical profiler (``distributed.worker.profile``),
    which samples every thread's stack every 10 ms: on this CPU-bound work it cost about
    40% more CPU per record.  Workers of a cluster you start yourself can do the same with
    ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``.  The dashboard, if bokeh is
    installed, is on a free port.
    """
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                            silence_logs=logging.ERROR)


def _run_on_dask(run: _Run, *, scheduler: str | None, n_workers: int, retries: int, task: Task) -> None:
    from distributed import Client, as_completed

    cluster = None
    client = None
    try:
        started = time.monotonic()
        if scheduler:
            client = Client(scheduler, timeout="30s")
        else:
            cluster = start_local_cluster(n_workers)
            client = Client(cluster)
        assert run.manifest is not None
        run.manifest.run["startup_seconds"] = round(time.monotonic() - started, 3)
        token = uuid.uuid4().hex[:8]
        futures = {}
        for index, job in enumerate(run.jobs):
            future = client.submit(
                task, job.abspath, run.out.path, job.partition, **run.task_kwargs(job),
                key=f"scraper-extract-{token}-{index:06d}", pure=False, retries=retries,
            )
            futures[future.key] = (future, job)
        for future in as_completed([f for f, _ in futures.values()]):
            _, job = futures.pop(future.key)
            if future.status == "finished":
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - lost between finishing and fetching
                    run.finish(job, None, _problem(exc))
                else:
                    run.finish(job, result)
            else:
                error = future.exception()
                run.finish(job, None, _problem(error) if error is not None else f"the task ended {future.status}")
            future.release()
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
