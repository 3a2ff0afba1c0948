"""The extraction pipeline: raw page -> (text render | HTML) -> validated record.

Every text value passes the junk cleaner once more on its way into the record,
whatever strategy found it, so no source (a JSON-LD name, an app-state title)
can carry an unrendered template expression into a field.  A record that still
fails validation is reported as an :class:`ExtractionError`, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from scraper._version import __version__
from scraper.errors import ExtractionError, ExtractorCrashError
from scraper.extract.clean import clean_line, scrub_controls, strip_template_junk
from scraper.extract.decode import decode_bytes, gunzip_if_compressed
from scraper.extract.html.document import HtmlDocument, looks_like_html
from scraper.extract.html.pipeline import extract_html
from scraper.extract.partial import PartialPage
from scraper.extract.textrender import EXTRACTOR_NAME, extract_text_render
from scraper.models import Answer, Author, ExtractorInfo, PageRecord, Question, RecordWarning, Review, Source
from scraper.page import RawPage
from scraper.sites import CHOICE, GENERIC, SiteProfile, detect_site, get_site

__all__ = ["Explained", "extract", "extract_page", "extract_page_explained"]


@dataclass
class Explained:
    """A record with where each of its fields came from (``scraper extract --explain``)."""

    record: PageRecord
    provenance: dict[str, str] = field(default_factory=dict)
    strategies: list[str] = field(default_factory=list)
    document: HtmlDocument | None = None
    """The parsed page, for HTML input (a crawl reads its links from it without parsing again)."""


def _line(value: str | None) -> str | None:
    return (clean_line(scrub_controls(value)) or None) if value else None


def _url(value: str | None) -> str | None:
    return scrub_controls(value).strip() or None if value else None


def _body(value: str | None) -> str | None:
    if not value:
        return None
    paragraphs = []
    for paragraph in strip_template_junk(scrub_controls(value).replace("\t", " ")).split("\n\n"):
        lines = [line.rstrip() for line in paragraph.split("\n") if line.strip()]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) or None


def _source(page: RawPage, name: str) -> Source:
    return Source(
        kind=page.kind,
        path=page.path,
        url=page.url,
        fetched_at=page.fetched_at,
        sha256=page.sha256,
        extractor=ExtractorInfo(name=name, version=__version__),
    )


def _truncated(page: RawPage, found: bool, warnings: list[RecordWarning]) -> bool:
    """The record's ``truncated``: the extractor's own finding, or the source's word that the bytes are cut off.

    Why both: an archive record cut mid-page may still end where the page looks whole
    (an answer ends, a tag closes), so only the reader knows; the warning says which.
    """
    if page.truncated and not found:
        warnings.append(RecordWarning(code="truncated", message="the source is cut off (the archive record ends early): the page may be incomplete"))
    return found or page.truncated


def _from_text(page: RawPage, site: SiteProfile | None) -> Explained:
    text = decode_bytes(page.body, page.encoding)
    profile = site or detect_site(page.url, text)
    extracted = extract_text_render(text, profile or GENERIC)
    record = PageRecord(
        url=page.url,
        site=profile.name if profile and profile.record_site else None,
        source=_source(page, EXTRACTOR_NAME),
        question=extracted.question,
        answer_count=extracted.answer_count,
        answers=extracted.answers,
        truncated=_truncated(page, extracted.truncated, extracted.warnings),
        warnings=extracted.warnings,
    )
    return Explained(record=record, strategies=["text-render"])


def _answers(partial: PartialPage, warnings: list[RecordWarning]) -> list[Answer]:
    answers: list[Answer] = []
    for found in partial.answers or []:
        body = _body(found.body)
        if body is None:
            message = f"an answer ({_line(found.title) or 'untitled'}) shows no body and is left out"
            warnings.append(RecordWarning(code="answer_without_body", message=message))
            continue
        name, location = _line(found.author_name), _line(found.author_location)
        specialty, profile_url = _line(found.author_specialty), _url(found.author_profile_url)
        shown = name is not None or location is not None or specialty is not None or profile_url is not None
        rating = found.rating if found.rating is not None and 0 <= found.rating <= 5 else None
        answers.append(Answer(
            position=len(answers) + 1,
            title=_line(found.title),
            body=body,
            author=Author(name=name, location=location, specialty=specialty, profile_url=profile_url) if shown else None,
            rating=rating,
            review_count=found.review_count if found.review_count is not None and found.review_count >= 0 else None,
            votes=found.votes,
            posted_at=found.posted_at,
        ))
    return answers


def _review(partial: PartialPage) -> Review | None:
    if partial.kind != "review":
        return None
    values = partial.review or {}
    provider = Author(
        name=_line(values.get("provider_name")),
        location=_line(values.get("provider_location")),
        specialty=_line(values.get("provider_specialty")),
        profile_url=_url(values.get("provider_profile_url")),
    )
    return Review(
        verdict=_line(values.get("verdict")),
        posted_at=values.get("posted_at") or partial.posted_at,
        cost=_line(values.get("cost")),
        provider=provider if provider.model_dump(exclude_none=True) else None,
    )


def _from_html(page: RawPage, site: SiteProfile | None) -> Explained:
    result = extract_html(page, CHOICE, site)
    merged, found = result.merged, result.merged.page
    warnings = [RecordWarning(code=code, message=message) for code, message in merged.warnings]
    title = _line(found.title)
    if title is None:
        raise ExtractionError("the page shows no question title")
    answers = _answers(found, warnings)
    record = PageRecord(
        url=page.url or result.document.url,
        site=result.site.name if result.site.record_site else None,
        kind="review" if found.kind == "review" else "question",
        source=_source(page, "html:" + "+".join(merged.strategies)),
        question=Question(
            title=title,
            body=_body(found.body),
            author=_line(found.author),
            posted_at=found.posted_at,
            topic=_line(found.topic),
        ),
        review=_review(found),
        answer_count=found.answer_count,
        answers=answers,
        truncated=_truncated(page, found.truncated, warnings),
        page=found.thread_page[0],
        pages=found.thread_page[1],
        warnings=warnings,
    )
    return Explained(record=record, provenance=merged.provenance, strategies=merged.strategies, document=result.document)


def extract_page_explained(page: RawPage, *, site: str | None = None) -> Explained:
    """Like :func:`extract_page`, with where each field came from."""
    profile = get_site(site) if site else None
    try:
        if page.body[:2] == b"\x1f\x8b":
            page = page.with_body(gunzip_if_compressed(page.body))
        if looks_like_html(page.body[:4096]):
            return _from_html(page, profile)
        return _from_text(page, profile)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise ExtractionError(f"the page gave a record that does not validate ({problems})") from None
    except RecursionError:
        raise ExtractionError("the page is nested too deeply to read") from None
    except ExtractionError:
        raise
    except Exception as exc:
        raise ExtractorCrashError(
            f"the extractor failed on this page ({type(exc).__name__}: {str(exc)[:300]}); please report it with the page"
        ) from exc


def extract_page(page: RawPage, *, site: str | None = None) -> PageRecord:
    """Turn one raw page into a validated record.

    ``site`` forces a site adapter by name; by default it is chosen from the
    URL, then from what the page shows.  Raises a subclass of
    :class:`scraper.errors.ExtractionError` when the bytes hold no Q&A page.
    """
    return extract_page_explained(page, site=site).record


def extract(content: str | bytes, url: str | None = None, *, site: str | None = None) -> PageRecord:
    """Extract a record from a page's text or raw bytes (a text render or HTML).

    >>> record = scraper.extract(open("page.txt", "rb").read(), url="https://...")
    """
    body = content.encode("utf-8", errors="replace") if isinstance(content, str) else bytes(content)
    return extract_page(RawPage(body=body, kind="memory", url=url), site=site)
