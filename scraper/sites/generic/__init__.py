"""Any page that publishes schema.org QAPage data or embeds its Q&A as application state.

The fallback adapter: no URL patterns, no site rules.  Records it makes have
``site: null`` since the site is not one we know.
"""

from __future__ import annotations

from scraper.extract.profile import SiteProfile

__all__ = ["SITE"]

SITE = SiteProfile(
    name="generic",
    version="1.0",
    description="any page with schema.org QAPage/Question data, embedded app state, or a Q&A text layout",
    record_site=False,
)
