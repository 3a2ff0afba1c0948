"""``scraper reextract``: rebuild records from stored raw responses, no fetching.

When the extractor improves, every page a crawl has seen can be read again
from the state store; a record whose content changes becomes a new version,
one that does not is left as it is.  The run is recorded like a crawl's
(``scraper status`` lists it), and its versions belong to it.

What it writes, exactly:

* by default, the new versions (records that changed), appended to the output the
  way a crawl appends (its position kept in the state, so the same file never gets a
  record twice); records stored earlier and not yet written to that output (a crawl
  stopped before writing) go first, and are counted apart;
* with ``rebuild_all`` (``--all``), every record the responses give, changed or not
  (the unchanged ones as their current version), into a file replaced whole: a
  rebuild, not an append.  Responses that give no record now are not in it.

New versions are also due for every crawl output of the state, like a crawl's own
changed records: the next crawl writes them to its ``-o`` file and counts them in its
summary as stored before that run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from scraper.crawler.versions import store_version
from scraper.errors import ExtractionError
from scraper.extract.api import extract_page_explained
from scraper.fetch.result import FetchResult, utc_now
from scraper.store.export import Snapshot
from scraper.store.outputs import Output, open_output
from scraper.store.state import CrawlState, open_state

__all__ = ["reextract_state"]

_BATCH = 200  # records written at a time (rebuild) or between flushes (append)


def reextract_state(state: str, *, output: str | None = None, output_format: str | None = None, site: str | None = None,
                    rebuild_all: bool = False) -> dict[str, Any]:
    """Read every stored response again; store the records that change and write them (see the module docstring).

    ``output`` is a path, ``-`` for stdout, or None for no output (the library's
    default; the command passes ``-``).  Returns the counts: ``responses``,
    ``changed``, ``unchanged``, ``failed`` (no record), ``written`` (records written
    to the output), ``written_earlier`` (of those, stored before this run) and
    ``run`` (the run's number).
    """
    summary: dict[str, Any] = {"command": "reextract", "responses": 0, "changed": 0, "unchanged": 0, "failed": 0,
                               "written": 0, "written_earlier": 0, "outcome": "failed"}
    store = open_state(state, worker="reextract")
    with ExitStack() as cleanup:
        cleanup.callback(store.close)
        run_id = store.start_run(utc_now())
        summary["run"] = run_id
        cleanup.callback(lambda: store.finish_run(run_id, utc_now(), summary))
        if rebuild_all:
            snapshot = cleanup.enter_context(Snapshot(output, output_format)) if output else None
            batch: list[dict[str, Any]] = []
            for record in _reextract(store, site, summary):
                batch.append(record)
                if len(batch) >= _BATCH:
                    if snapshot is not None:
                        snapshot.write(batch)
                    batch = []
            if snapshot is not None:
                snapshot.write(batch)
                summary["written"] = snapshot.count
        elif output:
            appender = _Append(store, open_output(output, output_format))
            cleanup.callback(appender.close)
            summary["written_earlier"] = appender.flush()
            flushed_at = 0
            for _ in _reextract(store, site, summary):
                if summary["changed"] - flushed_at >= _BATCH:
                    appender.flush()
                    flushed_at = summary["changed"]
            appender.flush()
            summary["written"] = appender.written
        else:
            for _ in _reextract(store, site, summary):
                pass
        summary["outcome"] = "finished"
    return summary


def _reextract(store: CrawlState, site: str | None, summary: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each stored response read again, new versions stored; yields each URL's record as it now stands."""
    for response in store.responses():  # streamed: one batch of bodies in memory at a time
        summary["responses"] += 1
        page = FetchResult(url=response.url, final_url=response.final_url, status=response.status,
                           headers=response.headers, body=response.body, fetched_at=response.fetched_at).page()
        try:
            record = extract_page_explained(page, site=site).record
        except ExtractionError:
            summary["failed"] += 1
            continue
        with store.transaction():
            stored = store_version(store, response.url, record, response.fetched_at)
        if stored is not None:
            summary["changed"] += 1
            yield stored.model_dump(mode="json")
        else:
            summary["unchanged"] += 1
            current = store.latest_record(response.url)
            assert current is not None, "store_version found a version equal to this record"
            yield json.loads(current[1])


class _Append:
    """The state-tracked output of a crawl, for the records this state has not yet written to it."""

    def __init__(self, store: CrawlState, output: Output) -> None:
        self.store = store
        self.output = output
        self.written = 0
        self.seq, committed = store.output_position(output.path, output.format)
        pending = [json.loads(r) for _, _, _, r in store.pending_records(output.path, self.seq)]
        offset = output.prepare(committed, pending)
        if offset != committed:
            with store.transaction():
                store.set_output_position(output.path, self.seq, offset)

    def flush(self) -> int:
        """Write what is pending; returns how many records that was."""
        pending = self.store.pending_records(self.output.path, self.seq)
        if not pending:
            return 0
        offset = self.output.write([json.loads(r) for _, _, _, r in pending])
        self.seq = pending[-1][0]
        with self.store.transaction():
            self.store.set_output_position(self.output.path, self.seq, offset)
        self.written += len(pending)
        return len(pending)

    def close(self) -> None:
        self.output.close()
