"""RealSelf (www.realself.com): "Doctor Answers" question pages.

Facts behind these rules: the seed page in ``samples/`` and the real data and
notes in ``../shared/realdata/realself/`` (STRUCTURE-NOTES.md).
"""

from __future__ import annotations

import re

from scraper.extract.vocabulary import SpecialtyVocabulary, load_word_list
from scraper.sites.base import SiteProfile

__all__ = ["SITE"]

SITE = SiteProfile(
    name="realself",
    version="1.0",
    url_patterns=(re.compile(r"^https?://(?:[\w-]+\.)*realself\.com(?:[:/?#]|$)", re.I),),
    text_signatures=(
        re.compile(r"^\s*Doctor Answers\s+\d+\s*$", re.M),
        re.compile(r"These answers are for educational purposes and should not be relied upon"),
    ),
    # Case-sensitive on purpose: the site prints it so, and a literal prefix scans fast.
    footer_patterns=(re.compile(r"These answers (?:are for educational purposes|should not|do not constitute)\b"),),
    specialties=SpecialtyVocabulary(load_word_list("scraper.sites.realself", "specialties.txt")),
)
