"""Cleaning of text lines: whitespace, unrendered template junk and page chrome.

Pages reach us after a template engine failed to run (an AngularJS page saved
before it rendered, a crawler's text render of it), so expressions such as
``{{ voteCount >= 0 ? '+' + (voteCount + 1) : (voteCount + 1) }}`` stand in
the text.  They are removed wherever they stand; prose that merely contains a
brace or a comparison is left alone, which is why every rule below needs a
*pair* of delimiters or a line that is code through and through.

The rules are data (compiled patterns in UPPER_CASE constants); the functions
only apply them.  Every function is idempotent: cleaning twice changes nothing.
"""

from __future__ import annotations

import re

__all__ = [
    "CHROME_LINE_PATTERNS",
    "SORT_CONTROL",
    "TEMPLATE_DELIMITERS",
    "clean_line",
    "clean_lines",
    "is_chrome_line",
    "looks_like_code",
    "normalize_whitespace",
    "scrub_controls",
    "strip_template_junk",
    "word_key",
]

# Delimited template expressions, as (opener, closer) pairs tried in this order.  The body
# between them is bounded (no swallowing a whole page) and may not span a blank line.  They
# are found by a scanner, not a regex: a lazy bounded body after an opener costs up to
# _MAX_TEMPLATE_BODY steps at every opener, and a page of nothing but openers is then
# hundreds of times slower per byte than prose (see _delimited_spans).
TEMPLATE_DELIMITERS: tuple[tuple[str, str], ...] = (
    ("{{{", "}}}"),  # Handlebars triple-stash
    ("{{", "}}"),  # Angular / Vue / Handlebars / Jinja / Mustache
    ("{%", "%}"),  # Jinja / Liquid / Django statements
    ("{#", "#}"),  # Jinja comments
    ("<%", "%>"),  # ERB / EJS
    ("${", "}"),  # JS template literals, JSP EL
    ("[[", "]]"),  # Angular-in-Jinja, Vue custom delimiters
    ("<<", ">>"),  # custom delimiters
)
_MAX_TEMPLATE_BODY = 400
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_HALF_DELIMITER = re.compile(r"\{\{|\}\}|\{%|%\}")
_MARK = "\ue000"  # private-use character standing where junk was removed
_MAYBE_JUNK = re.compile(r"\{\{|\{%|\{#|<%|\$\{|\[\[|<<|\}\}|%\}")
# An expression cut off by the end of a line or the start of one ("{{ voteCount >= 0 ?").
_UNCLOSED = re.compile(r"\{\{[^{}\n]*$|^[^{}\n]*\}\}|\{%[^%\n]*$|^[^%\n]*%\}")

# A sort control over the answers and its options ("Sort by:", "Most helpful", "Newest"): chrome,
# and no answer's widget either (the text reader tells it from a vote widget by this).
SORT_CONTROL = re.compile(r"sort(?:ed)? by:?|(?:most helpful|most recent|most votes|newest|oldest)(?: first)?", re.I)

# Whole lines that are page chrome, not content (matched after whitespace
# normalisation, case-insensitively).  Vote counters, share/report widgets,
# read-more toggles.
CHROME_LINE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.I)
    for p in (
        r"(helpful|not helpful|share|report|reply|flag|follow|save|print|email|tweet|pin it|like|upvote|downvote|vote)",
        r"(read|show|see|view) (more|less|all)",
        r"(share|report|flag) this (answer|question|post)",
        r"was this (answer|post|review) helpful\??",
        r"helpful\s*\(\d+\)",
        r"[+\u2212-]?\d+",  # a bare vote tally: "+1", "-2", "12"
        r"[+\u2212-]?\d+\s+(helpful\s+)?votes?",
        r"(\d+\s+)?(people|person|users?|patients?)\s+found\s+this\s+(answer\s+)?helpful",
        r"(thank|thanks)\s*\(\d+\)",
        SORT_CONTROL.pattern,
    )
)
_TOGGLE_ENDINGS = ("more", "less")
_CHROME = re.compile("|".join(f"(?:{p.pattern})" for p in CHROME_LINE_PATTERNS), re.I)
_MAX_CHROME_LINE = 80
# A read-more toggle glued to the end of a paragraph.
# Capitalised as a button label, or after an ellipsis: "I'd like to see more" is prose.
_TRAILING_TOGGLE = re.compile(
    r"(?:(?<=\.\.\.)|(?<=\u2026))\s*(?i:read|show|see) (?i:more|less)\s*$|\s+(?:Read|Show|See) (?:more|less)$"
)

_ODD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\u00ad]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# C0/C1 controls except tab and newline.  (Lone surrogates never get here: text
# is always decoded from bytes with errors replaced.)  Not scrub_controls' set, on
# purpose: this one takes \r too.  Lines here are split on "\n" alone and clean_lines
# hands them back as the original lines, so a \r left in would stay inside a line;
# a page's markup keeps its \r (scrub_controls), which the HTML parser reads as a break.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What scrub_controls replaces: C0 and C1 controls but tab, LF and CR; and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_WORD = re.compile(r"\w+")
_SPACE_RUN = re.compile(r"[^\S\n]+")
# Every character str.split() and ``\s`` split at, but " " and "\n" (a test checks the list
# against str.isspace over all of Unicode).
_OTHER_SPACES = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_BARE_IDENTIFIER = re.compile(r"[#/]?[A-Za-z_$][\w.$]*")
_CODE_CHAR = re.compile(r"[{}()\[\]?:=<>!&|+;$'\"`]")
_MAX_CODE_LINE = 240  # a leftover expression is a short line; prose paragraphs are skipped at once
_IDENTIFIER = re.compile(r"\b[a-z]+[A-Z]\w*\b|\b\w+\.\w+\b|\b[a-z]+_[a-z_]+\b")


def normalize_whitespace(text: str) -> str:
    """Collapse every run of spaces (non-breaking and other Unicode spaces too) to one.

    Newlines are kept: paragraph structure is decided by the caller.
    """
    if _ODD_CHARS.search(text):
        text = _CONTROL.sub(" ", _ZERO_WIDTH.sub("", text))
    # str.split() with no separator splits on every Unicode space, U+00A0 included.
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def scrub_controls(text: str) -> str:
    """``text`` with each control character a space and each lone surrogate U+FFFD; tab, CR and LF kept.

    Why: entities (``&#7;``), JSON escapes and mislabelled bytes bring characters no
    reader can see, that break a JSON Lines consumer or, as lone surrogates (half an
    emoji escaped in JSON), cannot even be encoded as UTF-8.  A space keeps the words on
    either side apart; U+FFFD is what a decoder puts for what it could not read.
    """
    if _UNSAFE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub("\ufffd", _UNSAFE_CONTROL.sub(" ", text))


def word_key(text: str | None, limit: int | None = None) -> str:
    """The words of ``text`` lower-cased and joined by single spaces, cut at ``limit`` characters.

    Why: the same answer or title seen twice (in two sources of one page, in two crawls
    of it) differs in spacing, punctuation, case and markup leftovers, never in its words;
    equal keys mean the same text.  ``limit`` keeps the key of a long body short where
    its opening words are enough to tell it from the others.
    """
    key = " ".join(_WORD.findall((text or "").lower()))
    return key if limit is None else key[:limit]


def strip_template_junk(text: str, replacement: str = " ") -> str:
    """Remove unrendered template expressions, closed or cut off, anywhere in ``text``.

    Each expression becomes ``replacement`` plus the newlines it spanned, so the
    text keeps its line count and lines stay aligned with the original.
    """
    if not _maybe_junk(text):
        return text

    for opener, closer in TEMPLATE_DELIMITERS:
        if opener in text:
            text = _replace_spans(text, _delimited_spans(text, opener, closer), replacement)
    if _has_half_delimiter(text):
        text = "\n".join(
            _UNCLOSED.sub(lambda m: _drop_if_code(m, replacement), line) if _HALF_DELIMITER.search(line) else line
            for line in text.split("\n")
        )
    return text


def _delimited_spans(text: str, opener: str, closer: str) -> list[tuple[int, int]]:
    """(start, end) of each ``opener body closer`` in ``text``, left to right, not overlapping.

    The body is the shortest one: it ends at the first ``closer`` after the opener, and the
    expression counts only when that body is at most _MAX_TEMPLATE_BODY characters and holds no
    blank line.  Linear time whatever the text: the next closer and the next blank line are
    found once and reused until the scan passes them, so a run of a million openers costs one
    search for a closer, not a million.
    """
    spans: list[tuple[int, int]] = []
    close_at = blank_at = -2  # -2: not searched yet; -1: none left in the text
    pos = 0
    while (at := text.find(opener, pos)) >= 0:
        body = at + len(opener)
        if close_at < body:
            close_at = text.find(closer, body)
            if close_at < 0:
                break  # no closer after this opener, so none after any later one
        if blank_at != -1 and blank_at < body:
            found = _BLANK_LINE.search(text, body)
            blank_at = found.start() if found else -1
        if close_at - body > _MAX_TEMPLATE_BODY or 0 <= blank_at < close_at:
            pos = at + 1
            continue
        spans.append((at, close_at + len(closer)))
        pos = close_at + len(closer)
    return spans


def _replace_spans(text: str, spans: list[tuple[int, int]], replacement: str) -> str:
    """Each span becomes ``replacement`` plus the newlines it held, so lines stay aligned."""
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts += (text[last:start], replacement, "\n" * text.count("\n", start, end))
        last = end
    parts.append(text[last:])
    return "".join(parts)


# Substring tests stand in for regex scans below: a test for one character is a memchr, far
# faster than a regex scan, and rules out most texts before any two-character test runs.


def _maybe_junk(text: str) -> bool:
    """``_MAYBE_JUNK.search(text) is not None``."""
    return (
        ("{" in text and ("{{" in text or ("%" in text and "{%" in text) or ("#" in text and "{#" in text) or ("$" in text and "${" in text)))
        or ("}" in text and ("}}" in text or ("%" in text and "%}" in text)))
        or ("<" in text and ("<<" in text or ("%" in text and "<%" in text)))
        or ("[" in text and "[[" in text)
    )


def _has_half_delimiter(text: str) -> bool:
    """``_HALF_DELIMITER.search(text) is not None``."""
    return ("{" in text and ("{{" in text or ("%" in text and "{%" in text))) or (
        "}" in text and ("}}" in text or ("%" in text and "%}" in text))
    )


def _drop_if_code(found: re.Match[str], replacement: str) -> str:
    # An unpaired delimiter is junk only when what it encloses is code, not words.
    inner = found.group(0).replace(_MARK, " ").strip("{}% \t")
    if not inner or _BARE_IDENTIFIER.fullmatch(inner) or looks_like_code(found.group(0)):
        return replacement
    return found.group(0)


def looks_like_code(line: str) -> bool:
    """True for a line that is a bare template expression left without its braces.

    ``voteCount >= 0 ? '+' + (voteCount + 1) : (voteCount + 1)`` is code; ``if your
    BMI is >= 30, wait`` is prose: code needs a program identifier (camelCase,
    dotted or snake_case) and a high share of operator characters.
    """
    chars = len(line) - line.count(" ")
    if len(line) > _MAX_CODE_LINE or chars < 3:
        return False
    # The operator share first: it is linear and rules out nearly all prose.
    return len(_CODE_CHAR.findall(line)) / chars >= 0.2 and _IDENTIFIER.search(line) is not None


def is_chrome_line(line: str) -> bool:
    """True for a line that is page chrome (a widget label or counter), not content."""
    if len(line) > _MAX_CHROME_LINE + 8:
        return False
    stripped = line.strip()
    return bool(stripped) and len(stripped) <= _MAX_CHROME_LINE and _CHROME.fullmatch(stripped) is not None


def _is_plain(text: str) -> bool:
    """True when ``text`` is printable once its newlines, tabs and no-break spaces are set
    aside: it then holds no odd character (every one is non-printable) and no space but
    " ", "\n", "\t" and "\xa0" (every other one is non-printable too)."""
    return text.replace("\n", " ").replace("\t", " ").replace("\xa0", " ").isprintable()


def _collapse_spaces(text: str, plain: bool = False) -> str:
    """``"\n".join(" ".join(line.split()) for line in text.split("\n"))`` in whole-text passes.

    ``plain``: the caller knows the only spaces in ``text`` are " ", "\n", "\t" and "\xa0".
    """
    text = text.replace("\t", " ").replace("\xa0", " ")
    if not plain and not text.replace("\n", " ").replace(_MARK, " ").isprintable():
        # Some other space may stand in the text (every space but " " is non-printable).
        for space in _OTHER_SPACES:
            if space in text:
                text = text.replace(space, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text.replace(" \n", "\n").replace("\n ", "\n").strip(" ")


def _clean(text: str) -> tuple[str, list[str | None]]:
    """``text`` with odd characters dealt with, and the cleaned value of each of its lines
    (see :func:`clean_lines`)."""
    # Junk removal brings in only marks and newlines: plain text stays plain.
    plain = _is_plain(text)
    if not plain and _ODD_CHARS.search(text):
        text = _CONTROL.sub(" ", _ZERO_WIDTH.sub("", text))
    marked = _collapse_spaces(strip_template_junk(text, _MARK), plain)
    has_mark = _MARK in marked
    out: list[str | None] = []
    append = out.append
    for line in marked.split("\n"):
        if not line:
            append(None)
            continue
        if has_mark and _MARK in line:
            line = " ".join(line.replace(_MARK, " ").split())
        # looks_like_code is False for longer lines; is_chrome_line(line), for a line that is
        # already stripped and not empty, is this length test and the match.
        if not line or (
            len(line) <= _MAX_CODE_LINE
            and (looks_like_code(line) or (len(line) <= _MAX_CHROME_LINE and _CHROME.fullmatch(line) is not None))
        ):
            append("")
            continue
        if line[-4:].lower() in _TOGGLE_ENDINGS:
            line = _TRAILING_TOGGLE.sub("", line)
        append(line)
    return text, out


def clean_lines(text: str) -> list[tuple[str, str | None]]:
    """Each line of a text render as (original line, cleaned line).

    The cleaned line is ``None`` for a blank line, ``""`` for a line that held
    only junk or chrome (a widget: its position still tells where an answer
    starts), else the content with junk removed and whitespace collapsed.
    Works on the whole text at once: a per-line regex pass is the slow path.
    """
    text, cleaned = _clean(text)
    return list(zip(text.split("\n"), cleaned))


def clean_line(line: str) -> str:
    """One line of text, cleaned: junk removed, whitespace collapsed; "" when nothing is content.

    Text of several lines is cleaned line by line, joined, and the joined line cleaned once
    more, so that cleaning what this returns changes nothing (":" then "aA" join to ": aA",
    which is itself a widget line).
    """
    joined = " ".join(cleaned for _, cleaned in clean_lines(line) if cleaned)
    if "\n" in line and joined:
        joined = " ".join(cleaned for _, cleaned in clean_lines(joined) if cleaned)
    return joined
