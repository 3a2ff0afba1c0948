"""Record versions: when a page's record is new, changed or the same, and which answers are new.

One place for the rule, because two commands apply it: a crawl (a page fetched
again) and ``scraper reextract`` (a stored page read by a newer extractor).
Both must store a version only when what the record says changed, and both
must say which answers the new version added.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from scraper.extract.clean import word_key
from scraper.models import CrawlChange, PageRecord

__all__ = ["RecordStore", "record_content_key", "store_version"]


class RecordStore(Protocol):
    """The part of a crawl state that keeps record versions (SQLite and PostgreSQL both have it)."""

    def latest_record(self, url: str) -> tuple[int, str, str] | None: ...
    def add_record(self, url: str, *, extractor: str, change: str, record_json: str, content_key: str, created_at: str) -> int: ...


def record_content_key(record: dict[str, Any]) -> str:
    """A hash of what a record says (not how or when it was obtained): equal keys, same content."""
    content = {k: v for k, v in record.items() if k not in ("source", "crawl")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _answer_key(answer: dict[str, Any]) -> str:
    return word_key(answer.get("body"), 120)


def new_answer_positions(record: dict[str, Any], previous: dict[str, Any] | None) -> list[int]:
    """Positions of the answers of ``record`` that ``previous`` did not have (none for a first version)."""
    if previous is None:
        return []
    seen = {_answer_key(a) for a in previous.get("answers") or []}
    return [a["position"] for a in record.get("answers") or [] if _answer_key(a) not in seen]


def store_version(store: RecordStore, url: str, record: PageRecord, created_at: str) -> PageRecord | None:
    """Store ``record`` as the URL's next version unless it says what the latest says.

    Returns the stored record with its ``crawl`` block (change, version, new
    answers), or None when nothing changed.  Call it inside the store's transaction.
    """
    data = record.model_dump(mode="json")
    key = record_content_key(data)
    latest = store.latest_record(url)
    if latest is not None and latest[2] == key:
        return None
    previous = json.loads(latest[1]) if latest else None
    change = "changed" if latest else "new"
    crawl = CrawlChange(change=change, version=(latest[0] + 1) if latest else 1,
                        new_answers=new_answer_positions(data, previous))
    record = record.model_copy(update={"crawl": crawl})
    store.add_record(url, extractor=record.source.extractor.name, change=change,
                     record_json=record.model_dump_json(), content_key=key, created_at=created_at)
    return record
