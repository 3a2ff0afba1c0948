"""Q&A embedded as application state, found by its shape rather than by a path.

The data below is a made, realistic Next.js / Redux-style state: a question
with a title and a body, its answers (body, author card, date, votes), and
the decoys such states always carry (related questions with titles but no
bodies, navigation menus, feature flags).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import scraper
from scraper import NotAQAPageError, RawPage
from scraper.extract.api import extract_page_explained

URL = "https://answers.example.com/question/swelling-three-weeks-after-tummy-tuck"

QUESTION: dict[str, Any] = {
    "id": 77,
    "title": "Is swelling normal 3 weeks after a tummy tuck?",
    "body": "<p>I am three weeks out&nbsp;and still swollen.</p><p>Is this normal?</p>",
    "createdAt": "2023-02-01T15:04:05Z",
    "answerCount": 2,
    "topic": {"id": 12, "name": "Tummy Tuck"},
    "answers": [
        {
            "id": 1,
            "title": "Yes, swelling lasts months",
            "body": "<p>Swelling after abdominoplasty&nbsp;can last three to six months.</p><p>Compression helps.</p>",
            "createdAt": "2023-02-02T09:00:00Z",
            "helpfulCount": 5,
            "author": {"displayName": "Maria Gomez, MD", "city": "Austin", "specialty": "Plastic Surgeon",
                       "rating": 4.8, "reviewCount": 112, "avatarUrl": "/img/maria.jpg",
                       "profileUrl": "/dr/maria-gomez-austin-tx"},
        },
        {
            "id": 2,
            "title": "Normal healing",
            "body": "It is normal. Lymphatic drainage massage may speed it up a little.",
            "createdAt": "2023-02-03T10:00:00Z",
            "helpfulCount": 0,
            "author": None,
        },
    ],
}

DECOYS: dict[str, Any] = {
    "relatedQuestions": [
        {"id": 501, "title": "Tummy tuck recovery time?", "uri": "/question/recovery", "answerCount": 30,
         "latestAnswer": {"provider": {"displayName": "Elaine Marsh, MD", "profileUri": "/dr/elaine-marsh"}}},
        {"id": 502, "title": "Drain removal pain?", "uri": "/question/drains", "answerCount": 12},
        {"id": 503, "title": "When can I sleep flat?", "uri": "/question/sleep-flat", "answerCount": 9},
    ],
    "navigation": [
        {"title": "Treatments", "href": "/treatments", "children": [{"title": "Botox", "href": "/botox"},
                                                                    {"title": "CoolSculpting", "href": "/coolsculpting"}]},
        {"title": "Find a Doctor", "href": "/find", "children": []},
    ],
    "featureFlags": {"qaAnswerCardV3": True, "showRelatedQuestions": True},
}


def skeleton(scripts: str) -> bytes:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Tummy tuck swelling | Example Answers</title></head>"
        "<body><div id='__next'><header><nav><a href='/treatments'>Treatments</a></nav></header>"
        "<main><p class='loading'>Loading…</p></main></div>" + scripts + "</body></html>"
    ).encode("utf-8")


def next_data(state: Any) -> str:
    return '<script id="__NEXT_DATA__" type="application/json">' + json.dumps(state) + "</script>"


def extract(scripts: str) -> scraper.PageRecord:
    explained = extract_page_explained(RawPage(body=skeleton(scripts), url=URL))
    assert explained.strategies == ["app-state"]
    return explained.record


def assert_is_the_tummy_tuck_question(record: scraper.PageRecord) -> None:
    assert record.question.title == "Is swelling normal 3 weeks after a tummy tuck?"
    assert [a.body.split("\n\n")[0] for a in record.answers] == [
        "Swelling after abdominoplasty can last three to six months.",
        "It is normal. Lymphatic drainage massage may speed it up a little.",
    ]


# --- where the state lives ----------------------------------------------------------------


def test_next_data_question_becomes_the_record() -> None:
    record = extract(next_data({"props": {"pageProps": {**DECOYS, "question": QUESTION}}, "page": "/question/[slug]"}))
    assert record.question.model_dump() == {
        "title": "Is swelling normal 3 weeks after a tummy tuck?",
        "body": "I am three weeks out and still swollen.\n\nIs this normal?",
        "author": None,
        "posted_at": "2023-02-01T15:04:05Z",
        "topic": "Tummy Tuck",
    }
    assert record.answer_count == 2
    assert [a.model_dump() for a in record.answers] == [
        {
            "position": 1,
            "title": "Yes, swelling lasts months",
            "body": "Swelling after abdominoplasty can last three to six months.\n\nCompression helps.",
            "author": {"name": "Maria Gomez, MD", "location": "Austin", "specialty": "Plastic Surgeon",
                       "profile_url": "https://answers.example.com/dr/maria-gomez-austin-tx"},
            "rating": 4.8,
            "review_count": 112,
            "votes": 5,
            "posted_at": "2023-02-02T09:00:00Z",
        },
        {
            "position": 2,
            "title": "Normal healing",
            "body": "It is normal. Lymphatic drainage massage may speed it up a little.",
            "author": None,
            "rating": None,
            "review_count": None,
            "votes": 0,
            "posted_at": "2023-02-03T10:00:00Z",
        },
    ]
    assert record.warnings == []


def test_json_script_tag() -> None:
    record = extract('<script type="application/json" id="page-state">' + json.dumps({"qa": QUESTION, **DECOYS}) + "</script>")
    assert_is_the_tummy_tuck_question(record)


def test_window_initial_state_assignment() -> None:
    script = (
        "<script>window.dataLayer = window.dataLayer || [];"
        f"window.__INITIAL_STATE__ = {json.dumps({'entities': {'question': QUESTION}, **DECOYS})};"
        "\nwindow.__APP_VERSION__ = '4.2.1';</script>"
    )
    record = extract(script)
    assert_is_the_tummy_tuck_question(record)
    assert record.answers[0].author is not None and record.answers[0].author.location == "Austin"


def test_next_data_with_escaped_html_characters() -> None:
    # Next.js escapes <, > and & inside the script as \u003c, \u003e and \u0026.
    state = json.dumps({"props": {"pageProps": {"question": QUESTION}}})
    state = state.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    record = extract('<script id="__NEXT_DATA__" type="application/json">' + state + "</script>")
    assert record.question.body == "I am three weeks out and still swollen.\n\nIs this normal?"


# --- found by shape -----------------------------------------------------------------------


def renamed(question: dict[str, Any]) -> dict[str, Any]:
    """The same Q&A with other key names: answers->replies, title->headline, body->content."""
    answers = []
    for answer in question["answers"]:
        author = answer["author"]
        answers.append({
            "headline": answer["title"],
            "content": answer["body"],
            "publishedAt": answer["createdAt"][:10],
            "votes": answer["helpfulCount"],
            "expert": None if author is None else {
                "name": author["displayName"], "location": author["city"], "speciality": author["specialty"],
                "averageRating": str(author["rating"]), "numReviews": str(author["reviewCount"]),
                "profileUri": author["profileUrl"],
            },
        })
    return {"headline": question["title"], "content": question["body"], "replies": answers}


def test_renamed_keys_still_found() -> None:
    record = extract(next_data({"props": {"pageProps": {**DECOYS, "thread": renamed(QUESTION)}}}))
    assert_is_the_tummy_tuck_question(record)
    first = record.answers[0]
    assert first.title == "Yes, swelling lasts months"
    assert first.posted_at == "2023-02-02"
    assert first.votes == 5
    assert (first.rating, first.review_count) == (4.8, 112)
    assert first.author is not None and first.author.model_dump() == {
        "name": "Maria Gomez, MD", "location": "Austin", "specialty": "Plastic Surgeon",
        "profile_url": "https://answers.example.com/dr/maria-gomez-austin-tx",
    }


def test_subtree_moved_deeper_still_found() -> None:
    state = {"props": {"pageProps": {"dehydratedState": {"queries": [
        {"queryKey": ["topicSummary", 12], "state": {"data": {"name": "Tummy Tuck", "reviewCount": 2031}}},
        {"queryKey": ["related"], "state": {"data": DECOYS}},
        {"queryKey": ["question", 77], "state": {"data": {"modules": [{"type": "hero"}, {"type": "qa", "payload": renamed(QUESTION)}]}}},
    ]}}}}
    record = extract(next_data(state))
    assert_is_the_tummy_tuck_question(record)


def test_answers_stored_beside_the_question_are_found() -> None:
    question = {k: v for k, v in QUESTION.items() if k != "answers"}
    record = extract(next_data({"props": {"pageProps": {"question": question, "answers": QUESTION["answers"]}}}))
    assert_is_the_tummy_tuck_question(record)


# --- decoys -------------------------------------------------------------------------------


def test_related_questions_and_menus_alone_are_not_a_question() -> None:
    with pytest.raises(NotAQAPageError):
        scraper.extract(skeleton(next_data({"props": {"pageProps": DECOYS}})), url=URL)


def test_larger_decoy_lists_do_not_displace_the_answers() -> None:
    decoys = copy.deepcopy(DECOYS)
    decoys["relatedQuestions"] *= 4  # twelve titled items, more than the two answers
    record = extract(next_data({"props": {"pageProps": {"layout": decoys, "content": {"question": QUESTION}}}}))
    assert_is_the_tummy_tuck_question(record)
    assert len(record.answers) == 2
    names = [a.author.name if a.author else None for a in record.answers]
    assert "Elaine Marsh, MD" not in names


def test_answers_with_short_or_missing_bodies_are_left_out() -> None:
    question = copy.deepcopy(QUESTION)
    question["answers"].append({"id": 3, "title": "Deleted", "body": "", "createdAt": "2023-02-04T00:00:00Z"})
    record = extract(next_data({"props": {"pageProps": {"question": question}}}))
    assert len(record.answers) == 2


# --- author cards -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        (
            {"displayName": "Harold J. Kaplan, MD", "city": "Los Angeles", "specialty": "Facial Plastic Surgeon",
             "rating": 4.4, "reviewCount": 7, "profileUrl": "/dr/harold-kaplan-los-angeles-ca"},
            ("Harold J. Kaplan, MD", "Los Angeles", "Facial Plastic Surgeon",
             "https://answers.example.com/dr/harold-kaplan-los-angeles-ca", 4.4, 7),
        ),
        (
            {"name": "Barry Resnik, MD", "city": "Miami", "specialty": "Dermatologist",
             "profileUri": "https://www.realself.com/dr/barry-resnik-miami-fl", "photoUrl": "/img/b.jpg"},
            ("Barry Resnik, MD", "Miami", "Dermatologist", "https://www.realself.com/dr/barry-resnik-miami-fl", None, None),
        ),
        (
            {"city": "Manhattan", "specialty": "Dermatologic Surgeon", "rating": "4.9", "reviewCount": "38"},
            (None, "Manhattan", "Dermatologic Surgeon", None, 4.9, 38),
        ),
    ],
)
def test_author_sub_object_fields_are_read(author: dict[str, Any], expected: tuple[Any, ...]) -> None:
    question = copy.deepcopy(QUESTION)
    question["answers"][0]["author"] = author
    record = extract(next_data({"props": {"pageProps": {"question": question}}}))
    first = record.answers[0]
    assert first.author is not None
    assert (first.author.name, first.author.location, first.author.specialty, first.author.profile_url,
            first.rating, first.review_count) == expected


def test_string_author_is_a_name() -> None:
    question = copy.deepcopy(QUESTION)
    question["answers"][1]["author"] = "Li Wen, MD"
    record = extract(next_data({"props": {"pageProps": {"question": question}}}))
    assert record.answers[1].author is not None
    assert record.answers[1].author.name == "Li Wen, MD"
    assert record.answers[1].rating is None


def test_out_of_range_rating_is_dropped_not_a_validation_error() -> None:
    question = copy.deepcopy(QUESTION)
    question["answers"][0]["author"]["rating"] = 9.5  # a 10-point scale: not a 0..5 star rating
    record = extract(next_data({"props": {"pageProps": {"question": question}}}))
    assert record.answers[0].rating is None
    assert record.answers[0].author is not None and record.answers[0].author.name == "Maria Gomez, MD"


# --- bodies -------------------------------------------------------------------------------


def test_html_bodies_become_paragraphs() -> None:
    question = copy.deepcopy(QUESTION)
    question["answers"][0]["body"] = (
        "<p>Swelling after abdominoplasty&nbsp;can last three to six months.</p>"
        "<ul><li>wear compression</li><li>walk daily</li></ul><p>Call us if it is one-sided.&nbsp;</p>"
    )
    record = extract(next_data({"props": {"pageProps": {"question": question}}}))
    assert record.answers[0].body == (
        "Swelling after abdominoplasty can last three to six months.\n\nwear compression\nwalk daily\n\n"
        "Call us if it is one-sided."
    )
    assert "\xa0" not in record.answers[0].body


def test_plain_text_bodies_keep_their_paragraphs() -> None:
    question = copy.deepcopy(QUESTION)
    question["answers"][1]["body"] = "It is normal.\n\nLymphatic drainage massage may speed it up a little."
    record = extract(next_data({"props": {"pageProps": {"question": question}}}))
    assert record.answers[1].body == "It is normal.\n\nLymphatic drainage massage may speed it up a little."


def test_related_question_cards_with_descriptions_do_not_displace_the_answers() -> None:
    related = [
        {"title": f"Tummy tuck question {i}?", "description": "Patients ask how long recovery takes after a tummy tuck.",
         "uri": f"/question/{i}", "answerCount": 10 + i}
        for i in range(6)
    ]
    page_props = {"title": "Tummy tuck swelling | Example Answers", "relatedQuestions": related, "question": QUESTION}
    record = extract(next_data({"props": {"pageProps": page_props}}))
    assert_is_the_tummy_tuck_question(record)
