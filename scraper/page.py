"""A raw page as a fetcher hands it over: bytes plus where they came from.

This is the only input extractors take, so files, stdin, HTTP and web archives
all meet the extractors in the same shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

__all__ = ["RawPage", "SourceKind"]

SourceKind = Literal["file", "stdin", "http", "warc", "memory"]


@dataclass(frozen=True)
class RawPage:
    body: bytes
    kind: SourceKind = "memory"
    url: str | None = None
    path: str | None = None
    """The input path exactly as the user gave it."""
    fetched_at: str | None = None
    """ISO 8601 UTC time the bytes were fetched, when known."""
    encoding: str | None = None
    """The encoding the transport declared (HTTP charset), when any."""
    headers: dict[str, str] = field(default_factory=dict)
    truncated: bool = False
    """The source knows the bytes are cut off (an archive record that ends early): the record says so
    even when the cut happens to fall where the page still looks whole."""

    @cached_property
    def sha256(self) -> str:
        """The sha256 of the bytes as they arrived (for a page decompressed here, of the compressed bytes)."""
        return hashlib.sha256(self.body).hexdigest()

    def with_body(self, body: bytes) -> RawPage:
        """The same page with its body decoded (decompressed); ``sha256`` still names the raw bytes.

        Why not ``RawPage(**page.__dict__)``: that dict also holds cached properties,
        which are not fields, and the record promises the hash of what was fetched.
        """
        return replace(self, body=body).with_sha256(self.sha256)

    def with_sha256(self, digest: str) -> RawPage:
        """This page, its ``sha256`` set to ``digest`` (already worked out by whoever got the bytes),
        so it is not hashed again: what ``cached_property`` would have stored."""
        self.__dict__["sha256"] = digest
        return self
