"""Strategy 1: the page's own schema.org data, mapped onto a :class:`PartialPage`.

Covers ``QAPage``/``Question``/``Answer`` (acceptedAnswer, suggestedAnswer,
answerCount, author, upvoteCount, dateCreated), forum threads published as a
run of ``DiscussionForumPosting`` items (the first post is the question), and
``Review`` pages.  Values are taken as published; checking them against what
the page shows is the merge's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import lxml.html
from lxml.html import HtmlElement

from scraper.extract.html.document import HtmlDocument
from scraper.extract.html.schemaorg import Item
from scraper.extract.html.visible import render_body
from scraper.extract.numbers import to_int
from scraper.extract.partial import PartialAnswer, PartialPage

__all__ = ["iso_date", "structured_partial", "text_from_value"]

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_POSTING_TYPES = ("DiscussionForumPosting", "SocialMediaPosting", "Comment", "BlogPosting")
_PRODUCT_TYPES = ("Product", "Offer", "Book", "Movie", "SoftwareApplication", "Game", "MusicRecording", "Recipe", "Course")
_PLACEHOLDER_NAMES = frozenset(("name not provided", "anonymous", "unknown"))

Exclude = Callable[[HtmlElement], bool]
AuthorCard = Callable[[HtmlElement, HtmlDocument], "tuple[str | None, str | None]"]


def iso_date(value: Any) -> str | None:
    """An ISO 8601 date or date-time as published, or None when it is not one."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _ISO.match(value) else None


def text_from_value(value: Any, exclude: Exclude | None = None) -> str | None:
    """Body text from a property value: an element, an HTML string or plain text."""
    if isinstance(value, Item):
        value = _first(value, "text", "articleBody")
    if isinstance(value, HtmlElement):
        return render_body(value, exclude)
    if not isinstance(value, str) or not value.strip():
        return None
    if "<" in value and ">" in value:
        try:
            fragment = lxml.html.fragment_fromstring(value, create_parent="div")
        except (lxml.etree.ParserError, ValueError):
            return None
        return render_body(fragment, exclude)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", value)]
    return "\n\n".join(p for p in paragraphs if p) or None


def _author(value: Any, doc: HtmlDocument) -> tuple[str | None, str | None]:
    """(name, profile URL) of an author value."""
    if isinstance(value, Item):
        name = value.string("name")
        url = value.string("url")
        if url is None and value.element is not None:
            links = value.element.xpath(".//a[@href]")
            url = links[0].get("href") if links else None
        if name and name.lower() in _PLACEHOLDER_NAMES:
            name = None
        return name, doc.absolute(url)
    if isinstance(value, HtmlElement):
        link = value if value.tag == "a" else next(iter(value.xpath(".//a[@href]")), None)
        return " ".join(value.text_content().split()) or None, doc.absolute(link.get("href")) if link is not None else None
    if isinstance(value, str):
        return (" ".join(value.split()) or None), None
    return None, None


def _item_author(item: Item, doc: HtmlDocument, card: AuthorCard | None) -> tuple[str | None, str | None]:
    name, url = _author(item.first("author"), doc)
    if name is None and url is None and card is not None and item.element is not None:
        name, url = card(item.element, doc)
    return name, url


def _answer(item: Item, doc: HtmlDocument, exclude: Exclude | None, card: AuthorCard | None = None) -> PartialAnswer:
    name, url = _item_author(item, doc, card)
    votes = to_int(_first(item, "upvoteCount", "voteCount"))  # voteCount: the 2014 schema.org name
    if votes is not None and item.first("downvoteCount") is not None:
        votes -= to_int(item.first("downvoteCount")) or 0
    return PartialAnswer(
        title=item.string("name") if item.first("name") is not None and item.syntax == "json-ld" else None,
        body=text_from_value(_first(item, "text", "articleBody"), exclude),
        author_name=name,
        author_profile_url=url,
        votes=votes if votes is not None else _likes(item),
        posted_at=iso_date(_raw(_first(item, "dateCreated", "datePublished"))),
        has_author=name is not None or url is not None,
    )


def _first(item: Item, *names: str) -> Any:
    """The first of several properties that is present (elements are never tested for truth)."""
    for name in names:
        value = item.first(name)
        if value is not None:
            return value
    return None


def _raw(value: Any) -> Any:
    if isinstance(value, HtmlElement):
        return value.get("datetime") or value.get("content") or value.text_content()
    return value


def _likes(item: Item) -> int | None:
    for counter in item.items("interactionStatistic"):
        if "LikeAction" in (counter.string("interactionType") or ""):
            return to_int(counter.first("userInteractionCount"))
    return None


def _document_order(answers: list[Item]) -> list[Item]:
    position: dict[int, int] = {}
    for answer in answers:
        if answer.element is None:  # a JSON-LD answer has no element to place it by: keep the order given
            return answers
        position[id(answer)] = answer.element.sourceline or 0
    return sorted(answers, key=lambda a: position[id(a)])


def _answers_of(item: Item, depth: int = 0) -> Iterator[Item]:
    """The item's accepted and suggested answers, and those nested in them (a page whose markup
    leaves an answer's element open puts the next answer inside it, as its property)."""
    for answer in item.items("acceptedAnswer") + item.items("suggestedAnswer"):
        yield answer
        if depth < 50:
            yield from _answers_of(answer, depth + 1)


def _unique(answers: list[Item]) -> list[Item]:
    """Each answer once: one marked ``suggestedAnswer acceptedAnswer`` is one item named twice,
    and a JSON-LD accepted answer repeated among the suggested ones has the same ``@id`` or text."""
    seen: set[object] = set()
    kept: list[Item] = []
    for answer in answers:
        keys = {id(answer), answer.element} if answer.element is not None else {id(answer)}
        ident = answer.string("@id") or answer.string("url")
        text = answer.string("text")
        keys |= {k for k in (("id", ident), ("text", text, answer.string("author"))) if k[1]}
        if keys & seen:
            continue
        seen |= keys
        kept.append(answer)
    return kept


def _loose_answers(items: list[Item], questions: list[Item]) -> list[Item]:
    """``Answer`` items that no ``Question`` item holds: a page that marks each answer up but
    not the question (Zhihu's 2015 pages: 50 answers; the only Question items are the
    related questions of the sidebar, each with its own top answer)."""
    held = {id(inner) for q in questions for inner in q.walk() if inner is not q}
    return [it for top in items for it in top.walk() if it.is_a("Answer") and id(it) not in held]


def _qa_page(items: list[Item], doc: HtmlDocument, exclude: Exclude | None, strategy: str, card: AuthorCard | None) -> PartialPage | None:
    # An FAQPage's questions are the site's own, answered by the site: an FAQ article, not Q&A.
    faq = {id(inner) for top in items for it in top.walk() if it.is_a("FAQPage") for inner in it.walk()}
    questions = [it for top in items for it in top.walk() if it.is_a("Question") and id(it) not in faq]
    loose = [a for a in _loose_answers(items, questions) if id(a) not in faq]
    linked = max((len(q.all("acceptedAnswer")) + len(q.all("suggestedAnswer")) for q in questions), default=0)
    if len(loose) >= 2 and len(loose) > linked:
        # The answers are the page's own; the Question items, if any, are other questions.
        return PartialPage(strategy=strategy, answers=[_answer(a, doc, exclude, card) for a in _document_order(loose)],
                           kind="question")
    if not questions:
        return None
    question = max(questions, key=lambda q: len(q.all("acceptedAnswer")) + len(q.all("suggestedAnswer")))
    page = next((it for top in items for it in top.walk() if it.is_a("QAPage")), None)
    answers = _document_order(_unique(list(_answers_of(question))))
    author, _ = _item_author(question, doc, card)
    return PartialPage(
        strategy=strategy,
        title=question.string("name") or question.string("headline") or (page.string("name") if page else None),
        body=text_from_value(question.first("text"), exclude),
        author=author,
        posted_at=iso_date(_raw(_first(question, "dateCreated", "datePublished"))),
        answer_count=to_int(question.first("answerCount")),
        answers=[_answer(a, doc, exclude, card) for a in answers],
        kind="question",
    )


def _forum_thread(items: list[Item], doc: HtmlDocument, exclude: Exclude | None, strategy: str) -> PartialPage | None:
    posts = [it for it in items if it.is_a(*_POSTING_TYPES) and (it.first("articleBody") is not None or it.first("text") is not None)]
    threads = [it for it in items if it.is_a("DiscussionForumPosting") and (it.string("headline") or it.string("name"))]
    if not posts and not threads:
        return None
    first, replies = (posts[0], posts[1:]) if posts else (threads[0], [])
    if not replies:  # one posting holding its replies as ``comment`` items (Invision Community)
        replies = [c for c in first.items("comment") if c.is_a(*_POSTING_TYPES)]
    if not replies and not first.is_a("DiscussionForumPosting"):
        return None  # a blog post or a lone comment is no thread; a forum posting with no replies is one
    author, _ = _author(first.first("author"), doc)
    return PartialPage(
        strategy=strategy,
        title=first.string("headline") or first.string("name"),
        body=text_from_value(_first(first, "articleBody", "text"), exclude),
        author=author,
        posted_at=iso_date(_raw(_first(first, "datePublished", "dateCreated"))),
        answers=[_answer(r, doc, exclude) for r in replies],
        kind="question",
    )


def _review(items: list[Item], doc: HtmlDocument, strategy: str) -> PartialPage | None:
    # A shop's product reviews are not a review page: only a review of a person or a practice is
    # (a patient's review of a doctor, which the doctors' replies answer).
    products = {id(inner) for top in items for it in top.walk() if it.is_a(*_PRODUCT_TYPES) for inner in it.walk()}
    review = next(
        (it for top in items for it in top.walk()
         if it.is_a("Review") and id(it) not in products and not any(r.is_a(*_PRODUCT_TYPES) for r in it.items("itemReviewed"))),
        None,
    )
    if review is None:
        return None
    author, _ = _author(review.first("author"), doc)
    provider, provider_url = _author(review.first("itemReviewed"), doc)
    date = iso_date(_raw(review.first("datePublished")))
    return PartialPage(
        strategy=strategy,
        title=review.string("name"),
        author=author,
        posted_at=date[:10] if date else None,
        kind="review",
        review={"posted_at": date[:10] if date else None, "provider_name": provider, "provider_profile_url": provider_url},
    )


def structured_partial(
    items: list[Item], doc: HtmlDocument, exclude: Exclude | None, strategy: str, card: AuthorCard | None = None
) -> PartialPage | None:
    """The Q&A (or review) a page's schema.org items describe, if any."""
    return _qa_page(items, doc, exclude, strategy, card) or _forum_thread(items, doc, exclude, strategy) or _review(items, doc, strategy)
