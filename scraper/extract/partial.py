"""What one extraction strategy found, and how several findings become one record.

Each strategy (site selectors, structured data, application state, visible
text) returns a :class:`PartialPage` with whatever it could read.  They are
merged field by field: the answer list comes from the source that shows the
most answers (structured data that claims fewer than the page shows loses),
every other field from the first source in priority order that has it, and
answers are matched across sources by their text so that a location only the
visible text carries joins the date only the JSON-LD carries.  Where each
field came from is kept for ``scraper extract --explain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal, TypedDict

from scraper.extract.clean import word_key

__all__ = ["Merged", "PartialAnswer", "PartialPage", "align", "merge"]

ANSWER_FIELDS = (
    "title", "body", "author_name", "author_location", "author_specialty", "author_profile_url",
    "rating", "review_count", "votes", "posted_at",
)
QuestionField = Literal["title", "body", "author", "posted_at", "topic"]
QUESTION_FIELDS: tuple[QuestionField, ...] = ("title", "body", "author", "posted_at", "topic")
REVIEW_FIELDS = ("verdict", "posted_at", "cost", "provider_name", "provider_location", "provider_specialty", "provider_profile_url")


class QuestionText(TypedDict, total=False):
    """Question fields read as text (from ``<meta>`` tags), keyed as :class:`PartialPage`
    names them, so they can be passed to it as keywords and checked."""

    title: str
    body: str
    author: str
    posted_at: str
    topic: str


@dataclass
class PartialAnswer:
    title: str | None = None
    body: str | None = None
    author_name: str | None = None
    author_location: str | None = None
    author_specialty: str | None = None
    author_profile_url: str | None = None
    rating: float | None = None
    review_count: int | None = None
    votes: int | None = None
    posted_at: str | None = None
    has_author: bool = False
    """The page shows an author block for this answer (even if all its parts are unknown)."""


@dataclass
class PartialPage:
    strategy: str
    """``site-selectors``, ``json-ld``, ``microdata``, ``app-state`` or ``visible-text``."""
    title: str | None = None
    body: str | None = None
    author: str | None = None
    posted_at: str | None = None
    topic: str | None = None
    answer_count: int | None = None
    answers: list[PartialAnswer] | None = None
    """None: this source says nothing about answers; []: it says there are none."""
    kind: str | None = None
    review: dict[str, str | None] | None = None
    truncated: bool = False
    thread_page: tuple[int | None, int | None] = (None, None)
    separate_question: bool = False
    """The question is a post of its own before the answers' list (not the list's first post)."""
    rated_posts: bool = False
    """Most of the posts give a rating out of five: reviews (of a product, a shop), not answers."""
    """(page, pages) of a thread split over several pages, when the page's pager says."""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    can_lead: bool = True
    """False when this source may fill gaps in answers others found but not supply the list."""


@dataclass
class Merged:
    page: PartialPage
    provenance: dict[str, str]
    """Field path -> strategy that supplied it, e.g. ``answers[2].author_location: visible-text``."""
    strategies: list[str]
    warnings: list[tuple[str, str]]


_KEY_LENGTH = 80
"""Characters of an answer's word key kept: its opening words tell it from the page's other answers."""
# Warnings worth keeping from any source, not only from the one whose answers were used.
_SITE_RULES = frozenset(("site-selectors", "meta"))
_STRUCTURED = frozenset(("json-ld", "microdata", "rdfa"))
_ALWAYS_KEPT = frozenset(("location_unsplit", "jsonld_repaired", "jsonld_unreadable", "read_generically"))
# Sources that see every answer but read each less well: they give the list, the others its fields.
_LIST_ONLY = frozenset(("page-structure",))


def _same_answer(a: PartialAnswer, b: PartialAnswer) -> bool:
    fa, fb = word_key(a.body, _KEY_LENGTH), word_key(b.body, _KEY_LENGTH)
    if not fa or not fb:
        return False
    n = min(len(fa), len(fb), 60)
    return fa[:n] == fb[:n]


def _overlaps(a: PartialAnswer, b: PartialAnswer) -> bool:
    """Most words of one body's opening are in the other's: the same answer rendered by two sources
    (one kept an image's alt text, a "Posted May 2" line or a quote header that the other did not)."""
    wa, wb = set(word_key(a.body, 600).split()), set(word_key(b.body, 600).split())
    if len(wa) < 8 or len(wb) < 8:
        return False
    return len(wa & wb) >= 0.6 * max(len(wa), len(wb))


def _same_authors(base: list[PartialAnswer], other: list[PartialAnswer]) -> bool:
    """Two lists of one length whose named authors agree position by position are the same answers in order."""
    if len(base) != len(other) or not base:
        return False
    named = [(a.author_name.casefold(), b.author_name.casefold()) for a, b in zip(base, other) if a.author_name and b.author_name]
    return len(named) * 5 >= len(base) * 4 and all(x == y for x, y in named)


def align(base: list[PartialAnswer], other: list[PartialAnswer]) -> list[PartialAnswer | None]:
    """For each base answer, the answer of ``other`` that is the same one, if any: by position when
    both name the same authors in the same order, else by content,
    then by the words of their openings, then (lists of equal length) by position."""
    if _same_authors(base, other):
        return list(other)
    matched: list[int | None] = [None] * len(base)
    used: set[int] = set()
    for same in (_same_answer, _overlaps):
        for k, answer in enumerate(base):
            if matched[k] is None:
                found = next((i for i, o in enumerate(other) if i not in used and same(answer, o)), None)
                if found is not None:
                    used.add(found)
                    matched[k] = found
    if len(base) == len(other):
        for k in range(len(base)):
            if matched[k] is None and k not in used and (base[k].body is None or other[k].body is None or not _conflicts(matched, k)):
                used.add(k)
                matched[k] = k
    return [other[i] if i is not None else None for i in matched]


def _conflicts(matched: list[int | None], k: int) -> bool:
    """Pairing base ``k`` with other ``k`` would cross a content match (order must be kept)."""
    before = [m for m in matched[:k] if m is not None]
    after = [m for m in matched[k + 1 :] if m is not None]
    return any(m > k for m in before) or any(m < k for m in after)


def _copy(answer: PartialAnswer) -> PartialAnswer:
    return PartialAnswer(**{f.name: getattr(answer, f.name) for f in fields(PartialAnswer)})


def _insert_unmatched(
    answers: list[PartialAnswer], origins: list[dict[str, str]], other: PartialPage, twins: list[PartialAnswer | None]
) -> int:
    """Put the answers of ``other`` that match none of ``answers`` in, after the answer that precedes them there.

    Never drops an answer one source shows: the union, in the order of the page.
    """
    added = 0
    at = 0  # the next unmatched answer goes before answers[at]
    for candidate in other.answers or []:
        if any(t is candidate for t in twins):
            at = next(i for i, t in enumerate(twins) if t is candidate) + 1
            continue
        if not candidate.body:
            continue
        answers.insert(at, _copy(candidate))
        twins.insert(at, candidate)
        origins.insert(at, {name: other.strategy for name in ANSWER_FIELDS if getattr(candidate, name) is not None})
        at += 1
        added += 1
    return added


def _merge_answers(
    base: PartialPage, with_answers: list[PartialPage], warnings: list[tuple[str, str]]
) -> tuple[list[PartialAnswer], list[dict[str, str]]]:
    """The base source's answers, their gaps filled from the same answers in the other sources,
    and the answers only another source shows put in where that source shows them."""
    weak_base = base.strategy in _LIST_ONLY
    answers = [_copy(a) for a in base.answers or []]
    origins = [{name: base.strategy for name in ANSWER_FIELDS if getattr(a, name) is not None} for a in answers]
    for other in with_answers:
        if other is base:
            continue
        twins = align(answers, other.answers or [])
        for answer, origin, twin in zip(answers, origins, twins):
            if twin is None:
                continue
            answer.has_author = answer.has_author or twin.has_author
            other_person = bool(answer.author_name and twin.author_name and answer.author_name.casefold() != twin.author_name.casefold())
            for name in ANSWER_FIELDS:
                if other_person and name.startswith("author_"):
                    continue  # the twin names someone else (an editor): none of that person's details fit
                better = weak_base and origin.get(name) in (None, base.strategy) and other.strategy not in _LIST_ONLY
                if getattr(twin, name) is not None and (getattr(answer, name) is None or better):
                    setattr(answer, name, getattr(twin, name))
                    origin[name] = other.strategy
        added = _insert_unmatched(answers, origins, other, twins) if other.can_lead else 0
        if added:
            warnings.append(("sources_disagree", f"{other.strategy} shows {added} answer(s) the {base.strategy} list does not: kept, in page order"))
        elif len(other.answers or []) < len(answers):
            warnings.append((
                "structured_data_disagrees" if other.strategy in _STRUCTURED else "sources_disagree",
                f"{other.strategy} shows {len(other.answers or [])} answers, the page {len(answers)}: the page wins",
            ))
    return _in_page_order(answers, origins, [p for p in with_answers if p.strategy in _LIST_ONLY and p is not base])


def _in_page_order(
    answers: list[PartialAnswer], origins: list[dict[str, str]], page_order: list[PartialPage]
) -> tuple[list[PartialAnswer], list[dict[str, str]]]:
    """The answers in the order the page shows them, when its structure shows every one of them
    (structured data may list the accepted answer first, or by date, or by votes)."""
    for source in page_order:
        twins = align(answers, source.answers or [])
        if any(t is None for t in twins):
            continue
        place = {id(t): i for i, t in enumerate(source.answers or [])}
        order = sorted(range(len(answers)), key=lambda k: place[id(twins[k])])
        return [answers[k] for k in order], [origins[k] for k in order]
    return answers, origins


def merge(partials: list[PartialPage]) -> Merged:
    """One page from the strategies' findings, ``partials`` in priority order."""
    found = [p for p in partials if p is not None]
    warnings: list[tuple[str, str]] = []
    provenance: dict[str, str] = {}
    result = PartialPage(strategy="+".join(p.strategy for p in found))
    with_answers = [p for p in found if p.answers]
    leaders = [p for p in with_answers if p.can_lead] or with_answers
    base = max(leaders, key=lambda p: len(p.answers or [])) if leaders else None  # first of the longest wins ties
    # The source that shows the page's answers is trusted next after the site's own rules:
    # a JSON-LD block that claims no answers should not name the question either.
    weak_base = base is not None and base.strategy in _LIST_ONLY
    ranked = [p for p in found if p.strategy in _SITE_RULES] + ([base] if base and not weak_base else [])
    ranked += [p for p in found if p not in ranked and p.strategy not in _LIST_ONLY]
    ranked += [p for p in found if p not in ranked]
    for name in QUESTION_FIELDS + ("kind",):
        for partial in ranked:
            value = getattr(partial, name)
            if value is not None:
                setattr(result, name, value)
                provenance[f"question.{name}" if name != "kind" else "kind"] = partial.strategy
                break

    if base is not None:
        answers, origins = _merge_answers(base, with_answers, warnings)
        for i, origin in enumerate(origins):
            for name, strategy in origin.items():
                provenance[f"answers[{i + 1}].{name}"] = strategy
        result.answers = answers
        result.truncated = base.truncated
        warnings.extend(w for w in base.warnings if w[0] != "answer_count_mismatch")
    else:
        result.answers = next((p.answers for p in found if p.answers is not None), None)
        for partial in found[:1]:
            warnings.extend(w for w in partial.warnings if w[0] != "answer_count_mismatch")
    for partial in found:
        if partial.answers is not None and not partial.answers and result.answers:
            warnings.append((
                "structured_data_disagrees" if partial.strategy in _STRUCTURED else "sources_disagree",
                f"{partial.strategy} shows no answers, the page {len(result.answers)}: the page wins",
            ))

    _merge_count(found, result, warnings, provenance)
    _merge_review(found, result, provenance)
    for partial in found:
        warnings.extend(w for w in partial.warnings if w[0] in _ALWAYS_KEPT)
    deduped: list[tuple[str, str]] = []
    for warning in warnings:
        if warning not in deduped:
            deduped.append(warning)
    return Merged(page=result, provenance=provenance, strategies=[p.strategy for p in found], warnings=deduped)


def _merge_count(found: list[PartialPage], result: PartialPage, warnings: list[tuple[str, str]], provenance: dict[str, str]) -> None:
    shown = len(result.answers or [])
    for partial in found:
        if partial.answer_count is None:
            continue
        structured = partial.strategy in _STRUCTURED
        if structured and partial.answer_count < shown:
            warnings.append((
                "structured_data_disagrees",
                f"{partial.strategy} states {partial.answer_count} answers but the page shows {shown}: the stated count is dropped",
            ))
            continue
        result.answer_count = partial.answer_count
        provenance["answer_count"] = partial.strategy
        break
    if result.answer_count is not None and result.answer_count != shown:
        warnings.append(("answer_count_mismatch", f"the page states {result.answer_count} answers but {shown} were found"))


def _merge_review(found: list[PartialPage], result: PartialPage, provenance: dict[str, str]) -> None:
    reviews = [p for p in found if p.review]
    if not reviews:
        return
    merged: dict[str, str | None] = {}
    for name in REVIEW_FIELDS:
        for partial in reviews:
            value = (partial.review or {}).get(name)
            if value is not None:
                merged[name] = value
                provenance[f"review.{name}"] = partial.strategy
                break
        merged.setdefault(name, None)
    result.review = merged
