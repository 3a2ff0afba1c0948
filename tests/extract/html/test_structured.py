"""schema.org Q&A data (JSON-LD and microdata) read into the record.

Pages here are made, minimal versions of what real Q&A sites publish: a
QAPage JSON-LD block (Stack Exchange, RealSelf 2022), QAPage microdata
(Stack Exchange), and Discourse's wrong JSON-LD beside correct
``DiscussionForumPosting`` microdata.
"""

from __future__ import annotations

import json

import pytest

import scraper
from scraper import NotAQAPageError, RawPage
from scraper.extract.api import extract_page_explained


def jsonld_page(*scripts: str, body: str = "", title: str = "Can I fly after rhinoplasty? - Example Answers") -> bytes:
    blocks = "".join(f'<script type="application/ld+json">{s}</script>' for s in scripts)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{blocks}</head>"
        f"<body>{body}</body></html>"
    ).encode()


def codes(record: scraper.PageRecord) -> list[str]:
    return [w.code for w in record.warnings]


QAPAGE = {
    "@context": "https://schema.org",
    "@type": "QAPage",
    "mainEntity": {
        "@type": "Question",
        "name": "Can I fly after rhinoplasty?",
        "text": "I had surgery 5 days ago and my flight home is on Friday. Is it safe to fly?",
        "answerCount": 2,
        "dateCreated": "2020-03-01T10:00:00Z",
        "author": {"@type": "Person", "name": "jane_r"},
        "acceptedAnswer": {
            "@type": "Answer",
            "text": "Flying is generally safe after the first week, once the swelling settles.",
            "upvoteCount": 7,
            "dateCreated": "2020-03-02",
            "author": {"@type": "Person", "name": "Anna Lee, MD", "url": "/dr/anna-lee"},
        },
        "suggestedAnswer": [
            {
                "@type": "Answer",
                "text": "Ask your surgeon first; most of my patients fly after 7 to 10 days.",
                "upvoteCount": 2,
                "dateCreated": "2020-03-03T08:30:00Z",
                "author": {"@type": "Person", "name": "Bob Stone, MD", "url": "https://doctors.example.org/u/bob"},
            }
        ],
    },
}


# --- JSON-LD QAPage -----------------------------------------------------------------------


def test_minimal_jsonld_qapage_becomes_the_record() -> None:
    explained = extract_page_explained(
        RawPage(body=jsonld_page(json.dumps(QAPAGE)), url="https://answers.example.org/q/1")
    )
    record = explained.record
    assert explained.strategies == ["json-ld"]
    assert record.site is None  # no known site: the generic adapter
    assert record.question.model_dump() == {
        "title": "Can I fly after rhinoplasty?",
        "body": "I had surgery 5 days ago and my flight home is on Friday. Is it safe to fly?",
        "author": "jane_r",
        "posted_at": "2020-03-01T10:00:00Z",
        "topic": None,
    }
    assert record.answer_count == 2
    assert [a.model_dump() for a in record.answers] == [
        {
            "position": 1,
            "title": None,
            "body": "Flying is generally safe after the first week, once the swelling settles.",
            "author": {"name": "Anna Lee, MD", "location": None, "specialty": None,
                       "profile_url": "https://answers.example.org/dr/anna-lee"},
            "rating": None,
            "review_count": None,
            "votes": 7,
            "posted_at": "2020-03-02",
        },
        {
            "position": 2,
            "title": None,
            "body": "Ask your surgeon first; most of my patients fly after 7 to 10 days.",
            "author": {"name": "Bob Stone, MD", "location": None, "specialty": None,
                       "profile_url": "https://doctors.example.org/u/bob"},
            "rating": None,
            "review_count": None,
            "votes": 2,
            "posted_at": "2020-03-03T08:30:00Z",
        },
    ]
    assert record.warnings == []


def test_jsonld_answer_html_text_becomes_paragraphs() -> None:
    data = json.loads(json.dumps(QAPAGE))
    data["mainEntity"]["acceptedAnswer"]["text"] = "<p>Wait one week.</p><p>Then fly&nbsp;with a saline spray.</p>"
    record = scraper.extract(jsonld_page(json.dumps(data)))
    assert record.answers[0].body == "Wait one week.\n\nThen fly with a saline spray."


def test_jsonld_placeholder_author_name_is_unknown() -> None:
    data = json.loads(json.dumps(QAPAGE))
    data["mainEntity"]["suggestedAnswer"][0]["author"] = {"@type": "Person", "name": "Name not provided"}
    record = scraper.extract(jsonld_page(json.dumps(data)))
    assert record.answers[1].author is None


# --- malformed JSON-LD --------------------------------------------------------------------

MALFORMED_TRAILING_COMMAS = """{
  "@context": "https://schema.org",
  "@type": "QAPage",
  "mainEntity": {
    "@type": "Question",
    "name": "Is it safe to get Botox every 3 months?",
    "answerCount": 1,
    "suggestedAnswer": [
      {"@type": "Answer", "text": "Yes, every three to four months is a common schedule.", "upvoteCount": 4,},
    ],
  },
}"""


def test_trailing_commas_are_repaired_with_a_warning() -> None:
    record = scraper.extract(jsonld_page(MALFORMED_TRAILING_COMMAS))
    assert record.question.title == "Is it safe to get Botox every 3 months?"
    assert [(a.body, a.votes) for a in record.answers] == [("Yes, every three to four months is a common schedule.", 4)]
    assert codes(record) == ["jsonld_repaired"]


def test_entity_escaped_jsonld_is_repaired_with_a_warning() -> None:
    # Some templates HTML-escape the whole block, quotes included.
    escaped = json.dumps(QAPAGE).replace('"', "&quot;")
    record = scraper.extract(jsonld_page(escaped))
    assert record.question.title == "Can I fly after rhinoplasty?"
    assert len(record.answers) == 2
    assert "jsonld_repaired" in codes(record)


def test_entities_inside_valid_jsonld_strings_are_decoded() -> None:
    data = json.loads(json.dumps(QAPAGE))
    data["mainEntity"]["name"] = "Don&#39;t &quot;Botox brows&quot; wear off?"
    data["mainEntity"]["acceptedAnswer"]["text"] = "It&#39;s normal &amp; temporary."
    record = scraper.extract(jsonld_page(json.dumps(data)))
    assert record.question.title == "Don't \"Botox brows\" wear off?"
    assert record.answers[0].body == "It's normal & temporary."


def test_repair_keeps_escaped_quotes_inside_strings() -> None:
    block = MALFORMED_TRAILING_COMMAS.replace(
        "Yes, every three to four months is a common schedule.",
        "My patients call it &quot;maintenance&quot;: every three to four months.",
    )
    record = scraper.extract(jsonld_page(block))
    assert record.answers[0].body == 'My patients call it "maintenance": every three to four months.'
    assert "jsonld_repaired" in codes(record)


def test_two_objects_in_one_script_are_both_read() -> None:
    organization = '{"@context": "https://schema.org", "@type": "Organization", "name": "Example Answers"}'
    record = scraper.extract(jsonld_page(organization + "\n" + json.dumps(QAPAGE)))
    assert record.question.title == "Can I fly after rhinoplasty?"
    assert len(record.answers) == 2
    assert "jsonld_repaired" in codes(record)


def test_graph_members_are_read() -> None:
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Example Answers", "url": "https://answers.example.org"},
        {k: v for k, v in QAPAGE.items() if k != "@context"},
    ]}
    record = scraper.extract(jsonld_page(json.dumps(graph)))
    assert record.question.title == "Can I fly after rhinoplasty?"
    assert [a.votes for a in record.answers] == [7, 2]
    assert record.warnings == []


def test_unreadable_jsonld_beside_readable_jsonld_is_a_warning_not_a_crash() -> None:
    broken = '{"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [ {"name": Home}'
    record = scraper.extract(jsonld_page(broken, json.dumps(QAPAGE)))
    assert len(record.answers) == 2
    assert "jsonld_unreadable" in codes(record)


def test_unreadable_jsonld_beside_microdata_is_a_warning_not_a_crash() -> None:
    broken = '{"@type": "QAPage", "mainEntity": {"@type": "Question", "name": "Cut off'
    html = jsonld_page(broken, body=microdata_qapage("https"))
    record = scraper.extract(html)
    assert record.question.title == "How long does lip filler swelling last?"
    assert len(record.answers) == 2
    assert "jsonld_unreadable" in codes(record)


def test_only_unreadable_jsonld_is_a_named_error() -> None:
    with pytest.raises(NotAQAPageError):
        scraper.extract(jsonld_page('{"@type": "QAPage", this is not json', body="<h1>Title</h1>"))


# --- microdata ----------------------------------------------------------------------------


def microdata_qapage(scheme: str) -> str:
    s = f"{scheme}://schema.org"
    return f"""
<div itemscope itemtype="{s}/QAPage">
 <div itemprop="mainEntity" itemscope itemtype="{s}/Question">
  <h1 itemprop="name">How long does lip filler swelling last?</h1>
  <div itemprop="text"><p>I got lip filler yesterday.</p><p>It is very swollen.</p></div>
  <div class="user-info">asked <time itemprop="dateCreated" datetime="2021-06-01T12:00:00">Jun 1</time>
   <span itemprop="author" itemscope itemtype="{s}/Person"><a itemprop="url" href="/users/881/kim"><span itemprop="name">kim88</span></a></span></div>
  <meta itemprop="answerCount" content="2">
  <div id="answers">
   <div class="answer" itemprop="suggestedAnswer" itemscope itemtype="{s}/Answer">
    <div class="votes" itemprop="upvoteCount" data-value="4">4</div>
    <div itemprop="text"><p>Swelling peaks on day two and settles within a week.</p></div>
    <div class="user-info">answered <time itemprop="dateCreated" datetime="2021-06-02">Jun 2</time>
     <div itemprop="author" itemscope itemtype="{s}/Person"><a href="/users/12/sam-lee" itemprop="url"><span itemprop="name">Sam Lee, MD</span></a></div></div>
   </div>
   <div class="answer" itemprop="acceptedAnswer" itemscope itemtype="{s}/Answer">
    <div class="votes" itemprop="upvoteCount" data-value="11">11</div>
    <div itemprop="text"><p>Ice and time.</p><p>Most swelling is gone by day five.</p></div>
    <div class="user-info">answered <time itemprop="dateCreated" datetime="2021-06-03">Jun 3</time>
     <div itemprop="author" itemscope itemtype="{s}/Person"><span itemprop="name">Ana Ruiz, DDS</span></div></div>
   </div>
  </div>
 </div>
</div>"""


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_microdata_qapage_with_nested_person(scheme: str) -> None:
    html = f"<!DOCTYPE html><html><head><title>x</title></head><body>{microdata_qapage(scheme)}</body></html>"
    explained = extract_page_explained(RawPage(body=html.encode(), url="https://qa.example.com/questions/9"))
    record = explained.record
    assert explained.strategies == ["microdata"]
    assert record.question.title == "How long does lip filler swelling last?"
    assert record.question.body == "I got lip filler yesterday.\n\nIt is very swollen."
    assert record.question.author == "kim88"
    assert record.question.posted_at == "2021-06-01T12:00:00"
    assert record.answer_count == 2
    # page order, not accepted-first
    assert [(a.position, a.body, a.votes, a.posted_at) for a in record.answers] == [
        (1, "Swelling peaks on day two and settles within a week.", 4, "2021-06-02"),
        (2, "Ice and time.\n\nMost swelling is gone by day five.", 11, "2021-06-03"),
    ]
    assert record.answers[0].author is not None and record.answers[0].author.model_dump() == {
        "name": "Sam Lee, MD", "location": None, "specialty": None,
        "profile_url": "https://qa.example.com/users/12/sam-lee",
    }
    assert record.answers[1].author is not None and record.answers[1].author.name == "Ana Ruiz, DDS"
    assert record.answers[1].author.profile_url is None
    assert record.warnings == []


# --- structured data against the page -----------------------------------------------------


def discourse_post(n: int, author: str, text: str, date: str, likes: int | None = None) -> str:
    like = (
        '<span itemprop="interactionStatistic" itemscope itemtype="http://schema.org/InteractionCounter">'
        '<meta itemprop="interactionType" content="http://schema.org/LikeAction"/>'
        f'<meta itemprop="userInteractionCount" content="{likes}"/></span>'
        if likes is not None else ""
    )
    return f"""
<div id="post_{n}" itemscope itemtype="http://schema.org/DiscussionForumPosting" class="topic-body crawler-post">
  <div class="crawler-post-meta">
    <span class="creator" itemprop="author" itemscope itemtype="http://schema.org/Person">
      <a itemprop="url" href="https://forum.example.org/u/{author}"><span itemprop="name">{author}</span></a>
    </span>
    <span class="crawler-post-infos"><time itemprop="datePublished" datetime="{date}" class="post-time">{date[:10]}</time></span>
  </div>
  <div class="post" itemprop="articleBody"><p>{text}</p></div>
  {like}
</div>"""


DISCOURSE_JSONLD = json.dumps({
    "@context": "http://schema.org", "@type": "QAPage", "name": "How do I reset the router?",
    "mainEntity": {"@type": "Question", "name": "How do I reset the router?", "text": "My router is stuck on a blinking…",
                   "upvoteCount": 0, "answerCount": 0, "dateCreated": "2022-01-05T09:00:00.000Z",
                   "author": {"@type": "Person", "name": "asker1"}},
})


def discourse_page() -> bytes:
    posts = (
        discourse_post(1, "asker1", "My router is stuck on a blinking orange light since the update.", "2022-01-05T09:00:00Z")
        + discourse_post(2, "helper", "Hold the reset button for thirty seconds while it is powered on.", "2022-01-05T10:00:00Z", 3)
        + discourse_post(3, "admin", "If that fails, flash the firmware from the recovery page.", "2022-01-06T08:00:00Z", 0)
    )
    return jsonld_page(
        DISCOURSE_JSONLD,
        title="How do I reset the router? - Example Forum",
        body=f'<div id="main-outlet"><h1><a href="/t/reset/12">How do I reset the router?</a></h1>{posts}</div>',
    )


def test_jsonld_claiming_no_answers_loses_to_microdata_replies() -> None:
    explained = extract_page_explained(RawPage(body=discourse_page(), url="https://forum.example.org/t/reset/12"))
    record = explained.record
    assert [(a.author.name if a.author else None, a.body, a.votes, a.posted_at) for a in record.answers] == [
        ("helper", "Hold the reset button for thirty seconds while it is powered on.", 3, "2022-01-05T10:00:00Z"),
        ("admin", "If that fails, flash the firmware from the recovery page.", 0, "2022-01-06T08:00:00Z"),
    ]
    assert record.answers[0].author is not None
    assert record.answers[0].author.profile_url == "https://forum.example.org/u/helper"
    assert record.answer_count is None  # the stated 0 is contradicted by the page
    assert "structured_data_disagrees" in codes(record)
    assert "answer_count_mismatch" not in codes(record)
    assert record.question.title == "How do I reset the router?"
    assert record.question.body == "My router is stuck on a blinking orange light since the update."
    assert explained.provenance["answers[1].body"] == "microdata"


def test_stated_count_larger_than_shown_is_kept_with_a_warning() -> None:
    data = json.loads(json.dumps(QAPAGE))
    data["mainEntity"]["answerCount"] = 36  # page 1 of 2: the rest are on the next page
    record = scraper.extract(jsonld_page(json.dumps(data)))
    assert record.answer_count == 36
    assert len(record.answers) == 2
    assert codes(record) == ["answer_count_mismatch"]


def test_stated_count_equal_to_shown_gives_no_warning() -> None:
    record = scraper.extract(jsonld_page(json.dumps(QAPAGE)))
    assert record.answer_count == len(record.answers) == 2
    assert "answer_count_mismatch" not in codes(record)


RDFA_PAGE = """<!doctype html><html><head><title>RDFa</title></head><body>
<!-- MADE test input: a schema.org QAPage in RDFa Lite, modelled on the microdata pages in tests/fixtures/html -->
<div vocab="https://schema.org/" typeof="QAPage">
 <div property="mainEntity" typeof="Question">
  <h1 property="name">Can filler migrate after a massage?</h1>
  <div property="text"><p>I had a facial massage a week after filler.</p></div>
  <span property="answerCount" content="2">2 answers</span>
  <div property="acceptedAnswer" typeof="Answer">
   <div property="text"><p>Firm massage in the first two weeks can move it.</p><p>Ask before any massage.</p></div>
   <span property="upvoteCount">7</span><time property="dateCreated" datetime="2021-03-04T10:00:00">March 4</time>
   <div property="author" typeof="Person"><a property="url" href="/dr/ana-lima"><span property="name">Ana Lima, MD</span></a></div>
  </div>
  <div property="suggestedAnswer" typeof="Answer"><div property="text">Usually not after two weeks.</div></div>
 </div>
</div></body></html>"""


def test_rdfa_qapage_gives_the_record() -> None:
    record = scraper.extract(RDFA_PAGE.encode(), url="https://example.org/q/1")
    assert record.question.title == "Can filler migrate after a massage?"
    assert record.answer_count == 2
    first, second = record.answers
    assert first.body == "Firm massage in the first two weeks can move it.\n\nAsk before any massage."
    assert (first.votes, first.posted_at) == (7, "2021-03-04T10:00:00")
    assert first.author is not None and (first.author.name, first.author.profile_url) == ("Ana Lima, MD", "https://example.org/dr/ana-lima")
    assert second.body == "Usually not after two weeks." and second.author is None
    assert "rdfa" in record.source.extractor.name


# Modelled on Invision Community 4 (a real thread: ../shared/realdata/wild-dev/html/
# invision-scienceforums_133914_magichtml.html): one DiscussionForumPosting for the opening post,
# its replies as `comment` items with author and upvoteCount, and no posting per reply.
INVISION_THREAD = {
    "@context": "http://schema.org",
    "@type": "DiscussionForumPosting",
    "name": "Photon absorption and electron transition levels.",
    "headline": "Photon absorption and electron transition levels.",
    "text": "Can an atom absorb a photon whose energy is above the gap to the next level?",
    "datePublished": "2024-03-01T09:00:00+0000",
    "author": {"@type": "Person", "name": "avicenna"},
    "comment": [
        {"@type": "Comment", "author": {"@type": "Person", "name": "swansont"},
         "dateCreated": "2024-03-01T10:00:00+0000", "text": "No: the energy has to match a transition.", "upvoteCount": 0},
        {"@type": "Comment", "author": {"@type": "Person", "name": "exchemist"},
         "dateCreated": "2024-03-01T11:00:00+0000", "text": "Unless the atom is ionised, then any energy above it will do.",
         "upvoteCount": 1},
    ],
}


def test_a_forum_posting_with_its_replies_as_comments_gives_every_reply() -> None:
    record = scraper.extract_page(RawPage(body=jsonld_page(json.dumps(INVISION_THREAD)), kind="file", path="t.html"))
    assert record.question.title == "Photon absorption and electron transition levels."
    assert record.question.author == "avicenna"
    assert [a.author.name for a in record.answers if a.author] == ["swansont", "exchemist"]
    assert [a.votes for a in record.answers] == [0, 1]
    assert record.answers[1].body == "Unless the atom is ionised, then any energy above it will do."


def test_a_forum_posting_without_replies_is_a_thread_with_no_answers() -> None:
    """schema.org's own example eg-0425: a DiscussionForumPosting whose comments are not marked up."""
    alone = {k: v for k, v in INVISION_THREAD.items() if k != "comment"}
    record = scraper.extract_page(RawPage(body=jsonld_page(json.dumps(alone)), kind="file", path="t.html"))
    assert record.question.title == alone["headline"].strip()
    assert record.answers == []


def test_a_blog_posting_alone_is_not_a_thread() -> None:
    blog = {**{k: v for k, v in INVISION_THREAD.items() if k != "comment"}, "@type": "BlogPosting"}
    with pytest.raises(NotAQAPageError):
        scraper.extract_page(RawPage(body=jsonld_page(json.dumps(blog)), kind="file", path="t.html"))


def test_answers_marked_up_without_their_question_are_the_pages_answers() -> None:
    """Modelled on Zhihu's 2015 pages: every answer is a schema.org Answer item, the page's question
    is not an item, and the only Question items are related questions, each with a top answer."""
    answers = "".join(
        f"<div itemscope itemtype='http://schema.org/Answer'><span itemprop='author' itemscope "
        f"itemtype='http://schema.org/Person'><span itemprop='name'>{name}</span></span>"
        f"<div itemprop='text'>{text}</div><span itemprop='upvoteCount'>{votes}</span></div>"
        for name, text, votes in (("Ann", "Say thank you: it costs nothing.", 12), ("Bo", "Only for big favours.", 3),
                                  ("Cy", "Between close friends it can feel distant.", 40))
    )
    related = ("<aside><div itemscope itemtype='http://schema.org/Question'><a itemprop='name'>Other question?</a>"
               "<div itemprop='topAnswer' itemscope itemtype='http://schema.org/Answer'>"
               "<div itemprop='text'>A related answer.</div></div></div></aside>")
    page = jsonld_page(body=f"<h1>Should close friends say thanks?</h1>{answers}{related}", title="Should close friends say thanks?")
    record = scraper.extract_page(RawPage(body=page, kind="file", path="z.html"))
    assert record.question.title == "Should close friends say thanks?"
    assert [a.author.name for a in record.answers if a.author] == ["Ann", "Bo", "Cy"]
    assert [a.votes for a in record.answers] == [12, 3, 40]
    assert all("related answer" not in (a.body or "") for a in record.answers)
