"""The size limits on decompressed bytes, in one place so every reader and setting quotes the same number.

Why a module of its own: settings, fetchers and the extractor each need one of
these, and each used to spell out its own literal (20 MiB in two places,
64 MiB and 50 MiB in others), so a change to one was easily missed in the
others.  This module imports nothing, so any layer may import it.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DOWNLOAD_MAXSIZE", "DEFAULT_SITEMAP_MAXSIZE", "MAX_EXTRACT_INPUT_SIZE", "MIB", "format_size"]

MIB = 1024 * 1024

DEFAULT_DOWNLOAD_MAXSIZE = 20 * MIB
"""DOWNLOAD_MAXSIZE's default: the largest body a fetch (or a WARC record) gives, after decompression."""

DEFAULT_SITEMAP_MAXSIZE = 50 * MIB
"""SITEMAP_MAXSIZE's default: the sitemap protocol's own limit for an uncompressed sitemap."""

MAX_EXTRACT_INPUT_SIZE = 64 * MIB
"""The most a page handed straight to the extractor (a local file, gzip or not) may be or expand to.

Larger than DEFAULT_DOWNLOAD_MAXSIZE because such a page was not bounded by a
fetch: it is what a user chose to read.  Kept as it was; whether the two should
be one number is an open question.
"""


def format_size(size: int) -> str:
    """A byte count as people read one: ``64 MiB``, ``1.5 MiB``, ``512 KiB``, ``300 bytes``.

    Binary units, as the settings are given (``64 * MIB``); four significant digits at
    most, so ``EXTRACT_MAXSIZE=10000000`` reads ``9.537 MiB``, never a rounding that
    hides which side of the limit a file is.
    """
    for unit, factor in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size} byte{'s' * (size != 1)}"
