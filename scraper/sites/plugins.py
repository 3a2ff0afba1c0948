"""Site adapters from other packages: entry points in the ``scraper.sites`` group.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."scraper.sites"]
    example = "example_adapter:SITE"

and the object the entry point names is the adapter called ``example``: a
:class:`SiteProfile`, a mapping of selectors and signatures (see
:mod:`scraper.sites.mapping`), a module defining ``SITE`` (as the built-in
adapters do), or a callable page extractor (``HtmlDocument -> PartialPage | None``,
chosen only with ``--site`` since it declares no URL patterns or signatures).

Why entry points: installing a package is all it takes, and nothing is imported
until a page needs a site (:func:`scraper.sites.site_plugins` loads them once).
Why a failure is a warning: a plugin is someone else's code, and a broken one
(an import error, a bad selector, a name a built-in adapter has) must cost that
plugin, not the extraction of every other site.  Each failure is a
:class:`PluginWarning` naming the plugin and its package, and ``scraper
extractors`` lists it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

from scraper.errors import ExtractorCrashError, SitePluginError
from scraper.extract.html.document import HtmlDocument
from scraper.extract.partial import PartialPage
from scraper.extract.profile import PageExtractor, SiteProfile
from scraper.sites.mapping import profile_from_mapping

__all__ = ["ENTRY_POINT_GROUP", "PluginWarning", "SitePlugin", "load_site_plugins"]

ENTRY_POINT_GROUP = "scraper.sites"


class PluginWarning(UserWarning):
    """A site plugin that could not be loaded: it is skipped, and every other site still works."""


@dataclass(frozen=True)
class SitePlugin:
    """One entry point of the group, and what loading it gave: a profile, or the reason it has none."""

    name: str
    target: str
    """The entry point's value, ``module:attribute``."""
    distribution: str
    """The installed package that declares it, with its version."""
    profile: SiteProfile | None = None
    problem: str | None = None
    """Why it is skipped (the warning's text), when it is."""

    @property
    def label(self) -> str:
        """How messages name it: ``site plugin 'x' (package 1.0: x = module:SITE)``."""
        return f"site plugin {self.name!r} ({self.distribution}: {self.name} = {self.target})"


def load_site_plugins(builtin: Collection[str]) -> list[SitePlugin]:
    """Every entry point of the group, loaded, in ``sys.path`` order (the first of two with one name wins).

    ``builtin`` are the built-in adapters' names, which a plugin may not take.
    """
    found: list[SitePlugin] = []
    taken: dict[str, SitePlugin] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        plugin = _load(entry, builtin, taken)
        found.append(plugin)
        if plugin.profile is not None:
            taken[plugin.name] = plugin
    return found


def _load(entry: EntryPoint, builtin: Collection[str], taken: Mapping[str, SitePlugin]) -> SitePlugin:
    dist = entry.dist
    plugin = SitePlugin(name=entry.name, target=entry.value, distribution=f"{dist.name} {dist.version}" if dist else "unknown package")
    try:
        if entry.name in builtin:
            raise SitePluginError("a built-in site adapter has that name (a plugin never replaces one): rename the entry point")
        if entry.name in taken:
            raise SitePluginError(f"{taken[entry.name].distribution} already gives a site plugin of that name")
        profile = _as_profile(entry.load(), plugin, dist.version if dist else "0")
    except SitePluginError as exc:
        return replace(plugin, problem=f"{plugin.label} is skipped: {exc}")
    except Exception as exc:  # noqa: BLE001  # importing a plugin runs its code, which may raise anything: it costs that plugin only
        return replace(plugin, problem=f"{plugin.label} is skipped: it could not be loaded ({type(exc).__name__}: {exc})")
    return replace(plugin, profile=profile)


def _as_profile(target: object, plugin: SitePlugin, version: str) -> SiteProfile:
    """The profile an entry point's object stands for, its page extractor guarded (see :func:`_guarded`)."""
    if isinstance(target, ModuleType):
        if not hasattr(target, "SITE"):
            raise SitePluginError(f"the module {target.__name__} defines no SITE")
        target = target.SITE
    if isinstance(target, SiteProfile):
        if target.name != plugin.name:
            raise SitePluginError(f"its SiteProfile is named {target.name!r}, not {plugin.name!r} as its entry point")
        profile = target
    elif isinstance(target, Mapping):
        profile = profile_from_mapping(plugin.name, target, version=version)
    elif callable(target):
        doc = (getattr(target, "__doc__", None) or "").strip()
        profile = SiteProfile(name=plugin.name, version=version, description=doc.split("\n")[0], page_extractor=target)
    else:
        raise SitePluginError(f"its entry point gives a {type(target).__name__}, not a SiteProfile, a mapping, a module or a callable")
    if profile.page_extractor is None:
        return profile
    return replace(profile, page_extractor=_guarded(profile.page_extractor, plugin))


def _guarded(extractor: PageExtractor, plugin: SitePlugin) -> PageExtractor:
    """The extractor, with what it raises or wrongly returns reported as that plugin's failure on that page.

    Why: the pipeline would report it as the scraper's own bug; the plugin's authors are the
    ones who can fix it, so the message names them.
    """
    def run(doc: HtmlDocument) -> PartialPage | None:
        try:
            found = extractor(doc)
        except Exception as exc:
            raise ExtractorCrashError(f"{plugin.label} failed on this page ({type(exc).__name__}: {str(exc)[:300]}); "
                                      "please report it to the plugin's authors") from exc
        if found is not None and not isinstance(found, PartialPage):
            raise ExtractorCrashError(f"{plugin.label} returned a {type(found).__name__}, not a PartialPage or None")
        return found

    return run
