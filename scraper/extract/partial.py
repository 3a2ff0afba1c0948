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

__all__ = ["Merged", "PartialAnswer", "PartialPage", "merge"]

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
_ALWAYS_KEPT = frozenset(("location_unsplit", "jsonld_repaired", "jsonld_unreadable"))


def _same_answer(a: PartialAnswer, b: PartialAnswer) -> bool:
    fa, fb = word_key(a.body, _KEY_LENGTH), word_key(b.body, _KEY_LENGTH)
    if not fa or not fb:
        return False
    n = min(len(fa), len(fb), 60)
    return fa[:n] == fb[:n]


def _align(base: list[PartialAnswer], other: list[PartialAnswer]) -> list[PartialAnswer | None]:
    """For each base answer, the answer of ``other`` that is the same one, if any."""
    matched: list[PartialAnswer | None] = []
    used: set[int] = set()
    for answer in base:
        found = next((i for i, o in enumerate(other) if i not in used and _same_answer(answer, o)), None)
        if found is not None:
            used.add(found)
        matched.append(other[found] if found is not None else None)
    return matched


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
    ranked = [p for p in found if p.strategy in _SITE_RULES] + ([base] if base else [])
    ranked += [p for p in found if p not in ranked]
    for name in QUESTION_FIELDS + ("kind",):
        for partial in ranked:
            value = getattr(partial, name)
            if value is not None:
                setattr(result, name, value)
                provenance[f"question.{name}" if name != "kind" else "kind"] = partial.strategy
                break

    if base is not None:
        answers = [PartialAnswer(**{f.name: getattr(a, f.name) for f in fields(PartialAnswer)}) for a in base.answers or []]
        for i in range(len(answers)):
            for name in ANSWER_FIELDS:
                if getattr(answers[i], name) is not None:
                    provenance[f"answers[{i + 1}].{name}"] = base.strategy
        for other in with_answers:
            if other is base:
                continue
            for i, (answer, twin) in enumerate(zip(answers, _align(answers, other.answers or []))):
                if twin is None:
                    continue
                answer.has_author = answer.has_author or twin.has_author
                for name in ANSWER_FIELDS:
                    if getattr(answer, name) is None and getattr(twin, name) is not None:
                        setattr(answer, name, getattr(twin, name))
                        provenance[f"answers[{i + 1}].{name}"] = other.strategy
            if len(other.answers or []) < len(answers):
                warnings.append((
                    "structured_data_disagrees" if other.strategy in _STRUCTURED else "sources_disagree",
                    f"{other.strategy} shows {len(other.answers or [])} answers, the page {len(answers)}: the page wins",
                ))
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
