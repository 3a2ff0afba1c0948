"""Bytes in, text out: encodings honoured, binary and empty input refused by name."""

from __future__ import annotations

import codecs
import gzip

import pytest

import scraper
from scraper.errors import BinaryInputError, EmptyInputError
from scraper.extract.decode import MAX_DECOMPRESSED_BYTES, decode_bytes, text_codec


def test_utf8_bom_is_dropped(seed_bytes: bytes) -> None:
    assert decode_bytes(codecs.BOM_UTF8 + seed_bytes) == seed_bytes.decode("utf-8")


def test_utf16_with_bom(seed_bytes: bytes) -> None:
    text = seed_bytes.decode("utf-8")
    assert decode_bytes(text.encode("utf-16")) == text


def test_windows_1252_bytes_decode_without_mojibake() -> None:
    raw = "Caf\u00e9 patients \u2013 don\u2019t worry".encode("cp1252")
    assert decode_bytes(raw) == "Caf\u00e9 patients \u2013 don\u2019t worry"


def test_a_declared_encoding_is_honoured() -> None:
    assert decode_bytes("\u00e9t\u00e9".encode("latin-1"), "latin-1") == "\u00e9t\u00e9"


def test_gzip_input_is_decompressed(seed_bytes: bytes) -> None:
    record = scraper.extract(gzip.compress(seed_bytes))
    assert len(record.answers) == 5


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"a" * (MAX_DECOMPRESSED_BYTES + 1024 * 1024))
    with pytest.raises(BinaryInputError, match="decompression bomb"):
        decode_bytes(bomb)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF"),
        (b"PK\x03\x04" + b"\x00" * 40, "ZIP"),
        (b"Title\x00\x00\x01\x02binary", "NUL"),
    ],
)
def test_binary_input_is_refused_with_what_it_is(data: bytes, what: str) -> None:
    with pytest.raises(BinaryInputError, match=what):
        scraper.extract(data)


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n", "\u00a0\n".encode()])
def test_empty_input_is_refused(data: bytes) -> None:
    with pytest.raises(EmptyInputError):
        scraper.extract(data)


@pytest.mark.parametrize("label", ["base64", "rot13", "hex", "zlib", "uu", "bz2", "quopri", "no-such-codec", "", None])
def test_labels_that_name_no_text_encoding_are_none(label: str | None) -> None:
    assert text_codec(label) is None


@pytest.mark.parametrize(("label", "name"), [("UTF-8", "utf-8"), ('"utf-16"', "utf-16"), (" Shift_JIS ", "shift_jis"), ("latin1", "iso8859-1")])
def test_text_encoding_labels_give_python_names(label: str, name: str) -> None:
    assert text_codec(label) == name


def test_a_non_text_codec_declared_for_text_is_ignored() -> None:
    assert decode_bytes("Caf\u00e9 au lait".encode("utf-8"), "base64") == "Caf\u00e9 au lait"
