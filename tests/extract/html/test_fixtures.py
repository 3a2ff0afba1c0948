"""Every saved-page fixture in tests/fixtures/html/*/ gives the record its expected.json describes.

Format and conventions: tests/fixtures/html/README.md.  Every key of
expected.json is compared; bodies with all whitespace collapsed;
``warning_codes`` as a set against the codes of the record's warnings.
Adding a folder with page.html + expected.json adds a test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scraper import RawPage, extract_page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "html"
FOLDERS = sorted(p.parent for p in FIXTURES.glob("*/expected.json"))


def collapse(text: Any) -> Any:
    return " ".join(text.split()) if isinstance(text, str) else text


def differences(expected: Any, actual: Any, path: str) -> list[str]:
    """Every field where ``actual`` differs from ``expected`` (keys of ``expected`` only)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{path}.{key}: missing from the record")
                continue
            found += differences(value, actual[key], f"{path}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        found = [f"{path}: {len(expected)} items expected, {len(actual)} found"] if len(expected) != len(actual) else []
        for i, (e, a) in enumerate(zip(expected, actual)):
            found += differences(e, a, f"{path}[{i}]")
        return found
    if path.endswith(".body"):
        expected, actual = collapse(expected), collapse(actual)
    if expected != actual or (type(expected) is not type(actual) and not (
        isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(actual, bool)
    )):
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def test_all_fixture_folders_are_found() -> None:
    assert len(FOLDERS) >= 21
    for folder in FOLDERS:
        assert (folder / "page.html").is_file(), folder.name


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_fixture_gives_its_expected_record(folder: Path) -> None:
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    page = folder / "page.html"
    record = extract_page(RawPage(body=page.read_bytes(), kind="file", path=str(page)))
    actual = record.model_dump(mode="json")

    expected_codes = expected.pop("warning_codes")
    problems = differences(expected, actual, "record")
    got_codes = {w["code"] for w in actual["warnings"]}
    if got_codes != set(expected_codes):
        problems.append(f"record.warning_codes: expected {sorted(expected_codes)}, got {sorted(got_codes)}")
    assert problems == []
    assert record.source.path == str(page)
    assert record.source.extractor.name.startswith("html:")
