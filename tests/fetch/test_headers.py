"""Numbers in header values: what Content-Length and Retry-After are read with."""

from __future__ import annotations

import pytest

from scraper.fetch.headers import header_digits


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("120", 120), ("0009", 9), ("9" * 10, 9_999_999_999)])
def test_ascii_digits_are_read(value: str, expected: int) -> None:
    assert header_digits(value, 10) == expected


@pytest.mark.parametrize("value", ["9" * 11, "7" * 5000, "1" + "0" * 10])
def test_more_digits_than_allowed_is_more_than_any_limit(value: str) -> None:
    assert header_digits(value, 10) == 10**10


@pytest.mark.parametrize("value", ["", "²", "١٢", "12a", "-1", "+5", " 5", "1.5", "0x10"])
def test_anything_but_ascii_digits_is_none(value: str) -> None:
    assert header_digits(value, 10) is None
