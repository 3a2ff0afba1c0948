"""The text helpers the extractors share: one BOM sniff, one control scrub, one word key.

Each used to be written out where it was used; these tests pin the behaviour every caller
relied on, so a change to the shared copy shows here rather than in one extractor's output.
"""

from __future__ import annotations

import codecs
import json

import pytest

from scraper import extract
from scraper.extract.clean import scrub_controls, word_key
from scraper.extract.decode import BOMS, HTML_BOMS, decode_bom, decode_bytes
from scraper.extract.html.document import parse_html
from tests.conftest import ROOT, SEED

TEXT = SEED.read_text(encoding="utf-8")
"""A real text render (a RealSelf question with five answers)."""
HTML = "<html><head><title>Caf\u00e9 \u2013 don\u2019t</title></head><body><p>R\u00e9ponse \U0001f600</p></body></html>"


# --- byte-order marks ------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_bom_names_the_codec_and_is_not_part_of_the_text(codec: str) -> None:
    bom = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
           "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}[codec]
    assert decode_bom(bom + TEXT.encode(codec)) == (TEXT, codec)
    assert decode_bytes(bom + TEXT.encode(codec)) == TEXT


def test_no_bom_is_none() -> None:
    assert decode_bom(TEXT.encode("utf-8")) is None
    assert decode_bom(b"") is None


def test_a_utf32_mark_is_read_as_utf32_in_text_but_as_utf16_in_html_as_browsers_do() -> None:
    data = codecs.BOM_UTF32_LE + HTML.encode("utf-32-le")
    assert decode_bom(data, BOMS) == (HTML, "utf-32-le")
    found = decode_bom(data, HTML_BOMS)
    assert found is not None and found[1] == "utf-16-le"  # FF FE 00 00 starts with UTF-16-LE's mark
    assert parse_html(data).encoding == "utf-16-le"


def test_a_bad_byte_after_a_bom_is_replaced_not_raised() -> None:
    assert decode_bom(codecs.BOM_UTF8 + b"caf\xe9 au lait") == ("caf\ufffd au lait", "utf-8")


@pytest.mark.parametrize("bom", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_text_and_html_decoding_agree_on_a_marked_page(bom: bytes) -> None:
    codec = dict(HTML_BOMS)[bom]
    data = bom + HTML.encode(codec)
    assert decode_bytes(data) == HTML
    doc = parse_html(data)
    assert doc.encoding == codec and doc.root.text_content() == parse_html(HTML.encode("utf-8")).root.text_content()


@pytest.mark.parametrize("label", ["base64", "rot13", "zlib", "hex"])
def test_text_and_html_decoding_both_ignore_a_label_that_names_no_text_codec(label: str) -> None:
    data = HTML.encode("utf-8")
    assert decode_bytes(data, label) == HTML
    assert parse_html(data, label).encoding == "utf-8"


# --- control characters ----------------------------------------------------------------------


def test_controls_become_spaces_and_lone_surrogates_the_replacement_character() -> None:
    # What json.loads makes of a JSON-LD answer with a bell escape and half an emoji.
    value = json.loads(r'"Thanks!\u0007 That helped \ud83d\ude00 a lot \ud83d"')
    assert scrub_controls(value) == "Thanks!  That helped \U0001f600 a lot \ufffd"


def test_tab_and_line_breaks_are_kept_every_other_control_goes() -> None:
    controls = "".join(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)])
    kept = scrub_controls(f"a{controls}b")
    assert kept == "a" + "".join(c if c in "\t\n\r" else " " for c in controls) + "b"
    assert scrub_controls("\udc00") == "\ufffd"


def test_clean_text_is_returned_as_it_is() -> None:
    assert scrub_controls(TEXT) is TEXT
    assert scrub_controls("Caf\u00e9 \u2013 \u00a0 \U0001f600") == "Caf\u00e9 \u2013 \u00a0 \U0001f600"


def test_a_nul_byte_in_an_html_page_parses_as_a_space() -> None:
    page = b"<html><body><p>Answer\x00one</p></body></html>"
    doc = parse_html(page)
    assert doc.root.xpath("string(//p)") == "Answer one"  # not U+FFFD, which the parser would make of it


def test_controls_in_a_utf8_page_reach_the_record_as_spaces() -> None:
    # Clean UTF-8 pages are parsed from their bytes, controls and all (scanning 400 KB pages for
    # them cost 3% of extraction); every text field of the record is scrubbed on its way out.
    folder = ROOT / "tests" / "fixtures" / "html" / "stackoverflow-48978459"
    page, url = (folder / "page.html").read_bytes(), json.loads((folder / "expected.json").read_text(encoding="utf-8"))["url"]
    clean = extract(page, url=url)
    dirty = (page.replace(b'question-hyperlink">Why &ldquo;', b'question-hyperlink">Why\x07&ldquo;', 1)
             .replace(b"Because python compares", b"Because\x1b python\xc2\x85compares", 1)
             .replace(b">Slam<", b">Sl\x7fam<"))
    assert dirty.count(b"\x07") == 1 and dirty.count(b"\x1b") == 1 and b"Sl\x7fam" in dirty
    record = extract(dirty, url=url)
    assert record.question.title == clean.question.title == "Why \u201ccat\u201d is not equal to \u201cdog\u201d in Python [duplicate]"
    assert record.answers[0].body == clean.answers[0].body
    assert record.answers[0].body is not None and record.answers[0].body.startswith("Because python compares")
    assert record.answers[0].author is not None and record.answers[0].author.name == "Sl am"


# --- word keys -------------------------------------------------------------------------------


def test_two_renders_of_one_answer_have_one_key() -> None:
    rendered = "Botox can cause  temporary atrophy,\nbut it resolves."
    structured = "BOTOX can cause temporary atrophy -- but it resolves!"
    assert word_key(rendered) == word_key(structured) == "botox can cause temporary atrophy but it resolves"


def test_a_key_can_be_cut_and_none_is_empty() -> None:
    first_line = TEXT.split("\n", 1)[0]
    assert word_key(TEXT, 40) == word_key(TEXT)[:40]
    assert len(word_key(TEXT, 40)) == 40 and word_key(TEXT).startswith(word_key(first_line))
    assert word_key(None) == word_key("") == word_key(" -- !") == ""


def test_different_answers_have_different_keys() -> None:
    assert word_key("It will not last.") != word_key("It will last.")
