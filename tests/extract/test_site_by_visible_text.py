"""An HTML page at an address no adapter knows is still recognised by what it shows.

The made pages wrapped by the crawl tests' ``render_html`` and served from 127.0.0.1 have a
RealSelf render as their visible text but no RealSelf URL, canonical link or ``rs:`` meta.
Their site comes from the text signatures a text render is recognised by, so each one gives
the record the same page gives at its realself.com address: authors split out of the answer
bodies, and the site's disclaimer kept out of the last answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scraper
from scraper.sites import GENERIC, SITES, detect_html_site
from tests.conftest import FIXTURES
from tests.crawler.site import render_html

MADE = FIXTURES / "textrender_made"
PAGES = sorted(MADE.glob("made-*.txt"))
LOCAL = "http://127.0.0.1:8765/question/{slug}"
DISCLAIMER = "These answers are for educational purposes"


def _both(page: Path) -> tuple[scraper.PageRecord, scraper.PageRecord]:
    """(record at the local address, record of the same HTML at its realself.com address)."""
    facts = json.loads(page.with_name(page.stem + ".facts.json").read_text(encoding="utf-8"))
    body = render_html(page.read_text(encoding="utf-8"), facts["question"]["title"]).encode("utf-8")
    local = scraper.extract(body, url=LOCAL.format(slug=page.stem))
    real = scraper.extract(body, url=facts["url"])
    return local, real


def _authors(record: scraper.PageRecord) -> list[tuple[object, ...]]:
    return [
        (
            a.author.name if a.author else None,
            a.author.location if a.author else None,
            a.author.specialty if a.author else None,
            a.rating,
            a.review_count,
        )
        for a in record.answers
    ]


def test_there_are_made_pages() -> None:
    assert len(PAGES) == 40


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem[:40])
def test_local_copy_of_a_realself_page_reads_like_the_real_address(page: Path) -> None:
    local, real = _both(page)
    assert real.site == "realself"
    assert local.site == "realself"
    assert _authors(local) == _authors(real)
    assert [a.body for a in local.answers] == [a.body for a in real.answers]
    assert [a.title for a in local.answers] == [a.title for a in real.answers]
    assert local.question == real.question
    assert local.answer_count == real.answer_count and local.truncated == real.truncated
    assert [(w.code, w.message) for w in local.warnings] == [(w.code, w.message) for w in real.warnings]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem[:40])
def test_local_copy_has_the_authors_its_facts_list_and_no_disclaimer(page: Path) -> None:
    facts = json.loads(page.with_name(page.stem + ".facts.json").read_text(encoding="utf-8"))
    local, _ = _both(page)
    if not facts["truncated"]:
        assert len(local.answers) == len(facts["answers"])
    for want, got in zip(facts["answers"], local.answers):
        if not want["complete"]:
            continue  # cut off by the end of the page: only the title is certain
        author = got.author
        assert (author.name if author else None) == want["author_name"], f"answer {got.position}"
        assert (author.location if author else None) == want["author_location"], f"answer {got.position}"
        assert (author.specialty if author else None) == want["author_specialty"], f"answer {got.position}"
        assert got.rating == want["rating"] and got.review_count == want["review_count"], f"answer {got.position}"
        # The body is the answer's own text: no author block (a sign-off the doctor wrote stays).
        assert " ".join((got.body or "").split()) == " ".join(want["body"].split()), f"answer {got.position} body"
    assert local.answers and DISCLAIMER not in (local.answers[-1].body or "")


def test_visible_text_is_only_read_when_url_and_markup_say_nothing() -> None:
    import lxml.html

    root = lxml.html.document_fromstring("<html><body><p>Doctor Answers 2</p></body></html>")
    calls: list[int] = []

    def visible() -> str:
        calls.append(1)
        return "Question\n\nDoctor Answers 2"

    assert detect_html_site("https://www.realself.com/question/x", root, visible) is SITES["realself"]
    assert calls == []
    assert detect_html_site("http://127.0.0.1:1/question/x", root, visible) is SITES["realself"]
    assert calls == [1]
    assert detect_html_site("http://127.0.0.1:1/question/x", root, lambda: "nothing here") is GENERIC
    assert detect_html_site(None, root) is GENERIC  # without the text, as before
