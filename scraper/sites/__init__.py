"""Site adapters, one folder per site, and how a page finds its site."""

from __future__ import annotations

from scraper.sites.base import ANSWERS_HEADING, SiteProfile
from scraper.sites.realself import SITE as REALSELF

__all__ = ["ANSWERS_HEADING", "GENERIC", "SITES", "SiteProfile", "detect_site", "get_site"]

SITES: dict[str, SiteProfile] = {site.name: site for site in (REALSELF,)}
# Pages of no known site: RealSelf's vocabulary (the broadest we have), no site footer.
GENERIC = SiteProfile(name="generic", version="1.0", url_patterns=(), specialties=REALSELF.specialties)


def get_site(name: str) -> SiteProfile:
    try:
        return SITES[name]
    except KeyError:
        known = ", ".join(sorted(SITES))
        raise ValueError(f"unknown site {name!r}; known sites: {known}") from None


def detect_site(url: str | None, text: str) -> SiteProfile | None:
    """The site a page belongs to: by URL when there is one, else by what the text shows."""
    if url:
        for site in SITES.values():
            if site.matches_url(url):
                return site
    for site in SITES.values():
        if site.matches_text(text):
            return site
    return None
