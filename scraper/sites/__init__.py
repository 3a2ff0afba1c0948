"""Site adapters, one folder per site, plus those other packages add; and how a page finds its site.

To add a site here: a folder with an ``__init__.py`` defining ``SITE`` (a
:class:`SiteProfile`), or ``SITES`` (a tuple of them, for a family: the forum
engines in ``engines/``, the big one-host platforms in ``platforms/``).  It is
found by looking at the folders; nothing in the extraction pipeline changes.  To
add one from another package: an entry point in the ``scraper.sites`` group (see
:mod:`scraper.sites.plugins`).

Priority, at each step of detection (URL, then HTML signature, then text
signature): the built-in adapters (those of one site first, then the families,
each in its own order), then plugins, then the generic adapter.  So a
plugin for a host wins over the generic adapter (and over a built-in that only
recognises the page by its markup), but a plugin cannot change how a page a
built-in adapter claims by the same kind of evidence is read: that stays what the
built-in's tests pin.  ``--site NAME`` forces any of them.  A plugin with a
built-in's name is skipped with a warning, never a silent override.
"""

from __future__ import annotations

import pkgutil
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, ValuesView
from dataclasses import replace
from importlib import import_module

from lxml.html import HtmlElement

from scraper.errors import UnknownSiteError
from scraper.extract.html.document import HtmlDocument
from scraper.extract.partial import PartialAnswer, PartialPage
from scraper.extract.profile import ANSWERS_HEADING, SiteChoice, SiteProfile
from scraper.sites.mapping import profile_from_mapping
from scraper.sites.plugins import PluginWarning, SitePlugin, load_site_plugins

__all__ = [
    "ANSWERS_HEADING", "BUILTIN", "CHOICE", "GENERIC", "SITES", "HtmlDocument", "PartialAnswer", "PartialPage", "PluginWarning",
    "SitePlugin", "SiteProfile", "detect_html_site", "detect_site", "discoverable", "get_site", "profile_from_mapping", "reload_site_plugins",
    "site_plugins",
]


def _builtin() -> dict[str, SiteProfile]:
    """Every sub-package's adapters: packages of one site (``SITE``) first, as they know their site by
    its host and its own markup, then families (``SITES``: forum engines, platforms), whose wider
    signatures must not take those sites' pages; the generic adapter last."""
    packages = {m.name: import_module(f"scraper.sites.{m.name}") for m in pkgutil.iter_modules(__path__) if m.ispkg}

    def rank(name: str) -> tuple[int, str]:
        return (2 if name == "generic" else 1 if hasattr(packages[name], "SITES") else 0), name

    found: dict[str, SiteProfile] = {}
    for name in sorted(packages, key=rank):
        module = packages[name]
        profiles: tuple[SiteProfile, ...] = tuple(module.SITES) if hasattr(module, "SITES") else (module.SITE,)
        for profile in profiles:
            if profile.name in found:
                raise RuntimeError(f"two built-in site adapters are called {profile.name!r} (the second in scraper.sites.{name})")
            found[profile.name] = profile
    return found


BUILTIN: dict[str, SiteProfile] = _builtin()
"""The adapters shipped in this package, in detection order, generic last (no plugins: importing this loads none)."""
# Pages of no known site keep RealSelf's specialty vocabulary (the broadest we have).
GENERIC = replace(BUILTIN["generic"], specialties=BUILTIN["realself"].specialties)
BUILTIN["generic"] = GENERIC

_LOCK = threading.Lock()
_LOADED: tuple[tuple[SitePlugin, ...], dict[str, SiteProfile]] | None = None


def _load() -> tuple[tuple[SitePlugin, ...], dict[str, SiteProfile]]:
    """The plugins and every adapter in detection order, loaded on first use, once per process.

    Why lazily: ``import scraper`` and commands that read no page (``scraper schema``)
    import no other package's code and warn about no broken one.
    """
    global _LOADED
    with _LOCK:
        if _LOADED is None:
            plugins = tuple(load_site_plugins(BUILTIN))
            for plugin in plugins:
                if plugin.problem:
                    warnings.warn(plugin.problem, PluginWarning, stacklevel=2)
            every = {name: site for name, site in BUILTIN.items() if site is not GENERIC}
            every.update((p.name, p.profile) for p in plugins if p.profile is not None)
            _LOADED = plugins, {**every, GENERIC.name: GENERIC}
        return _LOADED


def _sites() -> dict[str, SiteProfile]:
    return _load()[1]


def site_plugins() -> tuple[SitePlugin, ...]:
    """Every site plugin installed, loaded or skipped (with why), as ``scraper extractors`` lists them."""
    return _load()[0]


def reload_site_plugins() -> None:
    """Forget the loaded plugins, so the next lookup reads the entry points again (for tests, and
    for a long-running process that installed a package)."""
    global _LOADED
    with _LOCK:
        _LOADED = None


class _Sites(Mapping[str, SiteProfile]):
    """Every adapter by name, in detection order: built-ins, plugins, generic (plugins loaded on first use)."""

    def __getitem__(self, name: str) -> SiteProfile:
        return _sites()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_sites())

    def __len__(self) -> int:
        return len(_sites())

    def values(self) -> ValuesView[SiteProfile]:
        return _sites().values()


SITES: Mapping[str, SiteProfile] = _Sites()


def get_site(name: str) -> SiteProfile:
    """The adapter called ``name``; an unknown name (or a plugin that failed to load) says so."""
    sites = _sites()
    if name in sites:
        return sites[name]
    skipped = next((p.problem for p in site_plugins() if p.name == name and p.problem), None)
    if skipped:
        raise UnknownSiteError(f"unknown site {name!r}: {skipped}")
    raise UnknownSiteError(f"unknown site {name!r}; known sites: {', '.join(sorted(sites))}")


def discoverable(kind: str = "any") -> list[str]:
    """Names of the adapters with a discovery source (``sitemap``, ``search``, or ``any``): what --discover offers."""
    def has(site: SiteProfile) -> bool:
        if kind == "sitemap":
            return bool(site.discovery_sitemap)
        if kind == "search":
            return bool(site.discovery_search)
        return bool(site.discovery_sitemap or site.discovery_search)

    return sorted(name for name, site in _sites().items() if has(site))


def _by_url(url: str | None) -> SiteProfile | None:
    if url:
        for site in _sites().values():
            if site.matches_url(url):
                return site
    return None


def detect_site(url: str | None, text: str) -> SiteProfile | None:
    """The site of a text render: by URL when there is one, else by what the text shows."""
    found = _by_url(url)
    if found:
        return found
    return next((site for site in _sites().values() if site.matches_text(text)), None)


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
    found = next((site for site in _sites().values() if site.matches_html(root)), None)
    if found:
        return found
    if visible_text is not None and any(site.text_signatures for site in _sites().values()):
        text = visible_text()
        found = next((site for site in _sites().values() if site.matches_text(text)), None)
    return found or GENERIC


CHOICE = SiteChoice(generic=GENERIC, detect_html=detect_html_site)
"""The adapters as the extraction pipeline is handed them (it does not import this package)."""
