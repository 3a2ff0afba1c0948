"""Retry policy: Retry-After in both forms, capped exponential backoff with full jitter."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from scraper.fetch.retry import backoff_delay, is_retryable_status, parse_http_date, parse_retry_after
from scraper.settings import Settings


def test_retry_after_delta_seconds() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0


def test_retry_after_http_date_is_measured_from_now() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now) == 0.0


def test_retry_after_accepts_the_three_http_date_forms() -> None:
    expected = 784111777.0
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == expected
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == expected
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == expected


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Sun, 99 Nov 1994 08:49:37 GMT"])
def test_retry_after_unusable_values(value: str | None) -> None:
    assert parse_retry_after(value, 0.0) is None


def test_backoff_is_full_jitter_under_a_doubling_cap() -> None:
    settings = Settings(RETRY_BACKOFF_BASE=1.0, RETRY_BACKOFF_MAX=10.0)
    rng = random.Random(7)
    for attempt, cap in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (500, 10.0)):
        delays = [backoff_delay(attempt, settings, rng) for _ in range(200)]
        assert all(0.0 <= delay <= cap for delay in delays)
        assert max(delays) > cap * 0.8  # the jitter really spans the range


def test_backoff_zero_base_means_no_wait() -> None:
    assert backoff_delay(3, Settings(RETRY_BACKOFF_BASE=0.0), random.Random(1)) == 0.0


def test_retryable_statuses_follow_the_settings() -> None:
    settings = Settings()
    assert is_retryable_status(503, settings) and is_retryable_status(429, settings)
    assert not is_retryable_status(404, settings) and not is_retryable_status(200, settings)
    assert not is_retryable_status(503, Settings(RETRY_ENABLED=False))
    assert is_retryable_status(418, Settings(RETRY_HTTP_CODES=(418,)))
