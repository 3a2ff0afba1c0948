"""Keep fetched responses as WARC, so records can be rebuilt later without fetching again.

Each record is written as its own gzip member in a single ``write`` call, the
way Common Crawl ships WARC files.  A run killed mid-write therefore leaves at
most one half-written member at the end of the file; the next
:class:`WarcWriter` on that file finds the end of the last complete member and
cuts the file there before appending.  Everything written is readable by
:func:`scraper.formats.warc.iter_archive`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from scraper._version import __version__
from scraper.errors import DecompressionError, WarcWriterError
from scraper.fetch.decompress import Decompressor, is_gzip
from scraper.fetch.result import FetchResult, utc_now
from scraper.formats.warc import _iso_utc

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]  # None marks a platform without fcntl; mypy types the name as the module only

__all__ = ["SOFTWARE", "WarcWriter", "WarcWriterError", "complete_length"]

SOFTWARE = f"qa-scraper/{__version__}"

_GZIP_MAGIC = b"\x1f\x8b\x08"
_CHUNK = 256 * 1024
# Headers that described the bytes on the wire; the body we hold is already decoded, so the
# record keeps them under Common Crawl's X-Crawler- names and states the real length.
_WIRE_HEADERS = ("content-encoding", "transfer-encoding", "content-length")



def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _one_line(value: str) -> str:
    """A header value on one line (no header injection through a stored value)."""
    return " ".join(str(value).split())


def _record(warc_type: str, fields: list[tuple[str, str]], content_type: str, block: bytes) -> bytes:
    head = [
        "WARC/1.0",
        f"WARC-Type: {warc_type}",
        f"WARC-Record-ID: <urn:uuid:{uuid.uuid4()}>",
        *(f"{name}: {_one_line(value)}" for name, value in fields),
        f"Content-Type: {content_type}",
        f"Content-Length: {len(block)}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + block + b"\r\n\r\n"


def _http_block(result: FetchResult, status: int) -> tuple[bytes, bytes]:
    """The HTTP response (status line, headers, body) as a WARC block, and its payload."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in result.headers.items():
        key = name.strip().lower()
        if not key or any(c in key for c in " \t\r\n:"):
            continue
        if key in _WIRE_HEADERS:
            key = f"x-crawler-{key}"
        lines.append(f"{key}: {_one_line(value)}")
    lines.append(f"content-length: {len(result.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + result.body, result.body


def _gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _member_end(fh: BinaryIO, pos: int) -> int | None:
    """Where the gzip member starting at ``pos`` ends, when it is complete and holds a WARC record."""
    decoder = Decompressor("gzip", step=_CHUNK, members=False)
    fed = pos
    head = b""
    while True:
        data = b""
        if decoder.needs_input:
            fh.seek(fed)
            data = fh.read(_CHUNK)
            if not data:
                return None  # the file ends inside this member
            fed += len(data)
        try:
            out = decoder.decompress(data)
        except DecompressionError:
            return None
        if len(head) < 5:
            head += out[: 5 - len(head)]
            if len(head) >= 5 and head != b"WARC/":
                return None
        if decoder.eof:
            end = fed - len(decoder.unused_data)
            return end if head == b"WARC/" else None


def _starts_as_warc(fh: BinaryIO) -> bool:
    """The file's first gzip member begins with a WARC version line (or is cut before it shows one)."""
    fh.seek(0)
    first = fh.read(_CHUNK)
    if not is_gzip(first):
        return False
    try:
        out = Decompressor("gzip", step=64).decompress(first)
    except DecompressionError:
        return False
    return b"WARC/".startswith(out[:5]) if len(out) < 5 else out.startswith(b"WARC/")


def _complete_members_backwards(fh: BinaryIO, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each complete WARC gzip member, the last in the file first."""
    top = size
    while top > 0:
        low = max(0, top - _CHUNK)
        fh.seek(low)
        window = fh.read(top - low + len(_GZIP_MAGIC) - 1)
        at = window.rfind(_GZIP_MAGIC)
        while at >= 0:
            if low + at < top:
                end = _member_end(fh, low + at)
                if end is not None:
                    yield low + at, end
            at = window.rfind(_GZIP_MAGIC, 0, at)
        top = low


def complete_length(fh: BinaryIO) -> int:
    """The length of the file's longest prefix that ends with a complete gzip WARC member.

    Searched from the end, so reopening a large file costs about one record's
    decompression, not the whole file's.  A member found inside another one
    (a small .warc.gz stored verbatim in an incompressible body) is not taken
    for the last record: real members never overlap.
    """
    size = fh.seek(0, os.SEEK_END)
    last: tuple[int, int] | None = None
    for start, end in _complete_members_backwards(fh, size):
        if last is None or end > last[0]:  # the first found, or one that encloses it
            last = (start, end)
            if end == size:
                return size
            continue
        break  # a complete member that ends before the last one starts: the last one is real
    return last[1] if last is not None else 0


class WarcWriter:
    """Appends fetched responses to a gzip WARC file, one gzip member per record.

    A new (or empty) file starts with a ``warcinfo`` record.  An existing file
    is checked first: a half-written record at its end (a crash) is cut off,
    and :attr:`repaired_bytes` says how many bytes went.  Only one writer may
    hold a file at a time.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.records_written = 0
        self.repaired_bytes = 0
        try:
            self._fh = open(self.path, "a+b")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise WarcWriterError(f"cannot open {self.path} for --warc-out ({exc.strerror or exc}); "
                                  "create its directory or choose another path") from None
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise WarcWriterError(f"{self.path} is already open in another WarcWriter (this process or another)") from None
            self._prepare()
        except BaseException:
            self._fh.close()
            raise

    def _prepare(self) -> None:
        size = self._fh.seek(0, os.SEEK_END)
        if size:
            if not _starts_as_warc(self._fh):
                raise WarcWriterError(f"{self.path} is not a gzip-compressed WARC file; refusing to append to it")
            good = complete_length(self._fh)
            if good < size:
                self._fh.truncate(good)
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self.repaired_bytes = size - good
            size = good
        if size == 0:
            self._append(self._warcinfo())

    def _warcinfo(self) -> bytes:
        fields = (
            f"software: {SOFTWARE}\r\n"
            "format: WARC File Format 1.0\r\n"
            "conformsTo: http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1_latestdraft.pdf\r\n"
        ).encode()
        return _record(
            "warcinfo",
            [("WARC-Date", utc_now()), ("WARC-Filename", self.path.name), ("WARC-Block-Digest", _digest(fields))],
            "application/warc-fields",
            fields,
        )

    def _append(self, record: bytes) -> int:
        offset = self._fh.seek(0, os.SEEK_END)
        self._fh.write(_gzip_member(record))
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        return offset

    def write(self, result: FetchResult) -> int:
        """Append ``result`` as a ``response`` record; returns the record's offset in the file.

        The body is stored decoded (as the result holds it), so the headers that
        described the wire encoding are renamed ``x-crawler-content-encoding``,
        ``x-crawler-transfer-encoding`` and ``x-crawler-content-length``, and
        ``content-length`` states the stored body's length.
        """
        if self._fh.closed:
            raise ValueError("write to a closed WarcWriter")
        if result.status is None:
            raise ValueError(f"{result.url}: a result without an HTTP status has no response to archive")
        uri = (result.final_url or result.url).strip().replace(" ", "%20")
        block, payload = _http_block(result, result.status)
        fields = [
            ("WARC-Date", _iso_utc(result.fetched_at)),
            ("WARC-Target-URI", uri),
            ("WARC-Payload-Digest", _digest(payload)),
            ("WARC-Block-Digest", _digest(block)),
        ]
        offset = self._append(_record("response", fields, "application/http; msgtype=response", block))
        self.records_written += 1
        return offset

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
