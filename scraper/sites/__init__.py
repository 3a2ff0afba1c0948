"""Site adapters, one folder per site, and how a page finds its site.

To add a site: a folder here with an ``__init__.py`` defining ``SITE`` (a
:class:`SiteProfile`).  It is found by looking at the folders; nothing in the
extraction pipeline changes.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import replace
from importlib import import_module

from lxml.html import HtmlElement

from scraper.errors import UnknownSiteError
from scraper.extract.profile import ANSWERS_HEADING, SiteChoice, SiteProfile

__all__ = ["ANSWERS_HEADING", "CHOICE", "GENERIC", "SITES", "SiteProfile", "detect_html_site", "detect_site", "discoverable", "get_site"]

# Every sub-package is an adapter; the generic one is tried last.
_ADAPTERS = sorted((m.name for m in pkgutil.iter_modules(__path__) if m.ispkg), key=lambda n: (n == "generic", n))

SITES: dict[str, SiteProfile] = {name: import_module(f"scraper.sites.{name}").SITE for name in _ADAPTERS}
# Pages of no known site keep RealSelf's specialty vocabulary (the broadest we have).
GENERIC = replace(SITES["generic"], specialties=SITES["realself"].specialties)
SITES["generic"] = GENERIC


def get_site(name: str) -> SiteProfile:
    try:
        return SITES[name]
    except KeyError:
        known = ", ".join(sorted(SITES))
        raise UnknownSiteError(f"unknown site {name!r}; known sites: {known}") from None


def discoverable(kind: str = "any") -> list[str]:
    """Names of the adapters with a discovery source (``sitemap``, ``search``, or ``any``): what --discover offers."""
    def has(site: SiteProfile) -> bool:
        if kind == "sitemap":
            return bool(site.discovery_sitemap)
        if kind == "search":
            return bool(site.discovery_search)
        return bool(site.discovery_sitemap or site.discovery_search)

    return sorted(name for name, site in SITES.items() if has(site))


def _by_url(url: str | None) -> SiteProfile | None:
    if url:
        for site in SITES.values():
            if site.matches_url(url):
                return site
    return None


def detect_site(url: str | None, text: str) -> SiteProfile | None:
    """The site of a text render: by URL when there is one, else by what the text shows."""
    found = _by_url(url)
    if found:
        return found
    return next((site for site in SITES.values() if site.matches_text(text)), None)


def detect_html_site(url: str | None, root: HtmlElement, visible_text: Callable[[], str] | None = None) -> SiteProfile:
    """The site of an HTML page: by URL, else by HTML signature, else by what its visible text
    shows (the text signatures a text render is recognised by), else the generic adapter.

    ``visible_text`` gives the page's visible text as a text render; it is called only when
    neither the URL nor the markup names a site, so a page served from anywhere (a mirror, a
    local copy, a test server) is read like the same page at its own address.
    """
    found = _by_url(url)
    if found:
        return found
    found = next((site for site in SITES.values() if site.matches_html(root)), None)
    if found:
        return found
    if visible_text is not None and any(site.text_signatures for site in SITES.values()):
        text = visible_text()
        found = next((site for site in SITES.values() if site.matches_text(text)), None)
    return found or GENERIC


CHOICE = SiteChoice(generic=GENERIC, detect_html=detect_html_site)
"""The adapters as the extraction pipeline is handed them (it does not import this package)."""
