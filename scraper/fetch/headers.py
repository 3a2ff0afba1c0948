"""Numbers in HTTP header values, read so that no value can raise or cost more than its length.

Why one function: ``Content-Length`` and ``Retry-After`` both hold decimal digits, and both meet
hostile values: ``"²"`` passes ``str.isdigit`` but ``int`` refuses it, and ``int`` of 5,000
digits raises (or costs quadratic time below Python's limit).
"""

from __future__ import annotations

import re

__all__ = ["header_digits"]

_ASCII_DIGITS = re.compile(r"[0-9]+")


def header_digits(value: str, max_digits: int) -> int | None:
    """The number ``value`` spells in ASCII digits; ``10**max_digits`` when it has more digits
    (simply "more than any limit"); None when it is not ASCII digits at all."""
    if not _ASCII_DIGITS.fullmatch(value):
        return None
    digits = value.lstrip("0") or "0"
    return 10**max_digits if len(digits) > max_digits else int(digits)
