"""The text-render extractor on the seed page and on variants of it.

Variants are made from the real seed page (CRLF line ends, no question body,
cut off at different points, ...); their expected values follow from the seed's
facts, checked by reading the page.
"""

from __future__ import annotations

import json
import re

import pytest

import scraper
from scraper.errors import NotAQAPageError
from tests.conftest import SAMPLES, SEED

FACTS = json.loads((SAMPLES / "realself-000-botox-atrophy.expected.json").read_text(encoding="utf-8"))
SEED_TEXT = SEED.read_text(encoding="utf-8")
DISCLAIMER = "These answers are for educational purposes"


def _codes(record: scraper.PageRecord) -> list[str]:
    return [w.code for w in record.warnings]


def test_seed_page_matches_its_facts_field_by_field(seed_bytes: bytes) -> None:
    record = scraper.extract(seed_bytes, url=FACTS["url"])
    got = record.model_dump(mode="json", exclude={"source"})
    for key in ("url", "site", "kind", "question", "answer_count", "truncated", "warnings"):
        assert got[key] == FACTS[key], key
    assert len(got["answers"]) == len(FACTS["answers"]) == 5
    for want, have in zip(FACTS["answers"], got["answers"]):
        assert have == want, f"answer {want['position']}"


def test_seed_page_the_issue_names(seed_bytes: bytes) -> None:
    a = scraper.extract(seed_bytes).answers
    assert (a[0].author and a[0].author.name, a[0].author.location, a[0].author.specialty) == (
        None, "Manhattan", "Dermatologic Surgeon",
    )
    assert (a[0].rating, a[0].review_count) == (4.9, 38)
    assert a[1].author is None and a[3].author is None
    assert a[2].author is not None and a[2].author.name == "Harold J. Kaplan, MD"
    assert (a[2].rating, a[2].review_count) == (4.4, 7)
    assert a[4].author is not None and (a[4].author.name, a[4].author.location, a[4].author.specialty) == (
        "Barry Resnik, MD", "Miami", "Dermatologist",
    )
    assert a[4].rating is None
    for answer in a:
        assert "{{" not in answer.body and DISCLAIMER not in answer.body and "\u00a0" not in answer.body
    assert "\n\n" in a[2].body  # answer 3 has two paragraphs


def test_crlf_line_ends_give_the_same_record(seed_bytes: bytes) -> None:
    crlf = seed_bytes.replace(b"\n", b"\r\n")
    assert scraper.extract(crlf).model_dump(exclude={"source"}) == scraper.extract(seed_bytes).model_dump(exclude={"source"})


def test_question_without_body() -> None:
    lines = SEED_TEXT.split("\n")
    assert lines[2].startswith("because you paralyze")
    text = "\n".join(lines[:1] + lines[4:])  # drop the body paragraph and its blank line
    record = scraper.extract(text)
    assert record.question.body is None
    assert record.answer_count == 5 and len(record.answers) == 5


def test_a_sort_control_before_the_first_answer_is_no_answer() -> None:
    # What a page shows when the class that hid its sort control is gone (a redesign): "Most
    # helpful" is a sort option, not a helpful-vote widget.
    sorted_text = SEED_TEXT.replace("Doctor Answers 5\n", "Doctor Answers 5\n\nSort by:\n\nMost helpful\nNewest\n", 1)
    assert sorted_text != SEED_TEXT
    record = scraper.extract(sorted_text)
    assert record.model_dump(exclude={"source"}) == scraper.extract(SEED_TEXT).model_dump(exclude={"source"})
    assert len(record.answers) == 5 and record.warnings == []


def test_a_comment_under_an_answer_is_neither_its_text_nor_its_byline() -> None:
    # "text – user date", the shape Stack Exchange-style pages give a comment, after an answer's
    # author block: the answer keeps its body and its author.
    commented = SEED_TEXT.replace(" reviews\n", " reviews\n\nNice post! \u2013 reader42 Jan 24 2020\n")
    assert commented.count("Nice post!") >= 2
    record = scraper.extract(commented)
    assert record.model_dump(exclude={"source"}) == scraper.extract(SEED_TEXT).model_dump(exclude={"source"})


def test_a_last_paragraph_ending_in_a_date_stays_the_answers_text() -> None:
    closing = "Results were published in the journal \u2013 see the review of May 2, 2024."
    text = SEED_TEXT.replace("\nDoes Botox Cause Muscle Atrophy?\n", f"\n{closing}\n\nDoes Botox Cause Muscle Atrophy?\n", 1)
    assert closing in text  # the last paragraph of the second answer, which has no author block
    record = scraper.extract(text)
    assert any(closing in (a.body or "") for a in record.answers)


def test_stated_count_larger_than_answers_shown_warns() -> None:
    record = scraper.extract(SEED_TEXT.replace("Doctor Answers 5", "Doctor Answers 9"))
    assert record.answer_count == 9 and len(record.answers) == 5
    assert not record.truncated
    assert _codes(record) == ["answer_count_mismatch"]
    assert "9" in record.warnings[0].message and "5" in record.warnings[0].message


def test_page_cut_off_mid_answer_keeps_every_answer_before_the_cut() -> None:
    cut = SEED_TEXT.index("We are in effect putting a cast")
    record = scraper.extract(SEED_TEXT[:cut + 20])
    assert record.truncated
    assert "truncated" in _codes(record)
    assert len(record.answers) == 5
    assert [a.title for a in record.answers] == [a["title"] for a in FACTS["answers"]]
    assert record.answers[4].body.endswith("We are in effect put")
    assert record.answers[4].author is None
    assert record.answers[2].author is not None and record.answers[2].author.name == "Harold J. Kaplan, MD"


def test_page_cut_off_inside_a_rating_line_keeps_the_author() -> None:
    cut = SEED_TEXT.index("4.4 out of 5 stars") + len("4.4 out of")
    record = scraper.extract(SEED_TEXT[:cut])
    assert record.truncated and len(record.answers) == 3
    last = record.answers[2]
    assert last.author is not None and (last.author.name, last.author.location) == ("Harold J. Kaplan, MD", "Los Angeles")
    assert last.rating is None
    assert last.body.endswith("muscle atrophy was a blessing!")


def test_page_cut_after_the_answers_heading_is_a_record_with_warnings() -> None:
    cut = SEED_TEXT.index("Doctor Answers 5") + len("Doctor Answers 5")
    record = scraper.extract(SEED_TEXT[:cut])
    assert record.answers == [] and record.answer_count == 5
    assert {"answer_count_mismatch", "no_answers"} <= set(_codes(record))


def test_inline_junk_inside_a_body_is_removed() -> None:
    text = SEED_TEXT.replace("This atrophy is beneficial", "This atrophy {{ answer.highlight }} is beneficial")
    body = scraper.extract(text).answers[0].body
    assert "This atrophy is beneficial" in body and "{{" not in body


def test_answers_without_vote_widgets_are_split_at_author_blocks() -> None:
    text = "\n".join(line for line in SEED_TEXT.split("\n") if "voteCount" not in line)
    record = scraper.extract(text)
    assert "no_answer_markers" in _codes(record)
    names = [a.author.name if a.author else None for a in record.answers]
    assert "Harold J. Kaplan, MD" in names and "Barry Resnik, MD" in names
    assert record.answers[0].title == FACTS["answers"][0]["title"]


@pytest.mark.parametrize(
    "text",
    [
        "Just a note to myself.\n\nBuy milk.",
        "def main():\n    return {'a': 1}\n",
        "Doctor Answers",  # no title line before the heading, no count
    ],
)
def test_text_that_is_not_a_qa_page_raises_a_named_error(text: str) -> None:
    with pytest.raises(NotAQAPageError):
        scraper.extract(text)


def test_unknown_site_text_render_still_extracts_with_site_null() -> None:
    text = SEED_TEXT[: SEED_TEXT.index(DISCLAIMER)].replace("Doctor Answers 5", "5 Answers")
    record = scraper.extract(text, url="https://example.org/q/1")
    assert record.site is None and len(record.answers) == 5 and not record.truncated


def test_answer_without_a_headline_gets_title_null() -> None:
    title4 = FACTS["answers"][3]["title"]
    record = scraper.extract(SEED_TEXT.replace(title4 + "\n\n{{", "{{"))
    assert [a.title for a in record.answers][3] is None
    assert record.answers[2].author is not None and record.answers[2].author.name == "Harold J. Kaplan, MD"
    assert record.answers[3].body.startswith("Yes, excatly")


def test_rendered_vote_counts_still_split_answers() -> None:
    counter = iter(range(1, 10))
    text = re.sub(r"\{\{ voteCount.*\}\}", lambda m: f"+{next(counter)}", SEED_TEXT)
    record = scraper.extract(text)
    assert [a.title for a in record.answers] == [a["title"] for a in FACTS["answers"]]


def test_name_line_without_credentials_inside_a_full_block() -> None:
    record = scraper.extract(SEED_TEXT.replace("Harold J. Kaplan, MD", "Harold J. Kaplan"))
    author = record.answers[2].author
    assert author is not None and (author.name, author.location) == ("Harold J. Kaplan", "Los Angeles")
    assert record.answers[2].rating == 4.4


def test_indented_lines_and_trailing_spaces_change_nothing(seed_bytes: bytes) -> None:
    text = "\n".join(f"  {line} \t" for line in SEED_TEXT.split("\n"))
    assert scraper.extract(text).model_dump(exclude={"source"}) == scraper.extract(seed_bytes).model_dump(exclude={"source"})


def test_doctor_quoting_the_disclaimer_inside_an_answer_does_not_end_the_page() -> None:
    quote = "Remember: these answers are for educational purposes and should not be relied upon as a substitute for medical advice."
    text = SEED_TEXT.replace("For him, muscle atrophy was a blessing!", "For him, muscle atrophy was a blessing! " + quote)
    record = scraper.extract(text)
    assert len(record.answers) == 5 and not record.truncated
    assert record.answers[2].body.endswith(quote)
