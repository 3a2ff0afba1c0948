"""Pages out of web archives: WARC and WET files, plain or gzip.

Common Crawl ships its WARC and WET files gzip-compressed one record per gzip
member, so a reader that knows where members start can step over a damaged
one and carry on.  That is why this module reads the container itself rather
than handing the file to a library that gives up at the first bad byte:

* ``response`` records become :class:`FetchResult` objects with the HTTP
  status, lower-cased headers and the body after transfer and content
  decoding; WET ``conversion`` records (the text render of a page) become a
  200 ``text/plain`` result.  Every other record type is skipped.
* The URL filter runs on the WARC headers, before the block is read, so
  records that do not match cost a seek (plain files) or a decompression
  into nothing (gzip), never a parse.
* A bad record gives one ``decode_error`` result naming its offset, and the
  reader goes on with the next record it can find.  A file cut short gives a
  final result saying where it is truncated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from scraper.errors import DecompressedTooLargeError, DecompressionError
from scraper.fetch.decompress import CODINGS, Decompressor, decompress, is_gzip
from scraper.fetch.result import FetchResult, utc_now
from scraper.limits import DEFAULT_DOWNLOAD_MAXSIZE

__all__ = ["MAX_RECORD_SIZE", "is_archive_path", "iter_archive"]

MAX_RECORD_SIZE = DEFAULT_DOWNLOAD_MAXSIZE
"""Largest record block, and largest decoded body, a result is made from (DOWNLOAD_MAXSIZE's default)."""

_ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz")
_GZIP_MAGIC = b"\x1f\x8b\x08"
_CHUNK = 256 * 1024
_MAX_LINE = 64 * 1024
_MAX_HEADER_LINES = 1000
_PAGE_TYPES = ("response", "conversion")
_FRACTION = re.compile(r"(?<=:\d\d)\.\d+")
_HTTP_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)?[ \t]+(\d{3})(?:[ \t]|$)")


def is_archive_path(path: str | os.PathLike[str]) -> bool:
    """Whether a file name says WARC or WET (``.warc``, ``.warc.gz``, ``.wet``, ``.wet.gz``); ARC is not read."""
    return os.fspath(path).lower().endswith(_ARCHIVE_SUFFIXES)


# --- the container: plain bytes or one gzip member at a time -------------------------------------


class _Truncated(Exception):
    """The file ends inside a gzip member."""


class _Corrupt(Exception):
    """A gzip member that does not decompress."""


class _ShortRecord(Exception):
    """The stream ended before the record did."""


class _BadRecord(Exception):
    """The WARC header block is not one (no version line, no usable Content-Length)."""


class _Segment:
    """A run of decompressed bytes read forward: the rest of a plain file, or one gzip member."""

    def __init__(self, fh: BinaryIO, start: int) -> None:
        self._fh = fh
        self.start = start
        self._buf = bytearray()
        self.consumed = 0
        """Bytes handed out or skipped so far, counted from the segment's start."""
        self.record_start = 0
        """Where the record being read starts, counted like ``consumed``."""

    def _more(self) -> bool:
        """Add bytes to the buffer; False at the segment's end."""
        raise NotImplementedError

    def _fill(self, want: int) -> None:
        while len(self._buf) < want and self._more():
            pass

    def readline(self, limit: int = _MAX_LINE) -> bytes:
        while True:
            newline = self._buf.find(b"\n", 0, limit)
            if newline >= 0:
                return self._take(newline + 1)
            if len(self._buf) >= limit or not self._more():
                return self._take(min(limit, len(self._buf)))

    def peek(self, size: int) -> bytes:
        self._fill(size)
        return bytes(self._buf[:size])

    def read_exact(self, size: int) -> bytes:
        self._fill(size)
        if len(self._buf) < size:
            raise _ShortRecord(f"ends after {len(self._buf)} of {size} bytes")
        return self._take(size)

    def skip(self, size: int) -> None:
        while size > 0:
            if not self._buf and not self._more():
                raise _ShortRecord(f"ends {size} bytes before the record does")
            step = min(size, len(self._buf))
            del self._buf[:step]
            self.consumed += step
            size -= step

    def _take(self, size: int) -> bytes:
        data = bytes(self._buf[:size])
        del self._buf[:size]
        self.consumed += size
        return data


class _PlainSegment(_Segment):
    def _more(self) -> bool:
        self._fh.seek(self.start + self.consumed + len(self._buf))
        data = self._fh.read(_CHUNK)
        self._buf += data
        return bool(data)

    def skip(self, size: int) -> None:
        buffered = min(size, len(self._buf))
        del self._buf[:buffered]
        self.consumed += buffered
        remaining = size - buffered
        if remaining:
            file_size = os.fstat(self._fh.fileno()).st_size
            available = file_size - (self.start + self.consumed)
            if available < remaining:
                self.consumed += max(available, 0)
                raise _ShortRecord(f"ends {remaining - available} bytes before the record does")
            self.consumed += remaining


class _GzipMember(_Segment):
    def __init__(self, fh: BinaryIO, start: int) -> None:
        super().__init__(fh, start)
        self._decoder = Decompressor("gzip", step=_CHUNK, members=False)
        self._fed_end = start
        self._read_size = 16 * 1024  # most members are a few KB: read little, then more
        self.end: int | None = None
        """File offset just past the member, once it has been read to its end."""

    def _more(self) -> bool:
        if self.end is not None:
            return False
        data = b""
        if self._decoder.needs_input:
            self._fh.seek(self._fed_end)
            data = self._fh.read(self._read_size)
            if not data:
                raise _Truncated
            self._fed_end += len(data)
            self._read_size = min(self._read_size * 2, _CHUNK)
        try:
            out = self._decoder.decompress(data)
        except DecompressionError as exc:
            raise _Corrupt(str(exc)) from None
        self._buf += out
        if self._decoder.eof:
            self.end = self._fed_end - len(self._decoder.unused_data)
        return True

    def finish(self) -> int:
        """Read the member to its end (discarding what is left); the offset of the next member."""
        while self.end is None:
            self._more()
            self.consumed += len(self._buf)
            self._buf.clear()
        return self.end


def _looks_like_member(fh: BinaryIO, pos: int) -> bool:
    """A gzip member starts at ``pos`` and its first bytes are a WARC version line."""
    member = _GzipMember(fh, pos)
    try:
        member._fill(5)
    except (_Corrupt, _Truncated):
        return False
    return bytes(member._buf[:5]) == b"WARC/"


def _scan(fh: BinaryIO, pos: int, needle: bytes, accept: Callable[[int], bool]) -> int | None:
    """The first offset >= ``pos`` where ``needle`` starts and ``accept(offset)`` holds."""
    overlap = len(needle) - 1
    while True:
        fh.seek(pos)
        block = fh.read(_CHUNK)
        if len(block) < len(needle):
            return None
        at = block.find(needle)
        while at >= 0:
            if accept(pos + at):
                return pos + at
            at = block.find(needle, at + 1)
        if len(block) < _CHUNK:
            return None
        pos += len(block) - overlap


def _next_member(fh: BinaryIO, pos: int) -> int | None:
    return _scan(fh, pos, _GZIP_MAGIC, lambda at: _looks_like_member(fh, at))


def _next_plain_record(fh: BinaryIO, pos: int) -> int | None:
    def at_line_start(at: int) -> bool:
        if at == 0:
            return True
        fh.seek(at - 1)
        return fh.read(1) == b"\n"

    return _scan(fh, pos, b"WARC/1.", at_line_start)


# --- records -------------------------------------------------------------------------------------


def _read_warc_headers(segment: _Segment) -> dict[str, str] | None:
    """The next record's WARC headers (names lower-cased), or None at the segment's clean end."""
    line = b""
    while not line.strip():
        segment.record_start = segment.consumed
        line = segment.readline()
        if not line:
            return None
    if not line.startswith(b"WARC/"):
        raise _BadRecord("no 'WARC/' version line where a record should start")
    headers: dict[str, str] = {}
    last: str | None = None
    for _ in range(_MAX_HEADER_LINES):
        line = segment.readline()
        if not line:
            raise _ShortRecord("ends inside the WARC header block")
        if not line.strip():
            break
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if text[:1] in (" ", "\t") and last is not None:
            headers[last] += " " + text.strip()
            continue
        name, sep, value = text.partition(":")
        if not sep:
            raise _BadRecord(f"WARC header line without a colon: {text[:80]!r}")
        last = name.strip().lower()
        headers[last] = value.strip()
    else:
        raise _BadRecord("WARC header block does not end")
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        raise _BadRecord("WARC record without a usable Content-Length") from None
    if length < 0:
        raise _BadRecord("WARC record with a negative Content-Length")
    return headers


def _iso_utc(value: str | None) -> str:
    """A WARC-Date as ISO 8601 UTC with a Z, to the second (now, if it is missing or unreadable)."""
    if value:
        try:
            moment = datetime.fromisoformat(_FRACTION.sub("", value.strip()).replace("Z", "+00:00"))
        except ValueError:
            return utc_now()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return utc_now()


class _BadHttp(Exception):
    pass


class _TooLarge(Exception):
    pass


def _split_http(block: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-cased names, repeats joined) and raw body of an HTTP response block."""
    match = _HTTP_STATUS_LINE.match(block)
    if match is None:
        raise _BadHttp(f"no HTTP status line (starts {block[:40]!r})")
    end, gap = block.find(b"\r\n\r\n"), 4
    bare = block.find(b"\n\n")
    if bare >= 0 and (end < 0 or bare < end):
        end, gap = bare, 2
    if end < 0:
        end, gap = len(block), 0
    head, body = block[:end], block[end + gap :]
    if len(head) > _MAX_LINE * 4:
        raise _BadHttp("HTTP header block is too long")
    headers: dict[str, str] = {}
    last: str | None = None
    for raw in head.split(b"\n")[1:]:
        try:
            line = raw.rstrip(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            line = raw.rstrip(b"\r").decode("latin-1")
        if not line.strip():
            continue
        if line[:1] in (" ", "\t") and last is not None:
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name or any(c in name for c in " \t\x00"):
            continue  # a stray line in the server's headers: browsers ignore it too
        headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
        last = name
    return int(match.group(1)), headers, body


def _dechunk(body: bytes) -> bytes:
    """A chunked body joined; the body unchanged when it is not actually chunked (already decoded)."""
    out = bytearray()
    pos = 0
    while True:
        newline = body.find(b"\n", pos)
        if newline < 0:
            return bytes(out) if out else body
        size_text = body[pos:newline].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(out) if out else body
        if size == 0:
            return bytes(out)
        start = newline + 1
        out += body[start : start + size]
        if start + size > len(body):
            return bytes(out)  # cut off: what arrived
        pos = start + size
        if body[pos : pos + 2] == b"\r\n":
            pos += 2
        elif body[pos : pos + 1] == b"\n":
            pos += 1


_CODING_NAMES = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "brotli"}


def _decode_content(body: bytes, coding: str, limit: int) -> bytes:
    """The body with one content coding removed (a body that is plainly not encoded is kept as it is).

    A gzip or deflate stream cut short gives what it holds (the crawler that archived it
    may have cut it; the page is still worth reading); a brotli one does not, as
    ``brotli.decompress`` never allowed it here.
    """
    if coding in ("", "identity"):
        return body
    if coding not in CODINGS:
        raise _BadHttp(f"unsupported content-encoding {coding!r}")
    if coding in ("gzip", "x-gzip") and not is_gzip(body):
        return body  # the archive stored it decoded and kept the header
    try:
        return decompress(body, coding, limit=limit, truncated_ok=coding != "br")
    except DecompressedTooLargeError:
        raise _TooLarge(f"body expands past {limit} bytes") from None
    except DecompressionError as exc:
        if coding == "deflate" and (body[:1] in (b"<", b"{", b"[") or body[:3] == b"\xef\xbb\xbf"):
            return body  # stored decoded, the header kept
        raise _BadHttp(f"{_CODING_NAMES[coding]} body does not decompress: {exc}") from None


def _response_result(uri: str, date: str, block: bytes, limit: int) -> FetchResult:
    status, headers, body = _split_http(block)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",") if c.strip()]
    for coding in reversed(codings):
        body = _decode_content(body, coding, limit)
    result = FetchResult(url=uri, final_url=uri, status=status, headers=headers, body=body, fetched_at=date, source="warc")
    if status >= 300 and status != 304:
        where = f" to {headers['location']}" if 300 <= status < 400 and "location" in headers else ""
        result.failure = "http_error"
        result.detail = f"the archived response is HTTP {status}{where}"
    return result


def _conversion_result(uri: str, date: str, warc_headers: dict[str, str], block: bytes) -> FetchResult:
    declared = warc_headers.get("content-type", "")
    content_type = declared if "charset" in declared.lower() else "text/plain; charset=utf-8"
    return FetchResult(
        url=uri, final_url=uri, status=200, headers={"content-type": content_type}, body=block, fetched_at=date, source="warc"
    )


# --- the walk ------------------------------------------------------------------------------------


def _end_record(segment: _Segment, length: int) -> None:
    """Check that the block ends where the record does (CRLF CRLF, or the next record, or the end).

    A wrong Content-Length would otherwise swallow the next record or cut this
    one short without anyone noticing, in plain files above all.
    """
    after = segment.peek(5)
    if after and after[:1] not in (b"\r", b"\n") and after != b"WARC/":
        raise _BadRecord(f"the record does not end after its Content-Length of {length} bytes")


_EMBEDDED = re.compile(rb"\r\n\r\nWARC/1\.[01]\r\n")


def _check_not_swallowing(block: bytes, length: int) -> None:
    """Refuse a block that holds a whole further WARC record: its Content-Length lied.

    A length too long by exactly the next record's size ends where a record
    ends, so the end check passes and the next record would be read as this
    one's body.  A record start (version line, then a header block with a
    Record-ID and a Content-Length) after a blank line inside the block gives it
    away; the walk then resyncs to that record, so only the lying one is lost.
    """
    for match in _EMBEDDED.finditer(block):
        head = block[match.end() : match.end() + 2048].split(b"\r\n\r\n", 1)[0]
        if b"WARC-Record-ID:" in head and b"Content-Length:" in head:
            raise _BadRecord(f"its Content-Length of {length} bytes runs over the next record "
                             f"({match.start() + 4} bytes into the block)")


def _records(
    segment: _Segment,
    where: Callable[[int], str],
    pattern: re.Pattern[str] | None,
    max_record_size: int,
) -> Iterator[FetchResult]:
    """Results for the page records of one segment, in order."""
    while True:
        headers = _read_warc_headers(segment)
        if headers is None:
            return
        length = int(headers["content-length"])
        kind = headers.get("warc-type", "").lower()
        uri = headers.get("warc-target-uri", "").strip().strip("<>")
        content_type = headers.get("content-type", "").lower()
        wanted = (
            kind in _PAGE_TYPES
            and bool(uri)
            and (kind != "response" or not content_type or content_type.startswith("application/http"))
            and (pattern is None or pattern.search(uri) is not None)
        )
        if not wanted:
            segment.skip(length)
            _end_record(segment, length)
            continue
        date = _iso_utc(headers.get("warc-date"))
        at = where(segment.record_start)
        if length > max_record_size:
            segment.skip(length)
            _end_record(segment, length)
            yield FetchResult(
                url=uri, fetched_at=date, source="warc", failure="too_large",
                detail=f"record at {at} is {length} bytes, over the {max_record_size}-byte limit",
            )
            continue
        block = segment.read_exact(length)
        _end_record(segment, length)
        _check_not_swallowing(block, length)
        try:
            if kind == "response":
                result = _response_result(uri, date, block, max_record_size)
            else:
                result = _conversion_result(uri, date, headers, block)
        except _BadHttp as exc:
            result = FetchResult(url=uri, fetched_at=date, source="warc", failure="decode_error", detail=f"record at {at}: {exc}")
        except _TooLarge as exc:
            result = FetchResult(url=uri, fetched_at=date, source="warc", failure="too_large", detail=f"record at {at}: {exc}")
        yield result


def _failure(path: str, offset: int, kind: str, detail: str) -> FetchResult:
    return FetchResult(url=f"{path}#offset={offset}", source="warc", failure=kind, detail=detail)


def iter_archive(
    path: str | os.PathLike[str],
    *,
    url_pattern: str | re.Pattern[str] | None = None,
    max_record_size: int = MAX_RECORD_SIZE,
) -> Iterator[FetchResult]:
    """One :class:`FetchResult` per page record of a WARC or WET file (plain or gzip), in file order.

    ``url_pattern`` (a regex searched in the record's target URI) keeps only
    matching records; it is checked before a record's block is read.  Results
    of records that cannot be read carry ``failure="decode_error"`` (or
    ``too_large``) and a detail naming the record's offset; their ``url`` is
    the target URI when the WARC headers were readable, else
    ``"<path>#offset=<N>"``.  Raises ``OSError`` only when the file cannot be
    opened.
    """
    pattern = re.compile(url_pattern) if isinstance(url_pattern, str) else url_pattern
    name = os.fspath(path)
    with open(path, "rb") as fh:
        if is_gzip(fh.read(2)):
            yield from _walk_gzip(fh, name, pattern, max_record_size)
        else:
            yield from _walk_plain(fh, name, pattern, max_record_size)


def _walk_gzip(fh: BinaryIO, name: str, pattern: re.Pattern[str] | None, max_record_size: int) -> Iterator[FetchResult]:
    size = os.fstat(fh.fileno()).st_size
    offset = 0
    while offset < size:
        member = _GzipMember(fh, offset)

        def where(consumed: int, member: _GzipMember = member) -> str:
            return f"offset {member.start}" + (f" (+{consumed} bytes uncompressed)" if consumed else "")

        try:
            try:
                yield from _records(member, where, pattern, max_record_size)
            except (_BadRecord, _ShortRecord) as exc:
                # The member itself decompressed: its neighbours are intact.
                yield _failure(name, member.start, "decode_error", f"bad WARC record at {where(member.record_start)}: {exc}")
            offset = member.finish()
        except _Corrupt as exc:
            resume = _next_member(fh, member.start + 1)
            tail = "" if resume is not None else f"; no later record to resync to, the last {size - member.start} bytes are skipped"
            yield _failure(name, member.start, "decode_error", f"corrupt gzip member at offset {member.start}: {exc}{tail}")
            if resume is None:
                return
            offset = resume
        except _Truncated:
            resume = _next_member(fh, member.start + 1)
            if resume is None:
                yield _failure(
                    name, member.start, "decode_error",
                    f"the file is truncated at offset {member.start}: the gzip member starting there ends at the end of the file ({size} bytes)",
                )
                return
            # Not the end of the file after all: a damaged member ran on into the next ones.
            yield _failure(name, member.start, "decode_error", f"corrupt gzip member at offset {member.start}: it does not end")
            offset = resume


def _walk_plain(fh: BinaryIO, name: str, pattern: re.Pattern[str] | None, max_record_size: int) -> Iterator[FetchResult]:
    size = os.fstat(fh.fileno()).st_size
    offset = 0
    while offset < size:
        segment = _PlainSegment(fh, offset)

        def where(consumed: int, segment: _PlainSegment = segment) -> str:
            return f"offset {segment.start + consumed}"

        try:
            yield from _records(segment, where, pattern, max_record_size)
            return
        except _ShortRecord:
            at = segment.start + segment.record_start
            yield _failure(
                name, at, "decode_error",
                f"the file is truncated at offset {at}: the record starting there ends at the end of the file ({size} bytes)",
            )
            return
        except _BadRecord as exc:
            at = segment.start + segment.record_start
            resume = _next_plain_record(fh, at + 1)
            tail = "" if resume is not None else f"; no later record to resync to, the last {size - at} bytes are skipped"
            yield _failure(name, at, "decode_error", f"bad WARC record at offset {at}: {exc}{tail}")
            if resume is None:
                return
            offset = resume
