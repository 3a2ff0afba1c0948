"""The JSON Schema of a record, generated from the pydantic models (never written by hand)."""

from __future__ import annotations

import json
from typing import Any

from scraper.models import PageRecord

__all__ = ["SCHEMA_ID", "page_record_schema", "page_record_schema_json"]

SCHEMA_ID = "https://github.com/qa-scraper/scraper/schemas/page-record.schema.json"


def page_record_schema() -> dict[str, Any]:
    """The schema of what ``scraper extract`` prints (the serialised form of a record)."""
    schema = PageRecord.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def page_record_schema_json() -> str:
    """The schema as the checked-in file holds it: sorted keys, two-space indent, final newline."""
    return json.dumps(page_record_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
