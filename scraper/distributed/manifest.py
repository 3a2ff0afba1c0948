"""``out/manifest.json``: every input of an extraction, its counts and status, for humans and for resume.

The client (never a worker) owns the manifest and rewrites it atomically (temporary
file, fsync, rename) as tasks finish, so after a crash or a kill it always holds
the last complete state.  A re-run skips an input whose entry is ``complete``
when the file is unchanged (same size and mtime), was read by the same
extractor version, and its partition file is still there; everything else is
done again (partitions are replaced atomically, so redoing is harmless).

Layout::

    {
      "manifest_version": 1,
      "tool": "qa-scraper 0.1.0",
      "settings": {"format": "jsonl", "url_pattern": "realself.com/question/", "site": null},
      "updated_at": "2024-03-01T12:00:00Z",
      "summary": {"inputs": 3, "complete": 2, "failed": 1, "pending": 0, "seen": ..., "matched": ...,
                  "damaged": ..., "extracted": ..., "failed_records": {"decode_error": 1, ...},
                  "archives": {"inputs": 2, "records": 52, "read": 30, "truncated": 1,
                               "skipped": {"request": 10, "url_pattern": 8, "warcinfo": 3, "non_html": 1}},
                  "run": {"engine": "dask", "scheduler": "...", "started_at": "...", "submitted": 3, "skipped": 0,
                          "finished": 3, "seconds": 9.1, "startup_seconds": 2.3, "records_per_second": 440.0}},
      "inputs": [
        {"input": "segments/a.warc.gz", "abspath": "/data/segments/a.warc.gz", "size": 123, "mtime_ns": ...,
         "partition": "parts/part-1a2b3c4d5e6f-a.warc.gz.jsonl", "status": "complete", "error": null,
         "counts": {"seen": 10, "matched": 8, "damaged": 0, "extracted": 7, "failed": {"not_a_qa_page": 1},
                    "archive": {"records": 22, "read": 8, "truncated": 0,
                                "skipped": {"request": 10, "url_pattern": 2, "warcinfo": 1, "non_html": 1}}},
         "errors": [{"url": "...", "reason": "not_a_qa_page", "detail": "..."}],
         "extractor_version": "0.1.0", "seconds": 0.4, "host": "...", "pid": 123, "finished_at": "..."},
        ...
      ]
    }

Counts of one input: ``seen`` page records (WARC ``response`` and ``resource``, WET
``conversion``, ARC http(s) records, with a target URI) whose headers were read;
``matched`` those that pass ``--url-pattern``; ``damaged`` unreadable stretches of the
file that no matched record accounts for (a bad header, a corrupt gzip member, a cut-off
end); then every matched record and every damaged stretch ends either ``extracted`` or in
``failed`` by reason (``decode_error``, ``http_error``, ``too_large``, ``not_a_qa_page``,
``empty_input``, ``binary_input``, ``extraction_error``, ``extractor_crash``):
``extracted + sum(failed) == matched + damaged``.  A matched response whose HTTP
Content-Type is neither HTML nor plain text holds no page: the reader skips it
(``non_html``) and it is in neither ``seen`` nor ``matched`` (one the pattern leaves out
is never read, so its type is not known and it stays in ``seen``).  ``archive`` counts
what the archive reader saw, as ``scraper extract`` sums it up on its last line
(:class:`scraper.formats.warc.ArchiveStats`): ``records`` = ``read`` (records that gave a
result; ``truncated`` of them cut off) + every ``skipped`` one by reason
(:data:`scraper.formats.warc.SKIP_REASONS`: ``request``, ``url_pattern``, ``non_html``,
``unreadable``, ...); it is ``null`` for an input that is no archive (one page file).
The summary adds up every entry (``archives`` over the inputs read as archives); ``run``
describes the latest run only (``submitted`` tasks, inputs ``skipped`` as already
complete, ``finished`` so far, wall-clock ``seconds`` including ``startup_seconds`` of
the cluster, records seen per second).
Statuses: ``pending`` (not done yet, or a run was stopped), ``complete`` (read to
its end, damaged records included), ``failed`` (could not be read at all, or
its task kept failing after the retries; ``error`` says why).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from scraper._version import __version__
from scraper.errors import ManifestMismatch
from scraper.fetch.result import utc_now
from scraper.store.atomic import AtomicReplacement

__all__ = ["MANIFEST_NAME", "Manifest", "ManifestMismatch"]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class Manifest:
    def __init__(self, out_dir: str, settings: dict[str, Any]) -> None:
        self.out_dir = out_dir
        self.path = os.path.join(out_dir, MANIFEST_NAME)
        self.settings = settings
        self.entries: dict[str, dict[str, Any]] = {}
        """By key (the absolute path, or ``glob:<pattern>`` for a glob matching nothing), in order."""
        self.run: dict[str, Any] = {}

    # -- load / save --------------------------------------------------------------------------------

    @classmethod
    def open(cls, out_dir: str, settings: dict[str, Any]) -> Manifest:
        manifest = cls(out_dir, settings)
        try:
            with open(manifest.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return manifest
        except (OSError, ValueError) as exc:
            raise ManifestMismatch(f"{manifest.path} is not a readable manifest ({exc}); move it away to start afresh") from None
        if data.get("manifest_version") != MANIFEST_VERSION:
            raise ManifestMismatch(f"{manifest.path} is a manifest of version {data.get('manifest_version')!r}, "
                                   f"this version of qa-scraper reads version {MANIFEST_VERSION}; use another output directory")
        previous = data.get("settings") or {}
        if previous != settings:
            differ = ", ".join(f"{k}: {previous.get(k)!r} then, {settings.get(k)!r} now" for k in sorted(set(previous) | set(settings))
                               if previous.get(k) != settings.get(k))
            raise ManifestMismatch(f"{out_dir} holds output made with other settings ({differ}); use another output directory")
        for entry in data.get("inputs") or []:
            manifest.entries[entry.get("abspath") or f"glob:{entry['input']}"] = entry
        return manifest

    def save(self) -> None:
        data = {
            "manifest_version": MANIFEST_VERSION,
            "tool": f"qa-scraper {__version__}",
            "settings": self.settings,
            "updated_at": utc_now(),
            "summary": self.summary(),
            "inputs": list(self.entries.values()),
        }
        # The ".manifest-" prefix is what the output directory's sweep removes after a killed run.
        with AtomicReplacement(self.path, prefix=".manifest-", suffix=".tmp") as replacement:
            fh = replacement.open_text()
            json.dump(data, fh, indent=1, ensure_ascii=False)
            fh.write("\n")

    # -- entries ------------------------------------------------------------------------------------

    def is_complete(self, key: str, size: int, mtime_ns: int) -> bool:
        entry = self.entries.get(key)
        return (
            entry is not None
            and entry.get("status") == "complete"
            and entry.get("size") == size
            and entry.get("mtime_ns") == mtime_ns
            and entry.get("extractor_version") == __version__
            and bool(entry.get("partition"))
            and os.path.exists(os.path.join(self.out_dir, entry["partition"]))
        )

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self.entries[key] = entry

    def order(self, keys: list[str]) -> None:
        """This run's inputs first, in the order given; entries of earlier runs' other inputs after."""
        ordered = {key: self.entries[key] for key in keys if key in self.entries}
        ordered.update((k, v) for k, v in self.entries.items() if k not in ordered)
        self.entries = ordered

    def summary(self) -> dict[str, Any]:
        statuses = Counter(entry.get("status") for entry in self.entries.values())
        totals: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        archives: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        for entry in self.entries.values():
            counts = entry.get("counts") or {}
            for name in ("seen", "matched", "damaged", "extracted"):
                totals[name] += int(counts.get(name) or 0)
            reasons.update(counts.get("failed") or {})
            archive = counts.get("archive")
            if archive:
                archives["inputs"] += 1
                for name in ("records", "read", "truncated"):
                    archives[name] += int(archive.get(name) or 0)
                skipped.update(archive.get("skipped") or {})
        return {
            "inputs": len(self.entries),
            "complete": statuses.get("complete", 0),
            "failed": statuses.get("failed", 0),
            "pending": statuses.get("pending", 0),
            "seen": totals["seen"],
            "matched": totals["matched"],
            "damaged": totals["damaged"],
            "extracted": totals["extracted"],
            "failed_records": dict(sorted(reasons.items())),
            "archives": {name: archives[name] for name in ("inputs", "records", "read", "truncated")}
            | {"skipped": dict(sorted(skipped.items()))},
            "run": dict(self.run),
        }
