"""A site adapter written as data (a dict, or a TOML table) turned into a :class:`SiteProfile`.

Why: most adapters are only selectors and signatures, and a plugin author should be
able to write those as plain values without learning the profile's Python types
(compiled regexes, tuples of pairs, a vocabulary object).  Everything is checked
here, once, when the plugin loads: an unknown key, a regex, XPath or CSS selector
that does not compile is a :class:`SitePluginError` naming the key, never a crash
on the first page.

Keys (all optional)::

    version, description, base_url, discovery_sitemap, discovery_search, question_pattern: str
    url_patterns, text_signatures, footer_patterns: [regex]   (searched, case-sensitive; use (?i))
    html_signatures: [XPath]       css_signatures: [CSS]      (either finds something: the page is the site's)
    body_exclude: [CSS]            specialties: [str]         text_layout: bool
    meta_fields: {record field: meta property or name}       (fields: title, body, author, posted_at, topic)
    page_extractor, author_card: a callable, or "module:attribute" naming one
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any, cast, get_args

from cssselect import HTMLTranslator, SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

from scraper.errors import SitePluginError
from scraper.extract.partial import QuestionField
from scraper.extract.profile import SiteProfile
from scraper.extract.vocabulary import SpecialtyVocabulary

__all__ = ["profile_from_mapping"]

_TEXT_KEYS = ("version", "description", "base_url", "discovery_sitemap", "discovery_search", "question_pattern")
_REGEX_KEYS = ("url_patterns", "text_signatures", "footer_patterns")
_OTHER_KEYS = ("name", "html_signatures", "css_signatures", "body_exclude", "specialties", "text_layout",
               "meta_fields", "page_extractor", "author_card")
KNOWN_KEYS = frozenset(_TEXT_KEYS + _REGEX_KEYS + _OTHER_KEYS)
_FIELDS: tuple[str, ...] = get_args(QuestionField)


def profile_from_mapping(name: str, data: Mapping[str, Any], *, version: str = "0") -> SiteProfile:
    """The :class:`SiteProfile` a mapping describes (keys in the module docstring).

    ``name`` is the adapter's name (a plugin's entry-point name); a ``name`` key must agree
    with it.  ``version`` is used when the mapping gives none (a plugin's distribution version).
    """
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise SitePluginError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                              f"known keys: {', '.join(sorted(KNOWN_KEYS))}")
    if data.get("name", name) != name:
        raise SitePluginError(f"its name {data['name']!r} is not its entry-point name {name!r}")
    return SiteProfile(
        name=name,
        version=_text(data, "version") or version,
        description=_text(data, "description") or "",
        base_url=_text(data, "base_url"),
        discovery_sitemap=_text(data, "discovery_sitemap"),
        discovery_search=_text(data, "discovery_search"),
        question_pattern=_text(data, "question_pattern"),
        url_patterns=_regexes(data, "url_patterns"),
        text_signatures=_regexes(data, "text_signatures"),
        footer_patterns=_regexes(data, "footer_patterns"),
        html_signatures=_xpaths(data, "html_signatures") + _css_as_xpath(data, "css_signatures"),
        body_exclude=_css(data, "body_exclude"),
        meta_fields=_meta_fields(data.get("meta_fields", {})),
        specialties=SpecialtyVocabulary(_strings(data, "specialties")),
        text_layout=_flag(data, "text_layout"),
        page_extractor=_callable(data, "page_extractor"),
        author_card=_callable(data, "author_card"),
    )


def _strings(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, ())
    if isinstance(value, str):
        value = (value,)  # one selector given bare is a list of one, as a TOML author would expect
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise SitePluginError(f"{key} must be a list of strings, not {value!r}")
    return tuple(value)


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise SitePluginError(f"{key} must be a string, not {value!r}")
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SitePluginError(f"{key} must be true or false, not {value!r}")
    return value


def _regexes(data: Mapping[str, Any], key: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in _strings(data, key):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise SitePluginError(f"{key}: {pattern!r} is not a valid regular expression ({exc})") from None
    return tuple(compiled)


def _xpaths(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    for expression in _strings(data, key):
        try:
            etree.XPath(expression)
        except etree.XPathSyntaxError as exc:
            raise SitePluginError(f"{key}: {expression!r} is not a valid XPath expression ({exc})") from None
    return _strings(data, key)


def _css(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    for selector in _strings(data, key):
        try:
            CSSSelector(selector)
        except SelectorError as exc:
            raise SitePluginError(f"{key}: {selector!r} is not a valid CSS selector ({exc})") from None
    return _strings(data, key)


def _css_as_xpath(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """CSS signatures as the XPath the profile matches with (``html_signatures`` are XPath)."""
    translator = HTMLTranslator()
    return tuple(translator.css_to_xpath(selector) for selector in _css(data, key))


def _meta_fields(value: object) -> tuple[tuple[QuestionField, str], ...]:
    pairs = list(value.items()) if isinstance(value, Mapping) else value
    if not isinstance(pairs, Sequence) or not all(isinstance(p, Sequence) and len(p) == 2 for p in pairs):
        raise SitePluginError(f"meta_fields must map record fields to meta names, not {value!r}")
    for field_name, meta in pairs:
        if field_name not in _FIELDS or not isinstance(meta, str):
            raise SitePluginError(f"meta_fields: {field_name!r} = {meta!r}; the fields are {', '.join(_FIELDS)}, the values meta names")
    return tuple((cast(QuestionField, f), m) for f, m in pairs)


def _callable(data: Mapping[str, Any], key: str) -> Any:
    """A callable given as itself or as ``"module:attribute"`` (what a TOML file can hold)."""
    value = data.get(key)
    if isinstance(value, str):
        module, _, attribute = value.partition(":")
        try:
            value = getattr(import_module(module), attribute)
        except (ImportError, AttributeError, ValueError) as exc:
            raise SitePluginError(f"{key}: {data[key]!r} cannot be imported ({type(exc).__name__}: {exc})") from None
    if value is not None and not callable(value):
        raise SitePluginError(f"{key} must be a callable or 'module:attribute', not {value!r}")
    return value
