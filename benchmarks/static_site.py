"""A MADE static Q&A site on disk for the crawl benchmark (served by nginx, see ``servers.py``).

    python benchmarks/static_site.py ROOT --questions 10000

Question pages are the 40 made text renders of ``tests/fixtures/textrender_made/`` (real
question and answer text, see that folder's README) wrapped in simple HTML, the way
``tests/crawler/site.py``'s ``render_html`` does it: one ``<p>`` per paragraph, the lines of a
block joined with ``<br>``, so the page's visible text is the render again and the crawl's
extractor reads it through its HTML visible-text path.  Page ``i`` is render ``i % 40``; its
``<title>`` carries ``i``, so every URL is its own page.

Every site lives under its own prefix (``/n10000/``) so one server root holds the sites of every
size and no link leaves its site:

- ``/nN/questions/page-K``: listing pages, ``LISTING_SIZE`` question links each, plus links to the
  first, previous and next listing page, ``home`` and ``about`` (the seed is page 1);
- ``/nN/question/<slug>-<i>``: question pages, each with nav links (home, listing 1, about) and
  three "related question" links to other question pages, so both crawlers de-duplicate links
  they have already seen, as on a real site;
- ``/nN/home`` and ``/nN/about``: two plain pages.

URLs per site: N question pages + ceil(N / LISTING_SIZE) listings + 2.  Files have no extension;
the server sends them as ``text/html; charset=utf-8``.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MADE = ROOT / "tests" / "fixtures" / "textrender_made"
LISTING_SIZE = 100
RELATED = (1, 7, 31)  # page i links to questions i+1, i+7, i+31 (mod N)

__all__ = ["LISTING_SIZE", "SiteInfo", "generate_site", "made_renders", "render_html", "site_paths", "url_count"]


def render_html(text: str, title: str, nav: str = "", extra: str = "", about: str = "about") -> str:
    """A text render as an HTML page whose visible text is that render (as tests/crawler/site.py does)."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    body = "\n".join("<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>" for block in blocks)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><nav>{nav}</nav><main>{body}</main>{extra}"
        f"<footer><a href='{about}'>About</a></footer></body></html>"
    )


def made_renders() -> list[tuple[str, str, str]]:
    """(slug, render text, question title) of the 40 made pages, in name order."""
    renders = []
    for render in sorted(MADE.glob("made-*.txt")):
        facts = json.loads(render.with_name(render.stem + ".facts.json").read_text(encoding="utf-8"))
        slug = render.stem.split("-", 2)[2]
        renders.append((slug, render.read_text(encoding="utf-8"), facts["question"]["title"]))
    return renders


def url_count(questions: int) -> int:
    """Pages in a site of ``questions`` question pages (what a crawl of it fetches)."""
    return questions + math.ceil(questions / LISTING_SIZE) + 2


class SiteInfo:
    def __init__(self, prefix: str, questions: int, listings: int, seconds: float, size: int) -> None:
        self.prefix = prefix
        self.questions = questions
        self.listings = listings
        self.pages = questions + listings + 2
        self.seconds = seconds
        self.bytes = size

    @property
    def seed_path(self) -> str:
        return f"{self.prefix}/questions/page-1"


def site_paths(questions: int) -> list[str]:
    """Every URL path of the site of ``questions`` question pages (what a full crawl fetches)."""
    renders = made_renders()
    prefix = f"/n{questions}"
    paths = [f"{prefix}/questions/page-{k}" for k in range(1, math.ceil(questions / LISTING_SIZE) + 1)]
    paths += [f"{prefix}/{_question_path(renders, i)}" for i in range(questions)]
    return paths + [f"{prefix}/home", f"{prefix}/about"]


def _question_path(renders: list[tuple[str, str, str]], i: int) -> str:
    return f"question/{renders[i % len(renders)][0]}-{i}"


def generate_site(root: str | os.PathLike[str], questions: int) -> SiteInfo:
    """Write the site of ``questions`` question pages under ``root``/n``questions``/ (reused when complete)."""
    start = time.perf_counter()
    prefix = f"/n{questions}"
    base = Path(root) / prefix.lstrip("/")
    listings = math.ceil(questions / LISTING_SIZE)
    marker = base / ".complete"
    if marker.exists():
        size = int(marker.read_text())
        return SiteInfo(prefix, questions, listings, 0.0, size)
    renders = made_renders()
    (base / "question").mkdir(parents=True, exist_ok=True)
    (base / "questions").mkdir(parents=True, exist_ok=True)
    size = 0
    # Links are relative to the page's own folder, as real sites often write them.
    for i in range(questions):
        slug, text, title = renders[i % len(renders)]
        nav = "<a href='../home'>Home</a> <a href='../questions/page-1'>Questions</a>"
        related = "".join(
            f"<li><a href='../{_question_path(renders, (i + step) % questions)}'>Related question</a></li>" for step in RELATED
        )
        page = render_html(text, f"{title} (page {i})", nav, f"<aside><ul>{related}</ul></aside>", about="../about")
        data = page.encode("utf-8")
        (base / _question_path(renders, i)).write_bytes(data)
        size += len(data)
    for k in range(1, listings + 1):
        first = (k - 1) * LISTING_SIZE
        links = "".join(
            f"<li><a href='../{_question_path(renders, i)}'>{html.escape(renders[i % len(renders)][2])}</a></li>"
            for i in range(first, min(first + LISTING_SIZE, questions))
        )
        pager = "<a href='page-1'>First</a>"
        if k > 1:
            pager += f" <a href='page-{k - 1}'>Previous</a>"
        if k < listings:
            pager += f" <a href='page-{k + 1}'>Next</a>"
        data = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>Questions, page {k}</title></head>"
            f"<body><nav><a href='../home'>Home</a></nav><h1>Questions</h1><ul>{links}</ul><p>{pager}</p>"
            f"<footer><a href='../about'>About</a></footer></body></html>"
        ).encode()
        (base / "questions" / f"page-{k}").write_bytes(data)
        size += len(data)
    for name, heading in (("home", "A made Q&A site"), ("about", "About this made site")):
        data = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{heading}</title></head><body><h1>{heading}</h1>"
            f"<p>Made for the crawl benchmark.</p><a href='questions/page-1'>Questions</a></body></html>"
        ).encode()
        (base / name).write_bytes(data)
        size += len(data)
    marker.write_text(str(size))
    return SiteInfo(prefix, questions, listings, time.perf_counter() - start, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--questions", type=int, default=10_000)
    args = parser.parse_args()
    info = generate_site(args.root, args.questions)
    print(f"{info.prefix}: {info.pages} pages ({info.questions} questions, {info.listings} listings), "
          f"{info.bytes / 1e6:.1f} MB in {info.seconds:.1f}s; seed {info.seed_path}")


if __name__ == "__main__":
    main()
