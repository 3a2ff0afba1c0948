"""The visible-text renderer: what a reader of the page sees, and nothing else.

``render_page`` renders a whole page the way a web-crawl text render would (one
block a line, a blank line between paragraphs); ``render_body`` renders one
post's body; ``link_targets`` maps visible link text to its href.
"""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from scraper.extract.html.document import parse_html
from scraper.extract.html.visible import link_targets, render_body, render_page

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "html"


def page_text(body: str, head: str = "<title>Botox and muscle atrophy | Example</title>") -> str:
    html = f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"
    return render_page(parse_html(html.encode("utf-8")).root)


def body_text(fragment: str) -> str | None:
    return render_body(lxml.html.fragment_fromstring(fragment, create_parent="div"))


ANSWER = "<p>Botox does not cause permanent muscle atrophy.</p>"


# --- never-text elements ------------------------------------------------------------------


def test_script_style_template_noscript_svg_content_never_appears() -> None:
    text = page_text(
        "<main>"
        "<script>var trackingId = 'GTM-TC78S9'; window.dataLayer = [];</script>"
        "<style>.answer{color:red}</style>"
        "<template><p>Template row {{ answer.body }}</p></template>"
        "<noscript><p>Please enable JavaScript to view the answers</p></noscript>"
        "<svg width='16' height='16'><title>thumbs up icon</title><text x='0' y='10'>svg label</text></svg>"
        + ANSWER
        + "</main>",
        head="<title>Page title</title><style>body{margin:0}</style><script>var headScript = 1;</script>",
    )
    assert text == "Botox does not cause permanent muscle atrophy."


def test_render_body_drops_scripts_and_styles_inside_a_post() -> None:
    text = body_text("<p>Ice helps.</p><script>trackClick('answer-1')</script><style>p{}</style><p>So does time.</p>")
    assert text == "Ice helps.\n\nSo does time."


# --- hidden elements ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "hidden",
    [
        "<div hidden>Sticky header copy of the question</div>",
        '<div style="display:none">Top answer preview</div>',
        '<div style="color: red; DISPLAY : NONE">Shouting display none</div>',
        '<div style="visibility: hidden">Invisible block</div>',
        '<div class="Widget ng-cloak">{{ question.title }} cloaked</div>',
        '<div class="ng-hide">Angular hidden answer preview</div>',
        '<div class="alert d-none">Bootstrap hidden alert</div>',
    ],
)
def test_hidden_elements_are_dropped(hidden: str) -> None:
    text = page_text(f"<main>{hidden}{ANSWER}</main>")
    assert text == "Botox does not cause permanent muscle atrophy."


def test_aria_hidden_is_not_visually_hidden() -> None:
    text = page_text('<main><p aria-hidden="true">Shown to the eye</p>' + ANSWER + "</main>")
    assert "Shown to the eye" in text


# --- page chrome --------------------------------------------------------------------------


def test_nav_page_header_footer_forms_and_aside_are_dropped() -> None:
    text = page_text(
        '<header class="site-header"><a href="/">RealSelf</a><span>Sign in</span></header>'
        '<nav><a href="/treatments">Treatments</a><a href="/find">Find a Doctor</a></nav>'
        '<form action="/search"><label>Search treatments</label><input name="q"></form>'
        "<main><h1>Does Botox cause atrophy?</h1>" + ANSWER + "</main>"
        "<aside><h2>Related questions</h2><a href='/q/1'>How long does Botox last?</a></aside>"
        "<footer><p>© 2022 RealSelf, Inc. All rights reserved.</p></footer>"
    )
    assert text == "Does Botox cause atrophy?\n\nBotox does not cause permanent muscle atrophy."


def test_header_inside_article_is_kept() -> None:
    text = page_text(
        "<header><p>Site banner</p></header>"
        '<article class="answer"><header><h3>Botox will not cause atrophy</h3>'
        '<time datetime="2013-05-21">May 21, 2013</time></header>' + ANSWER + "</article>"
    )
    assert "Site banner" not in text
    assert text.split("\n\n")[:2] == ["Botox will not cause atrophy", "May 21, 2013"]


@pytest.mark.parametrize(
    "chrome",
    [
        '<div class="ad">Advertisement</div>',
        '<div id="ads-top">Advertisement</div>',
        '<div class="ad-slot_container__x1Y2z"><span>Advertisement</span></div>',
        '<ul class="share-buttons_list__s6Jq1"><li>Share on Facebook</li></ul>',
        '<div class="ShareMenu"><span>Share on Pinterest</span></div>',
        '<div class="social-links">Follow us on Instagram</div>',
        '<div class="cookie-banner_banner__K3sd9"><p>We use cookies to personalize content.</p></div>',
        '<div id="cookieConsent">We use cookies to personalize content.</div>',
        '<section class="related-questions"><p>How long does Botox last?</p></section>',
        '<ol class="breadcrumbs_list__Vb2Qe"><li>Home</li><li>Botox</li></ol>',
        '<div class="breadcrumb">Home › Botox › Q&amp;A</div>',
        '<div class="nav-tabs">Questions Reviews Photos</div>',
        '<ul class="GlobalHeader_menu__Pe8Sv"><li>Treatments</li></ul>',
        '<div class="mainMenu">Treatments Photos</div>',
    ],
)
def test_ads_share_social_cookie_related_breadcrumb_nav_menu_widgets_are_dropped(chrome: str) -> None:
    text = page_text(f"<main>{chrome}{ANSWER}</main>")
    assert text == "Botox does not cause permanent muscle atrophy."


@pytest.mark.parametrize(
    "content_class",
    ["shadow-box", "header-title", "answer-card_body__t2VnM", "download-guide", "loaded", "badge"],
)
def test_class_names_that_merely_contain_chrome_letters_are_kept(content_class: str) -> None:
    text = page_text(f'<main><div class="{content_class}">{ANSWER}</div></main>')
    assert text == "Botox does not cause permanent muscle atrophy."


def test_hash_suffix_of_a_css_module_class_is_not_read_as_a_word() -> None:
    text = page_text(f'<main><article><div class="answer-card_body__Ad3kP">{ANSWER}</div></article></main>')
    assert text == "Botox does not cause permanent muscle atrophy."


def test_hashed_realself_page_renders_content_without_chrome() -> None:
    root = parse_html((FIXTURES / "realself-made-question-hashed" / "page.html").read_bytes()).root
    text = render_page(root)
    assert text.startswith("Because 'If You Don't Use It You Lose It' is That True for Botox?")
    assert "\n\nDoctor Answers 5\n\n" in text
    assert "Harold J. Kaplan, MD\nLos Angeles Facial Plastic Surgeon\n4.4 out of 5 stars 7 reviews" in text
    for chrome in ("We use cookies", "Advertisement", "Share on Facebook", "Find a Doctor", "Related questions",
                   "How Long Does Botox Last?", "All rights reserved", "Search treatments"):
        assert chrome not in text, chrome


# --- layout -------------------------------------------------------------------------------


def test_paragraphs_are_separated_by_a_blank_line_and_br_is_a_line_break() -> None:
    text = page_text(
        "<main><h1>Botox and atrophy</h1>"
        "<p>Hi Michelle.</p><p>Yes, Botox does cause some atrophy.<br>This is a good thing.</p>"
        "<ul><li>forehead</li><li>crow's feet</li></ul></main>"
    )
    assert text == "Botox and atrophy\n\nHi Michelle.\n\nYes, Botox does cause some atrophy.\nThis is a good thing.\n\nforehead\ncrow's feet"


def test_author_card_divs_stay_one_block_of_lines() -> None:
    text = page_text(
        "<main>" + ANSWER + '<div class="provider"><div><a href="/dr/kaplan">Harold J. Kaplan, MD</a></div>'
        "<div>Los Angeles Facial Plastic Surgeon</div><div>4.4 out of 5 stars 7 reviews</div></div></main>"
    )
    assert text.endswith("\n\nHarold J. Kaplan, MD\nLos Angeles Facial Plastic Surgeon\n4.4 out of 5 stars 7 reviews")


def test_render_body_br_and_paragraphs() -> None:
    assert body_text("<p>First line<br>second line</p><p>Next paragraph</p>") == "First line\nsecond line\n\nNext paragraph"


def test_render_body_br_br_inside_a_paragraph_keeps_both_sides() -> None:
    # The real RealSelf review pages break paragraphs this way (see realself-review-wilmington-*).
    text = body_text("<p>The pain came later!<br/>\n<br/>\nOkay, the tingling is correct.</p>")
    assert text is not None
    assert text.split("\n\n") == ["The pain came later!", "Okay, the tingling is correct."]


def test_render_body_br_br_without_whitespace_is_a_paragraph_break() -> None:
    assert body_text("<p>The pain came later!<br><br>Okay, the tingling is correct.</p>") == (
        "The pain came later!\n\nOkay, the tingling is correct."
    )


def test_source_newlines_inside_a_paragraph_collapse_to_a_space() -> None:
    assert body_text("<p>The warning is coming from here:\n    http://code.djangoproject.com/ticket/1</p>") == (
        "The warning is coming from here: http://code.djangoproject.com/ticket/1"
    )


def test_pre_keeps_lines_and_indentation() -> None:
    text = body_text(
        "<p>For example:</p><pre><code>def test_foo(self):\n    response = self.client.get('/foo/')\n"
        "    self.assertEqual(response.status_code, 404)</code></pre><p>After the code.</p>"
    )
    assert text == (
        "For example:\n\n"
        "def test_foo(self):\n    response = self.client.get('/foo/')\n    self.assertEqual(response.status_code, 404)\n\n"
        "After the code."
    )


def test_pre_line_that_looks_like_chrome_is_kept() -> None:
    # "Share" alone on a line is a widget leftover in prose, but code is content.
    text = body_text("<pre>menu = [\n    Share\n]</pre>")
    assert text == "menu = [\n    Share\n]"


def test_link_text_kept_entities_decoded_inline_tags_joined() -> None:
    text = body_text(
        '<p>See <a href="https://example.org/ticket/1">ticket&nbsp;#1</a> &amp; the caf&eacute; &mdash; '
        "it&#8217;s x<sup>2</sup>y and a<sub>n</sub>b, <b>bold</b> <i>text</i>.</p>"
    )
    assert text == "See ticket #1 & the café — it’s x2y and anb, bold text."


def test_template_junk_is_removed_from_body_text() -> None:
    text = body_text(
        "<p>{{ voteCount >= 0 ? '+' + voteCount : voteCount }}</p>"
        "<p>Results last {roughly} 3-4 months {{ doctor.name }} for most patients.</p>"
    )
    assert text == "Results last {roughly} 3-4 months for most patients."


def test_widget_leftover_lines_are_dropped_from_body_text() -> None:
    text = body_text("<p>Botox is safe.</p><div>Helpful</div><div>Share</div><p>Best wishes.</p>")
    assert text == "Botox is safe.\n\nBest wishes."


def test_empty_body_is_none() -> None:
    assert body_text("<p> </p><div><span>&nbsp;</span></div>") is None


def test_table_cells_are_separated() -> None:
    text = body_text("<table><tr><td>Botox</td><td>$550</td></tr><tr><td>Dysport</td><td>$480</td></tr></table>")
    assert text is not None
    assert [" ".join(line.split()) for line in text.split("\n")] == ["Botox $550", "Dysport $480"]


# --- link targets -------------------------------------------------------------------------


def test_link_targets_map_visible_text_to_href_first_link_wins() -> None:
    root = parse_html(
        b"<html><body>"
        b'<a href="/dr/harold-kaplan-los-angeles-ca">  Harold J.\n  Kaplan, MD </a>'
        b'<a href="/dr/other-kaplan">Harold J. Kaplan, MD</a>'
        b"<a>No href</a><a href=''>Empty href</a>"
        b'<a href="/img"><img src="x.png" alt="avatar"></a>'
        b"</body></html>"
    ).root
    targets = link_targets(root)
    assert targets == {"Harold J. Kaplan, MD": "/dr/harold-kaplan-los-angeles-ca"}


def test_link_targets_skip_very_long_link_text() -> None:
    long_text = "word " * 40
    root = parse_html(f'<html><body><a href="/long">{long_text}</a><a href="/dr/a">Dr A</a></body></html>'.encode()).root
    assert link_targets(root) == {"Dr A": "/dr/a"}


def test_a_share_menu_is_chrome_by_its_links_whatever_its_classes() -> None:
    text = page_text(
        "<h1>Botox and muscle atrophy</h1><p>Botox relaxes the muscle it is injected into.</p>"
        "<div class='q7f2'><span class='zz1'>Share</span><ul class='k3'>"
        "<li><a href='https://www.facebook.com/sharer/sharer.php?u=x'>Facebook</a></li>"
        "<li><a href='https://twitter.com/intent/tweet?url=x'>Twitter</a></li>"
        "<li><span>Copy link</span></li></ul></div><p>It does not waste the muscle away.</p>"
    )
    assert text.splitlines() == ["Botox and muscle atrophy", "", "Botox relaxes the muscle it is injected into.", "",
                                 "It does not waste the muscle away."]


def test_one_share_link_in_a_post_is_content() -> None:
    text = page_text("<p>I posted it on <a href='https://www.facebook.com/sharer/sharer.php?u=x'>Facebook</a> too.</p>")
    assert "Facebook" in text


def test_an_element_labelled_breadcrumb_is_chrome_without_a_class() -> None:
    text = page_text("<ol aria-label='Breadcrumb'><li><a href='/'>Home</a></li><li><a href='/botox'>Botox</a></li></ol>"
                     "<h1>Botox and muscle atrophy</h1>")
    assert text.splitlines() == ["Botox and muscle atrophy"]


def test_a_breadcrumb_without_its_classes_does_not_become_the_title() -> None:
    """The made AngularJS-era RealSelf page with its breadcrumb's class names gone: the text before
    the <h1> is only link texts, so the question still starts at the heading."""
    import scraper
    from tests.conftest import FIXTURES

    folder = FIXTURES / "html" / "realself-made-question-angularjs"
    html = (folder / "page.html").read_text(encoding="utf-8")
    bare = (html.replace('<ul class="Breadcrumb PageHeader-breadcrumb">', "<ul>").replace('class="Breadcrumb-item"', "")
            .replace(" PageHeader--legacyWithInlineBreadcrumb", "").replace("Breadcrumb-link ", ""))
    assert bare != html
    url = "https://www.realself.com/question/dont-lose-true-for-botox-paralyse-muscles"
    record = scraper.extract(bare.encode(), url=url)
    assert record.question.title == "Because 'If You Don't Use It You Lose It' is That True for Botox? You Paralyse Muscles..."
    assert record.question.body and record.question.body.startswith("because you paralyze muscles")
    assert record == scraper.extract(html.encode(), url=url).model_copy(update={"source": record.source})
