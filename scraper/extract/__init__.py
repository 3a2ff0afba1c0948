"""Extractors: raw page bytes in, validated :class:`~scraper.models.PageRecord` out."""

from scraper.extract.api import extract, extract_page

__all__ = ["extract", "extract_page"]
