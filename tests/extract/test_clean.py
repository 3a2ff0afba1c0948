"""Template junk and page chrome are dropped wherever they stand; prose is kept."""

from __future__ import annotations

import pytest

from scraper.extract.clean import clean_line, looks_like_code, normalize_whitespace, strip_template_junk

SEED_VOTE_WIDGET = "{{ voteCount >= 0 ? '+' + (voteCount + 1) : (voteCount + 1) }}"


@pytest.mark.parametrize(
    "junk",
    [
        SEED_VOTE_WIDGET,
        "{{answer.helpfulCount}}",
        "{{{ raw_html }}}",
        "{% if answer.photos %}",
        "{# a Jinja comment #}",
        "<%= doctor.name %>",
        "${doctor.rating}",
        "[[ vote.total ]]",
        "<< answerDate >>",
        "{{#if featured}}",
        "voteCount >= 0 ? '+' + (voteCount + 1) : (voteCount + 1)",  # the expression without its braces
        "{{ voteCount >= 0 ?",  # cut off at the end of the line
    ],
)
def test_a_line_of_template_junk_cleans_to_nothing(junk: str) -> None:
    assert clean_line(junk) == ""


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Hi Michelle. {{ greeting }} Yes, Botox works.", "Hi Michelle. Yes, Botox works."),
        ("Results vary ${note} by patient.", "Results vary by patient."),
        ("Wait [[ weeks ]] two weeks.", "Wait two weeks."),
        ("Filler {% if x %}lasts{% endif %} a year.", "Filler lasts a year."),
    ],
)
def test_inline_junk_is_removed_and_spaces_closed(line: str, expected: str) -> None:
    assert clean_line(line) == expected


@pytest.mark.parametrize(
    "prose",
    [
        "Results last {roughly} 3-4 months.",
        "If your BMI is >= 30, losing weight first is wise.",
        "Use a ratio of 1:2 (filler:saline) for the temples.",
        "A score < 5 and a dose > 20 units are both unusual.",
        "I would like to see more photos before deciding.",
        "The cost is $500 {per area} in most offices.",
        "Mix a little [not much] toner in.",
    ],
)
def test_real_sentences_with_braces_or_comparisons_are_kept(prose: str) -> None:
    assert clean_line(prose) == prose
    assert not looks_like_code(prose)


@pytest.mark.parametrize(
    "chrome",
    ["Helpful", "Share", "Read more", "+1", "12 people found this helpful", "Was this answer helpful?", "Report this answer"],
)
def test_widget_leftovers_are_chrome(chrome: str) -> None:
    assert clean_line(chrome) == ""


def test_read_more_toggle_after_a_paragraph_is_dropped() -> None:
    assert clean_line("The swelling settles in a week... Read more") == "The swelling settles in a week..."


def test_non_breaking_and_unicode_spaces_collapse() -> None:
    assert normalize_whitespace("Hi Michelle.\u00a0 Yes,\u2009Botox\u200b works.\t ") == "Hi Michelle. Yes, Botox works."


def test_cleaning_is_idempotent() -> None:
    for line in [f"Hi {SEED_VOTE_WIDGET} there.\u00a0 Yes", "Results last {roughly} 3-4 months.", "a <b and c> d"]:
        once = clean_line(line)
        assert clean_line(once) == once


def test_junk_spanning_a_paragraph_break_is_not_swallowed() -> None:
    text = "First {{ paragraph.\n\nSecond paragraph }} end."
    assert "Second paragraph" in strip_template_junk(text)
