"""Counts and ratings from page values: absurd values cost the field, never the page."""

from __future__ import annotations

import pytest

from scraper.extract.numbers import MAX_COUNT, count_from_text, to_int, to_rating


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), (-3, -3), (4.0, 4), ("1,234 answers", 1234), ("votes: -7", -7), (True, None), (None, None)],
)
def test_plausible_counts_are_read(value: object, expected: int | None) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), 1e999, 2**70, MAX_COUNT + 1, "7" * 5000, "-" + "9" * 20, "1" + ",000" * 10],
)
def test_absurd_counts_are_none(value: object) -> None:
    assert to_int(value) is None


def test_the_bound_is_inclusive() -> None:
    assert to_int(MAX_COUNT) == MAX_COUNT
    assert count_from_text(str(MAX_COUNT)) == MAX_COUNT
    assert count_from_text(str(MAX_COUNT + 1)) is None
    assert count_from_text("") is None


@pytest.mark.parametrize(("value", "expected"), [(4.9, 4.9), ("5", 5.0), (0, 0.0), ("4.5", 4.5)])
def test_ratings_out_of_five_are_read(value: object, expected: float) -> None:
    assert to_rating(value) == expected


@pytest.mark.parametrize("value", ["NaN", float("nan"), "inf", 1e999, 9, -1, "five", None, True, [4]])
def test_what_is_no_rating_is_none(value: object) -> None:
    assert to_rating(value) is None
