"""Real pages of other sites and engines, checked against facts a person read from each page.

Phpbb, vBulletin, XenForo, Invision, NodeBB, Flarum, Vanilla, Discourse, Apache Answer, Reddit (2019
layouts), Hacker News (2012), Quora, Zhihu (2015), Baidu Zhidao, Stack Exchange without its adapter's
help, and schema.org's own Q&A examples: see tests/fixtures/wild/README.md.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

import scraper
from scraper.models import PageRecord
from scraper.page import RawPage

WILD = Path(__file__).parents[2] / "fixtures" / "wild"
PAGES = sorted(p for p in WILD.iterdir() if (p / "facts.json").exists())
ANONYMOUS = {"匿名用户", "anonymous", "[deleted]", "deleted"}

# Where the record still differs from the page, and why (each one counted, so a regression shows).
KNOWN_AUTHOR_MISSES = {
    # Answer 18 is by an anonymous user; its byline has no profile link, and a voter's link is read instead.
    "zhihu_24825703_zhihupy3": 1,
}
KNOWN_VOTE_MISSES = {
    # Comment 7 is "[deleted]" with a score of 10.2k; a deleted comment's score is not read.
    "reddit_axtih6_postlight": 1,
}


def _norm(text: str | None) -> str | None:
    if text is None:
        return None
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold() or None


def _facts(folder: Path) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((folder / "facts.json").read_text(encoding="utf-8"))
    return facts


def _record(folder: Path, url: str | None) -> PageRecord:
    page = folder / "page.html"
    return scraper.extract_page(RawPage(body=page.read_bytes(), kind="file", path=str(page), url=url))


def _author_matches(fact: str | None, got: str | None, facts: dict[str, Any]) -> bool:
    if fact is None or _norm(fact) in ANONYMOUS:
        return got is None or _norm(got) in ANONYMOUS or bool(facts.get("authors_lenient"))
    alts = {_norm(a) for a in (facts.get("author_alts") or {}).get(fact, [])}
    return _norm(got) == _norm(fact) or _norm(got) in alts or (got is None and bool(facts.get("authors_lenient")))


def _vote_matches(fact: int, got: int | None) -> bool:
    if got is None:
        return False
    return abs(got - fact) <= 0.05 * abs(fact) if abs(fact) >= 1000 else got == fact


@pytest.mark.parametrize("folder", PAGES, ids=[p.name for p in PAGES])
def test_wild_page_gives_the_question_and_every_answer(folder: Path) -> None:
    facts = _facts(folder)
    record = _record(folder, facts.get("url"))
    title = facts.get("title", facts.get("question_name"))
    assert _norm(record.question.title) in {_norm(title), *(_norm(t) for t in facts.get("title_alts") or [])}
    shown = facts.get("answers_visible", facts.get("answers_marked_up"))
    assert len(record.answers) == shown

    authors = facts.get("answer_authors") or []
    misses = [i for i, (fact, answer) in enumerate(zip(authors, record.answers))
              if not _author_matches(fact, answer.author.name if answer.author else None, facts)]
    assert len(misses) == KNOWN_AUTHOR_MISSES.get(folder.name, 0), f"authors differ at answers {[i + 1 for i in misses]}"

    votes = facts.get("answer_votes") or []
    vote_misses = [i for i, (fact, answer) in enumerate(zip(votes, record.answers))
                   if isinstance(fact, int) and not _vote_matches(fact, answer.votes)]
    assert len(vote_misses) == KNOWN_VOTE_MISSES.get(folder.name, 0), f"votes differ at answers {[i + 1 for i in vote_misses]}"


def test_a_thread_page_beyond_the_first_says_which_page_it_is() -> None:
    """vBulletin page 34 of 40: all 20 posts are replies, and the record does not pretend to hold the thread."""
    folder = WILD / "vbulletin-pocketpc_122760p34_trafilatura"
    record = _record(folder, _facts(folder)["url"])
    assert (record.page, record.pages) == (34, 40)
    assert record.question.author is None  # the opening post is on page 1


def test_answers_read_from_the_page_structure_say_so() -> None:
    """Read by the generic adapter, the page-structure answers carry ``read_generically``; read by
    the phpBB adapter (which knows the page by its markup), the record names the engine instead."""
    folder = WILD / "phpbb-debian_t159270_magichtml"
    page = folder / "page.html"
    generic = scraper.extract_page(RawPage(body=page.read_bytes(), kind="file", path=str(page), url=_facts(folder)["url"]), site="generic")
    assert generic.site is None
    assert [w.code for w in generic.warnings] == ["read_generically"]
    record = _record(folder, _facts(folder)["url"])
    assert record.site == "phpbb"
    assert record.warnings == []
    assert record.question.author == "contactopublico"
    assert record.answers[0].author is not None
    assert record.answers[0].author.profile_url is not None and "memberlist.php?mode=viewprofile&u=211385" in record.answers[0].author.profile_url


def test_structured_data_listing_fewer_answers_loses_none() -> None:
    """Discourse's JSON-LD lists only the accepted reply; the page shows three, in page order."""
    folder = WILD / "discourse-uipath_421350_magichtml"
    record = _record(folder, _facts(folder)["url"])
    assert [a.author.name for a in record.answers if a.author] == ["fernando_zuluaga", "Ravindra_Kumar", "fernando_zuluaga"]
    assert record.answers[0].votes == 2  # the accepted reply's likes, from the JSON-LD


def test_hacker_news_answers_are_the_top_level_comments() -> None:
    folder = WILD / "hackernews_askhn-jobs_newhackers"
    record = _record(folder, _facts(folder)["url"])
    assert record.question.title == "Ask HN - Where do you look for jobs?"  # " | Hacker News" is the site's
    assert record.question.author == "factorialboy"
    assert len(record.answers) == 39  # of 94 comments in all
