"""``HtmlDocument.soup``: the page as BeautifulSoup for adapter authors, built only when asked for.

Why these tests: the built-in strategies read the lxml tree only, so a second tree per page
(and importing bs4 at all) would be pure cost; a plugin that wants it must still get the page
as ``root`` shows it.
"""

from __future__ import annotations

import subprocess
import sys

from scraper.extract.api import extract_page_explained
from scraper.extract.html.document import parse_html
from scraper.page import RawPage
from tests.conftest import FIXTURES, ROOT

PAGE = FIXTURES / "html" / "stackoverflow-1732348" / "page.html"


def test_extracting_a_page_builds_no_soup() -> None:
    explained = extract_page_explained(RawPage(body=PAGE.read_bytes(), kind="file", path=str(PAGE)))
    assert explained.document is not None
    assert explained.record.answers
    assert "soup" not in explained.document.__dict__  # a cached_property not yet computed


def test_extracting_a_page_does_not_even_import_bs4() -> None:
    code = (
        "import sys, scraper\n"
        f"record = scraper.extract(open({str(PAGE)!r}, 'rb').read())\n"
        "assert record.answers\n"
        "print('bs4' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_the_soup_shows_the_parsed_page_and_is_built_once() -> None:
    # A made page: a windows-1252 byte in a page labelled UTF-8, a comment, a control character.
    doc = parse_html(b"<html><head><meta charset='utf-8'><title>T</title></head><body><!-- note -->"
                     b"<h1 class='q'>Caf\xe9 \x07question</h1><p id='a'>Answer</p></body></html>")
    soup = doc.soup
    assert soup is doc.soup
    heading = soup.select_one("h1.q")
    assert heading is not None
    assert heading.get_text() == doc.root.xpath("string(//h1)")  # the same decoding and scrubbing as the tree
    assert "Café" in heading.get_text()
    assert "note" not in str(soup)  # comments were dropped by the parse
    paragraph = soup.find("p", id="a")
    assert paragraph is not None and paragraph.get_text() == "Answer"
