"""Every bundled sample gives the record its expected JSON holds (read off the page by a person)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scraper
from tests.conftest import SAMPLES

PAGES = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".txt", ".html"})


def test_there_are_samples() -> None:
    assert PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_sample_matches_expected_json(page: Path) -> None:
    expected = json.loads(page.with_suffix(".expected.json").read_text(encoding="utf-8"))
    record = scraper.extract(page.read_bytes(), url=expected["url"])
    got = record.model_dump(mode="json", exclude={"source"})
    assert set(got) == set(expected), "expected JSON must cover every content field"
    for field in expected:
        if field != "answers":
            assert got[field] == expected[field], field
    assert len(got["answers"]) == len(expected["answers"])
    for want, have in zip(expected["answers"], got["answers"]):
        assert have == want, f"answer {want['position']}"
