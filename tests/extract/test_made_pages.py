"""Forty made pages in the seed's layout (tests/fixtures/textrender_made/, see its README):
real question and answer text from RealSelf's search API, made titles, cities, ratings and
cuts.  Their facts come from the generator's inputs, never from the extractor, and are
compared field by field the way ../shared/tools/score.py does (whitespace collapsed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import scraper
from tests.conftest import FIXTURES

MADE = FIXTURES / "textrender_made"
PAGES = sorted(MADE.glob("made-*.txt"))


def norm(value: object) -> object:
    if isinstance(value, str):
        return re.sub(r"\s+", " ", value.replace("\u00a0", " ")).strip() or None
    return value


def test_there_are_forty_made_pages() -> None:
    assert len(PAGES) == 40


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem[:40])
def test_made_page_matches_its_facts(page: Path) -> None:
    facts = json.loads(page.with_name(page.stem + ".facts.json").read_text(encoding="utf-8"))
    record = scraper.extract(page.read_bytes(), url=facts["url"])
    assert record.site == "realself"
    assert record.question.title == facts["question"]["title"]
    assert norm(record.question.body) == norm(facts["question"]["body"])
    assert record.answer_count == facts["answer_count_stated"]
    assert record.truncated == facts["truncated"]
    if not facts["truncated"]:
        assert len(record.answers) == len(facts["answers"])
    for want, got in zip(facts["answers"], record.answers):
        assert got.title == want["title"]
        if not want["complete"]:
            continue  # cut off by the end of the page: only the title is certain
        author = got.author
        assert norm(got.body) == norm(want["body"]), f"answer {got.position} body"
        assert (author.name if author else None) == want["author_name"], f"answer {got.position}"
        assert (author.location if author else None) == want["author_location"], f"answer {got.position}"
        assert (author.specialty if author else None) == want["author_specialty"], f"answer {got.position}"
        assert got.rating == want["rating"] and got.review_count == want["review_count"], f"answer {got.position}"
    if record.answer_count is not None and record.answer_count != len(record.answers):
        assert "answer_count_mismatch" in [w.code for w in record.warnings]
