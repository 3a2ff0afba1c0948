"""CSS selectors of RealSelf's 2018 review pages (AngularJS / Angular Material era).

Read off the real pages in tests/fixtures/html/realself-review-*/ and
STRUCTURE-NOTES.md.  Time-stamped facts: when the site changes, this file
changes; the code in review.py that applies them stays.  Each selector is
relative to one of three containers, found once per page by id.
"""

# Containers, by id.
REVIEW_VIEW = "review-view"  # the post: title, byline (author, verdict, cost)
REVIEW_ENTRIES = "review-entries"  # the diary entries
PROVIDER = "dr-review"  # the patient's rating of the provider, with the provider card

# Inside REVIEW_VIEW.
TITLE = "h1"
AUTHOR = ".Content-byline a[href^='/user/']"
AUTHOR_ANYWHERE = "a[href^='/user/']"  # (the fallbacks: what stays when the classes change)
BYLINE_ITEMS = ".Content-byline > li"
COST = ".Content-byline rs-currency"
COST_ANYWHERE = "rs-currency"
# The verdict is a byline item whose icon names it.
VERDICT_ICONS = {"worthItYes": "Worth It", "worthItNotSure": "Not Sure", "worthItNo": "Not Worth It"}

# Inside REVIEW_ENTRIES.
ENTRY = ".review-entry"
ENTRY_ID_PREFIX = "entry-"  # each entry's id: entry-741516
ENTRY_TITLE = "h3"
ENTRY_FULL_TEXT = ".text-truncator-expanded-text"  # hidden with display:none until "SHOW MORE"
ENTRY_TEXT = ".user-generated-content"

# Inside PROVIDER.
CARD = ".Media--providerCard"
CARD_BODY = ".Media--providerCard .Media-body"
CARD_NAME_LINK = "a[href]"
CARD_LINE = ".BodyText--secondary"
PROVIDER_COMMENT = "p.user-generated-content"
