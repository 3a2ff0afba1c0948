"""The shared bounded decoder: bombs stop at the limit in bounded memory, every coding round-trips,
damage is a named error, and the stream shapes servers and archives really send are read."""

from __future__ import annotations

import gzip
import sys
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from scraper.errors import BinaryInputError, DecompressedTooLargeError, DecompressionError, ScraperError
from scraper.extract.decode import decode_bytes
from scraper.fetch.decompress import DEFAULT_STEP, Decompressor, decompress
from scraper.fetch.result import FetchResult
from scraper.formats.warc import MAX_RECORD_SIZE, iter_archive
from tests.conftest import FIXTURES, SEED
from tests.formats.test_warc import build

PAGE = (FIXTURES / "html" / "discourse-ionic-177814" / "page.html").read_bytes()
"""A real Discourse page, 221 KB: realistic markup, not a run of one byte."""
LIMIT = 1024 * 1024
BOMB_SIZE = 100 * 1024 * 1024


def _zlib_compress(data_chunks: int, wbits: int, chunk: bytes = bytes(1024 * 1024)) -> bytes:
    """``data_chunks`` copies of ``chunk`` compressed in a stream, never all in memory at once."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(squeezer.compress(chunk) for _ in range(data_chunks)) + squeezer.flush()


def _raw_deflate(data: bytes) -> bytes:
    squeezer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return squeezer.compress(data) + squeezer.flush()


def _brotli() -> ModuleType:
    module: ModuleType = pytest.importorskip("brotli")
    return module


def _brotli_bomb() -> bytes:
    squeezer = _brotli().Compressor(quality=5)
    block = bytes(1024 * 1024)
    bomb: bytes = b"".join(squeezer.process(block) for _ in range(BOMB_SIZE // len(block))) + squeezer.finish()
    return bomb


BOMBS: dict[str, Callable[[], bytes]] = {
    "gzip": lambda: _zlib_compress(BOMB_SIZE >> 20, zlib.MAX_WBITS | 16),
    "deflate": lambda: _zlib_compress(BOMB_SIZE >> 20, zlib.MAX_WBITS),
    "raw-deflate": lambda: _zlib_compress(BOMB_SIZE >> 20, -zlib.MAX_WBITS),
    "br": _brotli_bomb,
}
CODING_OF = {"gzip": "gzip", "deflate": "deflate", "raw-deflate": "deflate", "br": "br"}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_stops_at_the_limit_in_bounded_memory(kind: str) -> None:
    bomb = BOMBS[kind]()
    assert len(bomb) < LIMIT  # small on the wire: only decompression shows what it is
    decoder = Decompressor(CODING_OF[kind], limit=LIMIT)
    given = 0
    tracemalloc.start()
    try:
        with pytest.raises(DecompressedTooLargeError, match=f"expands past {LIMIT} bytes"):
            for piece in decoder.feed(bomb):
                given += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert given <= LIMIT
    # A few steps' worth (a piece, zlib's output blocks, the input): the bomb's size plays no part.
    assert peak < 5 * DEFAULT_STEP, f"{peak} bytes held while refusing a {BOMB_SIZE}-byte bomb"


def test_the_one_shot_helper_refuses_a_bomb_with_memory_near_the_limit() -> None:
    bomb = BOMBS["gzip"]()
    tracemalloc.start()
    try:
        with pytest.raises(DecompressedTooLargeError) as caught:
            decompress(bomb, "gzip", limit=LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * LIMIT + 5 * DEFAULT_STEP  # the output kept so far, and the steps' own
    assert isinstance(caught.value, DecompressionError) and isinstance(caught.value, ScraperError)


def test_output_exactly_at_the_limit_is_allowed() -> None:
    data = SEED.read_bytes()
    assert decompress(gzip.compress(data), limit=len(data)) == data
    with pytest.raises(DecompressedTooLargeError):
        decompress(gzip.compress(data), limit=len(data) - 1)


ROUND_TRIPS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,  # what the RFC means: zlib-wrapped
    "raw deflate": _raw_deflate,  # what many servers send under the same name
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
@pytest.mark.parametrize("data", [PAGE, SEED.read_bytes(), b""], ids=["html", "text", "empty"])
def test_each_coding_round_trips(name: str, data: bytes) -> None:
    coding = "deflate" if name == "raw deflate" else name
    assert decompress(ROUND_TRIPS[name](data), coding, limit=LIMIT) == data


def test_brotli_round_trips() -> None:
    brotli = _brotli()
    assert decompress(brotli.compress(PAGE), "br", limit=LIMIT) == PAGE


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_input_fed_a_byte_at_a_time_gives_the_same_bytes(name: str) -> None:
    coding = "deflate" if name == "raw deflate" else name
    compressed = ROUND_TRIPS[name](PAGE)
    decoder = Decompressor(coding, step=4096)
    out = bytearray()
    for i in range(len(compressed)):
        for piece in decoder.feed(compressed[i : i + 1]):
            assert len(piece) <= 4096
            out += piece
    assert bytes(out) == PAGE and decoder.eof and not decoder.cut_short


def test_output_waiting_inside_zlib_after_the_last_input_byte_is_given() -> None:
    # Raw deflate has no trailer, so zlib may take in all the input while output is still to come;
    # a loop that stops when the input is used up loses the end of the body.
    data = bytes(2 * 1024 * 1024)
    decoder = Decompressor("deflate", step=64)  # smaller than the last deflate match: zlib holds part of it
    assert b"".join(decoder.feed(_raw_deflate(data))) == data and decoder.eof


@pytest.mark.parametrize(
    ("coding", "damaged"),
    [
        ("gzip", b"\x1f\x8b\x08\x00" + b"\xff" * 64),
        ("gzip", gzip.compress(PAGE)[:40] + b"\x00" * 200 + gzip.compress(PAGE)[240:]),
        ("deflate", b"\xff" * 64),
        ("deflate", zlib.compress(PAGE)[:30] + bytes(range(256)) * 4),
    ],
    ids=["gzip-header-then-junk", "gzip-zeroed-middle", "deflate-junk", "deflate-bad-middle"],
)
def test_corrupt_input_is_a_named_error(coding: str, damaged: bytes) -> None:
    with pytest.raises(DecompressionError, match="while decompressing data"):
        decompress(damaged, coding, limit=LIMIT)


def test_corrupt_brotli_is_a_named_error() -> None:
    brotli = _brotli()
    with pytest.raises(DecompressionError):
        decompress(b"not brotli at all, just text", "br", limit=LIMIT)
    with pytest.raises(DecompressionError):
        decompress(brotli.compress(PAGE) + b"trailing", "br", limit=LIMIT)


def test_concatenated_gzip_members_are_one_stream() -> None:
    half = len(PAGE) // 2
    members = gzip.compress(PAGE[:half]) + gzip.compress(PAGE[half:])
    assert decompress(members, limit=LIMIT) == PAGE


def test_a_member_whose_start_comes_in_a_later_feed_is_still_read() -> None:
    first, second = gzip.compress(b"first member, "), gzip.compress(b"second member")
    decoder = Decompressor("gzip")
    out = b"".join(decoder.feed(first))
    assert decoder.eof  # as far as the input shows
    out += b"".join(decoder.feed(second[:1]))  # half of gzip's magic: not yet known to be a member
    out += b"".join(decoder.feed(second[1:]))
    assert out == b"first member, second member" and decoder.eof


def test_one_member_only_leaves_the_rest_unread() -> None:
    first, second = gzip.compress(b"WARC/1.0 record one"), gzip.compress(b"WARC/1.0 record two")
    decoder = Decompressor("gzip", members=False)
    assert b"".join(decoder.feed(first + second)) == b"WARC/1.0 record one"
    assert decoder.eof and decoder.unused_data == second  # where the next member starts is known


def test_trailing_garbage_after_gzip_is_ignored_but_kept() -> None:
    decoder = Decompressor("gzip")
    assert b"".join(decoder.feed(gzip.compress(PAGE) + b"\r\n\r\ngarbage")) == PAGE
    assert decoder.unused_data == b"\r\n\r\ngarbage"
    assert decompress(gzip.compress(PAGE) + b"\x00" * 8, limit=LIMIT) == PAGE


def test_a_corrupt_member_after_a_good_one_is_an_error() -> None:
    with pytest.raises(DecompressionError):
        decompress(gzip.compress(PAGE) + b"\x1f\x8b\x08\x00" + b"\xff" * 32, limit=LIMIT)


def test_a_stream_cut_short_is_an_error_unless_allowed() -> None:
    cut = gzip.compress(PAGE)[:-40]
    with pytest.raises(DecompressionError, match="ends before its compressed stream does"):
        decompress(cut, limit=LIMIT)
    kept = decompress(cut, limit=LIMIT, truncated_ok=True)
    assert PAGE.startswith(kept) and len(kept) > len(PAGE) // 2
    decoder = Decompressor("gzip")
    b"".join(decoder.feed(cut))
    assert decoder.cut_short and not decoder.eof


def test_raw_deflate_is_recognised_even_when_its_first_bytes_come_alone() -> None:
    # The zlib reading fails on the second byte; the raw reading must start from the first.
    compressed = _raw_deflate(PAGE)
    decoder = Decompressor("deflate")
    out = b"".join(decoder.feed(compressed[:1])) + b"".join(decoder.feed(compressed[1:]))
    assert out == PAGE


def test_without_brotli_the_error_says_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "brotli", None)  # import brotli now raises ImportError
    with pytest.raises(DecompressionError, match=r"brotli package is not installed \(pip install brotli\)"):
        Decompressor("br")


def test_an_unknown_coding_is_refused_by_name() -> None:
    with pytest.raises(DecompressionError, match="unsupported content-encoding 'zstd'"):
        Decompressor("zstd")


def test_a_brotli_too_old_to_bound_its_output_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    old = ModuleType("brotli")
    old.Decompressor = type("Decompressor", (), {"process": lambda self, data: b""})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "brotli", old)
    with pytest.raises(DecompressionError, match=r"too old to bound its output \(1.2 or later is needed\)"):
        Decompressor("br")


# --- each caller keeps what it made of a failure ---------------------------------------------

URL = "https://forum.ionicframework.com/t/ionic-4-no-provider-for-http/177814"


def _archived(tmp_path: Path, coding: str, body: bytes) -> FetchResult:
    """The one result of a gzip WARC holding one response with this Content-Encoding and body."""
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", coding)]
    data, _ = build([{"type": "response", "uri": URL, "headers": headers, "body": body}], gz=True)
    path = tmp_path / "one.warc.gz"
    path.write_bytes(data)
    [result] = list(iter_archive(path))
    return result


def test_an_archived_brotli_body_is_decoded(tmp_path: Path) -> None:
    result = _archived(tmp_path, "br", _brotli().compress(PAGE))
    assert result.failure is None and result.body == PAGE


def test_an_archived_brotli_bomb_is_too_large(tmp_path: Path) -> None:
    result = _archived(tmp_path, "br", _brotli_bomb())
    assert result.failure == "too_large" and f"body expands past {MAX_RECORD_SIZE} bytes" in (result.detail or "")


def test_an_archived_body_cut_short_keeps_what_came_for_gzip_but_not_for_brotli(tmp_path: Path) -> None:
    cut = _archived(tmp_path, "gzip", gzip.compress(PAGE)[:-40])
    assert cut.failure is None and PAGE.startswith(cut.body) and len(cut.body) > len(PAGE) // 2
    brotli_cut = _archived(tmp_path, "br", _brotli().compress(PAGE)[:-40])
    assert brotli_cut.failure == "decode_error" and "brotli body does not decompress" in (brotli_cut.detail or "")


def test_an_archived_deflate_body_stored_decoded_is_kept(tmp_path: Path) -> None:
    markup = PAGE.lstrip()  # it starts as markup does: "<"
    stored = _archived(tmp_path, "deflate", markup)
    assert stored.failure is None and stored.body == markup
    assert _archived(tmp_path, "deflate", _raw_deflate(PAGE)).body == PAGE
    junk = _archived(tmp_path, "deflate", b"\xff\xfe" + bytes(range(256)))
    assert junk.failure == "decode_error" and "deflate body does not decompress" in (junk.detail or "")


def test_an_archived_body_in_an_unknown_coding_is_a_decode_error(tmp_path: Path) -> None:
    result = _archived(tmp_path, "zstd", b"(\xb5/\xfd" + PAGE)
    assert result.failure == "decode_error" and "unsupported content-encoding 'zstd'" in (result.detail or "")


def test_a_page_given_to_the_extractor_keeps_what_came_before_a_corrupt_member() -> None:
    text = SEED.read_bytes()
    damaged = gzip.compress(text) + b"\x1f\x8b\x08\x00" + b"\xff" * 64
    assert decode_bytes(damaged) == text.decode("utf-8")
    with pytest.raises(BinaryInputError, match="could not be decompressed"):
        decode_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 64)


def test_junk_fed_after_the_end_is_not_kept() -> None:
    decoder = Decompressor("gzip")
    assert b"".join(decoder.feed(gzip.compress(PAGE))) == PAGE
    for _ in range(100):
        assert list(decoder.feed(b"junk" * 4096)) == []
    assert len(decoder.unused_data) <= 16 * 1024 and decoder.eof
