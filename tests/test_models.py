"""The record refuses what cannot be true, so a validated record is safe to load as is."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scraper.models import Answer, Author, ExtractorInfo, PageRecord, Question, Source

SHA = "0" * 64


def _source() -> Source:
    return Source(kind="file", path="page.txt", sha256=SHA, extractor=ExtractorInfo(name="text-render", version="1"))


def _record(**answer_fields: object) -> PageRecord:
    answer = {"position": 1, "body": "Botox relaxes the muscle.", **answer_fields}
    return PageRecord(source=_source(), question=Question(title="Is Botox safe?"), answers=[Answer(**answer)])


def test_a_plain_record_validates_with_nulls_for_unknowns() -> None:
    record = _record()
    dumped = record.model_dump()
    assert dumped["answers"][0]["rating"] is None
    assert dumped["answers"][0]["author"] is None
    assert dumped["answer_count"] is None
    assert dumped["schema_version"] == "1.0"


@pytest.mark.parametrize("rating", [-0.1, 5.01, 7])
def test_rating_outside_zero_to_five_is_rejected(rating: float) -> None:
    with pytest.raises(ValidationError, match="rating"):
        _record(rating=rating)


def test_negative_review_count_is_rejected() -> None:
    with pytest.raises(ValidationError, match="review_count"):
        _record(review_count=-1)


def test_negative_stated_answer_count_is_rejected() -> None:
    with pytest.raises(ValidationError, match="answer_count"):
        PageRecord(source=_source(), question=Question(title="Q?"), answer_count=-2)


def test_empty_body_is_rejected() -> None:
    with pytest.raises(ValidationError, match="body"):
        _record(body="")


def test_empty_string_never_stands_for_unknown() -> None:
    with pytest.raises(ValidationError, match="location"):
        Author(location="")


@pytest.mark.parametrize("title", ["{{ question.title }}", "Botox {% if x %}", "${title}"])
def test_title_that_is_still_template_junk_is_rejected(title: str) -> None:
    with pytest.raises(ValidationError, match="template junk"):
        Question(title=title)


def test_title_with_a_lone_brace_is_fine() -> None:
    assert Question(title="Is {this} normal after filler?").title == "Is {this} normal after filler?"


def test_answer_positions_must_run_one_to_n() -> None:
    with pytest.raises(ValidationError, match="positions"):
        PageRecord(
            source=_source(),
            question=Question(title="Q?"),
            answers=[Answer(position=2, body="text")],
        )


def test_unknown_keys_are_an_error_not_silently_dropped() -> None:
    with pytest.raises(ValidationError, match="raiting"):
        Answer(position=1, body="text", raiting=4.5)  # type: ignore[call-arg]


def test_sha256_must_be_hex_digest() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        Source(kind="file", sha256="abc", extractor=ExtractorInfo(name="x", version="1"))


def test_net_votes_may_be_negative() -> None:
    assert _record(votes=-3).answers[0].votes == -3
