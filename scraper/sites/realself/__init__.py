"""RealSelf (www.realself.com): "Doctor Answers" question pages and patient review pages.

Facts behind these rules: the seed page in ``samples/``, the real 2018 review
pages in ``tests/fixtures/html/realself-review-*`` and the notes in
``../shared/realdata/realself/STRUCTURE-NOTES.md``.
"""

from __future__ import annotations

import re

from scraper.extract.profile import SiteProfile
from scraper.extract.vocabulary import SpecialtyVocabulary, load_word_list
from scraper.sites.realself.review import review_extractor

__all__ = ["SITE"]

_SPECIALTIES = SpecialtyVocabulary(load_word_list("scraper.sites.realself", "specialties.txt"))

SITE = SiteProfile(
    name="realself",
    version="1.1",
    description="RealSelf Doctor Answers question pages (text renders and HTML) and 2018 review pages",
    url_patterns=(re.compile(r"^https?://(?:[\w-]+\.)*realself\.com(?:[:/?#]|$)", re.I),),
    text_signatures=(
        re.compile(r"^\s*Doctor Answers\s+\d+\s*$", re.M),
        re.compile(r"These answers are for educational purposes and should not be relied upon"),
    ),
    html_signatures=(
        "//meta[starts-with(@property, 'rs:')]",
        "//meta[@property='og:site_name'][contains(translate(@content, 'REALSF', 'realsf'), 'realself')]",
        "//link[@rel='canonical'][contains(@href, 'realself.com')]",
    ),
    # Case-sensitive on purpose: the site prints it so, and a literal prefix scans fast.
    footer_patterns=(re.compile(r"These answers (?:are for educational purposes|should not|do not constitute)\b"),),
    specialties=_SPECIALTIES,
    text_layout=True,
    meta_fields=(("topic", "rs:topic-name"),),
    page_extractor=review_extractor(_SPECIALTIES),
    base_url="https://www.realself.com",
    # Facts from ../shared/realdata/realself/STRUCTURE-NOTES.md: the XML sitemap index, and the
    # search API whose answer is {"contents": [{"uri": "/question/<slug>", ...}], "total": N}.
    discovery_sitemap="https://www.realself.com/XMLSitemap",
    discovery_search="https://search.realself.com/site_search?query={query}&type=question&size={size}&from={offset}",
    question_pattern=r"/question/[^/?#]+",
)
