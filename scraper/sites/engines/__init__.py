"""Forum engines and Q&A software: one adapter per engine, recognised by what its pages are.

One engine runs thousands of sites under as many host names, so these adapters have no URL
patterns: a page is known by what the engine's own templates write into it, whatever the theme
(a ``<meta name="generator">``, the ids of its templates, the attributes of its root and body
elements, its script globals, the paths of its assets) and seldom by a class name a theme can
change.  Each engine has several signatures, so a page that lost one (a theme without the footer,
a saved DOM snapshot without scripts) is still known.  Signatures look only where a post's author
cannot write, so a reply that links to another engine's forum does not make the page that
engine's.  ``tests/sites/test_engines.py`` checks each against the real pages in
``tests/fixtures/wild/`` and the made ones in ``tests/fixtures/engines/``, and that none claims
another engine's page or a RealSelf, Stack Exchange or Discourse page.

Their pages are read from their repeated post blocks (``read_structure``): the question is the
opening post, the answers the replies in page order.  What makes them adapters is that the record
names the engine (``site: "phpbb"``) and says nothing about being read generically.

The shapes, why each is cheap and why each is safe, are in :mod:`scraper.sites.signatures`.
"""

from __future__ import annotations

from scraper.extract.profile import SiteProfile
from scraper.sites.signatures import element_id, generator, head_link, powered_by, script_src, script_text

__all__ = ["SITES"]

VERSION = "1.0"


def _engine(name: str, description: str, *signatures: str) -> SiteProfile:
    return SiteProfile(name=name, version=VERSION, description=description, html_signatures=signatures, read_structure=True)


PHPBB = _engine(
    "phpbb",
    "phpBB 2/3 forum topics (viewtopic.php)",
    "/html/body[@id='phpbb']",  # prosilver and subsilver2 open every page so
    element_id("phpbb_alert", "phpbb_confirm"),  # prosilver's dialogs
    head_link("assets_version=", "/app.php/feed"),  # phpBB 3.1+ asset URLs and feeds
    powered_by("phpbb.com", "Powered by", "powered by"),  # phpBB 2 and 3 footers (phpBB 2 has little else)
)

VBULLETIN = _engine(
    "vbulletin",
    "vBulletin 3/4/5 forum threads (showthread.php, vB5 node pages)",
    generator("vBulletin"),
    "/html[@id='vbulletin_html']",  # vB4
    "/html/*/meta[@name='vb_meta_bburl']",  # vB4
    script_src("clientscript/vbulletin"),  # vB3 vbulletin_global.js, vB4 vbulletin-core.js
    script_text("SESSIONURL", "vb_disable_ajax"),  # vB3/4 globals
    "/html/body[@id='vb-page-body']",  # vB5
    f"{element_id('pagedata')}[@data-baseurl]",  # vB5's page settings
)

XENFORO = _engine(
    "xenforo",
    "XenForo 1/2 forum threads",
    "/html[@id='XF' or @id='XenForo']",  # XF2 / XF1 root element
    "/html[@data-template][@data-cookie-prefix]",  # XF2's root attributes
    script_src("js/xf/", "js/xenforo/"),
    script_text("XF.config", in_body=True),  # XF2
    script_text("XenForo", "_csrfToken", in_body=True),  # XF1: jQuery.extend(true, XenForo, {...})
)

INVISION = _engine(
    "invision",
    "Invision Community (IPS 4) and IP.Board 3 topics",
    "/html/body[@data-pageapp][@data-pagecontroller]",  # IPS 4
    "/html/body[starts-with(@data-controller, 'core.')]",  # IPS 4 app controller
    script_text("ipsDebug", in_body=True),  # IPS 4 globals
    script_src("javascript_global/root_", "javascript_core/"),  # IPS 4 asset paths
    head_link("/uploads/css_built_"),  # IPS 4 compiled stylesheets
    "/html/body[@id='ipboard_body']",  # IP.Board 3
    script_text("ipb.vars"),  # IP.Board 3 globals (in the head)
)

NODEBB = _engine(
    "nodebb",
    "NodeBB topics",
    script_text("relative_path", "upload_url"),  # var config = JSON.parse('{"relative_path":...')
    head_link("/plugins/nodebb-plugin-"),
    script_src("nodebb.min.js"),
)

FLARUM = _engine(
    "flarum",
    "Flarum discussions",
    element_id("flarum-json-payload"),
    element_id("flarum-loading"),
    element_id("flarum-content"),
    script_text("flarum.core.app", in_body=True),
)

VANILLA = _engine(
    "vanilla",
    "Vanilla Forums discussions",
    script_text("gdn.meta"),  # gdn=window.gdn||{};gdn.meta={...}
    script_src("/applications/vanilla/", "/applications/dashboard/"),
    "/html/body[starts-with(@id, 'vanilla_')]",  # Vanilla 2: body id="vanilla_discussion_index"
    element_id("vanillaPortalManager"),  # the React layer of newer versions
)

DISCUZ = _engine(
    "discuz",
    "Discuz! X forum threads (forum.php?mod=viewthread, thread-1-1-1.html)",
    generator("Discuz!"),
    script_text("discuz_uid"),  # var STYLEID = ..., discuz_uid = '0', ...
    "/html/body[starts-with(@id, 'nv_')][starts-with(@class, 'pg_')]",  # body id="nv_forum" class="pg_viewthread"
    f"{element_id('append_parent')}[../div[@id='ajaxwaitid']]",  # the first two elements of every page's body
)

BBPRESS = _engine(
    "bbpress",
    "bbPress (WordPress) forum topics",
    element_id("bbpress-forums"),  # every bbPress template wraps itself so
    "/html/head/link[@id='bbp-default-css']",  # the default template pack's stylesheet
    head_link("/plugins/bbpress/"),
    "/html/body[contains(concat(' ', @class, ' '), ' bbpress ')]",  # bbPress's body class
)

MYBB = _engine(
    "mybb",
    "MyBB forum threads (showthread.php)",
    script_text("my_post_key"),  # var my_post_key = "...";
    script_src("jscripts/general.js"),
    head_link("cache/themes/theme"),  # the theme's cached stylesheets
)

SMF = _engine(
    "smf",
    "Simple Machines Forum (SMF 1/2) topics (index.php?topic=)",
    script_text("smf_scripturl"),  # var smf_scripturl = "...";
    "/html/*/script[contains(@src, '/Themes/')][contains(@src, '/scripts/')]",  # Themes/default/scripts/script.js, 2.1's minified_*.js
    "/html/head/link[contains(@href, '/Themes/')][contains(@href, '/css/')]",
    element_id("forumposts"),  # the display template's post list
)

KUNENA = _engine(
    "kunena",
    "Kunena (Joomla) forum topics",
    element_id("kunena"),  # the component's wrapper in every template
    head_link("/media/kunena/", "com_kunena"),
    script_src("/media/kunena/", "com_kunena"),
)

APACHE_ANSWER = _engine(
    "apache_answer",
    "Apache Answer question pages",
    "/html/*/meta[@name='generator'][contains(@content, 'apache/answer') or contains(@content, 'apache/incubator-answer')]",
    element_id("answerHeader"),  # "N Answers" above the answers (the generator meta is in every page's template)
)

DWQA = _engine(
    "dwqa",
    "DW Question & Answer (WordPress) question pages",
    "/html/head/link[@id='dwqa-style-css']",  # the plugin's stylesheet handle
    head_link("/plugins/dw-question-answer"),
    script_src("/plugins/dw-question-answer"),
    "/html/body[contains(concat(' ', @class, ' '), ' single-dwqa-question ')]",  # WordPress's body class for the post type
)

SITES: tuple[SiteProfile, ...] = (
    PHPBB, VBULLETIN, XENFORO, INVISION, NODEBB, FLARUM, VANILLA, DISCUZ, BBPRESS, MYBB, SMF, KUNENA, APACHE_ANSWER, DWQA,
)
"""In detection order (the first whose signature finds something claims the page)."""
