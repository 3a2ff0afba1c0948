"""Dates as pages print them ("20 May 2013", "May 20, 2013", "2013-05-20"), read to ISO 8601.

Only unambiguous forms are read: a month name or a year-first ISO date.
"03/04/2013" is refused rather than guessed.
"""

from __future__ import annotations

import re

__all__ = ["parse_date"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
# A time of day may follow ("May 01, 2024, 06:48:10 PM": SMF; "2 May 2024 at 10:15"): the date is read.
_TIME = r"(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?)?"
_FORMS = (
    re.compile(r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})" + _TIME),
    re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME),
    re.compile(r"(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})" + _TIME),
)
_PREFIX = re.compile(r"^(?:(?:posted|asked|answered|updated|published|written|reviewed)(?:\s+on)?|on)\s+", re.I)


def parse_date(text: str) -> str | None:
    """``YYYY-MM-DD`` when the whole of ``text`` is one date (optionally "Posted on ..."), else None."""
    text = _PREFIX.sub("", text.strip())
    if not 8 <= len(text) <= 40:
        return None
    for form in _FORMS:
        found = form.fullmatch(text)
        if not found:
            continue
        parts = found.groupdict()
        month = int(parts["mnum"]) if parts.get("mnum") else _MONTHS.get(parts["month"].lower())
        day, year = int(parts["day"]), int(parts["year"])
        if month and 1 <= month <= 12 and 1 <= day <= 31 and 1990 <= year <= 2100:
            return f"{year:04d}-{month:02d}-{day:02d}"
    return None
