"""Time per byte of extraction on pages stuffed with template openers (issue 11: every rule linear).

Made inputs, modelled on real pages: the bundled RealSelf text render and a JSON-LD QAPage,
each with N bytes of one opener (``{{``, ``${``, ``{%``, ``[[``, ``<<``, ``<%``, ``{#``) or a mix
inserted into the question body (and, for HTML, into the JSON-LD text and the visible text).
Linear rules keep microseconds per byte flat as N grows from 1 KB to 4 MB; a quadratic one
shows a per-byte cost that grows with N.

    python benchmarks/hostile_inputs.py [--max-kb 4096] [--openers '{{,${']
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import scraper
from scraper.errors import ExtractionError

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "samples" / "realself-000-botox-atrophy.txt"
OPENERS = ["{{", "${", "{%", "[[", "<<", "<%", "{#", "mixed"]


def junk(opener: str, size: int) -> str:
    unit = "{{${{%[[<<<%{#" if opener == "mixed" else opener
    return (unit * (size // len(unit) + 1))[:size]


def text_page(filler: str) -> bytes:
    text = SEED.read_text(encoding="utf-8")
    head, sep, rest = text.partition("\n\n")
    return (head + sep + filler + "\n\n" + rest).encode("utf-8")


def html_page(filler: str) -> bytes:
    ld = {
        "@context": "https://schema.org", "@type": "QAPage",
        "mainEntity": {
            "@type": "Question", "name": "How long does Botox last?", "text": filler, "answerCount": 1,
            "suggestedAnswer": [{"@type": "Answer", "text": "Three to four months.", "author": {"@type": "Person", "name": "Jane Roe, MD"}}],
        },
    }
    script = json.dumps(ld).replace("</", "<\\/")
    return (
        f"<!doctype html><html><head><title>How long does Botox last?</title><script type='application/ld+json'>{script}</script>"
        f"</head><body><h1>How long does Botox last?</h1><p>{filler.replace('<', '&lt;')}</p></body></html>"
    ).encode()


def seconds(page: bytes, url: str) -> float:
    started = time.perf_counter()
    try:
        scraper.extract(page, url=url)
    except ExtractionError:
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-kb", type=int, default=4096)
    parser.add_argument("--openers", default=",".join(OPENERS))
    args = parser.parse_args()
    sizes = [kb * 1024 for kb in (1, 8, 64, 256, 1024, 4096) if kb <= args.max_kb]
    print(f"{'opener':>7} {'kind':>5} " + " ".join(f"{s // 1024:>7}KB" for s in sizes) + "   (microseconds per byte)")
    for opener in args.openers.split(","):
        for kind, build, url in (("text", text_page, None), ("html", html_page, "https://example.com/q/1")):
            cells = [seconds(build(junk(opener, size)), url) * 1e6 / size for size in sizes]
            print(f"{opener:>7} {kind:>5} " + " ".join(f"{c:>9.3f}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
