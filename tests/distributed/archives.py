"""WARC and WET files made here with warcio, for the distributed-extraction tests and benchmark.

Bodies come from the repository's fixtures: ``tests/fixtures/html/*/page.html`` as WARC
``response`` records (RealSelf question and review URLs, and Stack Exchange / Discourse
URLs), ``tests/fixtures/textrender_made/*.txt`` as WET ``conversion`` records.  Each
builder returns what it wrote, so a test can work out the expected counts itself.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.conftest import FIXTURES

QUESTION_PATTERN = r"realself\.com/question/"
DATE = "2024-03-01T12:00:00Z"
NOT_QA_TEXT = b"Opening hours\n\nMonday to Friday 9-5. Call us to book a consultation.\n"


def html_url(folder: str) -> str:
    if folder.startswith("realself-made-question-"):
        return "https://www.realself.com/question/made-" + folder.removeprefix("realself-made-question-")
    if folder.startswith("realself-review-"):
        return "https://www.realself.com/review/" + folder.removeprefix("realself-review-")
    if folder.startswith("pt-stackoverflow-"):
        return "https://pt.stackoverflow.com/questions/" + folder.rsplit("-", 1)[1]
    if folder.startswith("stackoverflow-"):
        return "https://stackoverflow.com/questions/" + folder.rsplit("-", 1)[1]
    if folder.startswith("unix-stackexchange-"):
        return "https://unix.stackexchange.com/questions/" + folder.rsplit("-", 1)[1]
    return "https://forum.ionicframework.com/t/" + folder.rsplit("-", 1)[1]


def html_pages() -> list[tuple[str, bytes]]:
    return [(html_url(p.parent.name), p.read_bytes()) for p in sorted((FIXTURES / "html").glob("*/page.html"))]


def text_pages() -> list[tuple[str, bytes]]:
    pages = []
    for index, path in enumerate(sorted((FIXTURES / "textrender_made").glob("made-*.txt"))):
        slug = path.stem.split("-", 2)[2]
        # Every fourth page under another site's URL: read by the archive reader, filtered out by the pattern.
        url = f"https://forum.example.org/t/{slug}" if index % 4 == 3 else f"https://www.realself.com/question/{slug}"
        pages.append((url, path.read_bytes()))
    return pages


@dataclass
class Spec:
    """One record to write: ``kind`` response | conversion | request | warcinfo | raw (bytes written as they are)."""

    kind: str
    url: str = ""
    body: bytes = b""
    status: str = "200 OK"
    content_type: str = "text/html; charset=utf-8"


@dataclass
class Made:
    path: Path
    specs: list[Spec] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)


def write_archive(path: Path, specs: list[Spec], *, gz: bool = True) -> Made:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    made = Made(path=path, specs=specs)
    for spec in specs:
        made.offsets.append(buf.tell())
        if spec.kind == "raw":
            buf.write(gzip.compress(spec.body) if gz else spec.body)
            continue
        if spec.kind == "warcinfo":
            record = writer.create_warcinfo_record(path.name, {"software": "warcio, for tests"})
        elif spec.kind == "request":
            http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.org")], protocol="")
            record = writer.create_warc_record(spec.url, "request", payload=io.BytesIO(b""), http_headers=http,
                                               warc_headers_dict={"WARC-Date": DATE})
        elif spec.kind == "response":
            http = StatusAndHeaders(spec.status, [("Content-Type", spec.content_type), ("Server", "nginx")], protocol="HTTP/1.1")
            record = writer.create_warc_record(spec.url, "response", payload=io.BytesIO(spec.body), http_headers=http,
                                               warc_headers_dict={"WARC-Date": DATE})
        else:
            record = writer.create_warc_record(spec.url, "conversion", payload=io.BytesIO(spec.body),
                                               warc_content_type="text/plain", warc_headers_dict={"WARC-Date": DATE})
        writer.write_record(record)
    path.write_bytes(buf.getvalue())
    return made


def bad_header_record() -> bytes:
    """A record whose WARC headers are unreadable (no usable Content-Length): damage without a URL."""
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://www.realself.com/question/lost\r\n"
            b"Content-Length: lots\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<html></html>\r\n\r\n")


def make_corpus(folder: Path) -> dict[str, Made]:
    """Five archives: a WARC of HTML pages, a WET of text renders, a plain WARC, one with bad records, one cut short."""
    folder.mkdir(parents=True, exist_ok=True)
    html = html_pages()
    text = text_pages()
    made: dict[str, Made] = {}
    specs = [Spec("warcinfo")]
    for url, body in html:
        specs += [Spec("request", url), Spec("response", url, body)]
    specs += [
        Spec("response", "https://www.realself.com/question/gone", b"<html><body>Not here</body></html>", status="404 Not Found"),
        Spec("response", "https://www.realself.com/question/opening-hours", NOT_QA_TEXT, content_type="text/plain"),
    ]
    made["html"] = write_archive(folder / "a-html.warc.gz", specs)
    made["wet"] = write_archive(folder / "b-text.wet.gz", [Spec("warcinfo")] + [Spec("conversion", u, b) for u, b in text])
    made["plain"] = write_archive(folder / "c-plain.warc", [Spec("warcinfo")] + [Spec("conversion", u, b) for u, b in text[:6]], gz=False)
    bad = [Spec("warcinfo")] + [Spec("conversion", u, b) for u, b in text[6:12]]
    bad.insert(3, Spec("raw", body=bad_header_record()))
    bad.insert(5, Spec("response", "https://www.realself.com/question/garbled", b"", content_type="text/html"))
    made["bad"] = write_archive(folder / "d-bad.warc.gz", bad)
    # The garbled record: its HTTP block is not HTTP at all (the reader says decode_error for its URL).
    data = made["bad"].path.read_bytes()
    start, end = made["bad"].offsets[5], made["bad"].offsets[6]
    member = gzip.decompress(data[start:end]).replace(b"HTTP/1.1 200 OK", b"XTTP/1.1 200 OK", 1)
    made["bad"].path.write_bytes(data[:start] + gzip.compress(member) + data[end:])
    # Cut short: the last member (a big HTML page) loses its second half.
    last = [Spec("warcinfo")] + [Spec("conversion", u, b) for u, b in text[12:16]]
    realself_html = [(u, b) for u, b in html if "/question/" in u]
    last.append(Spec("response", realself_html[0][0], realself_html[0][1]))
    made["truncated"] = write_archive(folder / "e-truncated.warc.gz", last)
    data = made["truncated"].path.read_bytes()
    cut = made["truncated"].offsets[-1] + (len(data) - made["truncated"].offsets[-1]) // 2
    made["truncated"].path.write_bytes(data[:cut])
    return made


def cut_body(made: Made) -> bytes:
    """What is left of the HTTP body of the archive's last record, cut by the file's end (make_corpus cuts it).

    Decompressed here with zlib, not with the reader under test: the page the reader must give, marked truncated.
    """
    data = made.path.read_bytes()[made.offsets[-1]:]
    record = zlib.decompressobj(wbits=31).decompress(data)
    _warc_headers, _, http = record.partition(b"\r\n\r\n")
    _http_headers, _, body = http.partition(b"\r\n\r\n")
    assert body and made.specs[-1].body.startswith(body) and len(body) < len(made.specs[-1].body)
    return body


def page_specs(made: Made) -> list[Spec]:
    """The records the archive reader reports as pages (response/conversion with a URL)."""
    return [s for s in made.specs if s.kind in ("response", "conversion")]


def matching(made: Made, pattern: str | None) -> list[Spec]:
    return [s for s in page_specs(made) if pattern is None or re.search(pattern, s.url)]


def make_bulk(folder: Path, *, files: int, records_per_file: int) -> list[Path]:
    """A benchmark corpus: ``files`` WARC/WET files cycling through every fixture page, RealSelf and other URLs."""
    folder.mkdir(parents=True, exist_ok=True)
    html, text = html_pages(), text_pages()
    paths = []
    n = 0
    for index in range(files):
        specs = [Spec("warcinfo")]
        for _ in range(records_per_file):
            if n % 3 == 0:
                url, body = html[(n // 3) % len(html)]
                specs.append(Spec("response", f"{url}?n={n}", body))
            else:
                url, body = text[n % len(text)]
                specs.append(Spec("conversion", f"{url}?n={n}", body))
            n += 1
        suffix = ".warc.gz" if index % 2 == 0 else ".wet.gz"
        paths.append(write_archive(folder / f"bulk-{index:03d}{suffix}", specs).path)
    return paths
