"""Simple CSS selectors matched in Python over one walk of a subtree.

lxml's ``CSSSelector`` turns ``.review-entry`` into an XPath that tests every element of the
context's subtree with ``contains(concat(' ', normalize-space(@class), ' '), ' review-entry ')``;
libxml2 spends about a microsecond per element on that, and a site adapter runs a dozen such
selectors on the same few containers.  :class:`SubtreeIndex` walks a subtree once, keeps its
elements in document order with their class tokens and tags, and answers every selector of the
subset below from those lists: the same elements, in the same order, as ``CSSSelector`` gives.

The subset: compound selectors of an optional type (``h1``, ``*``), class names (``.a.b``) and
attribute tests (``[href]``, ``[href='x']``, ``[href^='/user/']``), joined by the descendant
(space) and child (``>``) combinators.  :func:`compile_selector` returns None for anything
else; callers then fall back to ``CSSSelector``.

Semantics follow cssselect's XML translator, which ``CSSSelector`` uses: names and values are
case-sensitive, class tokens are split on XPath whitespace (space, tab, CR, LF) as
``normalize-space`` does, and the context element itself may match (``descendant-or-self``),
while every element a combinator reaches must lie in the context's subtree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement

__all__ = ["Compound", "SubtreeIndex", "class_tokens", "compile_selector", "tokens_of"]

_IDENT = r"-?[A-Za-z_][A-Za-z0-9_-]*"
_TOKEN = re.compile(
    rf"""\s*>\s*|\s+|(?P<tag>{_IDENT}|\*)|\.(?P<cls>{_IDENT})"""
    rf"""|\[\s*(?P<attr>{_IDENT})\s*(?:(?P<op>\^?=)\s*(?:'(?P<v1>[^'\\]+)'|"(?P<v2>[^"\\]+)")\s*)?\]"""
)
_XPATH_SPACE = str.maketrans("\t\n\r", "   ")


@dataclass(frozen=True)
class Compound:
    """One compound selector: every condition holds for a matching element."""

    tag: str | None = None
    classes: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str | None, str | None], ...] = ()
    """(name, operator ``=``/``^=`` or None for presence, value)."""

    def matches(self, element: HtmlElement, tokens: frozenset[str]) -> bool:
        if self.tag is not None and element.tag != self.tag:
            return False
        for name in self.classes:
            if name not in tokens:
                return False
        for name, op, value in self.attributes:
            found = element.get(name)
            if found is None:
                return False
            if op == "=" and found != value:
                return False
            if op == "^=" and not found.startswith(value):
                return False
        return True


Selector = tuple[tuple[Compound, ...], tuple[str, ...]]
"""(compounds left to right, combinators between them: " " or ">")."""


@dataclass
class _OpenCompound:
    """A compound still being read: its conditions grow token by token until a combinator
    or the end closes it into a :class:`Compound`."""

    tag: str | None = None
    classes: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def close(self) -> Compound:
        return Compound(self.tag, tuple(self.classes), tuple(self.attributes))


@lru_cache(maxsize=256)
def compile_selector(css: str) -> Selector | None:
    """The selector as compounds and combinators, or None when it is outside the subset."""
    compounds: list[Compound] = []
    combinators: list[str] = []
    current: _OpenCompound | None = None
    position, text = 0, css.strip()
    if not text or "," in text:
        return None
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            return None
        position = found.end()
        if found.group("tag") is not None:
            if current is not None:
                return None  # a type selector only opens a compound
            current = _OpenCompound(None if found.group("tag") == "*" else found.group("tag"))
        elif found.group("cls") is not None or found.group("attr") is not None:
            if current is None:
                current = _OpenCompound()
            if found.group("cls") is not None:
                current.classes.append(found.group("cls"))
            else:
                value = found.group("v1") if found.group("v1") is not None else found.group("v2")
                current.attributes.append((found.group("attr"), found.group("op"), value))
        else:  # a combinator
            if current is None:
                return None
            compounds.append(current.close())
            combinators.append(">" if ">" in found.group(0) else " ")
            current = None
    if current is None:
        return None
    compounds.append(current.close())
    return tuple(compounds), tuple(combinators)


@lru_cache(maxsize=4096)
def class_tokens(classes: str) -> frozenset[str]:
    """The tokens of a ``class`` value, split on XPath whitespace as ``normalize-space`` splits."""
    return frozenset(t for t in classes.translate(_XPATH_SPACE).split(" ") if t)


_tokens = class_tokens


def tokens_of(element: HtmlElement) -> frozenset[str]:
    """The element's class tokens, as ``normalize-space`` splits them."""
    classes = element.get("class")
    return _tokens(classes) if classes else _NO_TOKENS


_NO_TOKENS: frozenset[str] = frozenset()


class SubtreeIndex:
    """Selectors matched within one subtree (its root included).

    A selector whose last compound names a class takes its candidates from a table of the
    subtree's elements by class token, made in one walk on first use; any other takes them from
    ``context.iter(tag)``, which lxml filters in C.  Combinators are then checked on the
    candidate's ancestors, up to the context.
    """

    __slots__ = ("_by_class", "root")

    def __init__(self, root: HtmlElement) -> None:
        self.root = root
        self._by_class: dict[str, list[HtmlElement]] | None = None

    def _classes(self) -> dict[str, list[HtmlElement]]:
        by_class = self._by_class
        if by_class is None:
            by_class = self._by_class = {}
            for element in self.root.iter(etree.Element):
                classes = element.get("class")
                if classes:
                    for token in _tokens(classes):
                        if token in by_class:
                            by_class[token].append(element)
                        else:
                            by_class[token] = [element]
        return by_class

    def covers(self, element: HtmlElement) -> bool:
        """Whether ``element`` is in this subtree."""
        root = self.root
        node: HtmlElement | None = element
        while node is not None:
            if node is root:
                return True
            node = node.getparent()
        return False

    def select(self, selector: Selector, context: HtmlElement | None = None) -> list[HtmlElement]:
        """The elements ``selector`` matches from ``context`` (the subtree's root by default, else
        an element of the subtree), in document order, as ``CSSSelector(css)(context)`` gives them."""
        compounds, combinators = selector
        context = self.root if context is None else context
        last = compounds[-1]
        candidates: Iterable[HtmlElement]
        if last.classes:
            lists = self._classes()
            fewest: list[HtmlElement] = min((lists.get(c, []) for c in last.classes), key=len)
            candidates = fewest
            if context is not self.root:
                candidates = [c for c in candidates if _within(c, context)]
        else:
            candidates = context.iter(last.tag if last.tag is not None else etree.Element)
        at = len(compounds) - 1
        return [e for e in candidates if last.matches(e, tokens_of(e)) and _chain(e, compounds, combinators, at, context)]


def _within(element: HtmlElement, context: HtmlElement) -> bool:
    node: HtmlElement | None = element
    while node is not None:
        if node is context:
            return True
        node = node.getparent()
    return False


def _chain(element: HtmlElement, compounds: tuple[Compound, ...], combinators: tuple[str, ...], at: int, context: HtmlElement) -> bool:
    """Whether the compounds left of ``at`` are satisfied by ``element``'s ancestors up to ``context``."""
    if at == 0:
        return True
    if element is context:
        return False  # the next compound would need an ancestor outside the context's subtree
    wanted = compounds[at - 1]
    node = element.getparent()
    if combinators[at - 1] == ">":
        return node is not None and wanted.matches(node, tokens_of(node)) and _chain(node, compounds, combinators, at - 1, context)
    while node is not None:
        if wanted.matches(node, tokens_of(node)) and _chain(node, compounds, combinators, at - 1, context):
            return True
        if node is context:
            return False
        node = node.getparent()
    return False
