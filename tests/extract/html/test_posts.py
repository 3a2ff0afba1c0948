"""The page-structure reader on made pages: each models a real engine's shape with class names
that mean nothing, because the reader must not depend on them (pages made for these tests)."""

from __future__ import annotations

import json

import pytest

import scraper
from scraper.errors import NotAQAPageError
from scraper.models import PageRecord
from scraper.page import RawPage


def _extract(html: str, url: str | None = None) -> PageRecord:
    return scraper.extract_page(RawPage(body=html.encode(), kind="file", path="made.html", url=url))


def _post(user: str, date: str, text: str, votes: int | None = None, tag: str = "div") -> str:
    vote = f"<span aria-label='votes'>{votes}</span>" if votes is not None else ""
    return (
        f"<{tag} class='x{len(text) % 7}'><div class='q1'><a href='/members/{user.lower()}.{len(user)}/'>{user}</a>"
        f"<time datetime='{date}'>{date}</time>{vote}</div><div class='q2'><p>{text}</p></div></{tag}>"
    )


FORUM = (
    "<html><head><title>Cat sheds a lot at night | Katzenforum</title></head><body>"
    "<div class='zz'><a href='/members/me.1/'>me</a> <a href='/login'>Log in</a></div>"
    "<h1>Cat sheds a lot at night</h1><div class='k9'>"
    + _post("Pepe", "2022-03-01", "My cat loses so much fur every night, what can I do about it?")
    + _post("Mia", "2022-03-01", "Brush her every evening with a rubber glove; it helped ours a lot.", 4)
    + _post("Tom", "2022-03-02", "Check her food too: more fat in the diet means a better coat.", 2)
    + "</div><aside><h3>Similar threads</h3><ul>"
    "<li><a href='/t/1'>Cat vomits hair</a> <a href='/members/ann.3/'>Ann</a> <span>Jan 3, 2020</span></li>"
    "<li><a href='/t/2'>Best brush?</a> <a href='/members/bo.2/'>Bo</a> <span>Feb 4, 2021</span></li>"
    "</ul></aside></body></html>"
)


def test_a_forum_thread_is_its_opening_post_and_the_replies() -> None:
    record = _extract(FORUM)
    assert record.question.title == "Cat sheds a lot at night"  # " | Katzenforum" is the site's
    assert record.question.author == "Pepe"
    assert record.question.body == "My cat loses so much fur every night, what can I do about it?"
    assert [(a.author.name if a.author else None, a.votes, a.posted_at) for a in record.answers] == [
        ("Mia", 4, "2022-03-01"), ("Tom", 2, "2022-03-02")]
    assert record.answers[0].author is not None
    assert record.answers[0].author.profile_url == "/members/mia.3/"
    assert [w.code for w in record.warnings] == ["read_generically"]


def _answer(user: str, text: str, comments: list[tuple[str, str]]) -> str:
    listed = "".join(f"<li><span>{c}</span> – <a href='/users/9/{u}'>{u}</a> <span>Mar 5, 2013</span></li>" for u, c in comments)
    return (
        f"<div class='a7'><div class='b'><p>{text}</p></div><div class='c'>answered <span>Mar 4, 2013</span> "
        f"<a href='/users/1/{user}'>{user}</a></div><ul class='d'>{listed}</ul></div>"
    )


QA_2013 = (
    "<html><head><title>Parse dates in C? - Stack Overflow</title></head><body><h1>Parse dates in C?</h1>"
    "<div class='qq'><div><p>How do I parse an ISO date in plain C without a library?</p></div>"
    "<div>asked <span>Mar 3, 2013</span> <a href='/users/5/asker'>asker</a></div>"
    "<ul>" + "".join(f"<li><span>Why not strptime? take {i}</span> – <a href='/users/7/c{i}'>c{i}</a> <span>Mar 3, 2013</span></li>" for i in range(6))
    + "</ul></div><div class='aa'>"
    + _answer("alice", "Use sscanf with a format of four, two and two digits.", [("nice", "bob"), ("works", "cy"), ("thanks", "di")])
    + _answer("bob", "strptime is POSIX and does exactly this for you.", [("not on Windows", "alice"), ("true", "ed")])
    + "</div></body></html>"
)


def test_comments_under_the_question_and_the_answers_are_not_answers() -> None:
    record = _extract(QA_2013)
    assert record.question.author == "asker"
    assert [a.author.name for a in record.answers if a.author] == ["alice", "bob"]
    assert record.answers[0].body == "Use sscanf with a format of four, two and two digits."


def test_a_flat_comment_tree_gives_its_top_level_comments() -> None:
    """Hacker News 2012: every comment is a row; only a spacer image's width says how deep it is."""
    rows = "".join(
        f"<tr><td><table><tr><td><img src='s.gif' height='1' width='{depth * 40}'></td><td><div><span>"
        f"<a href='user?id={user}'>{user}</a> 3 days ago</span></div><span>{text}</span></td></tr></table></td></tr>"
        for depth, user, text in ((0, "ann", "I look on the monthly hiring thread first."), (1, "bo", "Same here, it works well."),
                                  (0, "cy", "Friends and former colleagues, always."), (1, "di", "Agreed, referrals win."),
                                  (2, "ed", "Referrals got me every job so far."))
    )
    page = ("<html><head><title>Ask HN: Where do you look for jobs? | Hacker News</title></head><body><table>"
            "<tr><td><a href='item?id=1'>Ask HN: Where do you look for jobs?</a><br><span>5 points by "
            "<a href='user?id=op'>op</a> 3 days ago</span><p>Curious where people find good job posts these days.</p></td></tr>"
            f"</table><table>{rows}</table></body></html>")
    record = _extract(page)
    assert record.question.title == "Ask HN: Where do you look for jobs?"
    assert [a.author.name for a in record.answers if a.author] == ["ann", "cy"]


def test_an_answer_without_an_author_block_is_kept_and_an_ad_between_answers_is_not() -> None:
    posts = [_post("Ann", "2021-10-19", "The early warning network gives a few seconds of notice."),
             _post("Bo", "2021-10-19", "It warns before the shaking reaches you, not before the quake.")]
    no_author = "<div class='x3'><div class='q1'><time datetime='2021-10-20'>2021-10-20</time></div><div class='q2'><p>Seconds only, but enough to stop trains.</p></div></div>"
    ad = "<section class='x3'><b>Sponsored</b> Buy a seismograph today, 20% off!</section>"
    page = ("<html><head><title>How early are quake warnings?</title></head><body><h1>How early are quake warnings?</h1>"
            "<p>4 answers</p><div>" + posts[0] + ad + no_author + posts[1] + "</div></body></html>")
    record = _extract(page)
    assert [a.body for a in record.answers] == [
        "The early warning network gives a few seconds of notice.", "Seconds only, but enough to stop trains.",
        "It warns before the shaking reaches you, not before the quake."]
    assert record.answers[1].author is None


def test_page_two_of_a_thread_is_all_replies_and_says_so() -> None:
    page = FORUM.replace("<h1>", "<div><span>Page 2 of 3</span></div><h1>")
    record = _extract(page)
    assert (record.page, record.pages) == (2, 3)
    assert [a.author.name for a in record.answers if a.author] == ["Pepe", "Mia", "Tom"]


def test_structured_data_with_only_the_accepted_answer_keeps_the_page_order() -> None:
    """Discourse's shape: JSON-LD lists the accepted answer alone, the page shows three replies."""
    accepted = {"@type": "Answer", "text": "Check her food too: more fat in the diet means a better coat.", "upvoteCount": 7,
                "author": {"@type": "Person", "name": "Tom"}}
    data = {"@context": "https://schema.org", "@type": "QAPage", "mainEntity": {
        "@type": "Question", "name": "Cat sheds a lot at night", "text": "My cat loses so much fur every night, what can I do about it?",
        "author": {"@type": "Person", "name": "Pepe"}, "answerCount": 2, "acceptedAnswer": accepted, "suggestedAnswer": [accepted]}}
    page = FORUM.replace("</head>", f"<script type='application/ld+json'>{json.dumps(data)}</script></head>")
    record = _extract(page)
    assert [(a.author.name if a.author else None, a.votes) for a in record.answers] == [("Mia", 4), ("Tom", 7)]
    assert "structured_data_disagrees" in {w.code for w in record.warnings}  # json-ld shows 1 answer, the page 2


@pytest.mark.parametrize("page", [
    # A forum's topic list: rows with an author and a date, but each row is a link to another thread.
    "<html><head><title>General - Katzenforum</title></head><body><h1>General</h1><table>"
    + "".join(f"<tr><td><a href='/t/{i}'>Topic number {i} about cats</a></td><td><a href='/members/u{i}.{i}/'>u{i}</a></td>"
              f"<td>Replies: {i}</td><td><span>Mar {i + 1}, 2022</span></td></tr>" for i in range(8))
    + "</table></body></html>",
    # Product reviews: each post rates the product out of five.
    "<html><head><title>Vacuum V12 reviews</title></head><body><h1>Vacuum V12</h1><div>"
    + "".join(f"<div><a href='/users/{i}/r{i}'>r{i}</a> <span>{i % 5 + 1}/5</span> <span>May {i + 1}, 2023</span>"
              f"<p>Review text number {i}: it picks up dust well enough for the price.</p></div>" for i in range(4))
    + "</div></body></html>",
], ids=["topic-list", "product-reviews"])
def test_repeated_posts_that_are_not_answers_are_refused(page: str) -> None:
    with pytest.raises(NotAQAPageError):
        _extract(page)


def _fixture_urls() -> list[str]:
    """The addresses of every real Q&A page the repository keeps (wild pages, HTML fixtures, samples)."""
    from tests.conftest import FIXTURES, ROOT

    urls = []
    for facts in [*FIXTURES.glob("wild/*/facts.json"), *FIXTURES.glob("html/*/*.json"), *ROOT.glob("samples/*.json")]:
        url = json.loads(facts.read_text(encoding="utf-8")).get("url")
        if isinstance(url, str) and url.startswith("http"):
            urls.append(url)
    return urls


def test_no_real_question_page_address_is_refused() -> None:
    from scraper.extract.html.posts import address_refusal

    urls = _fixture_urls()
    assert len(urls) >= 35
    assert [u for u in urls if address_refusal(u)] == []


@pytest.mark.parametrize("url", [
    "https://superuser.com/users/48211/harald-brekke",
    "https://superuser.com/users/48211/harald-brekke?tab=answers",
    "https://www.aquaristik-treffpunkt.example/members/nordlicht_aqua.18233/",
    "https://news.ycombinator.com/user?id=pg",
    "https://forums.debian.net/memberlist.php?mode=viewprofile&u=1234",
    "https://www.zhihu.com/people/zhang-san",
    "https://stackoverflow.com/questions/tagged/python",
    "https://forums.debian.net/viewforum.php?f=10",
    "https://www.pocketpc.ch/forumdisplay.php?f=12",
    "https://forum.example/search/?q=cat+fur",
])
def test_a_profile_or_listing_address_is_refused_with_why(url: str) -> None:
    from scraper.extract.html.posts import address_refusal

    reason = address_refusal(url)
    assert reason and url in reason and ("profile" in reason or "listing" in reason)


def test_the_forum_thread_at_a_profile_address_is_refused_but_the_same_page_elsewhere_is_read() -> None:
    assert len(_extract(FORUM, url="https://katzen.example/threads/cat-sheds.17/").answers) == 2
    with pytest.raises(NotAQAPageError, match="profile"):
        _extract(FORUM, url="https://katzen.example/members/pepe.4/")


def test_rows_with_no_text_of_their_own_are_no_thread() -> None:
    """A front page's story rows: each a byline, points and a comments link, no post text."""
    rows = "".join(
        f"<tr><td><a href='https://ext{i}.example/story'>Story number {i} about something</a></td></tr>"
        f"<tr><td>{100 + i} points by <a href='user?id=u{i}'>u{i}</a> <span>{i + 1} hours ago</span> | "
        f"<a href='item?id={i}'>{20 + i} comments</a></td></tr>"
        for i in range(12)
    )
    page = f"<html><head><title>Front page</title></head><body><table>{rows}</table></body></html>"
    with pytest.raises(NotAQAPageError):
        _extract(page)


@pytest.mark.parametrize(("text", "date"), [
    ("May 01, 2024, 06:48:10 PM", "2024-05-01"),  # SMF's default format
    ("2 May 2024 at 10:15", "2024-05-02"),
    ("2013-05-20 10:00", "2013-05-20"),
    ("03/04/2013 10:00", None),  # still refused: day and month cannot be told apart
    ("May 2024", None),
])
def test_a_date_with_its_time_of_day_is_read_as_the_date(text: str, date: str | None) -> None:
    from scraper.extract.dates import parse_date

    assert parse_date(text) == date


def test_a_line_of_who_is_online_is_no_post() -> None:
    """A board index's stats paragraph beside its "users online" line (several profile links) is no thread."""
    online = ", ".join(f"<a href='/index.php?action=profile;u={i}'>user{i}</a>" for i in range(6))
    page = (
        "<html><head><title>Board index</title></head><body><div>"
        "<p>482.117 posts in 33.951 topics by 21.408 members. Latest member: <a href='/index.php?action=profile;u=9'>luana</a></p>"
        f"<p>Users active in the last 15 minutes: {online}</p></div></body></html>"
    )
    with pytest.raises(NotAQAPageError):
        _extract(page)


def test_relative_profile_links_resolve_against_the_pages_base_element() -> None:
    """XenForo 1 writes members/name.1/ under <base href=".../community/">, not the thread's folder."""
    page = FORUM.replace("<head>", "<head><base href='https://katzen.example/community/'>").replace("href='/members/", "href='members/")
    record = _extract(page, url="https://katzen.example/community/threads/cat-sheds.17/")
    assert [a.author.profile_url for a in record.answers if a.author] == [
        "https://katzen.example/community/members/mia.3/", "https://katzen.example/community/members/tom.3/"]


def test_a_base_element_that_is_no_web_address_is_ignored() -> None:
    page = FORUM.replace("<head>", "<head><base href='javascript:alert(1)//'>")
    record = _extract(page, url="https://katzen.example/threads/cat-sheds.17/")
    assert [a.author.profile_url for a in record.answers if a.author] == [
        "https://katzen.example/members/mia.3/", "https://katzen.example/members/tom.3/"]
