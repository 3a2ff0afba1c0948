"""``scraper reextract``: rebuild records from stored raw responses, no fetching.

When the extractor improves, every page a crawl has seen can be read again
from the state store; a record whose content changes becomes a new version
(written to the output like any changed record), one that does not is left.
"""

from __future__ import annotations

import json
from typing import Any

from scraper.crawler.versions import store_version
from scraper.errors import ExtractionError
from scraper.extract.api import extract_page_explained
from scraper.fetch.result import FetchResult
from scraper.store.outputs import open_output
from scraper.store.state import open_state

__all__ = ["reextract_state"]


def reextract_state(state: str, *, output: str | None = None, output_format: str | None = None, site: str | None = None) -> dict[str, Any]:
    """Read every stored response again; store (and write to ``output``) the records that change."""
    summary = {"responses": 0, "changed": 0, "unchanged": 0, "failed": 0}
    out = open_output(output, output_format) if output else None
    store = open_state(state, worker="reextract")
    try:
        position = store.output_position(out.path, out.format) if out else (0, 0)
        if out:
            out.prepare(position[1])
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
            summary["changed" if stored is not None else "unchanged"] += 1
        if out:
            pending = store.pending_records(out.path, position[0])
            if pending:
                offset = out.write([json.loads(r) for _, _, _, r in pending])
                with store.transaction():
                    store.set_output_position(out.path, pending[-1][0], offset)
            out.close()
    finally:
        store.close()
    return summary
