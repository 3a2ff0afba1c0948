"""The public API is what ``scraper.__all__`` lists, sorted, and all of it importable."""

from __future__ import annotations

import scraper


def test_all_is_sorted_and_complete() -> None:
    assert list(scraper.__all__) == sorted(scraper.__all__)
    for name in scraper.__all__:
        assert hasattr(scraper, name), name


def test_errors_form_one_tree() -> None:
    for error in (scraper.EmptyInputError, scraper.BinaryInputError, scraper.NotAQAPageError):
        assert issubclass(error, scraper.ExtractionError)
    assert issubclass(scraper.ExtractionError, scraper.ScraperError)
    assert issubclass(scraper.InputError, scraper.ScraperError)
