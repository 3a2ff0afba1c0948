"""Pages out of web archives: WARC, WET and ARC files, plain or gzip.

Common Crawl ships its WARC and WET files gzip-compressed one record per gzip
member, so a reader that knows where members start can step over a damaged
one and carry on.  That is why this module reads the container itself rather
than handing the file to a library that gives up at the first bad byte:

* ``response`` records become :class:`FetchResult` objects with the HTTP
  status, lower-cased headers and the body after transfer and content
  decoding; WET ``conversion`` records (the text render of a page) become a
  200 ``text/plain`` result, and ``resource`` records of an http(s) URL
  holding HTML or text (a page stored without its HTTP envelope) a 200 result
  with the record's Content-Type.  Older Internet Archive ARC files (v1, and
  v2's longer header line) are told by their first bytes, not their name, and
  their records read as responses.
* Every other record is skipped and counted by reason in an
  :class:`ArchiveStats` (``SKIP_REASONS``), so a run can say what an archive
  held besides pages: a WARC of 36 records giving 2 pages is not a bug when
  the rest are requests, redirects' images and a crawler's log.
* The URL filter runs on the record headers, before the block is read, so
  records that do not match cost a seek (plain files) or a decompression
  into nothing (gzip), never a parse.
* A bad record gives one ``decode_error`` result naming its offset, and the
  reader goes on with the next record it can find.  A record cut off by the
  end of the file (or one whose WARC-Truncated field or HTTP Content-Length
  says so) still gives its page, marked ``truncated``: a crawl cut short
  loses only the part that is missing.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from scraper.errors import DecompressedTooLargeError, DecompressionError
from scraper.fetch.decompress import CODINGS, Decompressor, decompress, is_gzip
from scraper.fetch.result import FetchResult, utc_now
from scraper.limits import DEFAULT_DOWNLOAD_MAXSIZE

__all__ = ["MAX_RECORD_SIZE", "SKIP_REASONS", "ArchiveStats", "is_archive_path", "iter_archive", "looks_like_archive"]

MAX_RECORD_SIZE = DEFAULT_DOWNLOAD_MAXSIZE
"""Largest record block, and largest decoded body, a result is made from (DOWNLOAD_MAXSIZE's default)."""

SKIP_REASONS = {
    "warcinfo": "the WARC file's own description",
    "request": "the request the crawler sent",
    "metadata": "the crawler's notes about a capture",
    "revisit": "a capture that points at an earlier one and holds no page of its own",
    "continuation": "a later segment of a record split over files",
    "filedesc": "the ARC file's version block",
    "unknown_type": "a WARC-Type the standard does not define",
    "no_uri": "a record without a target URI",
    "not_http": "a response record that holds no HTTP message (a DNS lookup, for one)",
    "not_web": "a resource whose URI is not http(s): a crawler's log or manifest, not a captured page",
    "non_html": "a response or resource whose Content-Type is neither HTML nor plain text (images, scripts, JSON)",
    "url_pattern": "its URI does not match the URL pattern asked for",
    "truncated_header": "cut off by the end of the file inside its header block, so there is no page to give (also reported)",
    "unreadable": "a stretch of the file that is no readable record (also reported, as a decode_error result)",
}
"""Why a record gives no result, as counted in :attr:`ArchiveStats.skipped`."""

_ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".arc", ".arc.gz")
_GZIP_MAGIC = b"\x1f\x8b\x08"
_CHUNK = 256 * 1024
_MAX_LINE = 64 * 1024
_MAX_HEADER_LINES = 1000
_MAX_STRAY = 16
_NOT_PAGES = ("warcinfo", "request", "metadata", "revisit", "continuation", "filedesc")
_PAGE_TYPES = ("response", "conversion", "resource")
_PAGE_MEDIA = ("", "text/html", "application/xhtml+xml", "text/plain")
_FRACTION = re.compile(r"(?<=:\d\d)\.\d+")
_HTTP_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)?[ \t]+(\d{3})(?:[ \t]|$)")
_ARC_HEADER = re.compile(rb"(\S+) (\S+) (\d{8,14}) (\S+)((?: \S+)*) (\d+)[ \t]*\r?")
"""An ARC record's header line: URL IP-address Archive-date Content-type [v2 fields] Archive-length."""


@dataclass
class ArchiveStats:
    """What one archive (or several) held: records read as results, and records skipped by reason.

    Why: a WARC gives far fewer pages than it has records, and a user (or a test)
    must be able to tell "skipped as expected" from "lost".  ``records`` is always
    ``read`` plus the skipped ones, so nothing goes uncounted.
    """

    read: int = 0
    """Records that gave a result: a page, or a failure naming that record (``http_error``, ``too_large``, ...)."""
    truncated: int = 0
    """Of those, pages marked truncated (the record, or the HTTP body in it, is cut off)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Records that gave no page, by reason (the keys of :data:`SKIP_REASONS`)."""

    @property
    def records(self) -> int:
        return self.read + sum(self.skipped.values())

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def describe(self) -> str:
        """One line, e.g. ``6 records: 1 read, 5 skipped (2 request, 2 warcinfo, 1 revisit)``."""
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
        cut = f" ({self.truncated} truncated)" if self.truncated else ""
        skipped = sum(self.skipped.values())
        return f"{self.records} record{'s' * (self.records != 1)}: {self.read} read{cut}, {skipped} skipped" + (
            f" ({reasons})" if reasons else ""
        )

    @classmethod
    def combined(cls, many: Iterable[ArchiveStats]) -> ArchiveStats:
        """The sum of several archives' counts (the ``scraper extract`` summary over all inputs)."""
        total = cls()
        for stats in many:
            total.read += stats.read
            total.truncated += stats.truncated
            total.skipped.update(stats.skipped)
        return total


def is_archive_path(path: str | os.PathLike[str]) -> bool:
    """Whether a file name says web archive: ``.warc``, ``.wet``, ``.arc``, each plain or ``.gz``."""
    return os.fspath(path).lower().endswith(_ARCHIVE_SUFFIXES)


def looks_like_archive(path: str | os.PathLike[str]) -> bool:
    """Whether a file starts as a WARC/WET or ARC file does (decompressed first, for gzip), whatever its name.

    Why by content: archives are often renamed (``.warc.open``, ``.arc.1``, no suffix
    at all) and a reader should not need the right name.  False when unreadable:
    reading it as a page then names the problem.
    """
    try:
        with open(path, "rb") as fh:
            return _sniff(fh) is not None
    except OSError:
        return False


# --- the container: plain bytes or one gzip member at a time -------------------------------------


class _Truncated(Exception):
    """The file ends inside a gzip member."""


class _Corrupt(Exception):
    """A gzip member that does not decompress."""


class _ShortRecord(Exception):
    """The stream ended before the record did."""


class _BadRecord(Exception):
    """The record's header block is not one (no version line, no usable length)."""


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
        self.counted = False
        """The record being read is already in the stats (so damage met after is not counted twice)."""
        self.exhausted = False
        """A gzip member was cut off by the end of the file inside a record: nothing more comes out of it."""

    def _more(self) -> bool:
        """Add bytes to the buffer; False at the segment's end."""
        raise NotImplementedError

    def ends_file(self) -> bool:
        """No record follows in the file (a cut-off record is then the file's last, not damage)."""
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

    def read_block(self, size: int) -> tuple[bytes, bool]:
        """Up to ``size`` bytes, and whether all came: a block the file's end cuts off is read as far as it goes."""
        try:
            self._fill(size)
        except _Truncated:
            if not self.ends_file():
                raise
            self.exhausted = True
        data = self._take(min(size, len(self._buf)))
        return data, len(data) == size

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

    def ends_file(self) -> bool:
        return True  # a plain segment runs to the end of the file

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
    def __init__(self, fh: BinaryIO, start: int, fmt: _Format | None = None) -> None:
        super().__init__(fh, start)
        self._fmt = fmt
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

    def ends_file(self) -> bool:
        return self._fmt is None or _next_member(self._fh, self.start + 1, self._fmt) is None

    def finish(self) -> int:
        """Read the member to its end (discarding what is left); the offset of the next member."""
        while self.end is None:
            self._more()
            self.consumed += len(self._buf)
            self._buf.clear()
        return self.end


def _first_bytes(segment: _Segment, size: int) -> bytes | None:
    """The segment's first ``size`` bytes, or as many as there are; None when they do not decompress."""
    try:
        segment._fill(size)
    except _Corrupt:
        return None
    except _Truncated:
        pass
    return bytes(segment._buf[:size])


def _looks_like_member(fh: BinaryIO, pos: int, fmt: _Format) -> bool:
    """A gzip member starts at ``pos`` and its first bytes start a record of the file's format."""
    start = _first_bytes(_GzipMember(fh, pos), fmt.probe)
    return start is not None and fmt.starts_record(start)


def _sniff(fh: BinaryIO) -> _Format | None:
    """The archive format the file's first bytes show (decompressed, for gzip), or None."""
    fh.seek(0)
    segment: _Segment = _GzipMember(fh, 0) if is_gzip(fh.read(2)) else _PlainSegment(fh, 0)
    start = (_first_bytes(segment, 1024) or b"").lstrip(b"\r\n")
    return next((fmt for fmt in (_WARC, _ARC) if fmt.starts_record(start)), None)


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


def _next_member(fh: BinaryIO, pos: int, fmt: _Format) -> int | None:
    return _scan(fh, pos, _GZIP_MAGIC, lambda at: _looks_like_member(fh, at, fmt))


def _next_plain_record(fh: BinaryIO, pos: int, fmt: _Format) -> int | None:
    def at_record_start(at: int) -> bool:
        fh.seek(max(at - 1, 0))
        before = fh.read(1) if at else b"\n"
        fh.seek(at)
        return before == b"\n" and fmt.starts_record(fh.read(fmt.probe))

    return _scan(fh, pos, fmt.needle, at_record_start)


# --- record heads: what a record is, before its block is read ------------------------------------


@dataclass
class _Head:
    """One record's header, WARC or ARC, in the terms the walk decides on."""

    kind: str
    """WARC-Type lower-cased; for ARC: ``filedesc``, ``response`` (an http(s) URL) or ``resource``."""
    uri: str
    date: str
    """ISO 8601 UTC with a Z."""
    content_type: str
    """The record's own Content-Type, lower-cased (``application/http; ...`` for a response; ARC: ``application/http``)."""
    length: int
    declared_cut: bool = False
    """The record says it is truncated (WARC-Truncated)."""


def _first_line(segment: _Segment) -> bytes | None:
    """The next record's first line (blank lines between records skipped), or None at the segment's clean end."""
    line = b""
    while not line.strip():
        segment.record_start = segment.consumed
        line = segment.readline()
        if not line:
            return None
    return line


def _read_warc_headers(segment: _Segment) -> dict[str, str] | None:
    """The next record's WARC headers (names lower-cased), or None at the segment's clean end."""
    line = _first_line(segment)
    if line is None:
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
    return headers


def _read_warc_head(segment: _Segment) -> _Head | None:
    headers = _read_warc_headers(segment)
    if headers is None:
        return None
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        raise _BadRecord("WARC record without a usable Content-Length") from None
    if length < 0:
        raise _BadRecord("WARC record with a negative Content-Length")
    return _Head(
        kind=headers.get("warc-type", "").lower(),
        uri=headers.get("warc-target-uri", "").strip().strip("<>"),
        date=_iso_utc(headers.get("warc-date")),
        content_type=headers.get("content-type", "").lower(),
        length=length,
        declared_cut=bool(headers.get("warc-truncated", "").strip()),
    )


def _read_arc_head(segment: _Segment) -> _Head | None:
    """The next ARC record's header line, read as a head (v1's five fields, or v2's ten: the length is last)."""
    line = _first_line(segment)
    if line is None:
        return None
    found = _ARC_HEADER.fullmatch(line.rstrip(b"\n"))
    if found is None:
        raise _BadRecord(f"no ARC header line (URL IP-address Archive-date Content-type Archive-length): {line[:80]!r}")
    uri = found.group(1).decode("utf-8", errors="replace")
    if uri.startswith("filedesc:"):
        kind, content_type = "filedesc", found.group(4).decode("latin-1").lower()
    elif uri.lower().startswith(("http:", "https:")):
        kind, content_type = "response", "application/http"
    else:  # dns: and other schemes hold no HTTP message
        kind, content_type = "resource", found.group(4).decode("latin-1").lower()
    return _Head(kind=kind, uri=uri, date=_arc_date(found.group(3).decode()), content_type=content_type,
                 length=int(found.group(6)))


def _arc_date(value: str) -> str:
    """An ARC Archive-date (``YYYYMMDDhhmmss``, possibly shorter) as ISO 8601 UTC (now, if unreadable)."""
    try:
        moment = datetime.strptime(value.ljust(14, "0")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return utc_now()
    return moment.isoformat().replace("+00:00", "Z")


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


@dataclass(frozen=True)
class _Format:
    """What differs between WARC and ARC for the walk: the header reader and how a record start looks."""

    name: str
    read_head: Callable[[_Segment], _Head | None]
    starts_record: Callable[[bytes], bool]
    """Whether bytes taken at an offset start a record (for resync and sniffing)."""
    probe: int
    """How many bytes ``starts_record`` needs."""
    needle: bytes
    """What a resync in a plain file scans for (at a line start)."""


def _starts_arc_record(data: bytes) -> bool:
    return _ARC_HEADER.fullmatch(data.split(b"\n", 1)[0]) is not None if b"\n" in data else False


_WARC = _Format("WARC", _read_warc_head, lambda data: data.startswith(b"WARC/"), 5, b"WARC/1.")
_ARC = _Format("ARC", _read_arc_head, _starts_arc_record, 2048, b"http")
"""ARC resyncs only to http(s) records: a damaged ARC loses a dns: record after the damage, never a page."""


# --- blocks: HTTP responses, resources, text renders ---------------------------------------------


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


def _dechunk(body: bytes) -> tuple[bytes, bool]:
    """A chunked body joined, and whether it is cut off; the body unchanged when it is not actually chunked (already decoded)."""
    out = bytearray()
    pos = 0
    while True:
        newline = body.find(b"\n", pos)
        if newline < 0:
            return (bytes(out), True) if out else (body, False)  # chunks, but no last (0) chunk
        size_text = body[pos:newline].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return (bytes(out), False) if out else (body, False)
        if size == 0:
            return bytes(out), False
        start = newline + 1
        out += body[start : start + size]
        if start + size > len(body):
            return bytes(out), True  # cut off: what arrived
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


def _is_page_type(content_type: str) -> bool:
    """HTML, plain text (a text render, robots.txt) or no type given: what the extractors read."""
    return content_type.split(";", 1)[0].strip().lower() in _PAGE_MEDIA


def _short_of_length(status: int, headers: dict[str, str], body: bytes) -> bool:
    """The body is shorter than its Content-Length says (no length is promised for 1xx, 204, 304)."""
    declared = headers.get("content-length", "").split(",")[0].strip()
    if not declared.isdigit() or len(declared) > 15 or status < 200 or status in (204, 304):
        return False
    return len(body) < int(declared)


def _response_result(head: _Head, block: bytes, limit: int) -> FetchResult | str:
    """The result of an HTTP response block, or ``"non_html"`` when it holds no page type."""
    status, headers, body = _split_http(block)
    if not _is_page_type(headers.get("content-type", "")):
        return "non_html"
    cut = False
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, cut = _dechunk(body)
    else:
        cut = _short_of_length(status, headers, body)
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",") if c.strip()]
    for coding in reversed(codings):
        body = _decode_content(body, coding, limit)
    result = FetchResult(url=head.uri, final_url=head.uri, status=status, headers=headers, body=body,
                         fetched_at=head.date, source="warc", truncated=cut)
    if status >= 300 and status != 304:
        where = f" to {headers['location']}" if 300 <= status < 400 and "location" in headers else ""
        result.failure = "http_error"
        result.detail = f"the archived response is HTTP {status}{where}"
    return result


def _plain_result(head: _Head, block: bytes) -> FetchResult:
    """A WET conversion (UTF-8 text unless it says otherwise) or a resource (its own Content-Type) as a 200."""
    declared = head.content_type
    if head.kind == "conversion" and "charset" not in declared:
        declared = "text/plain; charset=utf-8"
    headers = {"content-type": declared} if declared else {}
    return FetchResult(url=head.uri, final_url=head.uri, status=200, headers=headers, body=block,
                       fetched_at=head.date, source="warc")


def _block_result(head: _Head, block: bytes, at: str, limit: int) -> FetchResult | str:
    """The result a page record's block gives (a failure result when it cannot be read), or a skip reason."""
    try:
        if head.kind == "response":
            return _response_result(head, block, limit)
        return _plain_result(head, block)
    except _BadHttp as exc:
        return FetchResult(url=head.uri, fetched_at=head.date, source="warc", failure="decode_error", detail=f"record at {at}: {exc}")
    except _TooLarge as exc:
        return FetchResult(url=head.uri, fetched_at=head.date, source="warc", failure="too_large", detail=f"record at {at}: {exc}")


# --- the walk ------------------------------------------------------------------------------------


@dataclass
class _Walk:
    """What every record of one file is read with."""

    name: str
    fmt: _Format
    pattern: re.Pattern[str] | None
    max_record_size: int
    stats: ArchiveStats


def _skip_reason(head: _Head, pattern: re.Pattern[str] | None) -> str | None:
    """Why a record gives no page, known from its header alone; None for a page record to read.

    The URL pattern is asked last, once per page record, so a duck-typed pattern
    that counts its calls (the Dask engine's) counts page records.
    """
    if head.kind in _NOT_PAGES:
        return head.kind
    if head.kind not in _PAGE_TYPES:
        return "unknown_type"
    if not head.uri:
        return "no_uri"
    if head.kind == "response" and head.content_type and not head.content_type.startswith("application/http"):
        return "not_http"
    if head.kind == "resource" and not head.uri.lower().startswith(("http:", "https:")):
        return "not_web"
    if head.kind == "resource" and not _is_page_type(head.content_type):
        return "non_html"
    if pattern is not None and pattern.search(head.uri) is None:
        return "url_pattern"
    return None


def _end_record(segment: _Segment, length: int, fmt: _Format) -> None:
    """Check that the block ends where the record does (CRLF CRLF, or the next record, or the end).

    A wrong Content-Length would otherwise swallow the next record or cut this
    one short without anyone noticing, in plain files above all.  A WARC block
    a few bytes short of the next record (at most ``_MAX_STRAY``: a writer that
    miscounted, as in warcio's ``example-trunc.warc``, whose gzip body loses the
    last 2 bytes of its trailer) is kept and the stray bytes stepped over: the
    HTTP Content-Length then marks the page truncated.

    A gzip member that the file's end cuts after the block (in the record's closing
    CRLF CRLF or the member's 8-byte trailer) loses nothing of the record: it is kept,
    and nothing follows it.
    """
    try:
        after = segment.peek(_MAX_STRAY + 8)
    except _Truncated:
        if not segment.ends_file():
            raise
        segment.exhausted = True
        return
    if not after or after[:1] in (b"\r", b"\n") or after.startswith(b"WARC/"):
        return
    stray = after.find(b"\nWARC/")
    if fmt is _WARC and 0 <= stray < _MAX_STRAY + 2:
        segment.skip(stray + 1)
        return
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


def _skip_record(segment: _Segment, head: _Head, reason: str, walk: _Walk) -> None:
    walk.stats.skip(reason)
    segment.counted = True
    segment.skip(head.length)
    _end_record(segment, head.length, walk.fmt)


def _read_record(segment: _Segment, head: _Head, at: str, walk: _Walk) -> FetchResult | str:
    """The result of one page record whose block is read here, or why it gives none."""
    if head.length > walk.max_record_size:
        segment.skip(head.length)
        _end_record(segment, head.length, walk.fmt)
        detail = f"record at {at} is {head.length} bytes, over the {walk.max_record_size}-byte limit"
        return FetchResult(url=head.uri, fetched_at=head.date, source="warc", failure="too_large", detail=detail)
    block, complete = segment.read_block(head.length)
    if complete:
        _end_record(segment, head.length, walk.fmt)
    if walk.fmt is _WARC:
        _check_not_swallowing(block, head.length)
    outcome = _block_result(head, block, at, walk.max_record_size)
    if isinstance(outcome, FetchResult) and outcome.failure in (None, "http_error"):
        outcome.truncated = outcome.truncated or head.declared_cut or not complete
    return outcome


def _records(segment: _Segment, where: Callable[[int], str], walk: _Walk) -> Iterator[FetchResult]:
    """Results for the page records of one segment, in order; every record counted in ``walk.stats``."""
    while not segment.exhausted:
        segment.counted = False
        head = walk.fmt.read_head(segment)
        if head is None:
            return
        reason = _skip_reason(head, walk.pattern)
        if reason is not None:
            _skip_record(segment, head, reason, walk)
            continue
        outcome = _read_record(segment, head, where(segment.record_start), walk)
        segment.counted = True
        if isinstance(outcome, str):
            walk.stats.skip(outcome)
            continue
        walk.stats.read += 1
        walk.stats.truncated += outcome.truncated
        yield outcome


def _lost(walk: _Walk, segment: _Segment, reason: str) -> None:
    """Count the record a damage result stands for, unless it was counted before the damage showed."""
    if not segment.counted:
        walk.stats.skip(reason)
        segment.counted = True


def _failure(path: str, offset: int, kind: str, detail: str) -> FetchResult:
    return FetchResult(url=f"{path}#offset={offset}", source="warc", failure=kind, detail=detail)


def iter_archive(
    path: str | os.PathLike[str],
    *,
    url_pattern: str | re.Pattern[str] | None = None,
    max_record_size: int = MAX_RECORD_SIZE,
    stats: ArchiveStats | None = None,
) -> Iterator[FetchResult]:
    """One :class:`FetchResult` per page record of a WARC, WET or ARC file (plain or gzip), in file order.

    ``url_pattern`` (a regex searched in the record's target URI) keeps only
    matching records; it is checked before a record's block is read.  Results
    of records that cannot be read carry ``failure="decode_error"`` (or
    ``too_large``) and a detail naming the record's offset; their ``url`` is
    the target URI when the record headers were readable, else
    ``"<path>#offset=<N>"``.  A page whose record is cut off has
    ``truncated=True``.  ``stats``, when given, counts every record as it goes:
    read, or skipped by reason (:data:`SKIP_REASONS`).  The format is told by
    the first bytes (a file that starts as neither is read as WARC, and says
    so).  Raises ``OSError`` only when the file cannot be opened.
    """
    pattern = re.compile(url_pattern) if isinstance(url_pattern, str) else url_pattern
    with open(path, "rb") as fh:
        walk = _Walk(os.fspath(path), _sniff(fh) or _WARC, pattern, max_record_size,
                     stats if stats is not None else ArchiveStats())
        fh.seek(0)
        if is_gzip(fh.read(2)):
            yield from _walk_gzip(fh, walk)
        else:
            yield from _walk_plain(fh, walk)


def _walk_gzip(fh: BinaryIO, walk: _Walk) -> Iterator[FetchResult]:
    size = os.fstat(fh.fileno()).st_size
    offset = 0
    name, kind = walk.name, walk.fmt.name
    while offset < size:
        member = _GzipMember(fh, offset, walk.fmt)

        def where(consumed: int, member: _GzipMember = member) -> str:
            return f"offset {member.start}" + (f" (+{consumed} bytes uncompressed)" if consumed else "")

        try:
            try:
                yield from _records(member, where, walk)
            except (_BadRecord, _ShortRecord) as exc:
                # The member itself decompressed: its neighbours are intact.
                _lost(walk, member, "truncated_header" if isinstance(exc, _ShortRecord) else "unreadable")
                yield _failure(name, member.start, "decode_error", f"bad {kind} record at {where(member.record_start)}: {exc}")
            if member.exhausted:
                return  # its last record was read as far as the file goes
            offset = member.finish()
        except _Corrupt as exc:
            _lost(walk, member, "unreadable")
            resume = _next_member(fh, member.start + 1, walk.fmt)
            tail = "" if resume is not None else f"; no later record to resync to, the last {size - member.start} bytes are skipped"
            yield _failure(name, member.start, "decode_error", f"corrupt gzip member at offset {member.start}: {exc}{tail}")
            if resume is None:
                return
            offset = resume
        except _Truncated:
            resume = _next_member(fh, member.start + 1, walk.fmt)
            if resume is None:
                _lost(walk, member, "truncated_header")
                yield _failure(
                    name, member.start, "decode_error",
                    f"the file is truncated at offset {member.start}: the gzip member starting there ends at the end of the file ({size} bytes)",
                )
                return
            # Not the end of the file after all: a damaged member ran on into the next ones.
            _lost(walk, member, "unreadable")
            yield _failure(name, member.start, "decode_error", f"corrupt gzip member at offset {member.start}: it does not end")
            offset = resume


def _walk_plain(fh: BinaryIO, walk: _Walk) -> Iterator[FetchResult]:
    size = os.fstat(fh.fileno()).st_size
    offset = 0
    name = walk.name
    while offset < size:
        segment = _PlainSegment(fh, offset)

        def where(consumed: int, segment: _PlainSegment = segment) -> str:
            return f"offset {segment.start + consumed}"

        try:
            yield from _records(segment, where, walk)
            return
        except _ShortRecord:
            at = segment.start + segment.record_start
            _lost(walk, segment, "truncated_header")
            yield _failure(
                name, at, "decode_error",
                f"the file is truncated at offset {at}: the record starting there ends at the end of the file ({size} bytes)",
            )
            return
        except _BadRecord as exc:
            at = segment.start + segment.record_start
            _lost(walk, segment, "unreadable")
            resume = _next_plain_record(fh, at + 1, walk.fmt)
            tail = "" if resume is not None else f"; no later record to resync to, the last {size - at} bytes are skipped"
            yield _failure(name, at, "decode_error", f"bad {walk.fmt.name} record at offset {at}: {exc}{tail}")
            if resume is None:
                return
            offset = resume
