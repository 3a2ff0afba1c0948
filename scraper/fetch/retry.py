"""When to try a request again, and how long to wait first.

Why this is its own module: retry policy is politeness policy.  A server that
answers 503 or 429 is telling us to slow down; retrying at once makes things
worse for it and for us.  So waits grow exponentially with *full jitter* (a
random wait between 0 and the exponential cap, so many crawlers that failed
together do not come back together), and a server's own ``Retry-After`` wins
whenever it asks for more.  The fetcher applies the wait by pushing the host's
"not before" time in the throttle, so every request to that host waits, not
only the retried one.
"""

from __future__ import annotations

import random
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

from scraper.fetch.headers import header_digits
from scraper.settings import Settings

__all__ = ["RETRY_AFTER_HUGE", "RETRY_AFTER_MAX_DIGITS", "backoff_delay", "is_retryable_status", "parse_http_date", "parse_retry_after"]

# 2**60 seconds is far beyond any cap; it keeps the power from overflowing a float.
_MAX_EXPONENT = 60

RETRY_AFTER_MAX_DIGITS = 10
"""Longest delta-seconds value read as a number (10 digits is over 300 years)."""
RETRY_AFTER_HUGE = float(10**RETRY_AFTER_MAX_DIGITS)
"""What a longer delta-seconds value means: more than any RETRY_AFTER_MAX, so the caller's cap applies
(the URL fails as ``rate_limited`` instead of waiting)."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None when unusable.

    ``now`` is the current time as a Unix timestamp (pass the response's
    ``Date`` so the server's clock is compared with itself); a date in the
    past means 0.  Never raises: only ASCII digits count as delta-seconds
    (``str.isdigit`` also accepts ``"²"``, which ``int`` refuses), and a value
    of more than RETRY_AFTER_MAX_DIGITS digits is RETRY_AFTER_HUGE rather than
    an int of thousands of digits; anything else that is not an HTTP-date is None.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    seconds = header_digits(text, RETRY_AFTER_MAX_DIGITS)  # more digits: RETRY_AFTER_HUGE
    if seconds is not None:
        return float(seconds)
    moment = parse_http_date(text)
    if moment is None:
        return None
    reference = time.time() if now is None else now
    return max(0.0, moment - reference)


def parse_http_date(value: str | None) -> float | None:
    """An HTTP-date (RFC 9110: IMF-fixdate, RFC 850 or asctime) as a Unix timestamp; None when invalid."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):  # an invalid date raises (Python 3.10+)
        return None
    try:
        if moment.tzinfo is None:  # HTTP dates are always GMT
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def backoff_delay(attempt: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Wait before retry number ``attempt`` (1 = first retry): uniform in [0, min(max, base * 2**(attempt-1))]."""
    exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
    cap = min(settings.RETRY_BACKOFF_MAX, settings.RETRY_BACKOFF_BASE * (2.0**exponent))
    return (rng or random).uniform(0.0, cap)


def is_retryable_status(status: int, settings: Settings) -> bool:
    """True when a response with this status is worth another try (RETRY_HTTP_CODES)."""
    return settings.RETRY_ENABLED and status in settings.RETRY_HTTP_CODES
