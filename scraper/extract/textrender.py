"""The text-render extractor: a Q&A page as web-crawl corpora hold it, as plain text.

A render keeps the page's blocks in order, one per line, blank lines between
paragraphs, and the template junk the page never rendered.  The page reads:

    question title / question body / "Doctor Answers N" /
    per answer: title, vote widget, body paragraphs, author block /
    the site's disclaimer

The vote widget that every answer carries right after its title is the anchor
that splits answers apart; an answer's author block is the short run of lines
closing it.  When a page carries no such widget, author blocks and title-like
lines split answers instead (with a warning, since that is a guess).
"""

from __future__ import annotations

import enum
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal, TypeGuard

from scraper.errors import NotAQAPageError
from scraper.extract.authors import AuthorBlock, is_rating_fragment, parse_author_block
from scraper.extract.clean import SORT_CONTROL, _clean
from scraper.extract.dates import parse_date
from scraper.extract.numbers import count_from_text
from scraper.extract.profile import ANSWERS_HEADING, SiteProfile
from scraper.extract.vocabulary import SpecialtyVocabulary
from scraper.models import Answer, Author, Question, RecordWarning

__all__ = ["EXTRACTOR_NAME", "ExtractedPage", "extract_text_render"]

EXTRACTOR_NAME = "text-render"

_MAX_TITLE_CHARS = 250
_MAX_HEADLINE_CHARS = 150
_DATE_SIGNATURE = "<date>"
# "Posted in · Botox", "Asked in Botox": the topic line of a question's byline.
_TOPIC_LINE = re.compile(r"(?:posted|asked|filed)\s+in\s*[\u00b7:|\-\u2013]?\s*(?P<topic>.{1,60})", re.I)
# Widgets that are about votes/helpfulness mark where an answer starts even
# when their text differs from the first widget's.
_VOTE_WIDGET = re.compile(r"vote|helpful|\blikes?\b|score|\bthanks?\b", re.I)
# A comment under a post, as Stack Exchange-style pages print it: "Nice post! – reader42 Jan 24 2020".
_COMMENT_LINE = re.compile(r".{1,300}\s[\u2013\u2014-]\s+\S{1,40}\s+(?P<date>\S.{4,28})")
_TERMINAL = re.compile(r"[.!?)\"'\u2019\u201d\u2026:]$")


class _Unread(enum.Enum):
    """A block's author lines not read yet: None already means "read, and not an author block"."""

    UNREAD = enum.auto()


@dataclass
class _Block:
    lines: list[str]
    _author: AuthorBlock | Literal[_Unread.UNREAD] | None = field(default=_Unread.UNREAD, repr=False, compare=False)

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    def author(self, vocabulary: SpecialtyVocabulary) -> AuthorBlock | None:
        """The block read as an author block (None if it is not one), worked out once per block."""
        if self._author is _Unread.UNREAD:
            self._author = parse_author_block(self.lines, vocabulary)
        return self._author


@dataclass
class _Widget:
    signature: str
    date: str | None = None
    """For a line that is only a date ("May 21, 2013"): the date, ISO."""


@dataclass
class _Heading:
    count: int | None
    """None when the heading's number is past any real count (see numbers.MAX_COUNT)."""


_Item = _Block | _Widget | _Heading


@dataclass
class ExtractedPage:
    """What a page says, before it is wrapped in a record with its source."""

    question: Question
    answer_count: int | None
    answers: list[Answer]
    truncated: bool
    warnings: list[RecordWarning] = field(default_factory=list)


def _items(text: str) -> list[_Item]:
    """Lines grouped into blocks, with junk-only lines kept as widget markers."""
    items: list[_Item] = []
    current: list[str] = []
    text, cleaned = _clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    raws: list[str] | None = None
    for n, line in enumerate(cleaned):
        if line is None:
            if current:
                items.append(_Block(current))
                current = []
            continue
        if not line:
            if current:
                items.append(_Block(current))
                current = []
            if raws is None:
                raws = text.split("\n")
            items.append(_Widget(" ".join(raws[n].split())))
            continue
        date = parse_date(line) if len(line) <= 40 and line[-1:].isdigit() else None
        if date:
            # A line that is only a date is a byline, like the vote widget: it marks where a post starts.
            if current:
                items.append(_Block(current))
                current = []
            items.append(_Widget(_DATE_SIGNATURE, date))
            continue
        heading = ANSWERS_HEADING.fullmatch(line) if len(line) < 40 else None
        if heading:
            if current:
                items.append(_Block(current))
                current = []
            items.append(_Heading(count_from_text(heading.group("n") or heading.group("n2"))))
            continue
        current.append(line)
    if current:
        items.append(_Block(current))
    return items


def _is_title_like(item: _Item | None) -> TypeGuard[_Block]:
    return isinstance(item, _Block) and len(item.lines) == 1 and len(item.lines[0]) <= _MAX_TITLE_CHARS


def _anchor_starts(region: list[_Item], vocabulary: SpecialtyVocabulary) -> list[int]:
    """Indexes in ``region`` where answers start, found from the vote widgets."""
    runs: list[list[int]] = []  # consecutive widgets (blank lines between them do not count)
    signatures: dict[int, str] = {}
    for i, item in enumerate(region):
        if isinstance(item, _Widget):
            signatures[i] = item.signature
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
    if not runs:
        return []
    # The answers' widget is the one that repeats (a sort control before the first answer shows once);
    # among widgets seen as often, the first.
    counts = Counter(signatures.values())
    first = max((signatures[run[0]] for run in runs), key=lambda signature: counts[signature])

    def is_anchor(i: int) -> bool:
        signature = signatures[i]
        if SORT_CONTROL.fullmatch(signature):  # "Most helpful" is a sort option, not a helpful vote
            return False
        return signature == first or _VOTE_WIDGET.search(signature) is not None

    def after_headline(run: list[int]) -> bool:
        # Any other junk right after a short headline-like line marks an answer too.
        before = region[run[0] - 1] if run[0] else None
        return isinstance(before, _Block) and len(before.lines) == 1 and len(before.lines[0]) <= _MAX_HEADLINE_CHARS

    anchors = [run[0] for run in runs if any(is_anchor(i) for i in run) or after_headline(run)]
    starts: list[int] = []
    for anchor in anchors:
        before = anchor - 1
        floor = starts[-1] + 1 if starts else 0
        title_here = (
            before >= floor
            and _is_title_like(region[before])
            and not (before > floor and _author_block(region[before], vocabulary) is not None)
        )
        starts.append(before if title_here else anchor)
    return starts


def _author_block(item: _Item, vocabulary: SpecialtyVocabulary) -> AuthorBlock | None:
    return item.author(vocabulary) if isinstance(item, _Block) else None


def _fallback_starts(region: list[_Item], vocabulary: SpecialtyVocabulary, question_title: str) -> list[int]:
    """Answer starts when no widget marks them: after each author block, and at repeated question titles."""
    blocks = [i for i, it in enumerate(region) if isinstance(it, _Block)]
    if not blocks:
        return []
    starts = [blocks[0]]
    for prev, nxt in itertools.pairwise(blocks):
        if nxt == starts[-1]:
            continue
        after_author = _author_block(region[prev], vocabulary) is not None and prev != starts[-1]
        following = region[nxt]
        repeats_title = _is_title_like(following) and following.text.lower() == question_title.lower()
        if after_author or repeats_title:
            starts.append(nxt)
    return starts


def _split_author(blocks: list[_Block], vocabulary: SpecialtyVocabulary, cut: bool) -> tuple[list[_Block], AuthorBlock | None]:
    """Body blocks and the author block that closes them, if any."""
    if not blocks:
        return blocks, None
    last = blocks[-1]
    lines = list(last.lines)
    if cut and lines and is_rating_fragment(lines[-1]):
        lines.pop()  # the page ends inside the rating line
    if not lines:
        return blocks[:-1], None
    if len(blocks) > 1:
        author = last.author(vocabulary) if lines == last.lines else parse_author_block(lines, vocabulary)
        if author is not None:
            return blocks[:-1], author
    # The author lines may follow the last paragraph without a blank line.
    for size in (3, 2, 1):
        if len(lines) > size:
            author = parse_author_block(lines[-size:], vocabulary)
            if author is not None and (author.rating is not None or author.specialty or author.name):
                return blocks[:-1] + [_Block(lines[:-size])], author
    if len(blocks) > 1 and lines != last.lines:
        return blocks[:-1] + [_Block(lines)], None
    return blocks, None


def _is_comment(block: _Block) -> bool:
    found = _COMMENT_LINE.fullmatch(block.lines[0]) if len(block.lines) == 1 else None
    return found is not None and parse_date(found.group("date")) is not None


def _answer(position: int, items: list[_Item], vocabulary: SpecialtyVocabulary, cut: bool) -> tuple[Answer | None, list[RecordWarning]]:
    warnings: list[RecordWarning] = []
    title: str | None = None
    if items and isinstance(items[0], _Block) and len(items) > 1 and isinstance(items[1], _Widget):
        title = items[0].text
        items = items[1:]
    blocks = [it for it in items if isinstance(it, _Block)]
    while len(blocks) > 1 and _is_comment(blocks[-1]):
        blocks.pop()  # comments under the answer, after its text and byline: not the answer's words
    if title is None and blocks and not any(isinstance(it, _Widget) for it in items) and len(blocks) > 1 and _is_title_like(blocks[0]):
        title, blocks = blocks[0].text, blocks[1:]  # no widget at all: the first line is the headline
    body_blocks, author = _split_author(blocks, vocabulary, cut)
    body = "\n\n".join(b.text for b in body_blocks).strip()
    if not body:
        warnings.append(RecordWarning(code="answer_without_body", message=f"answer {position} ({title or 'untitled'}) shows no body and is left out"))
        return None, warnings
    record_author = None
    rating = review_count = None
    if author is not None:
        warnings.extend(RecordWarning(code=c, message=f"answer {position}: {m}") for c, m in author.warnings)
        rating, review_count = author.rating, author.review_count
        if not author.is_empty():
            record_author = Author(name=author.name, location=author.location, specialty=author.specialty)
    posted_at = next((it.date for it in items if isinstance(it, _Widget) and it.date), None)
    answer = Answer(
        position=position, title=title, body=body, author=record_author, rating=rating, review_count=review_count, posted_at=posted_at
    )
    return answer, warnings


def _question(title: str, items: list[_Item]) -> Question:
    """The question from the items between its title and the answers: byline, then body."""
    posted_at = topic = None
    body: list[str] = []
    after_date = False
    for item in items:
        if isinstance(item, _Widget):
            posted_at = posted_at or item.date
            after_date = item.date is not None
            continue
        if not isinstance(item, _Block):
            continue
        lines = list(item.lines)
        topic_line = _TOPIC_LINE.fullmatch(lines[0]) if not body else None
        if topic_line:
            topic = topic_line.group("topic").strip()
            lines = lines[1:]
        elif after_date and not body and len(lines) == 1 and len(lines[0]) <= 40 and len(lines[0].split()) <= 4 and not _TERMINAL.search(lines[0]):
            topic, lines = lines[0], []  # the byline item after the date ("20 May 2013 / Botox")
        after_date = False
        if lines:
            body.append(" ".join(lines))
    return Question(title=title, body="\n\n".join(body) or None, posted_at=posted_at, topic=topic)


def extract_text_render(text: str, site: SiteProfile) -> ExtractedPage:
    """Split a text render into question and answers.

    Raises :class:`NotAQAPageError` when the text shows no question title or no
    sign of an answer section at all.
    """
    footer = site.footer_start(text)
    has_footer = footer is not None
    items = _items(text[:footer] if footer is not None else text)
    warnings: list[RecordWarning] = []
    first = next((i for i, it in enumerate(items) if isinstance(it, _Block)), None)
    if first is None:
        raise NotAQAPageError("no text line that could be a question title")
    title_block = items[first]
    assert isinstance(title_block, _Block)
    title = title_block.lines[0]
    rest: list[_Item] = ([_Block(title_block.lines[1:])] if len(title_block.lines) > 1 else []) + items[first + 1 :]


    heading, heading_item = next(((i, it) for i, it in enumerate(rest) if isinstance(it, _Heading)), (None, None))
    answer_count = heading_item.count if heading_item is not None else None
    vocabulary = site.specialties
    if heading is not None:
        question_items, region = rest[:heading], rest[heading + 1 :]
        starts = _anchor_starts(region, vocabulary)
    else:
        starts = _anchor_starts(rest, vocabulary)
        votes = any(isinstance(it, _Widget) and _VOTE_WIDGET.search(it.signature) for it in rest)
        if not starts or not votes:
            raise NotAQAPageError(
                "no answer section: the text has neither an answers heading such as 'Doctor Answers 5' "
                "nor the per-answer vote widgets of a Q&A page"
            )
        question_items, region = rest[: starts[0]], rest[starts[0] :]
        starts = [s - starts[0] for s in starts]
    if not starts and region:
        starts = _fallback_starts(region, vocabulary, title)
        if starts:
            warnings.append(RecordWarning(code="no_answer_markers",
                                          message="no vote widget marks the answers: they were split at author blocks and headlines"))

    question = _question(title, question_items)

    expect_footer = bool(site.footer_patterns)
    truncated = expect_footer and not has_footer and bool(starts)
    if starts and starts[0] > 0 and any(isinstance(it, _Block) for it in region[: starts[0]]):
        warnings.append(RecordWarning(code="unassigned_text", message="text between the answers heading and the first answer was left out"))
    answers: list[Answer] = []
    bounds = list(zip(starts, starts[1:] + [len(region)]))
    for n, (start, end) in enumerate(bounds):
        is_last = n == len(bounds) - 1
        answer, answer_warnings = _answer(len(answers) + 1, region[start:end], vocabulary, cut=truncated and is_last)
        warnings.extend(answer_warnings)
        if answer is not None:
            answers.append(answer)

    if truncated:
        last = answers[-1].body if answers else ""
        how = "mid-sentence" if last and not _TERMINAL.search(last) else "before the site's closing disclaimer"
        warnings.append(RecordWarning(code="truncated", message=f"the page is cut off {how}: the last answer may be incomplete"))
    if answer_count is not None and answer_count != len(answers):
        warnings.append(
            RecordWarning(code="answer_count_mismatch", message=f"the page states {answer_count} answers but {len(answers)} were found")
        )
    if not answers:
        warnings.append(RecordWarning(code="no_answers", message="the page has an answer section but no answer could be read from it"))
    return ExtractedPage(question=question, answer_count=answer_count, answers=answers, truncated=truncated, warnings=warnings)
