"""Bytes in, text out: the one place where an input's encoding is decided.

Refusing binary input here, before any parsing, is what keeps a stray image or
archive in a batch from turning into a garbage record further down.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from scraper.errors import BinaryInputError, DecompressedTooLargeError, DecompressionError, EmptyInputError
from scraper.fetch.decompress import Decompressor, is_gzip
from scraper.limits import MAX_EXTRACT_INPUT_SIZE

__all__ = ["BOMS", "HTML_BOMS", "MAX_DECOMPRESSED_BYTES", "decode_bom", "decode_bytes", "gunzip_if_compressed", "text_codec"]

MAX_DECOMPRESSED_BYTES = MAX_EXTRACT_INPUT_SIZE
"""A gzip input may not expand past this (decompression bombs); the value lives in :mod:`scraper.limits`."""

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
"""Byte-order marks and the codec each announces; UTF-32's first, since UTF-32-LE's begins with UTF-16-LE's."""
HTML_BOMS = BOMS[2:]
"""The marks a browser honours (WHATWG Encoding has no UTF-32): ``FF FE 00 00`` opens a UTF-16 page there."""
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
    b"\x7fELF": "an executable",
    b"RIFF": "a RIFF media file",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
}


_CONTROL_BYTES = bytes([*range(9), *range(14, 32)])


def _gunzip(data: bytes) -> bytes:
    """Decompress gzip input, bounded, members one after another (as WARC segments have).

    Lenient where the fetchers are strict: a page is worth reading as far as it goes, so a
    stream cut short, or corrupt after some output, keeps what decompressed.
    """
    decoder = Decompressor("gzip", limit=MAX_DECOMPRESSED_BYTES)
    out = bytearray()
    try:
        for piece in decoder.feed(data):
            out += piece
    except DecompressedTooLargeError:
        raise BinaryInputError(
            f"gzip input expands past {MAX_DECOMPRESSED_BYTES // (1 << 20)} MiB: refused as a likely decompression bomb"
        ) from None
    except DecompressionError as exc:
        if not out:
            raise BinaryInputError(f"gzip input could not be decompressed: {exc}") from exc
    return bytes(out)


def text_codec(label: str | None) -> str | None:
    """Python's name for a charset label, or None when it names no text encoding.

    Why not ``codecs.lookup`` alone: it also finds bytes-to-bytes and str-to-str
    codecs (``base64``, ``hex``, ``zlib``, ``uu``, ``rot13``), and a page that
    declares one as its charset must be read as if it declared nothing, not fail.
    ``bytes.decode`` refuses exactly those codecs (but only for non-empty input), so decoding
    four NUL bytes, which every text codec reads with ``errors="ignore"``, tells them apart.
    """
    if not label:
        return None
    name = label.strip().strip("\"'")
    try:
        b"\0\0\0\0".decode(name, errors="ignore")
        return codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None


def gunzip_if_compressed(data: bytes) -> bytes:
    """The decompressed bytes of a gzip input (bounded), else ``data`` unchanged."""
    return _gunzip(data) if is_gzip(data) else data


def decode_bom(data: bytes, boms: tuple[tuple[bytes, str], ...] = BOMS) -> tuple[str, str] | None:
    """(text, codec) when ``data`` opens with one of ``boms``, decoded with replacement; else None.

    Why a mark outranks every label: a declared charset is often wrong, but a BOM is
    written by the program that encoded the bytes.  Text and HTML differ only in which
    marks they honour (:data:`BOMS`, :data:`HTML_BOMS`).
    """
    for bom, codec in boms:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace"), codec
    return None


def _describe_binary(data: bytes) -> str | None:
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            return what
    head = data[:8192]
    if b"\x00" in head:
        return "binary data (it contains NUL bytes)"
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > len(head) * 0.05:
        return "binary data (too many control bytes)"
    return None


def decode_bytes(data: bytes, declared_encoding: str | None = None) -> str:
    """Decode raw page bytes to text.

    Order of trust: a byte-order mark, then a declared encoding that decodes
    cleanly, then UTF-8, then charset detection, then windows-1252 with
    replacement (never an exception for undecodable bytes).
    """
    data = gunzip_if_compressed(data)
    marked = decode_bom(data)
    if marked is not None:
        return _check_text(marked[0])
    if not data.strip():
        raise EmptyInputError("the input is empty")
    what = _describe_binary(data)
    if what is not None:
        raise BinaryInputError(f"the input is {what}, not a text or HTML page")
    for encoding in filter(None, (text_codec(declared_encoding), "utf-8")):
        try:
            return _check_text(data.decode(encoding))
        except (UnicodeDecodeError, LookupError):
            continue
    best = from_bytes(data[:65536]).best()
    if best is not None and best.encoding:
        return _check_text(data.decode(best.encoding, errors="replace"))
    return _check_text(data.decode("cp1252", errors="replace"))


def _check_text(text: str) -> str:
    if not text.strip():
        raise EmptyInputError("the input holds only whitespace")
    return text
