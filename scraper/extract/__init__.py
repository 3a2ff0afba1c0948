"""Extractors: raw page bytes in, validated :class:`~scraper.models.PageRecord` out.

The toolkit modules here (parsing, cleaning, the strategies, :mod:`~scraper.extract.profile`)
are what site adapters build on; :mod:`scraper.extract.api` is the entry point that
brings toolkit and adapters together.  ``extract`` and ``extract_page`` are loaded on
first use, so importing a toolkit module from an adapter never imports the adapters back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scraper.extract.api import extract, extract_page

__all__ = ["extract", "extract_page"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from scraper.extract import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
