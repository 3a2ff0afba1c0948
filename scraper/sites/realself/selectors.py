"""CSS selectors of RealSelf's 2018 review pages (AngularJS / Angular Material era).

Read off the real pages in tests/fixtures/html/realself-review-*/ and
STRUCTURE-NOTES.md.  Time-stamped facts: when the site changes, this file
changes; the code in review.py that applies them stays.
"""

REVIEW_ROOT = "#review-view"
REVIEW_TITLE = "#review-view h1"
REVIEW_AUTHOR = "#review-view .Content-byline a[href^='/user/']"
REVIEW_BYLINE_ITEMS = "#review-view > .Content .Content-byline > li"
REVIEW_COST = "#review-view .Content-byline rs-currency"
# The verdict is a byline item whose icon names it.
VERDICT_ICONS = {"worthItYes": "Worth It", "worthItNotSure": "Not Sure", "worthItNo": "Not Worth It"}

ENTRIES = "#review-entries .review-entry"
ENTRY_TITLE = "h3"
ENTRY_FULL_TEXT = ".text-truncator-expanded-text"  # hidden with display:none until "SHOW MORE"
ENTRY_TEXT = ".user-generated-content"

PROVIDER = "#dr-review"
PROVIDER_CARD_BODY = "#dr-review .Media--providerCard .Media-body"
PROVIDER_NAME_LINK = "a[href]"
PROVIDER_LINE = ".BodyText--secondary"
PROVIDER_COMMENT = "#dr-review > p.user-generated-content"
