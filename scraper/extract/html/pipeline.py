"""HTML pages: parse once, run the strategies in order, merge what they found.

Order (also the priority for single-value fields): the site's own selectors,
its ``<meta>`` fields, JSON-LD, microdata, embedded application state, and
the visible text read by the text-render extractor.  The visible text only
runs where the site's layout is one that extractor knows, or when nothing
else found answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from scraper.errors import NotAQAPageError
from scraper.extract.html.appstate import app_state_partial
from scraper.extract.html.document import HtmlDocument, parse_html
from scraper.extract.html.posts import address_refusal, structure_partial
from scraper.extract.html.schemaorg import Item, jsonld_items, microdata_items, rdfa_items, scope_elements
from scraper.extract.html.structured import structured_partial
from scraper.extract.html.titles import tidy_title
from scraper.extract.html.visible import element_text, link_targets, render_page
from scraper.extract.partial import Merged, PartialAnswer, PartialPage, QuestionText, align, merge
from scraper.extract.profile import SiteChoice, SiteProfile
from scraper.extract.textrender import extract_text_render
from scraper.page import RawPage

__all__ = ["HtmlExtraction", "extract_html"]


@dataclass
class HtmlExtraction:
    merged: Merged
    site: SiteProfile
    document: HtmlDocument


def _meta_partial(doc: HtmlDocument, site: SiteProfile) -> PartialPage | None:
    values: QuestionText = {}
    for field_name, prop in site.meta_fields:
        found = doc.index.meta_content(prop)
        if found and found.strip():
            values[field_name] = " ".join(found.split())
    return PartialPage(strategy="meta", **values) if values else None


def _visible_text(doc: HtmlDocument) -> str:
    """The page rendered as a text render, once per page (site detection may need it first)."""
    text = doc.memo.get(__name__)
    if not isinstance(text, str):
        text = doc.memo[__name__] = render_page(doc.root)
    return text


def _visible_partial(doc: HtmlDocument, site: SiteProfile, generic: SiteProfile, can_lead: bool) -> PartialPage | None:
    profile = site if site.text_layout else generic
    links = link_targets(doc.root)
    try:
        page = extract_text_render(_from_heading(doc, _visible_text(doc), links), profile)
    except NotAQAPageError:
        return None
    answers = [
        PartialAnswer(
            title=a.title,
            posted_at=a.posted_at,
            author_profile_url=doc.absolute(links.get(a.author.name)) if a.author and a.author.name else None,
            body=a.body,
            author_name=a.author.name if a.author else None,
            author_location=a.author.location if a.author else None,
            author_specialty=a.author.specialty if a.author else None,
            rating=a.rating,
            review_count=a.review_count,
            has_author=a.author is not None or a.rating is not None,
        )
        for a in page.answers
    ]
    partial = PartialPage(
        strategy="visible-text",
        answer_count=page.answer_count,
        answers=answers,
        truncated=page.truncated,
        warnings=[(w.code, w.message) for w in page.warnings],
        can_lead=can_lead,
    )
    if can_lead:  # only a layout we know may also name the question
        question = page.question
        partial.title, partial.body, partial.posted_at, partial.topic = question.title, question.body, question.posted_at, question.topic
        partial.kind = "question"
    return partial


def _from_heading(doc: HtmlDocument, text: str, links: dict[str, str]) -> str:
    """The visible text from the page's ``<h1>`` on, when all that comes before it is link texts:
    a breadcrumb or menu whose class names no longer say so is navigation, not the question."""
    h1 = next(doc.root.iter("h1"), None)
    heading = " ".join(element_text(h1).split()) if h1 is not None else ""
    lines = text.split("\n")
    if not heading or heading not in lines:
        return text
    at = lines.index(heading)
    before = [line for line in lines[:at] if line.strip()]
    return "\n".join(lines[at:]) if before and all(line in links for line in before) else text


def _page_title(doc: HtmlDocument) -> str | None:
    og_title = next((m.get("content") for m in doc.index.metas if m.get("property") == "og:title" and m.get("content") is not None), None)
    # <title> before <h1>: a forum's h1 is often the forum's name, while its <title> holds the
    # topic and the site's name, which tidy_title takes off.
    for found in (og_title, next(doc.root.iter("title"), None), next(doc.root.iter("h1"), None)):
        if found is not None:
            value = found if isinstance(found, str) else element_text(found)
            if value.strip():
                return " ".join(value.split())
    return None


_ARTICLE_TYPES = ("Article", "BlogPosting", "NewsArticle", "Report", "ScholarlyArticle", "TechArticle", "Recipe", "HowTo", "Review",
                  "Product", "Event", "FAQPage")
_QA_TYPES = ("QAPage", "Question", "Answer", "DiscussionForumPosting")
_ARTICLE_LETTERS = 1500
"""A post this long before a few short replies is an article with its comments, not a question."""


def _article_with_comments(structure: PartialPage, items: list[Item]) -> str | None:
    """Why the page's repeated posts are comments under an article and not answers, if they are.

    A page that calls itself an article (or a recipe, a product) in schema.org and nothing
    Q&A-like is one; so is a long post, apart from the list, followed by replies that are
    together far shorter (a blog post and its reactions).
    """
    if structure.rated_posts:
        return "not a Q&A page: the repeated posts each give a rating out of five: they are reviews (of a product, a shop), not answers"
    walked = [it for top in items for it in top.walk()]
    if not any(it.is_a(*_QA_TYPES) for it in walked):
        kind = next((name for it in walked for name in _ARTICLE_TYPES if it.is_a(name)), None)
        if kind:
            return f"not a Q&A page: the page is a schema.org {kind}, and the repeated posts under it are its comments"
    replies = sum(len(a.body or "") for a in structure.answers or [])
    if structure.separate_question and len(structure.body or "") >= max(_ARTICLE_LETTERS, 3 * replies):
        return "not a Q&A page: a long article followed by a few short comments (a blog post or news story with reactions)"
    return None


_ON_THE_ANSWERS = ("microdata", "rdfa")


def _structure_may_help(site: SiteProfile, sites: SiteChoice, found: list[PartialPage]) -> bool:
    """Whether reading the page's post structure can add anything (it costs about a parse).

    A site with an adapter whose own rules and data found every answer the page states is
    read already; any other page is read for the answers and fields its data lacks.  A
    single answer is suspect: structured data often lists only the accepted one (Discourse).
    Markup on the answers themselves (microdata, RDFa) is written by the page's template on
    every answer it shows, so its list of several (or of as many as the page states) is the
    page's list: a larger stated count then means more pages of answers (Stack Overflow shows
    30), not answers the markup missed.
    """
    if site is sites.generic or site.read_structure or not any(p.answers for p in found):
        return True
    stated = max((p.answer_count for p in found if p.answer_count is not None), default=None)
    for p in found:
        marked = len(p.answers or []) if p.strategy in _ON_THE_ANSWERS else 0
        complete = all(a.author_name for a in p.answers or [])  # (else the posts' bylines may name them)
        if complete and (marked >= 2 or (marked and stated is not None and marked >= stated)):
            return False
    shown = max(len(p.answers or []) for p in found)
    if shown <= 1:
        return True
    return any(p.answer_count is not None and p.answer_count > shown for p in found)


def _adds_answers(structure: PartialPage, found: list[PartialPage]) -> bool:
    """Whether the page's structure shows answers the other sources miss, or is all there is.

    Its list must share an answer with the longest other list: a list that shares none is
    another list of the page (comments under the question, related posts), not more answers.
    """
    if not any(p.kind for p in found):
        return True
    best = max(found, key=lambda p: sum(1 for a in p.answers or [] if a.body))
    mine, theirs = structure.answers or [], [a for a in best.answers or [] if a.body]
    if len(mine) < len(theirs):
        return False
    return not theirs or any(twin is not None for twin in align(theirs, mine))


def extract_html(page: RawPage, sites: SiteChoice, site: SiteProfile | None = None) -> HtmlExtraction:
    """Run every strategy on one parsed page and merge their findings (``site`` forced, else detected by ``sites``).

    Raises :class:`NotAQAPageError` when no strategy finds a question.
    """
    doc = parse_html(page.body, page.encoding, page.url)
    site = site or sites.detect_html(doc.url, doc.root, lambda: _visible_text(doc))
    partials: list[PartialPage | None] = []
    partials.append(site.page_extractor(doc) if site.page_extractor else None)
    partials.append(_meta_partial(doc, site))
    exclude = site.exclusion(doc.root)
    jsonld, notes = jsonld_items(doc.index.scripts)
    partials.append(structured_partial(jsonld, doc, exclude, "json-ld", site.author_card))
    scopes = scope_elements(doc.root)
    microdata = microdata_items(doc.root, scopes["itemscope"])
    partials.append(structured_partial(microdata, doc, exclude, "microdata", site.author_card))
    partials.append(structured_partial(rdfa_items(doc.root, scopes["typeof"]), doc, exclude, "rdfa", site.author_card))
    partials.append(app_state_partial(doc))
    found = [p for p in partials if p is not None]
    if not any(p.kind for p in found):
        refusal = address_refusal(doc.url)
        if refusal:
            raise NotAQAPageError(refusal)
    is_review = any(p.kind == "review" for p in found)
    # A layout the text reader knows is read first, so the structure is weighed against its answers
    # (and kept last in priority): a comment box with profile links is not a RealSelf page's answers.
    visible = _visible_partial(doc, site, sites.generic, can_lead=True) if site.text_layout and not is_review else None
    known = found + [visible] if visible is not None else found
    structure = structure_partial(doc) if not is_review and _structure_may_help(site, sites, known) else None
    refused = _article_with_comments(structure, jsonld + microdata) if structure is not None and not any(p.kind for p in known) else None
    if structure is not None and refused is None and _adds_answers(structure, known):
        found.append(structure)
    if visible is None and not is_review and not any(p.answers for p in found):
        visible = _visible_partial(doc, site, sites.generic, can_lead=True)
    if visible is not None:
        found.append(visible)
    if not any(p.kind for p in found):
        deep = any(code == "nesting_too_deep" for code, _ in doc.notes)
        if refused:
            raise NotAQAPageError(refused)
        raise NotAQAPageError(
            "no Q&A found in the HTML: no schema.org QAPage/Question or review data, no question in the "
            "embedded application state, no repeated posts with authors, and the visible text has no answer section"
            + ("; the page nests elements deeper than the parser reads (255 levels), so part of it was not read" if deep else "")
        )
    merged = merge(found)
    if structure is not None:
        merged.page.thread_page = structure.thread_page
        if site is sites.generic and merged.provenance.get("answers[1].body") == "page-structure":
            merged.warnings.append((
                "read_generically",
                "no site adapter and no structured data gave these answers: they were read from the page's repeated post blocks",
            ))
    if merged.page.title is None:
        merged.page.title = _page_title(doc)
        merged.provenance["question.title"] = "page-title"
    if merged.page.title is not None:
        merged.page.title = tidy_title(merged.page.title, doc)
    for code, message in doc.notes:
        merged.warnings.append((code, message))
        if code == "truncated":
            merged.page.truncated = True
    for note in notes:
        merged.warnings.append(("jsonld_repaired" if "repaired" in note else "jsonld_unreadable", note))
    return HtmlExtraction(merged=merged, site=site, document=doc)
