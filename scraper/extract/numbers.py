"""Counts and ratings read from page values, bounded so that one absurd value costs a field.

Why a module of its own: structured data, app state, text renders and author blocks all turn
strings like ``"1,234"`` or ``4.9`` into numbers, and every one of them meets hostile values
(``NaN``, ``1e999``, 5,000 digits, a rating of 9 out of 5).  Python raises on some of those
(``int`` of more than 4,300 digits, ``int(float("nan"))``) and pydantic refuses others, which
would cost the whole page; here they are None.
"""

from __future__ import annotations

import math
import re
from typing import Any

from lxml.html import HtmlElement

__all__ = ["MAX_COUNT", "count_from_text", "to_int", "to_rating"]

_INT = re.compile(r"-?\d[\d,]*")

MAX_COUNT = 10**12
"""Largest count (votes, answers, reviews) believed; no page shows more, and a larger one is junk or an
attack (``1e999``, 5,000 digits) that would also overflow SQLite's 64-bit integers."""
_MAX_COUNT_DIGITS = len(str(MAX_COUNT))


def to_int(value: Any) -> int | None:
    """A count from a structured-data value; None for anything that is not a plausible count.

    NaN, infinities and numbers past MAX_COUNT are None rather than an exception: one odd
    value must cost that field, not the page.
    """
    if isinstance(value, HtmlElement):
        value = value.get("data-value") or value.get("content") or value.text_content()
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and abs(value) <= MAX_COUNT else None
    if isinstance(value, int):
        return value if abs(value) <= MAX_COUNT else None
    found = _INT.search(str(value))
    return count_from_text(found.group(0)) if found else None


def count_from_text(digits: str) -> int | None:
    """``"1,234"`` -> 1234; None past MAX_COUNT (checked on the length first: no 5,000-digit int)."""
    digits = digits.replace(",", "").strip()
    if not digits or len(digits.lstrip("-")) > _MAX_COUNT_DIGITS:
        return None
    try:
        number = int(digits)
    except ValueError:
        return None
    return number if abs(number) <= MAX_COUNT else None


def to_rating(value: Any) -> float | None:
    """A star rating out of 5, or None when the value is no such thing (NaN, text, 1e999, 7)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        rating = float(value)
    except (TypeError, ValueError):
        return None
    return rating if math.isfinite(rating) and 0 <= rating <= 5 else None
