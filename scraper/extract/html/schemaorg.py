"""schema.org items published in a page, as JSON-LD or microdata, read off the lxml tree.

Both syntaxes become :class:`Item` objects with one interface, so the Q&A
mapping does not care which one a site uses.  JSON-LD in the wild is often
malformed (trailing commas, HTML entities, several objects in one script,
``@graph``); what can be recovered is, with a note saying so.  Microdata is
walked with lxml directly (one pass, no second parse of the page); property
values keep their element so a ``text`` property can be rendered with its
paragraphs rather than flattened.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from scraper.extract.html.visible import element_text

__all__ = ["Item", "jsonld_items", "microdata_items", "rdfa_items", "scope_elements"]

# Raw C0 controls, which JSON forbids inside strings, dropped to repair a JSON-LD block.  Not
# clean.scrub_controls, on purpose: tab, CR and LF may stand between JSON tokens, DEL and C1 are
# legal in JSON strings, and a control inside a string is deleted, not spaced (a value keeps its text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ENTITY = re.compile(r"&(?:quot|amp|lt|gt|apos|#\d+|#x[0-9a-f]+);", re.I)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_CDATA = re.compile(r"^\s*(?:<!--|<!\[CDATA\[)|(?:-->|\]\]>)\s*$")
_URL_PROPS = {"a": "href", "area": "href", "link": "href", "img": "src", "audio": "src", "video": "src",
              "embed": "src", "iframe": "src", "source": "src", "track": "src", "object": "data"}


@dataclass
class Item:
    """One schema.org thing: its types and properties, from JSON-LD or microdata."""

    types: tuple[str, ...]
    props: dict[str, list[Any]] = field(default_factory=dict)
    """Values: str, Item, or (microdata) an :class:`HtmlElement` standing for its own text."""
    syntax: str = "json-ld"
    element: HtmlElement | None = None

    def is_a(self, *names: str) -> bool:
        return any(t in names for t in self.types)

    def all(self, name: str) -> list[Any]:
        return self.props.get(name, [])

    def first(self, name: str) -> Any:
        values = self.props.get(name)
        return values[0] if values else None

    def string(self, name: str) -> str | None:
        """A property as plain text (a nested item's ``name``, an element's text)."""
        return _as_string(self.first(name))

    def items(self, name: str) -> list[Item]:
        return [v for v in self.all(name) if isinstance(v, Item)]

    def walk(self) -> Iterator[Item]:
        """This item and every item nested in its properties, depth first (with a stack: nested
        generators cost a frame per level for every item yielded)."""
        stack = [self]
        while stack:
            item = stack.pop()
            yield item
            nested = [value for values in item.props.values() for value in values if isinstance(value, Item)]
            if nested:
                stack.extend(reversed(nested))


def _as_string(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Item):
        return value.string("name")
    if isinstance(value, HtmlElement):
        value = _element_value(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    return None


def _type_names(raw: Any) -> tuple[str, ...]:
    names = raw if isinstance(raw, list) else str(raw or "").split()
    return tuple(str(n).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] for n in names if n)


# --- JSON-LD -----------------------------------------------------------------------------


def _parse_jsonld(text: str) -> tuple[list[Any], str | None]:
    """(objects, note) from one script's text; note says what had to be repaired."""
    text = _CDATA.sub("", text.strip())
    if not text:
        return [], None
    try:
        return [json.loads(text)], None
    except ValueError:
        pass
    repaired = _CONTROL.sub("", _TRAILING_COMMA.sub(r"\1", text))
    candidates = [repaired]
    if "&" in repaired and _ENTITY.search(repaired):
        # Entities inside strings ("&quot;" must stay an escaped quote) or a block escaped whole.
        candidates += [html.unescape(repaired.replace("&quot;", '\\"')), html.unescape(repaired)]
    best: tuple[list[Any], str | None] = ([], None)
    for candidate in candidates:
        objects, complete = _decode_all(candidate)
        if complete:
            return objects, "malformed JSON-LD was repaired"
        if len(objects) > len(best[0]):
            best = (objects, None)
    objects = best[0]
    note = "unreadable JSON-LD" + (f" after {len(objects)} object(s)" if objects else "") + " was skipped"
    return objects, note


def _decode_all(text: str) -> tuple[list[Any], bool]:
    """The JSON values one after another in ``text``, and whether all of it decoded."""
    objects: list[Any] = []
    decoder = json.JSONDecoder(strict=False)
    position = 0
    while position < len(text):
        while position < len(text) and text[position] in " \t\r\n;,":
            position += 1
        if position >= len(text):
            break
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError:
            return objects, False
        objects.append(value)
    return objects, True


def _from_json(value: Any, depth: int = 0) -> Any:
    if depth > 40:
        return None
    if isinstance(value, dict):
        item = Item(types=_type_names(value.get("@type")), syntax="json-ld")
        for key, raw in value.items():
            if key in ("@type", "@context"):
                continue
            values = raw if isinstance(raw, list) else [raw]
            converted = [_from_json(v, depth + 1) for v in values]
            item.props[key.rsplit(":", 1)[-1]] = [v for v in converted if v is not None]
        return item
    if isinstance(value, str):
        return html.unescape(value) if "&" in value else value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def jsonld_items(scripts: Iterable[HtmlElement]) -> tuple[list[Item], list[str]]:
    """Top-level JSON-LD items (``@graph`` members included) and notes on repairs, from the
    page's ``<script>`` elements (``HtmlDocument.index.scripts``)."""
    items: list[Item] = []
    notes: list[str] = []
    for script in scripts:
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        objects, note = _parse_jsonld(script.text or "")
        if note:
            notes.append(note)
        for obj in objects:
            for top in obj if isinstance(obj, list) else [obj]:
                if not isinstance(top, dict):
                    continue
                graph = top.get("@graph")
                for member in graph if isinstance(graph, list) else [top]:
                    item = _from_json(member)
                    if isinstance(item, Item):
                        items.append(item)
    return items, notes


# --- microdata ---------------------------------------------------------------------------


def _element_value(element: HtmlElement) -> str | None:
    tag = element.tag
    if tag == "meta":
        return _attribute(element, "content")
    if tag == "time":
        return _attribute(element, "datetime") or element_text(element)
    if tag in ("data", "meter"):
        return _attribute(element, "value")
    if tag in _URL_PROPS:
        return _attribute(element, _URL_PROPS[tag])
    if element.get("content") is not None:
        return _attribute(element, "content")
    return element_text(element)


def _attribute(element: HtmlElement, name: str) -> str | None:
    value = element.get(name)
    return value if isinstance(value, str) else None


# ``//*/@x`` (attributes of elements) finds what ``//@x`` finds, in the same order, in about half
# the time; and two such calls cost a third of one ``//@itemscope | //@typeof`` (the union sorts).
_SCOPES = {name: etree.XPath(f"//*/@{name}") for name in ("itemscope", "typeof")}


def scope_elements(root: HtmlElement) -> dict[str, list[HtmlElement]]:
    """The elements that make an item, by syntax attribute (``itemscope``, ``typeof``), in document
    order.  An attribute step is cheaper than ``//*[@...]``."""
    return {name: [attribute.getparent() for attribute in path(root)] for name, path in _SCOPES.items()}


def _owners(elements: list[HtmlElement], scopes: dict[HtmlElement, Item]) -> list[HtmlElement | None]:
    """Each element's nearest ancestor that makes an item.  Properties share most of their
    ancestors, so what one climb learned (this ancestor's owner is that item) is kept."""
    known: dict[HtmlElement, HtmlElement | None] = {}
    owners: list[HtmlElement | None] = []
    for element in elements:
        climbed = []
        owner = None
        node = element.getparent()
        while node is not None:
            if node in known:
                owner = known[node]
                break
            if node in scopes:
                owner = node
                break
            climbed.append(node)
            node = node.getparent()
        for node in climbed:
            known[node] = owner
        owners.append(owner)
    return owners


def _attribute_items(
    root: HtmlElement, scope_attr: str, type_attr: str, prop_attr: str, syntax: str, scopes: list[HtmlElement] | None
) -> list[Item]:
    """Items of an attribute syntax: microdata (itemscope/itemtype/itemprop) or RDFa Lite
    (typeof/typeof/property).  XPath finds the few elements that take part (the C side does
    the walk), then each property is given to its nearest scope, in document order."""
    if scopes is None:
        scopes = [attribute.getparent() for attribute in root.xpath(f"//*/@{scope_attr}")]
    if not scopes:
        return []
    items = {scope: Item(types=_type_names(scope.get(type_attr)), syntax=syntax, element=scope) for scope in scopes}
    elements = [attribute.getparent() for attribute in root.xpath(f"//*/@{prop_attr}")]
    for element, owner in zip(elements, _owners(elements, items)):
        item = items.get(owner) if owner is not None else None
        if item is None:
            continue
        value: Any = items.get(element, element)
        for name in element.get(prop_attr, "").split():
            item.props.setdefault(name.rsplit("/", 1)[-1].rsplit(":", 1)[-1], []).append(value)
    return [items[scope] for scope in scopes if not scope.get(prop_attr)]


def microdata_items(root: HtmlElement, scopes: list[HtmlElement] | None = None) -> list[Item]:
    """Top-level microdata items: ``itemscope`` elements that are no other item's property.

    ``scopes``: the page's ``itemscope`` elements when already found (:func:`scope_elements`)."""
    return _attribute_items(root, "itemscope", "itemtype", "itemprop", "microdata", scopes)


def rdfa_items(root: HtmlElement, scopes: list[HtmlElement] | None = None) -> list[Item]:
    """Top-level RDFa Lite items (``vocab="https://schema.org/" typeof="Question"``, ``property``).

    ``scopes``: the page's ``typeof`` elements when already found (:func:`scope_elements`)."""
    return _attribute_items(root, "typeof", "typeof", "property", "rdfa", scopes)
