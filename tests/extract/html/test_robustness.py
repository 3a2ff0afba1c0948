"""Whatever bytes arrive, extraction gives a record or a named error, never a crash or a hang.

Small made fault pages live in ``tests/fixtures/html_faults/`` (see its README);
large and pathological ones are built here.  The thread guard is a safety net
against hangs only, never a speed assertion.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import scraper
from scraper import BinaryInputError, EmptyInputError, ExtractionError, NotAQAPageError, RawPage
from scraper.extract.api import extract_page_explained

FAULTS = Path(__file__).resolve().parents[2] / "fixtures" / "html_faults"
HANG_GUARD_SECONDS = 300

T = TypeVar("T")


def guarded(call: Callable[[], T]) -> T:
    """Run ``call`` in a thread; fail (instead of hanging the suite) if it never returns."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=HANG_GUARD_SECONDS)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"extraction did not finish within {HANG_GUARD_SECONDS} s")
    finally:
        pool.shutdown(wait=False)


def extract(body: bytes, **raw: Any) -> scraper.PageRecord:
    return guarded(lambda: scraper.extract_page(RawPage(body=body, **raw)))


def codes(record: scraper.PageRecord) -> set[str]:
    return {w.code for w in record.warnings}


# Control characters other than line breaks and tabs, and lone surrogates.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def strings(value: Any, path: str = "record") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}[{i}]")


def assert_clean_strings(record: scraper.PageRecord) -> None:
    bad = [(path, text) for path, text in strings(record.model_dump()) if _BAD_CHARS.search(text)]
    assert bad == []
    record.model_dump_json()  # serialises: no lone surrogate left anywhere


# --- encodings ----------------------------------------------------------------------------

TITLE = "Is 25 too young for Botox? What’s the right age?"
QUESTION_BODY = "I’m 25 and my forehead lines show in photos. Is it too early to start? I read a café magazine article saying “start early”."
ANSWERS = [
    ("Don’t worry – preventive Botox at 25 is common. A small dose costs about €150.", "Renée Dupré, MD"),
    ("There’s no “right” age; treat the lines you see. Start low.", "José Peña, MD"),
]
MOJIBAKE = re.compile("â€|Ã.|Â|\ufffd")


def assert_botox_page(record: scraper.PageRecord) -> None:
    assert record.question.title == TITLE
    assert record.question.body == QUESTION_BODY
    assert [(a.body, a.author.name if a.author else None) for a in record.answers] == ANSWERS
    assert record.answer_count == 2
    for path, text in strings(record.model_dump()):
        assert not MOJIBAKE.search(text), (path, text)
    assert_clean_strings(record)


@pytest.mark.parametrize(
    "name",
    [
        "utf8-bom.html",
        "windows-1252-meta.html",
        "cp1252-labelled-utf8.html",
        pytest.param(
            "utf16le-bom.html",
        ),
        pytest.param(
            "iso-8859-1-labelled-cp1252.html",
        ),
    ],
)
def test_encoded_pages_give_the_right_characters(name: str) -> None:
    assert_botox_page(extract((FAULTS / name).read_bytes(), kind="file", path=name))


def test_utf8_bom_is_not_part_of_the_record() -> None:
    record = extract((FAULTS / "utf8-bom.html").read_bytes())
    assert not record.question.title.startswith("\ufeff")


def test_windows_1252_labelled_utf8_bytes_are_read_as_windows_1252() -> None:
    data = (FAULTS / "cp1252-labelled-utf8.html").read_bytes()
    assert b"What\x92s" in data and b"caf\xe9" in data and b"\xa0" in data  # the stray bytes are really there
    record = extract(data)
    assert "What’s" in record.question.title
    assert "café" in (record.question.body or "")


def test_cp1252_page_with_http_charset_saying_utf8_is_still_read() -> None:
    data = (FAULTS / "cp1252-labelled-utf8.html").read_bytes()
    assert_botox_page(extract(data, kind="http", encoding="utf-8"))


def cyrillic_page(meta: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>Ботокс в 25 лет</title></head><body>"
        '<div itemscope itemtype="https://schema.org/QAPage"><div itemprop="mainEntity" itemscope itemtype="https://schema.org/Question">'
        '<h1 itemprop="name">Ботокс в 25 лет — не рано?</h1>'
        '<div itemprop="suggestedAnswer" itemscope itemtype="https://schema.org/Answer">'
        '<div itemprop="text"><p>Нет, это обычный возраст для первой процедуры.</p></div></div>'
        "</div></div></body></html>"
    )


def test_http_declared_charset_is_used() -> None:
    # Without the transport's charset these bytes would be read as UTF-8/windows-1252 mojibake.
    record = extract(cyrillic_page().encode("windows-1251"), kind="http", encoding="windows-1251")
    assert record.question.title == "Ботокс в 25 лет — не рано?"
    assert record.answers[0].body == "Нет, это обычный возраст для первой процедуры."


def test_http_declared_charset_wins_over_a_wrong_meta_charset() -> None:
    page = cyrillic_page('<meta charset="iso-8859-5">').encode("windows-1251")
    record = extract(page, kind="http", encoding="windows-1251")
    assert record.question.title == "Ботокс в 25 лет — не рано?"


def test_meta_charset_is_used_when_the_transport_says_nothing() -> None:
    record = extract(cyrillic_page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">').encode("windows-1251"))
    assert record.answers[0].body == "Нет, это обычный возраст для первой процедуры."


def test_unknown_charset_label_falls_back_without_crashing() -> None:
    page = (FAULTS / "utf8-bom.html").read_bytes()[3:].replace(b'charset="utf-8"', b'charset="x-no-such-charset"')
    assert_botox_page(extract(page, encoding="also-not-a-charset"))


# --- control characters and lone surrogates -----------------------------------------------


def microdata_page(title: str, question: str, answer: str) -> bytes:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title></head><body>"
        '<div itemscope itemtype="https://schema.org/QAPage"><div itemprop="mainEntity" itemscope itemtype="https://schema.org/Question">'
        f'<h1 itemprop="name">{title}</h1><div itemprop="text"><p>{question}</p></div>'
        f'<div itemprop="suggestedAnswer" itemscope itemtype="https://schema.org/Answer"><div itemprop="text"><p>{answer}</p></div></div>'
        "</div></div></body></html>"
    ).encode()


def jsonld_page(title: str, question: str, answer: str, author: str = "Dr Ann Lee") -> bytes:
    # The escapes are written into the JSON text as \\uXXXX, as servers emit them.
    block = (
        '{"@context":"https://schema.org","@type":"QAPage","mainEntity":{"@type":"Question",'
        f'"name":"{title}","text":"{question}","suggestedAnswer":{{"@type":"Answer","text":"{answer}",'
        f'"author":{{"@type":"Person","name":"{author}"}}}}}}}}'
    )
    return f'<html><head><script type="application/ld+json">{block}</script></head><body></body></html>'.encode()


def next_data_page(title: str, question: str, answer: str) -> bytes:
    state = (
        '{"props":{"pageProps":{"question":{"title":"' + title + '","body":"' + question + '",'
        '"answers":[{"body":"' + answer + '","createdAt":"2023-01-02","author":{"name":"Dr Ann Lee"}}]}}}}'
    )
    return f'<html><head></head><body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{state}</script></body></html>'.encode()


CONTROL_INPUTS = [
    pytest.param(
        microdata_page("Bell\x07 and escape\x1b title", "Question\x01 with\x0b controls", "Answer \x08with\x7f raw controls"),
        id="raw-control-bytes",
    ),
    pytest.param(
        microdata_page("Title &#7; &#x1b; &#128; x", "Question &#1; body", "Answer &#7; text &#x9F; end"),
        id="html-numeric-entities",
    ),
    pytest.param(
        jsonld_page(r"Bell\u0007 title", r"ctl \u0001 here \u0085 x", r"Answer with \u009f c1 and \u000b vtab."),
        id="jsonld-control-escapes",
    ),
    pytest.param(
        jsonld_page(r"Emoji cut \ud83d", "q", r"Thanks! \ud83d\ude00 That helped. Cut here \ud83d", author=r"Dr \udc00 X"),
        id="jsonld-lone-surrogates",
    ),
    pytest.param(
        next_data_page(r"Title \u0007 bell", r"Body \u0001 control \ud83d", r"An answer body \udc00 with a lone surrogate"),
        id="app-state-controls-and-surrogates",
    ),
    pytest.param(
        microdata_page("Surrogate entity &#xD800; title", "Question &#55296; body", "Answer &#xDFFF; text"),
        id="surrogate-entities",
    ),
]


@pytest.mark.parametrize("page", CONTROL_INPUTS)
def test_no_control_characters_or_lone_surrogates_in_any_output_string(page: bytes) -> None:
    record = extract(page)
    assert record.answers, "the page has one answer"
    assert_clean_strings(record)


def test_every_fault_fixture_record_has_clean_strings() -> None:
    for name in ("utf8-bom.html", "windows-1252-meta.html", "cp1252-labelled-utf8.html", "truncated-mid-tag.html",
                 "unclosed-tags.html", "gzip-page.html.gz"):
        assert_clean_strings(extract((FAULTS / name).read_bytes()))


# --- broken HTML --------------------------------------------------------------------------


def test_unclosed_tags_are_recovered() -> None:
    record = extract((FAULTS / "unclosed-tags.html").read_bytes())
    assert_botox_page(record)
    assert record.warnings == []


def test_page_truncated_inside_a_tag_keeps_what_arrived() -> None:
    data = (FAULTS / "truncated-mid-tag.html").read_bytes()
    assert data.endswith(b'<div itemprop="author" itemsco')
    record = extract(data)
    assert record.question.title == TITLE
    assert [a.body for a in record.answers] == [body for body, _ in ANSWERS]
    assert record.answers[0].author is not None and record.answers[0].author.name == "Renée Dupré, MD"
    assert record.answers[1].author is None  # the author card was cut off


def test_page_truncated_inside_a_tag_is_marked_truncated() -> None:
    record = extract((FAULTS / "truncated-mid-tag.html").read_bytes())
    assert record.truncated is True
    assert "truncated" in codes(record)


def test_realself_page_cut_inside_a_tag_is_truncated_with_earlier_answers_kept() -> None:
    page = (Path(__file__).resolve().parents[2] / "fixtures" / "html" / "realself-made-question-angularjs" / "page.html").read_bytes()
    cut = page[: page.index(b"BOTOX and muscle atrophy")]
    cut = cut[: cut.rindex(b"<") + 8]  # ends as '<h3 clas'
    record = extract(cut, url="https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles")
    assert record.truncated is True
    assert {"truncated", "answer_count_mismatch"} <= codes(record)
    assert record.answer_count == 5
    assert [a.title for a in record.answers] == [
        "Botox will not cause muscle atrophy in the short term",
        "Muscle atrophy and Botox",
        "Does Botox Cause Muscle Atrophy?",
        "Because 'If You Don't Use It You Lose It' is That True for Botox? You Paralyze Muscles...",
    ]


QAPAGE_JSONLD = (
    '<script type="application/ld+json">{"@context":"https://schema.org","@type":"QAPage","mainEntity":'
    '{"@type":"Question","name":"Does deep markup break extraction?","text":"Asking for a friend.","answerCount":1,'
    '"suggestedAnswer":{"@type":"Answer","text":"No: the structured data is still read.","upvoteCount":2}}}</script>'
)


def test_twenty_thousand_nested_divs_with_structured_data_in_head() -> None:
    page = ("<!DOCTYPE html><html><head><title>Deep</title>" + QAPAGE_JSONLD + "</head><body>"
            + "<div>" * 20_000 + "<p>deep text</p>" + "</div>" * 20_000 + "</body></html>").encode()
    record = extract(page)
    assert record.question.title == "Does deep markup break extraction?"
    assert [a.body for a in record.answers] == ["No: the structured data is still read."]


def test_twenty_thousand_nested_divs_without_qa_is_a_named_error() -> None:
    page = ("<html><head><title>Deep</title></head><body>" + "<div class='x'>" * 20_000 + "<p>deep</p>"
            + "</div>" * 20_000 + "</body></html>").encode()
    with pytest.raises(ExtractionError):
        extract(page)


def test_structured_data_after_twenty_thousand_nested_divs_is_a_named_error_that_says_why() -> None:
    # libxml2 stops building the tree at depth 255, so what follows the deep part is not read. That is
    # a known limit: the page gives a named error whose message says the nesting is the reason.
    page = ("<!DOCTYPE html><html><head><title>Deep</title></head><body>" + "<div>" * 20_000 + "<p>deep</p>"
            + "</div>" * 20_000 + QAPAGE_JSONLD + "</body></html>").encode()
    with pytest.raises(ExtractionError, match="nests elements deeper"):
        extract(page)


def test_deep_nesting_before_readable_data_is_a_warning() -> None:
    page = ("<!DOCTYPE html><html><head><title>Deep</title>" + QAPAGE_JSONLD + "</head><body>"
            + "<div>" * 20_000 + "<p>deep text</p>" + "</div>" * 20_000 + "</body></html>").encode()
    assert "nesting_too_deep" in codes(extract(page))


@pytest.fixture(scope="module")
def twenty_megabyte_page() -> bytes:
    paragraph = (
        "<div class='comment'><p>Thank you doctor, this was very helpful. I had the same question about swelling "
        "and bruising after my procedure &amp; it settled in two weeks.</p></div>\n"
    )
    filler = paragraph * (20_000_000 // len(paragraph))
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Huge</title>" + QAPAGE_JSONLD
            + "</head><body><h1>Does deep markup break extraction?</h1><section class='comments'>" + filler
            + "</section></body></html>").encode()
    assert len(page) > 19_000_000
    return page


def test_twenty_megabyte_page_gives_a_record(twenty_megabyte_page: bytes) -> None:
    record = extract(twenty_megabyte_page)
    assert record.question.title == "Does deep markup break extraction?"
    assert record.answer_count == 1
    assert [a.body for a in record.answers] == ["No: the structured data is still read."]


# --- not a page ---------------------------------------------------------------------------


def test_binary_file_with_an_html_name_is_a_binary_input_error() -> None:
    with pytest.raises(BinaryInputError, match="PNG"):
        extract((FAULTS / "png-named.html").read_bytes(), kind="file", path="png-named.html")


def test_random_binary_bytes_are_a_binary_input_error() -> None:
    noise = bytes((i * 7919 + 13) % 256 for i in range(8192))
    with pytest.raises(BinaryInputError):
        extract(noise, kind="file", path="download.html")


def test_empty_file_is_an_empty_input_error() -> None:
    with pytest.raises(EmptyInputError):
        extract((FAULTS / "empty.html").read_bytes(), kind="file", path="empty.html")


def test_whitespace_only_html_is_an_empty_input_error() -> None:
    with pytest.raises(EmptyInputError):
        extract(b" \r\n\t \n")


def test_html_with_no_qa_is_a_not_a_qa_page_error() -> None:
    with pytest.raises(NotAQAPageError):
        extract((FAULTS / "no-qa.html").read_bytes(), kind="file", path="no-qa.html")


def test_html_skeleton_without_body_text_is_a_named_error() -> None:
    with pytest.raises(ExtractionError):
        extract(b"<!DOCTYPE html><html><head></head><body></body></html>")


def test_gzip_compressed_page_is_read() -> None:
    data = (FAULTS / "gzip-page.html.gz").read_bytes()
    assert data[:2] == b"\x1f\x8b"
    assert_botox_page(extract(data, kind="file", path="gzip-page.html.gz"))


def test_truncated_gzip_stream_keeps_what_decompressed() -> None:
    import gzip

    page = (FAULTS / "utf8-bom.html").read_bytes()[3:]
    data = gzip.compress(page + b"<!-- " + b"padding " * 4000 + b"-->", mtime=0)
    record = extract(data[: len(data) - 40])
    assert record.question.title == TITLE


def test_corrupt_gzip_is_a_binary_input_error() -> None:
    with pytest.raises(BinaryInputError):
        extract(b"\x1f\x8b\x08\x00" + b"\xff" * 64)


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(b"<html><body><p>half a page<", id="ends-with-lt"),
        pytest.param(b"<html><head><script type='application/ld+json'>{\"@type\":\"QAPage\",\"mainEntity\":{\"@type\"", id="cut-jsonld"),
        pytest.param(b'<html><body><script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":', id="cut-next-data"),
        pytest.param(b"<html><body>" + b"<table>" * 5000 + b"x", id="unclosed-tables"),
        pytest.param(b"<?xml version='1.0' encoding='utf-8'?><html><body><p>xhtml</p></body></html>", id="xml-declaration"),
        pytest.param("<html><body><p>\u2028\u2029\ufeff\ufffe</p></body></html>".encode(), id="odd-unicode"),
        pytest.param(b"<html><body>" + b"<p>" + b"x" * 2_000_000 + b"</p></body></html>", id="one-huge-text-node"),
    ],
)
def test_odd_inputs_give_a_record_or_a_named_error(page: bytes) -> None:
    try:
        record = extract(page)
    except ExtractionError:
        return
    assert_clean_strings(record)


def test_explained_extraction_also_survives_the_fault_fixtures() -> None:
    for path in sorted(FAULTS.iterdir()):
        if path.name == "README.md":
            continue
        try:
            explained = guarded(lambda: extract_page_explained(RawPage(body=path.read_bytes(), kind="file", path=path.name)))
        except ExtractionError:
            continue
        assert explained.strategies, path.name
        assert explained.record.source.path == path.name
        json.loads(explained.record.model_dump_json())
