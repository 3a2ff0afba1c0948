"""Bot-wall detection: challenge pages are caught, normal pages (even ones about captchas) are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.fetch.botwall import detect_bot_wall, is_login_redirect, is_login_url
from tests.conftest import FIXTURES

PX_PAGE = b"""<!DOCTYPE html><html lang="en"><head><title>Access to this page has been denied.</title>
<script>window._pxAppId = 'PXdz588q90'; window._pxJsClientSrc = '/dz588q90/init.js';
window._pxFirstPartyEnabled = true; window._pxHostUrl = '/dz588q90/xhr';</script></head>
<body><div class="px-captcha-container"><div class="px-captcha-header">Before we continue...</div>
<div class="px-captcha-message">Press & Hold to confirm you are a human (and not a bot).</div>
<div id="px-captcha"></div></div>
<script src="https://captcha.px-cdn.net/PXdz588q90/captcha.js?a=c&m=0"></script></body></html>"""

CLOUDFLARE_PAGE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper" role="main">
<h1 class="zone-name-title h1">www.example.com</h1><h2>Checking if the site connection is secure</h2>
<noscript>Enable JavaScript and cookies to continue</noscript>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "www.example.com",cType: 'managed'};
var a = document.createElement('script'); a.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=1';
document.getElementsByTagName('head')[0].appendChild(a);}());</script></div></body></html>"""

LOGIN_PAGE = b"""<html><head><title>Sign in</title></head><body><h1>Please sign in to continue</h1>
<form action="/session" method="post"><input type="text" name="email"><input type="password" name="password">
<button>Sign in</button></form><p>Forgot your password?</p></body></html>"""

ARTICLE_ABOUT_CAPTCHAS = (
    b"<html><head><title>How do I get past the captcha on a site I scrape?</title></head><body><article>"
    + b"<p>I keep getting a captcha. The page says Just a moment... and then shows a CAPTCHA. "
    b"In the HTML there is &lt;div id=&quot;px-captcha&quot;&gt; and a script named cf-chl.</p>"
    b"<pre><code>driver.find_element(By.CSS_SELECTOR, '#px-captcha')</code></pre>" * 20
    + b"<p>Answer: do not bypass captchas; ask the site for an API. reCAPTCHA and hCaptcha exist for a reason.</p>" * 10
    + b'<form action="/search"><input name="q"></form>'
    b'<form action="/login" method="post"><input name="u"><input type="password" name="p"></form>'
    b"</article></body></html>"
)


def test_perimeterx_challenge_is_caught_with_any_status() -> None:
    assert detect_bot_wall(403, {}, PX_PAGE) == "perimeterx"
    assert detect_bot_wall(200, {}, PX_PAGE) == "perimeterx"


def test_perimeterx_markers_on_a_refusal() -> None:
    body = b"<html><body><script>window._pxCaptcha = true;</script></body></html>"
    assert detect_bot_wall(403, {}, body) == "perimeterx"
    assert detect_bot_wall(429, {"x-px-blocked": "1"}, b"") == "perimeterx"


def test_cloudflare_challenge_is_caught() -> None:
    assert detect_bot_wall(403, {"server": "cloudflare"}, CLOUDFLARE_PAGE) == "cloudflare"
    assert detect_bot_wall(200, {}, CLOUDFLARE_PAGE) == "cloudflare"
    assert detect_bot_wall(403, {"cf-mitigated": "challenge"}, b"") == "cloudflare"


def test_login_wall_is_caught() -> None:
    assert detect_bot_wall(200, {}, LOGIN_PAGE) == "login_wall"


def test_an_article_about_captchas_is_not_a_wall() -> None:
    assert detect_bot_wall(200, {"content-type": "text/html"}, ARTICLE_ABOUT_CAPTCHAS) is None


def test_a_plain_403_or_an_empty_page_is_not_a_wall() -> None:
    assert detect_bot_wall(403, {}, b"<html><body><h1>Forbidden</h1></body></html>") is None
    assert detect_bot_wall(200, {}, b"") is None
    assert detect_bot_wall(200, {"x-px-session": "abc"}, b"<html><body>Hello</body></html>") is None


def test_a_small_page_with_a_search_form_is_not_a_login_wall() -> None:
    body = b'<html><body><p>No results.</p><form action="/search"><input name="q"></form></body></html>'
    assert detect_bot_wall(200, {}, body) is None


def _real_pages() -> list[Path]:
    return sorted(FIXTURES.glob("html/*/page.html"))


@pytest.mark.parametrize("page", _real_pages(), ids=lambda p: p.parent.name)
def test_real_pages_are_not_walls(page: Path) -> None:
    # RealSelf pages carry the PerimeterX sensor script (_pxAppId) on every normal page.
    assert detect_bot_wall(200, {"content-type": "text/html"}, page.read_bytes()) is None


def test_login_urls() -> None:
    assert is_login_url("https://example.com/login")
    assert is_login_url("https://example.com/users/sign_in?next=/q/1")
    assert is_login_url("https://example.com/account/login.php")
    assert not is_login_url("https://example.com/question/how-to-login-to-my-account")
    assert is_login_redirect("https://example.com/login?next=/q", "https://example.com/q")
    assert not is_login_redirect("https://example.com/login", "https://example.com/signin")


def test_a_hidden_login_form_on_a_script_rendered_page_is_not_a_wall() -> None:
    body = (
        b'<html><body><div id="app"></div><form id="hidden-login-form" style="display: none;" action="/login">'
        b'<input type="password" name="p"></form><script src="/app.js"></script></body></html>'
    )
    assert detect_bot_wall(200, {}, body) is None


@pytest.mark.parametrize(
    "body",
    [b"<a id=x " * 60000 + b"px-captcha", b"<form " * 80000 + b"password", b"<script " * 60000, b"<title>" * 80000 + b"cf-chl", b"<" * 500000],
    ids=["unclosed-tags", "unclosed-forms", "unclosed-scripts", "unclosed-titles", "angle-brackets"],
)
def test_hostile_markup_is_scanned_without_backtracking_blowups(body: bytes) -> None:
    # These bodies made regex-based scanning quadratic (minutes); the scans are linear now.
    for status in (200, 403):
        detect_bot_wall(status, {}, body)
