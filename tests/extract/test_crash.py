"""A bug in the extractor costs the page it met, as a named ExtractionError (issue 11)."""

from __future__ import annotations

import pytest

import scraper
from scraper.errors import ExtractionError, ExtractorCrashError
from scraper.extract import api


def test_an_unforeseen_exception_becomes_an_extractor_crash_error(monkeypatch: pytest.MonkeyPatch, seed_bytes: bytes) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug nobody found yet")

    monkeypatch.setattr(api, "extract_text_render", explode)
    with pytest.raises(ExtractorCrashError, match="KeyError") as caught:
        scraper.extract(seed_bytes)
    assert isinstance(caught.value, ExtractionError)
    assert isinstance(caught.value.__cause__, KeyError)


def test_extraction_errors_keep_their_own_class(seed_bytes: bytes) -> None:
    with pytest.raises(ExtractionError) as caught:
        scraper.extract(b"   \n ")
    assert not isinstance(caught.value, ExtractorCrashError)
