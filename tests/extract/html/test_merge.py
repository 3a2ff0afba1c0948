"""How the strategies' findings merge, seen through ``extract_page_explained``.

The made RealSelf page ``realself-made-question-hashed`` carries a QAPage
JSON-LD block (answer text, dates, votes, two author names) and a visible
page (titles, author locations, specialties, ratings, profile links): the
record needs both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scraper import RawPage
from scraper.extract.api import Explained, extract_page_explained

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "html"
HASHED = FIXTURES / "realself-made-question-hashed" / "page.html"


@pytest.fixture(scope="module")
def hashed() -> Explained:
    return extract_page_explained(RawPage(body=HASHED.read_bytes(), kind="file", path=str(HASHED)))


@pytest.fixture(scope="module")
def hashed_generic() -> Explained:
    return extract_page_explained(RawPage(body=HASHED.read_bytes(), kind="file", path=str(HASHED)), site="generic")


def test_both_strategies_ran_and_the_extractor_name_lists_them(hashed: Explained) -> None:
    assert hashed.strategies == ["json-ld", "visible-text"]
    assert hashed.record.source.extractor.name == "html:json-ld+visible-text"
    assert hashed.record.site == "realself"


def test_answer_dates_and_votes_come_from_json_ld(hashed: Explained) -> None:
    for position in range(1, 6):
        assert hashed.provenance[f"answers[{position}].posted_at"] == "json-ld"
        assert hashed.provenance[f"answers[{position}].votes"] == "json-ld"
    assert [a.posted_at for a in hashed.record.answers] == ["2013-05-21", "2014-02-03", "2013-05-23", "2013-06-02", "2015-09-14"]
    assert [a.votes for a in hashed.record.answers] == [14, 0, 9, 3, 6]


def test_author_locations_and_ratings_come_from_visible_text(hashed: Explained) -> None:
    provenance, answers = hashed.provenance, hashed.record.answers
    for position in (1, 3, 5):
        assert provenance[f"answers[{position}].author_location"] == "visible-text"
        assert provenance[f"answers[{position}].author_specialty"] == "visible-text"
    for position in (1, 3):
        assert provenance[f"answers[{position}].rating"] == "visible-text"
        assert provenance[f"answers[{position}].review_count"] == "visible-text"
    assert [(a.author.location, a.author.specialty) if a.author else None for a in answers] == [
        ("Manhattan", "Dermatologic Surgeon"),
        None,
        ("Los Angeles", "Facial Plastic Surgeon"),
        None,
        ("Miami", "Dermatologist"),
    ]
    assert [(a.rating, a.review_count) for a in answers] == [(4.9, 38), (None, None), (4.4, 7), (None, None), (None, None)]


def test_names_from_json_ld_and_profile_links_from_the_page_join_on_one_answer(hashed: Explained) -> None:
    third = hashed.record.answers[2]
    assert third.author is not None
    assert third.author.name == "Harold J. Kaplan, MD"
    assert third.author.profile_url == "https://www.realself.com/dr/harold-kaplan-los-angeles-ca"
    assert hashed.provenance["answers[3].author_name"] == "json-ld"
    assert hashed.provenance["answers[3].author_profile_url"] == "visible-text"


def test_titles_come_from_the_page_and_text_from_json_ld(hashed: Explained) -> None:
    assert hashed.provenance["answers[1].title"] == "visible-text"
    assert hashed.provenance["answers[1].body"] == "json-ld"
    assert hashed.record.answers[0].title == "Botox will not cause muscle atrophy in the short term"


def test_every_provenance_value_names_a_strategy_that_ran(hashed: Explained) -> None:
    assert set(hashed.provenance.values()) <= set(hashed.strategies)
    for key in hashed.provenance:
        assert key.startswith(("question.", "answers[", "answer_count", "kind", "review."))


def test_forcing_the_generic_adapter_sets_site_to_null(hashed_generic: Explained) -> None:
    record = hashed_generic.record
    assert record.site is None
    # The generic adapter does not know RealSelf's text layout: only the JSON-LD is used.
    assert hashed_generic.strategies == ["json-ld"]
    assert record.source.extractor.name == "html:json-ld"
    assert "visible-text" not in hashed_generic.provenance.values()
    assert len(record.answers) == 5
    assert record.answers[0].author is None  # the location only the visible text has is not read
    assert record.answers[2].author is not None and record.answers[2].author.name == "Harold J. Kaplan, MD"


def test_forcing_an_unknown_site_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown site"):
        extract_page_explained(RawPage(body=HASHED.read_bytes()), site="no-such-site")


def test_url_selects_the_adapter_when_the_page_has_no_signature() -> None:
    # A JSON-LD-only page has no RealSelf signature; the URL alone names the site.
    block = json.dumps({"@context": "https://schema.org", "@type": "QAPage", "mainEntity": {
        "@type": "Question", "name": "Does Botox hurt?",
        "suggestedAnswer": {"@type": "Answer", "text": "A small pinch, over in seconds."}}})
    html = f'<html><head><script type="application/ld+json">{block}</script></head><body></body></html>'.encode()
    assert extract_page_explained(RawPage(body=html)).record.site is None
    on_realself = extract_page_explained(RawPage(body=html, url="https://www.realself.com/question/does-botox-hurt"))
    assert on_realself.record.site == "realself"
    assert on_realself.record.url == "https://www.realself.com/question/does-botox-hurt"
