"""Pages that are not Q&A pages give NotAQAPageError, never a record (issue 13).

The pages are made ones, one per kind a crawler of Q&A sites meets: FAQ articles, blog
posts with a few comments, news, product reviews, database errors, login pages, forum
topic lists, search results, question lists, profiles, 404s, Reddit, Hacker News and
empty app shells (tests/fixtures/not_qa/README.md lists them).  Adding a file there
adds a test.  Pages the extractor still reads as a Q&A page are marked xfail(strict)
with what it made of them; the mark goes when the extractor is fixed.
"""

from __future__ import annotations

import glob
import re
import subprocess
import sys
from pathlib import Path

import pytest

import scraper
from scraper.errors import NotAQAPageError, exit_code
from tests.conftest import FIXTURES, ROOT

NOT_QA = FIXTURES / "not_qa"
PAGES = sorted(NOT_QA.glob("*.html"))

# Pages that currently give a record: name -> what the record looked like.  Empty: the last
# four (a Hacker News front page, a XenForo and a Super User profile, a tag listing) are refused
# since the structure asks a post for text of its own and the page's address is read.
FALSE_POSITIVES: dict[str, str] = {}

MADE_COMMENT = re.compile(rb"\A<!-- Made for qa-scraper's tests \(tests/fixtures/not_qa/\), not a saved page\b.*? It models (?P<models>.+?)\. It is not a Q&A page", re.S)


def _param(page: Path) -> object:
    reason = FALSE_POSITIVES.get(page.name)
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"false positive: {reason}")] if reason else []
    return pytest.param(page, id=page.stem, marks=marks)


def test_the_folder_holds_enough_varied_made_pages() -> None:
    assert len(PAGES) >= 24
    readme = (NOT_QA / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        data = page.read_bytes()
        assert 5_000 <= len(data) <= 60_000, f"{page.name}: {len(data)} bytes"
        found = MADE_COMMENT.match(data)
        assert found, f"{page.name} does not open with the made-page comment"
        assert found.group("models").strip(), page.name
        assert f"`{page.name}`" in readme, f"{page.name} is not listed in README.md"
    assert set(FALSE_POSITIVES) <= {p.name for p in PAGES}


@pytest.mark.parametrize("page", [_param(p) for p in PAGES])
def test_a_page_that_is_not_qa_is_an_error_with_a_reason(page: Path) -> None:
    try:
        record = scraper.extract(page.read_bytes())
    except NotAQAPageError as exc:
        assert str(exc).strip(), "the reason must say why the page is not a Q&A page"
        return
    raise AssertionError(
        f"{page.name} gave a record: title {record.question.title!r}, {len(record.answers)} answers, "
        f"answer_count {record.answer_count}, extractor {record.source.extractor.name}"
    )


def test_extract_over_the_whole_folder_gives_no_record_and_names_every_file() -> None:
    pattern = str((NOT_QA / "*.html").relative_to(ROOT))
    proc = subprocess.run([sys.executable, "-m", "scraper", "extract", pattern], capture_output=True, text=True, cwd=ROOT, timeout=120)
    names = sorted(glob.glob(pattern, root_dir=ROOT))
    assert len(names) == len(PAGES)
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == "", f"records on stdout: {len(proc.stdout.splitlines())}"
    failed = {line.split(": ", 2)[1] for line in proc.stderr.splitlines() if line.startswith("scraper: ") and line.count(": ") >= 2}
    assert failed >= set(names), f"not named on stderr: {sorted(set(names) - failed)}"
    assert f"extracted 0 pages, 0 answers; {len(names)} inputs failed" in proc.stderr
    assert proc.returncode == exit_code(NotAQAPageError("not a Q&A page")) == 1
