"""What a site adapter declares: how to recognise the site and the site's own words.

An adapter is data: URL patterns, a content signature, the heading that
introduces the answers, the footer that ends them, and the specialty
vocabulary of its authors.  Extractors read these fields and never branch on a
site's name, so adding a site is adding one of these, not editing a pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scraper.extract.vocabulary import SpecialtyVocabulary

__all__ = ["ANSWERS_HEADING", "SiteProfile"]

# "Doctor Answers 5", "5 Answers", "Answers (5)", "Expert answers: 5".
ANSWERS_HEADING = re.compile(
    r"(?:(?:doctor|expert|physician)s?\s+)?answers?\s*[:(]?\s*(?P<n>\d[\d,]*)\s*\)?"
    r"|(?P<n2>\d[\d,]*)\s+(?:(?:doctor|expert|physician)s?\s+)?answers?",
    re.I,
)


@dataclass(frozen=True)
class SiteProfile:
    """A site's declarative description, read by the extractors."""

    name: str
    version: str
    url_patterns: tuple[re.Pattern[str], ...]
    """A page URL matching any of these belongs to the site."""
    text_signatures: tuple[re.Pattern[str], ...] = ()
    """Text that only this site's pages show; used when there is no URL."""
    footer_patterns: tuple[re.Pattern[str], ...] = ()
    """A line starting with a match of one of these ends the answers: the site's disclaimer."""
    specialties: SpecialtyVocabulary = field(default_factory=lambda: SpecialtyVocabulary(()))

    def matches_url(self, url: str) -> bool:
        return any(p.search(url) for p in self.url_patterns)

    def matches_text(self, text: str) -> bool:
        return any(p.search(text) for p in self.text_signatures)

    def footer_start(self, text: str) -> int | None:
        """Offset of the line where the site's closing footer starts, if the text has one.

        A footer counts only at the start of a line, so a doctor quoting the
        disclaimer inside an answer does not end the page.
        """
        first: int | None = None
        for pattern in self.footer_patterns:
            for found in pattern.finditer(text):
                line_start = text.rfind("\n", 0, found.start()) + 1
                if not text[line_start : found.start()].strip():
                    first = line_start if first is None else min(first, line_start)
                    break
        return first
