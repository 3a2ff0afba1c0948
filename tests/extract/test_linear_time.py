"""Every cleaning and junk rule is linear: pages of nothing but template openers (issue 11).

A rule that retries a bounded or unbounded lazy body at every opener is quadratic: a text page
of 64 KB of ``{{`` took 27.8 s and 1 MB never finished.  These tests compare the cost per byte
of the same input at two sizes 16x apart, on this machine, in this run: linear rules cost about
16x more for the larger one, quadratic ones about 256x.  The bound (64x) leaves a 4x margin for
noise and never depends on how fast the machine is.

The inputs are made: the bundled RealSelf text render and a JSON-LD QAPage (modelled on the
real Stack Exchange pages in samples/) with the openers inserted into the question.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import scraper
from benchmarks.hostile_inputs import OPENERS, html_page, junk, text_page
from scraper.errors import ExtractionError
from scraper.extract.clean import strip_template_junk
from scraper.models import Question

LINEAR_RATIO_BOUND = 64


def _best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def _growth(make: Callable[[int], Callable[[], object]], small: int, large: int) -> float:
    return _best_of(2, make(large)) / max(_best_of(3, make(small)), 1e-6)


def _extract(build: Callable[[str], bytes], opener: str) -> Callable[[int], Callable[[], object]]:
    def make(size: int) -> Callable[[], object]:
        page = build(junk(opener, size))

        def work() -> object:
            try:
                return scraper.extract(page, url="https://example.com/q/1")
            except ExtractionError as exc:
                return exc

        return work

    return make


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("build", [text_page, html_page], ids=["text", "html"])
def test_extraction_time_per_byte_stays_flat(opener: str, build: Callable[[str], bytes]) -> None:
    growth = _growth(_extract(build, opener), 64 * 1024, 1024 * 1024)
    assert growth < LINEAR_RATIO_BOUND, f"16x the input took {growth:.0f}x the time"


@pytest.mark.parametrize("opener", OPENERS)
def test_cleaning_and_the_models_guard_are_linear_up_to_4_mb(opener: str) -> None:
    def clean(size: int) -> Callable[[], object]:
        text = junk(opener, size)
        return lambda: strip_template_junk(text)

    def guard(size: int) -> Callable[[], object]:
        text = junk(opener, size) + "?"

        def work() -> object:
            try:
                return Question(title="How long does Botox last?", body=text)
            except ValueError as exc:
                return exc

        return work

    for make in (clean, guard):
        growth = _growth(make, 256 * 1024, 4 * 1024 * 1024)
        assert growth < LINEAR_RATIO_BOUND, f"{make.__name__}: 16x the input took {growth:.0f}x the time"


def test_junk_is_still_removed_from_a_huge_page() -> None:
    text = "before {{ voteCount }} " + "{{" * 100_000 + " after ${ x } end"
    cleaned = strip_template_junk(text)
    assert "voteCount" not in cleaned and "${" not in cleaned
    assert cleaned.startswith("before ") and cleaned.endswith(" end")
