"""Compressed bytes inflated in bounded steps: the one decoder behind every reader of gzip, deflate and brotli.

Why it exists: a body, a sitemap, a WARC member and a file handed to the
extractor all come from the open web, and any of them may be a decompression
bomb (a few kilobytes that inflate to gigabytes).  One-shot ``zlib.decompress``
or ``brotli.decompress`` builds the whole output before anyone can count it;
:class:`Decompressor` gives at most ``step`` bytes per call and refuses to go
past ``limit``, so memory stays near the caller's limit whatever the ratio.

What real servers and archives send is handled here once, not in each reader:

* gzip members one after another are one stream (``members=True``), read
  even when the next member's first bytes come in a later :meth:`feed`;
* bytes after the end that are not another member are kept in
  :attr:`Decompressor.unused_data` and otherwise ignored;
* "deflate" is meant to be zlib-wrapped but is often sent raw: when the
  zlib reading fails before any output, the same bytes are read again as raw
  deflate;
* brotli needs the optional ``brotli`` package (1.2 or later, the first that
  can bound its output); without it the decoder says so by name.

zstd is not offered: no reader here accepts it yet, so a decoder for it would
be code no caller runs.

This module imports only :mod:`scraper.errors`, so the extractor may use it
without pulling in the fetchers.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import Protocol

from scraper.errors import DecompressedTooLargeError, DecompressionError

__all__ = ["CODINGS", "DEFAULT_STEP", "GZIP_MAGIC", "Decompressor", "decompress", "is_gzip"]

CODINGS = frozenset({"gzip", "x-gzip", "deflate", "br"})
"""The content codings a :class:`Decompressor` reads (Content-Encoding names, lower case)."""
GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_STEP = 256 * 1024
"""Most bytes one step gives (brotli may overshoot it by up to one of its 32 KiB buffers)."""

_GZIP_WBITS = zlib.MAX_WBITS | 16
_RAW_WBITS = -zlib.MAX_WBITS
_FALLBACK_WINDOW = 64 * 1024
"""Most input kept for a raw-deflate second reading: raw deflate read as zlib fails at once (the header)."""


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` starts as gzip does (readers use it to spot gzip sent without saying so)."""
    return data[:2] == GZIP_MAGIC


class _Engine(Protocol):
    """One library's decoder, driven a step at a time by :class:`Decompressor`."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def run(self, data: bytes, max_length: int) -> bytes: ...


class _Zlib:
    """gzip (member after member, when asked) or deflate (zlib-wrapped, else raw)."""

    def __init__(self, *, gzip: bool, members: bool) -> None:
        self._gzip = gzip
        self._members = members
        self._z = zlib.decompressobj(_GZIP_WBITS if gzip else zlib.MAX_WBITS)
        self._pending = b""
        self._unused = b""
        self._full = False
        self._held: bytes | None = None if gzip else b""
        """deflate: the input fed while no output has come, for a raw reading; None once none can be needed."""

    @property
    def eof(self) -> bool:
        return self._z.eof

    @property
    def needs_input(self) -> bool:
        # A step that filled its quota may have left output inside zlib with no input pending.
        return not self._pending and not self._full

    @property
    def unused_data(self) -> bytes:
        return self._unused

    def run(self, data: bytes, max_length: int) -> bytes:
        self._hold(data)
        if self._z.eof:
            if len(self._unused) < len(GZIP_MAGIC):  # enough to tell whether another member starts; junk is not kept
                self._unused += data
            if not self._next_member():
                return b""
        else:
            self._pending += data
        try:
            out = self._z.decompress(self._pending, max_length)
        except zlib.error as exc:
            out = self._read_raw(exc, max_length)
        self._pending = self._z.unconsumed_tail
        self._full = len(out) >= max_length
        if out:
            self._held = None
        if self._z.eof:
            self._unused = self._z.unused_data
            self._next_member()
        return out

    def _hold(self, data: bytes) -> None:
        if self._held is not None:
            self._held = self._held + data if len(self._held) < _FALLBACK_WINDOW else None

    def _read_raw(self, exc: zlib.error, max_length: int) -> bytes:
        """The held input read again as raw deflate, when no output has come yet; else the error stands."""
        if self._held is None:
            raise DecompressionError(str(exc)) from exc
        self._z = zlib.decompressobj(_RAW_WBITS)
        self._pending, self._held = self._held, None
        try:
            return self._z.decompress(self._pending, max_length)
        except zlib.error as raw_exc:
            raise DecompressionError(str(raw_exc)) from raw_exc

    def _next_member(self) -> bool:
        """Start on the next gzip member when the bytes after the end are one (True), else leave them."""
        if not (self._gzip and self._members and self._unused[:2] == GZIP_MAGIC):
            return False
        self._z = zlib.decompressobj(_GZIP_WBITS)
        self._pending, self._unused, self._full = self._unused, b"", False
        return True


def _brotli_module() -> ModuleType:
    """The optional brotli package, if it is there and new enough to stop at an output limit."""
    try:
        module = importlib.import_module("brotli")
    except ImportError:
        raise DecompressionError("brotli-encoded data, and the brotli package is not installed (pip install brotli)") from None
    if not hasattr(module.Decompressor, "can_accept_more_data"):
        raise DecompressionError("brotli-encoded data, and the brotli package installed is too old to bound its output (1.2 or later is needed)")
    return module


class _Brotli:
    """brotli through the optional package; bytes after the end are an error there, as in ``brotli.decompress``."""

    def __init__(self) -> None:
        module = _brotli_module()
        self._d = module.Decompressor()
        self._error: type[Exception] = module.error
        self._pending = b""

    @property
    def eof(self) -> bool:
        return bool(self._d.is_finished())

    @property
    def needs_input(self) -> bool:
        return not self._pending and bool(self._d.can_accept_more_data())

    @property
    def unused_data(self) -> bytes:
        return b""

    def run(self, data: bytes, max_length: int) -> bytes:
        self._pending += data
        take = b""
        if self._d.can_accept_more_data():  # until it can, brotli must be called with no input
            take, self._pending = self._pending, b""
        try:
            out: bytes = self._d.process(take, output_buffer_limit=max_length)
        except self._error as exc:
            raise DecompressionError(str(exc)) from exc
        return out


class Decompressor:
    """One compressed stream, inflated a bounded step at a time.

    ``coding`` is a Content-Encoding name (see :data:`CODINGS`).  ``limit``:
    the most output allowed in all; one byte more raises
    :class:`~scraper.errors.DecompressedTooLargeError`, and no step makes more
    than ``step`` bytes, so a bomb is stopped having made about ``limit``
    bytes.  ``members``: gzip members after the first are read as part of the
    stream (False: the stream ends with the first, as a WARC member does).
    Corrupt input raises :class:`~scraper.errors.DecompressionError` whose
    message is the library's reason; input that just stops is not an error
    here (see :attr:`cut_short`), since readers differ on what it means.
    """

    def __init__(self, coding: str = "gzip", *, limit: int | None = None, step: int = DEFAULT_STEP, members: bool = True) -> None:
        self.coding = coding.strip().lower()
        if self.coding not in CODINGS:
            raise DecompressionError(f"unsupported content-encoding {coding!r}")
        self.limit = limit
        self.step = step
        self.total = 0
        """Bytes of output given so far."""
        self._fed = False
        self._engine: _Engine = _Brotli() if self.coding == "br" else _Zlib(gzip=self.coding != "deflate", members=members)

    @property
    def eof(self) -> bool:
        """The compressed stream has ended (for gzip with members: as far as the input fed shows)."""
        return self._engine.eof

    @property
    def needs_input(self) -> bool:
        """Nothing more comes out until more input goes in."""
        return self._engine.needs_input

    @property
    def unused_data(self) -> bytes:
        """Bytes after the end of the stream in the input that reached the end (never decompressed).

        Input fed later is looked at only for the start of another gzip member, so junk sent
        after a body cannot grow memory.
        """
        return self._engine.unused_data

    @property
    def cut_short(self) -> bool:
        """Input came but the stream has not ended: so far, it is truncated."""
        return self._fed and not self.eof

    def decompress(self, data: bytes = b"") -> bytes:
        """Take ``data`` in and give the next at most ``step`` bytes of output (b"" when more input is needed)."""
        self._fed = self._fed or bool(data)
        quota = self.step if self.limit is None else min(self.step, self.limit + 1 - self.total)
        out = self._engine.run(data, quota)
        self.total += len(out)
        if self.limit is not None and self.total > self.limit:
            raise DecompressedTooLargeError(f"{self.coding} data expands past {self.limit} bytes")
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The output ``data`` brings, a step at a time, until more input is needed or the stream ends.

        Lazy, so a caller that stops iterating (its own limit reached) inflates no further.
        """
        piece = self.decompress(data)
        while True:
            if piece:
                yield piece
            if self.eof or self.needs_input:
                return
            piece = self.decompress()


def decompress(data: bytes, coding: str = "gzip", *, limit: int, truncated_ok: bool = False) -> bytes:
    """All of ``data`` decompressed, refused past ``limit`` bytes.

    ``truncated_ok``: a stream that stops before its end gives what it holds
    (an archived body cut by its crawler is still worth reading); otherwise
    that is a :class:`~scraper.errors.DecompressionError`.
    """
    decoder = Decompressor(coding, limit=limit)
    out = bytearray()
    for piece in decoder.feed(data):
        out += piece
    if decoder.cut_short and not truncated_ok:
        raise DecompressionError(f"{decoder.coding} data ends before its compressed stream does")
    return bytes(out)
