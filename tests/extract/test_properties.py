"""Property-based tests (hypothesis) on the extractors and the junk cleaner.

Any bytes in -> a valid record or a named error; nothing else escapes, nothing hangs (the
deadline is generous: it only catches a hang, it measures no speed); cleaning is idempotent;
text holding no template syntax comes out unchanged apart from whitespace.
"""

from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import scraper
from scraper.errors import ExtractionError
from scraper.extract.clean import clean_line, strip_template_junk
from tests.conftest import SEED

SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.split("\n")
JUNK = [
    "{{ voteCount >= 0 ? '+' + (voteCount + 1) : (voteCount + 1) }}", "{% if answer.photos %}", "${doctor.rating}",
    "[[ vote.total ]]", "<< answerDate >>", "{{#if featured}}", "{{ helpfulCount }} people found this helpful",
    "{{ x", "y }}", "Helpful", "Share", "Read more", "+3",
]
DELIMITERS = ("{{", "}}", "{%", "%}", "${", "[[", "]]", "<<", ">>", "<%", "%>", "{#", "#}")
# CI runs the same examples every time (a fixed seed); developers' runs explore new ones.
CI = bool(os.environ.get("CI"))
BOUND = settings(max_examples=150, deadline=10_000, suppress_health_check=[HealthCheck.too_slow], derandomize=CI)


def extracts_or_names_its_error(data: bytes) -> None:
    try:
        record = scraper.extract(data)
    except ExtractionError:
        return
    assert isinstance(record, scraper.PageRecord)
    scraper.PageRecord.model_validate(record.model_dump())  # what came out validates again


@BOUND
@given(st.binary(max_size=4096))
@example(b"")
@example(b"\x00" * 10)
@example(b"\x1f\x8b\x08\x00garbage")
@example(b"<html><body>" * 50)
def test_any_bytes_give_a_record_or_a_named_error(data: bytes) -> None:
    extracts_or_names_its_error(data)


@BOUND
@given(st.text(max_size=3000))
def test_any_text_gives_a_record_or_a_named_error(text: str) -> None:
    extracts_or_names_its_error(text.encode("utf-8", "surrogatepass"))


@BOUND
@given(
    st.lists(
        st.tuples(st.integers(0, len(SEED_LINES)), st.sampled_from(JUNK + ["", "Doctor Answers 3", "4.5 out of 5 stars 2 reviews", "Jane Roe, MD", "\u00a0", "\r"])),
        max_size=12,
    ),
    st.integers(0, len(SEED_TEXT)),
)
def test_mutated_seed_pages_give_a_record_or_a_named_error(inserts: list[tuple[int, str]], cut: int) -> None:
    lines = list(SEED_LINES)
    for position, line in sorted(inserts, reverse=True):
        lines.insert(position, line)
    text = "\n".join(lines)[: cut + len(inserts) * 20]
    extracts_or_names_its_error(text.encode("utf-8"))


TAGS = ["p", "div", "span", "h1", "h3", "li", "ul", "a", "br", "pre", "script", "style", "nav", "article", "time"]


@st.composite
def html_pages(draw: st.DrawFn) -> bytes:
    parts = ["<!doctype html><html><head>"]
    if draw(st.booleans()):
        name = draw(st.text(max_size=40))
        parts.append('<script type="application/ld+json">{"@type":"QAPage","mainEntity":{"@type":"Question","name":'
                     + repr(name).replace("'", '"') + ',"suggestedAnswer":[{"@type":"Answer","text":"'
                     + draw(st.sampled_from(["A real answer body.", "&quot;x&quot;", "\\ud83d", "", "{{ junk }}"])) + '"}],}}</script>')
    parts.append("</head><body>")
    for _ in range(draw(st.integers(0, 30))):
        tag = draw(st.sampled_from(TAGS))
        attrs = draw(st.sampled_from(["", ' class="x"', ' itemprop="text"', ' itemscope itemtype="https://schema.org/Answer"',
                                       ' hidden', ' style="display:none"', ' href="{{ url }}"']))
        text = draw(st.text(max_size=60)).replace("<", "&lt;")
        parts.append(f"<{tag}{attrs}>{text}" + (f"</{tag}>" if draw(st.booleans()) else ""))
    if draw(st.booleans()):
        parts.append("</body></html>")
    page = "".join(parts).encode("utf-8", "surrogatepass")
    return page[: draw(st.integers(0, len(page)))] if draw(st.booleans()) else page


@BOUND
@given(html_pages())
def test_any_html_gives_a_record_or_a_named_error(page: bytes) -> None:
    extracts_or_names_its_error(page)


@settings(max_examples=300, deadline=10_000, derandomize=CI)
@given(st.text(max_size=400))
@example("Hi {{ name }} there {% if x %}.")
@example("{{ a {{ b }} c }}")
@example(":\n\n:")
@example(":\naA")  # (two lines that join into a widget line)
def test_cleaning_is_idempotent(text: str) -> None:
    once = clean_line(text)
    assert clean_line(once) == once
    stripped = strip_template_junk(text)
    assert strip_template_junk(stripped) == stripped


@settings(max_examples=300, deadline=10_000, derandomize=CI)
@given(st.text(max_size=400).filter(lambda t: not any(d in t for d in DELIMITERS)))
@example("Results last {roughly} 3-4 months; if BMI >= 30 then wait; a < b > c")
def test_text_without_template_syntax_is_unchanged_apart_from_whitespace(text: str) -> None:
    assert " ".join(strip_template_junk(text).split()) == " ".join(text.split())


@settings(max_examples=200, deadline=10_000, derandomize=CI)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200), st.sampled_from(JUNK[:6]))
def test_junk_inserted_anywhere_in_a_sentence_is_gone(sentence: str, junk: str) -> None:
    sentence = re.sub(r"[{}\[\]<>$%#]", "", sentence)
    middle = len(sentence) // 2
    cleaned = strip_template_junk(sentence[:middle] + " " + junk + " " + sentence[middle:])
    assert junk not in cleaned
    assert " ".join(cleaned.split()) == " ".join((sentence[:middle] + " " + sentence[middle:]).split())
