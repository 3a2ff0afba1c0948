"""``scraper reextract``: rebuild records from stored raw responses, no fetching.

When the extractor improves, every page a crawl has seen can be read again
from the state store; a record whose content changes becomes a new version
(written to the output like any changed record), one that does not is left.
"""

from __future__ import annotations

import json
from typing import Any

from scraper.crawler.engine import record_content_key
from scraper.crawler.state import open_state
from scraper.errors import ExtractionError
from scraper.extract.api import extract_page_explained
from scraper.fetch.result import FetchResult
from scraper.models import CrawlChange
from scraper.store.outputs import open_output

__all__ = ["reextract_state"]


def reextract_state(state: str, *, output: str | None = None, output_format: str | None = None, site: str | None = None) -> dict[str, Any]:
    summary = {"responses": 0, "changed": 0, "unchanged": 0, "failed": 0}
    out = open_output(output, output_format) if output else None
    store = open_state(state, worker="reextract")
    try:
        position = store.output_position(out.path, out.format) if out else (0, 0)
        if out:
            out.prepare(position[1])
        for response in list(store.responses()):
            summary["responses"] += 1
            page = FetchResult(url=response.url, final_url=response.final_url, status=response.status,
                               headers=response.headers, body=response.body, fetched_at=response.fetched_at).page()
            try:
                record = extract_page_explained(page, site=site).record
            except ExtractionError:
                summary["failed"] += 1
                continue
            data = record.model_dump(mode="json")
            key = record_content_key(data)
            latest = store.latest_record(response.url)
            if latest is not None and latest[2] == key:
                summary["unchanged"] += 1
                continue
            version = (latest[0] + 1) if latest else 1
            change = "changed" if latest else "new"
            record = record.model_copy(update={"crawl": CrawlChange(change=change, version=version)})
            with store.transaction():
                store.add_record(response.url, extractor=record.source.extractor.name, change=change,
                                 record_json=record.model_dump_json(), content_key=key, created_at=response.fetched_at)
            summary["changed"] += 1
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
