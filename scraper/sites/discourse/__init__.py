"""Discourse forums (crawler view): the topic's first post is the question, replies the answers.

Discourse publishes a JSON-LD QAPage that is often wrong (``answerCount: 0``
and no answers on unsolved topics) beside per-post ``DiscussionForumPosting``
microdata that matches what the page shows; the generic strategies and the
merge handle both, so this adapter only recognises the site.
Facts: tests/fixtures/html/discourse-ionic-177814.
"""

from __future__ import annotations

from scraper.extract.profile import SiteProfile

__all__ = ["SITE"]

SITE = SiteProfile(
    name="discourse",
    version="1.0",
    description="Discourse forum topics (crawler view: DiscussionForumPosting microdata)",
    html_signatures=("//meta[@name='generator'][starts-with(@content, 'Discourse')]",),
)
