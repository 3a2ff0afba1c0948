"""Strategy 2: the Q&A embedded as application state (``__NEXT_DATA__``, ``__INITIAL_STATE__``...).

Pages built with JS frameworks ship their data as JSON.  The question is found
by its *shape*, not by a path: an object with a question-like text whose list
property holds answer-like objects (a body, and an author or a date or a title).
A renamed key or a moved subtree still works; a related-questions list (titles,
no bodies) or a navigation menu does not look like answers and is passed over.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from lxml.html import HtmlElement

from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.structured import iso_date, text_from_value
from scraper.extract.numbers import to_int, to_rating
from scraper.extract.partial import PartialAnswer, PartialPage

__all__ = ["app_state_partial", "embedded_json"]

# "window.__INITIAL_STATE__ = {...}", "__NUXT__={...}", "var initialState = {...}": the assignments
# read, as patterns.  A script is scanned once, for "=" before "{" or "[" (a literal, so the scan is
# fast), and the name before each such "=" is checked against them (see _assignment_ends).
_ASSIGNMENTS = (
    re.compile(r"__[A-Z][A-Z0-9_]*__\s*=\s*(?=[{\[])"),
    re.compile(r"(?:State|STATE|Data|DATA)\s*=\s*(?=[{\[])"),
)
_OPENING = re.compile(r"=\s*(?=[{\[])")
_CONSTANT_START = re.compile(r"__[A-Z]")
_CONSTANT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_STATE_NAMES = ("State", "STATE", "Data", "DATA")
_MAX_SCRIPT = 20_000_000
_SCRIPT_KINDS = ("", "text/javascript", "application/javascript", "module")
_MAX_DEPTH = 60

# Key names, matched case-insensitively on the key with _ and - removed.
_TITLE_KEYS = ("title", "headline", "subject", "name", "questiontitle")
_BODY_KEYS = ("bodyhtml", "body", "contenthtml", "content", "texthtml", "text", "html", "answer", "answertext", "message")
_AUTHOR_KEYS = ("author", "provider", "doctor", "expert", "user", "owner", "poster", "createdby", "professional", "physician")
_NAME_KEYS = ("displayname", "name", "fullname", "title", "username")
_LOCATION_KEYS = ("city", "location", "cityname", "locationname")
_SPECIALTY_KEYS = ("specialtylabel", "specialty", "speciality", "profession", "specialtyname")
_RATING_KEYS = ("rating", "averagerating", "stars", "ratingvalue", "avgrating")
_REVIEWS_KEYS = ("reviewcount", "reviewscount", "numreviews", "reviews", "totalreviews")
_URL_KEYS = ("profileurl", "profileuri", "url", "uri", "href", "link", "path")
_URL_SUFFIXES = ("url", "uri", "href")
_NOT_PROFILE = ("avatar", "image", "photo", "logo", "icon", "thumb")
_VOTE_KEYS = ("helpfulcount", "votes", "votecount", "upvotes", "upvotecount", "score", "likecount", "likes")
_DATE_KEYS = ("createdat", "datecreated", "publishedat", "datepublished", "postedat", "created", "date", "createddate")
_COUNT_KEYS = ("answercount", "doctoranswercount", "numanswers", "answerscount", "totalanswers")
_TOPIC_KEYS = ("topic", "topicname", "procedure", "treatment", "category")


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _get(obj: dict[str, Any], keys: tuple[str, ...], kind: type | tuple[type, ...] = str, suffixes: tuple[str, ...] = ()) -> Any:
    """The first usable value under one of ``keys``; else under a key ending with one of ``suffixes``."""
    normalised = {_key(k): v for k, v in obj.items()}
    for key in keys:
        value = normalised.get(key)
        if isinstance(value, kind) and not isinstance(value, bool) and value not in ("", None):
            return value
    for key, value in normalised.items():
        if key.endswith(suffixes) and not any(w in key for w in _NOT_PROFILE) and isinstance(value, kind) and value not in ("", None):
            return value
    return None


def embedded_json(scripts: Iterable[HtmlElement]) -> Iterator[Any]:
    """Every JSON value a page's scripts carry: JSON script tags and ``X = {...}`` assignments.

    ``scripts`` are the page's ``<script>`` elements (``HtmlDocument.index.scripts``).
    """
    decoder = json.JSONDecoder()
    for script in scripts:
        # The type first: a script of no kind read here is never turned into a str.
        kind = (script.get("type") or "").strip().lower()
        if kind == "application/ld+json":
            continue  # structured data: strategy 1
        is_json = kind in ("application/json", "text/json") or script.get("id") == "__NEXT_DATA__"
        if not is_json and kind not in _SCRIPT_KINDS:
            continue
        text = script.text or ""
        if not text or text.isspace() or len(text) > _MAX_SCRIPT:
            continue
        if is_json:
            try:
                yield json.loads(text)
            except ValueError:
                continue
        else:
            # Every assignment read names a "__CONSTANT__" or a "...State"/"...Data": a script
            # with neither (most analytics and widget code) has none.
            if "=" not in text or not ("__" in text or "State" in text or "STATE" in text or "Data" in text or "DATA" in text):
                continue
            for end in _assignment_ends(text):
                try:
                    yield decoder.raw_decode(text, end)[0]
                except ValueError:
                    continue


def _assignment_ends(text: str) -> list[int]:
    """Where the value of each assignment ``_ASSIGNMENTS`` matches starts: the ends of the first
    pattern's matches, then of the second's, as ``finditer`` gives them, in one scan of the text."""
    constants: list[int] = []
    states: list[int] = []
    for found in _OPENING.finditer(text):
        name_end = found.start()
        while name_end and text[name_end - 1].isspace():
            name_end -= 1
        if text.endswith(_STATE_NAMES, 0, name_end):
            states.append(found.end())
        if text.endswith("__", 0, name_end):
            start = name_end
            while start and text[start - 1] in _CONSTANT_CHARS:
                start -= 1
            if _CONSTANT_START.search(text, start, name_end - 2):
                constants.append(found.end())
    return constants + states


def _objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _objects(child, depth + 1)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child, depth + 1)


def _answer_like(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    body = _get(obj, _BODY_KEYS)
    if not body or len(body) < 20:
        return False
    # A title and a teaser make a related-question card, not an answer: an answer has an
    # author, a date or a vote count of its own.
    return any(_get(obj, keys, (str, dict, int, float)) is not None for keys in (_AUTHOR_KEYS, _DATE_KEYS, _VOTE_KEYS))


def _answer_lists(obj: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [v for v in obj.values() if isinstance(v, list) and v and sum(_answer_like(x) for x in v) >= max(1, len(v) // 2)]


def _question_beside(obj: dict[str, Any]) -> dict[str, Any] | None:
    """``{question: {...}, answers: [...]}``: the question is a sibling of its answers."""
    siblings = [(k, v) for k, v in obj.items() if isinstance(v, dict) and _get(v, _TITLE_KEYS)]
    siblings.sort(key=lambda kv: "question" not in _key(kv[0]))
    return siblings[0][1] if siblings else None


def _find_question(data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    best: tuple[int, dict[str, Any], list[dict[str, Any]]] | None = None
    for obj in _objects(data):
        lists = _answer_lists(obj)
        if not lists:
            continue
        question = obj if _get(obj, _TITLE_KEYS) else _question_beside(obj)
        if question is None:
            continue
        for answers in lists:
            score = sum(_answer_like(a) for a in answers)
            if best is None or score > best[0]:
                best = (score, question, [a for a in answers if _answer_like(a)])
    return (best[1], best[2]) if best else None


def _author(obj: dict[str, Any], doc: HtmlDocument) -> dict[str, Any]:
    author = _get(obj, _AUTHOR_KEYS, (dict, str))
    if isinstance(author, str):
        return {"author_name": author, "has_author": True}
    if not isinstance(author, dict):
        return {}
    rating = _get(author, _RATING_KEYS, (int, float, str))
    rating = to_rating(rating)
    url = _get(author, _URL_KEYS, suffixes=_URL_SUFFIXES)
    values = {
        "author_name": _get(author, _NAME_KEYS),
        "author_location": _get(author, _LOCATION_KEYS),
        "author_specialty": _get(author, _SPECIALTY_KEYS),
        "author_profile_url": doc.absolute(url) if url else None,
        "rating": rating,
        "review_count": to_int(_get(author, _REVIEWS_KEYS, (int, str))),
    }
    return {**values, "has_author": any(v is not None for v in values.values())}


def _topic(question: dict[str, Any]) -> str | None:
    topic = _get(question, _TOPIC_KEYS, (str, dict))
    if isinstance(topic, dict):
        topic = _get(topic, _NAME_KEYS + ("label",))
    return topic if isinstance(topic, str) else None


def app_state_partial(doc: HtmlDocument) -> PartialPage | None:
    """The Q&A found in the page's embedded JSON, if any."""
    for data in embedded_json(doc.index.scripts):
        found = _find_question(data)
        if found is None:
            continue
        question, answers = found
        parsed = []
        for answer in answers:
            parsed.append(PartialAnswer(
                title=_get(answer, ("title", "headline", "subject")),
                body=text_from_value(_get(answer, _BODY_KEYS)),
                votes=to_int(_get(answer, _VOTE_KEYS, (int, str))),
                posted_at=iso_date(_get(answer, _DATE_KEYS)),
                **_author(answer, doc),
            ))
        author = _get(question, _AUTHOR_KEYS, (dict, str))
        return PartialPage(
            strategy="app-state",
            title=_get(question, _TITLE_KEYS),
            body=text_from_value(_get(question, _BODY_KEYS)),
            author=_get(author, _NAME_KEYS) if isinstance(author, dict) else author,
            posted_at=iso_date(_get(question, _DATE_KEYS)),
            topic=_topic(question),
            answer_count=to_int(_get(question, _COUNT_KEYS, (int, str))),
            answers=[a for a in parsed if a.body],
            kind="question",
        )
    return None
