"""XPath signatures as the engine and platform adapters write them: a few named shapes.

Every signature is tried on every page no earlier adapter claims (any page of an unknown site
pays for all of them), so each shape visits a handful of nodes, not the page:

- ``id('a b')``: libxml2 keeps the ids of an HTML document in a hash table, so this is a
  lookup, where ``//div[@id='a']`` walks every element (a millisecond on a large page);
- ``/html/head/link``, ``/html/*/meta``, ``/html/*/script``: the head's children and the body's
  own children, where engines put their assets, globals and generator meta (a script nested
  deeper in the body is not looked for); an inline script's text is searched in the head only,
  unless the engine writes its globals at the end of the body, since single-page apps put
  hundreds of kilobytes of script there;
- ``/html[...]``, ``/html/body[...]``: attributes of the root and body elements.

A signature looks where a post's author cannot write (the head, ids, attributes of the root and
body, scripts), so a reply that links to another engine's forum does not make the page that
engine's.  The one exception, :func:`powered_by`, walks the page's links for the footer's credit
and needs the engine's wording beside it; it is kept for engines whose old pages have nothing
else.  (Template comments, which some engines write, are no use: the page is parsed without
comments.)
"""

from __future__ import annotations

__all__ = ["element_id", "generator", "head_link", "powered_by", "script_src", "script_text"]


def generator(*prefixes: str) -> str:
    """``<meta name="generator">`` naming the engine (in the head, or in the body where broken markup put it)."""
    starts = " or ".join(f"starts-with(@content, '{p}')" for p in prefixes)
    return f"/html/*/meta[@name='generator'][{starts}]"


def element_id(*ids: str) -> str:
    """An element with one of these ids (looked up, not searched for)."""
    return f"id('{' '.join(ids)}')"


def script_text(*words: str, in_body: bool = False) -> str:
    """An inline script in the head (and, ``in_body``, at the body's top level) mentioning all of
    ``words``: the engine's globals.  Scripts that are data, not code (``application/json``,
    ``application/ld+json``: often the largest text of a page) are not searched."""
    where = "/html/*" if in_body else "/html/head"
    return f"{where}/script[not(@src)][not(@type) or contains(@type, 'javascript')]" + "".join(f"[contains(., '{w}')]" for w in words)


def script_src(*parts: str) -> str:
    """A script in the head or at the body's top level loaded from a path (or host) only the engine uses."""
    return "/html/*/script[" + " or ".join(f"contains(@src, '{p}')" for p in parts) + "]"


def head_link(*parts: str) -> str:
    """A stylesheet, feed, icon or preload link in the head whose URL holds one of ``parts``."""
    return "/html/head/link[" + " or ".join(f"contains(@href, '{p}')" for p in parts) + "]"


def powered_by(host: str, *words: str) -> str:
    """The footer's credit link to the engine's home page, with its wording ("Powered by") beside it
    in a short line of its own (a post that says "powered by" in a paragraph is no footer).

    The one shape that searches the page (its links): use it only where nothing cheaper is left.
    """
    beside = " or ".join(f"contains(.., '{w}')" for w in words)
    return f"//a[contains(@href, '{host}')][{beside}][string-length(normalize-space(..)) <= {_CREDIT_LINE}]"


_CREDIT_LINE = 100
"""Characters of a footer's credit line ("Powered by phpBB® Forum Software © phpBB Limited")."""
