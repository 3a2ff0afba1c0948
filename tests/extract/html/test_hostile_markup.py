"""Markup aimed at parsers: each costs a named warning, never a wrong record (issue 11). Made pages."""

from __future__ import annotations

import scraper
from tests.crawler.test_hostile_pages import qa_page

# A JSON-LD QAPage (modelled on the Stack Exchange pages in samples/); {filler} goes in its body.
PAGE = qa_page().decode("utf-8").replace("<!doctype html>", "").replace("</h1>", "</h1>{filler}<p>after the filler</p>")
BILLION_LAUGHS = (
    '<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
)


def _warnings(record: scraper.PageRecord) -> list[str]:
    return [w.code for w in record.warnings]


def test_a_doctype_with_entities_is_ignored_and_named() -> None:
    record = scraper.extract((BILLION_LAUGHS + PAGE.replace("{filler}", "")).encode(), url="https://example.com/q/1")
    assert record.question.title == "How long does Botox last on the forehead?"
    assert "doctype_entities" in _warnings(record)
    dumped = record.model_dump_json()
    assert "]>" not in dumped and "root:" not in dumped and "aaaaaaaaaa" not in dumped


def test_a_doctype_without_entities_gives_no_warning() -> None:
    record = scraper.extract(("<!DOCTYPE html>" + PAGE.replace("{filler}", "")).encode(), url="https://example.com/q/1")
    assert "doctype_entities" not in _warnings(record)


def test_content_after_a_10_mb_comment_is_named_as_not_read() -> None:
    filler = "<!-- " + "x" * (11 * 1024 * 1024) + " -->"
    record = scraper.extract(PAGE.replace("{filler}", filler).encode(), url="https://example.com/q/1")
    assert record.question.title == "How long does Botox last on the forehead?"
    assert "parse_limit" in _warnings(record)
