"""Recognise a challenge page (a "bot wall") so it is never parsed as content.

Why: sites behind PerimeterX (RealSelf) or Cloudflare answer a crawler that
looks suspicious with a page that is not the one asked for, often with status
200.  Parsing it would store junk; retrying at once would dig deeper.  The
fetcher reports such a page as a ``bot_wall`` failure and backs off the host.

Why so conservative: a Q&A site may well *discuss* captchas (Stack Overflow
has questions quoting ``#px-captcha`` selectors), and real RealSelf pages
carry the PerimeterX sensor script (``_pxAppId``) on every normal page.  So
a page is a wall only when it has the wall's *structure*:

- PerimeterX: a real ``<div id="px-captcha">`` element, or PerimeterX
  captcha markers (``_pxCaptcha``, ``px-captcha``, ``x-px*`` headers) on a
  403/429/503 or on a page with almost no text;
- Cloudflare: the ``cf-mitigated: challenge`` header, or challenge markers
  (``cf-chl``, ``__cf_chl``, ``challenge-platform``) on a page titled
  "Just a moment..." / "Attention Required! | Cloudflare", or on a
  403/429/503 with almost no text;
- login wall: a page with almost no text whose every visible form asks for
  a password, or a redirect to a login URL (:func:`is_login_redirect`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

__all__ = ["BOT_WALL_NAMES", "detect_bot_wall", "is_login_redirect", "is_login_url", "wall_detail"]

BOT_WALL_NAMES = {
    "perimeterx": "a PerimeterX challenge (press-and-hold captcha)",
    "cloudflare": "a Cloudflare challenge page",
    "login_wall": "a login wall",
}

SCAN_BYTES = 512 * 1024
"""Only the head of a body is scanned: challenge pages are small."""
LITTLE_TEXT = 1500
"""Visible characters below which a page counts as "almost no text"."""
WALL_STATUSES = frozenset({403, 429, 503})

_PX_MARKERS = ("_pxcaptcha", "px-captcha", "captcha.px-cdn.net", "px-cloud.net/captcha")
_CF_MARKERS = ("cf-chl", "__cf_chl", "cf_chl_opt", "challenge-platform", "cf-browser-verification")
_CF_TITLES = ("just a moment...", "just a moment\u2026", "attention required! | cloudflare")
# Scans use str.find with bounded windows, never a regex that can backtrack over a whole
# hostile body (``<a <a <a ...`` with no ``>`` made a naive tag regex quadratic).
TAG_WINDOW = 2000
"""Characters looked back from an attribute value to find its tag's ``<``."""
MAX_HITS = 50
"""Occurrences of a marker examined; challenge pages have a handful."""
_ATTR_BEFORE_VALUE = {name: re.compile(rf"\s{name}\s*=\s*[\"']?$") for name in ("id", "type")}
_HIDDEN = re.compile(r"display\s*:\s*none|\shidden[\s=>]|\shidden$")
_RAW_TEXT_TAG = re.compile(r"<(script|style|template)\b")
_VALUE_END = frozenset("\"' \t\r\n>/")
_LOGIN_PATH = re.compile(
    r"(?:^|/)(?:login|log-in|log_in|signin|sign-in|sign_in|logon|auth/login|account/login|accounts/login)"
    r"(?:\.[a-z]+)?/?$"
)


def detect_bot_wall(status: int | None, headers: Mapping[str, str], body: bytes) -> str | None:
    """The wall's name (``perimeterx``, ``cloudflare``, ``login_wall``) or None for a normal page.

    ``headers`` must have lower-cased names (as FetchResult stores them).
    """
    text = body[:SCAN_BYTES].decode("latin-1").lower()
    page = _PageFacts(status, headers, text)
    if _is_perimeterx(page):
        return "perimeterx"
    if _is_cloudflare(page):
        return "cloudflare"
    if _is_login_wall(page):
        return "login_wall"
    return None


def wall_detail(name: str, url: str) -> str:
    """A sentence for ``FetchResult.detail``."""
    return f"{url} answered with {BOT_WALL_NAMES.get(name, name)}, not the page"


def is_login_url(url: str) -> bool:
    """True when the URL's path is a login page (``/login``, ``/users/sign_in``, ``/account/login.php``...)."""
    return bool(_LOGIN_PATH.search(urlsplit(url).path.lower()))


def is_login_redirect(location: str, original_url: str) -> bool:
    """A redirect to a login page, from a URL that was not itself one: the content is walled off."""
    return is_login_url(location) and not is_login_url(original_url)


class _PageFacts:
    """The few facts the rules look at, computed lazily."""

    def __init__(self, status: int | None, headers: Mapping[str, str], text: str) -> None:
        self.status = status
        self.headers = headers
        self.text = text
        self._visible: int | None = None

    @property
    def wall_status(self) -> bool:
        return self.status in WALL_STATUSES

    @property
    def little_text(self) -> bool:
        if self._visible is None:
            self._visible = _visible_length(self.text)
        return self._visible < LITTLE_TEXT

    @property
    def title(self) -> str:
        opening = self.text.find("<title")
        if opening == -1:
            return ""
        inner = self.text.find(">", opening, opening + TAG_WINDOW)
        closing = self.text.find("</title", inner, inner + TAG_WINDOW) if inner != -1 else -1
        if closing == -1:
            return ""
        return " ".join(html.unescape(self.text[inner + 1 : closing]).split())


def _is_perimeterx(page: _PageFacts) -> bool:
    if _has_attribute_value(page.text, "id", "px-captcha"):  # a real <div id="px-captcha">
        return True
    px_header = any(name.startswith("x-px") for name in page.headers)
    px_body = any(marker in page.text for marker in _PX_MARKERS)
    if px_body and (page.wall_status or page.little_text):
        return True
    return px_header and page.wall_status


def _is_cloudflare(page: _PageFacts) -> bool:
    if page.headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return True
    if not any(marker in page.text for marker in _CF_MARKERS):
        return False
    return page.title in _CF_TITLES or (page.wall_status and page.little_text)


def _is_login_wall(page: _PageFacts) -> bool:
    if page.status is None or not 200 <= page.status < 300 or "password" not in page.text:
        return False
    forms = [form for form in _forms(page.text) if not _is_hidden(form)]
    if not forms or not all(_has_attribute_value(form, "type", "password", tag="input") for form in forms):
        return False
    return page.little_text


def _forms(text: str) -> Iterator[str]:
    """Each ``<form ...>...</form>`` (to the end of the text when unclosed)."""
    position = text.find("<form")
    while position != -1:
        closing = text.find("</form", position)
        end = len(text) if closing == -1 else closing
        yield text[position:end]
        position = text.find("<form", end)


def _is_hidden(form: str) -> bool:
    end = form.find(">", 0, TAG_WINDOW)
    return bool(_HIDDEN.search(form[: end if end != -1 else TAG_WINDOW]))


def _has_attribute_value(text: str, attribute: str, value: str, *, tag: str | None = None) -> bool:
    """True when some tag (named ``tag``, if given) in ``text`` has ``attribute="value"``."""
    before_value = _ATTR_BEFORE_VALUE[attribute]
    position = text.find(value)
    for _ in range(MAX_HITS):
        if position == -1:
            return False
        after = text[position + len(value) : position + len(value) + 1]
        opening = text.rfind("<", max(0, position - TAG_WINDOW), position)
        closed = text.rfind(">", max(0, position - TAG_WINDOW), position)
        if opening > closed and (not after or after in _VALUE_END):
            name = text[opening + 1 : opening + 1 + TAG_WINDOW].split(None, 1)[0] if text[opening + 1 : opening + 2].isalpha() else ""
            if name and (tag is None or name == tag) and before_value.search(text, opening, position):
                return True
        position = text.find(value, position + 1)
    return False


def _visible_length(text: str) -> int:
    """Roughly how many characters a reader sees: tags, comments, scripts and styles left out."""
    pieces: list[str] = []
    position = 0
    while position < len(text):
        opening = text.find("<", position)
        if opening == -1:
            pieces.append(text[position:])
            break
        pieces.append(text[position:opening])
        position = _skip_markup(text, opening)
    return len(" ".join("".join(pieces).split()))


def _skip_markup(text: str, opening: int) -> int:
    """Where the text goes on after the comment, raw-text element or tag that starts at ``opening``."""
    if text.startswith("<!--", opening):
        end = text.find("-->", opening + 4)
        return len(text) if end == -1 else end + 3
    raw = _RAW_TEXT_TAG.match(text, opening)
    if raw is not None:
        closing = text.find("</" + raw.group(1), opening)
        return len(text) if closing == -1 else closing
    end = text.find(">", opening)
    return len(text) if end == -1 else end + 1
