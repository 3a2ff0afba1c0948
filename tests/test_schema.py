"""The checked-in JSON Schema is generated from the models and must not drift from them."""

from __future__ import annotations

import json
import subprocess
import sys

from scraper.schema import page_record_schema, page_record_schema_json
from tests.conftest import ROOT

SCHEMA_FILE = ROOT / "schemas" / "page-record.schema.json"


def test_checked_in_schema_matches_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == page_record_schema_json(), (
        "schemas/page-record.schema.json is stale: regenerate it with "
        "'scraper schema > schemas/page-record.schema.json'"
    )


def test_schema_command_prints_the_same_schema() -> None:
    out = subprocess.run([sys.executable, "-m", "scraper", "schema"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == page_record_schema()


def test_schema_states_the_rules_the_models_enforce() -> None:
    defs = page_record_schema()["$defs"]
    rating = next(o for o in defs["Answer"]["properties"]["rating"]["anyOf"] if o.get("type") == "number")
    assert (rating["minimum"], rating["maximum"]) == (0, 5)
    assert defs["Answer"]["properties"]["body"]["minLength"] == 1
    assert defs["Answer"]["additionalProperties"] is False
