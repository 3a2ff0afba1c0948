"""Pages from local files, the source behind ``scraper extract PATH...``.

Paths are read in the order given; a glob (``'pages/**/*.txt'``) expands in
sorted order and skips directories.  A path that exists is always taken as
itself, even when it holds glob characters (``page[1].txt``).  Nothing is
raised for a bad input: it comes back as a failed result, so one missing
file never stops a batch.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator

from scraper.fetch.result import FetchResult
from scraper.limits import MAX_EXTRACT_INPUT_SIZE, format_size

__all__ = ["MAX_FILE_SIZE", "expand_paths", "iter_files", "read_file"]

MAX_FILE_SIZE = MAX_EXTRACT_INPUT_SIZE
"""Largest file read (the bound a gzip input may expand to)."""

_GLOB_CHARS = frozenset("*?[")


def expand_paths(patterns: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """``(path, None)`` for each file to read, or ``(pattern, reason)`` for a glob that matches no file.

    The one expansion behind ``scraper extract`` and the distributed engines, so the same
    arguments name the same files whichever runs them.  Why each rule:

    * a name that exists (even a dangling link) is itself, glob characters or not, so
      ``page[1].txt`` is never read as a pattern; a name without ``*``, ``?`` or ``[`` is
      itself too, and whether it can be read is the reader's to report;
    * matches come in sorted order (``**`` spans directories), so a run is repeatable
      whatever order the file system lists them in;
    * directories a glob matches are skipped: ``pages/*`` means the files in it;
    * a glob that matches nothing is reported, not dropped, so a typo is not a silent
      empty run.

    Nothing is de-duplicated: a file named twice is yielded twice, and callers decide.
    """
    for pattern in patterns:
        if os.path.lexists(pattern) or not (_GLOB_CHARS & set(pattern)):
            yield pattern, None
            continue
        matches = [match for match in sorted(glob.glob(pattern, recursive=True)) if not os.path.isdir(match)]
        if not matches:
            yield pattern, "no file matches this pattern"
        for match in matches:
            yield match, None


def read_file(path: str, *, max_size: int = MAX_FILE_SIZE) -> FetchResult:
    """One file as a result: status 200 and its bytes, or a failure naming why it could not be read."""

    def failed(kind: str, detail: str) -> FetchResult:
        return FetchResult(url=path, source="file", failure=kind, detail=detail)

    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_size:
                return failed("too_large", f"the file is {format_size(size)}, over the {format_size(max_size)} limit")
            body = fh.read(max_size + 1)
    except FileNotFoundError:
        return failed("not_found", "no such file")
    except IsADirectoryError:
        return failed("unreadable", "is a directory; give the files in it, e.g. 'DIR/*.txt'")
    except OSError as exc:
        return failed("unreadable", exc.strerror or str(exc))
    if len(body) > max_size:  # a file that grew, or a device with no size
        return failed("too_large", f"the file is over the {format_size(max_size)} limit")
    return FetchResult(url=path, status=200, body=body, source="file")


def iter_files(patterns: Iterable[str], *, max_size: int = MAX_FILE_SIZE) -> Iterator[tuple[str, FetchResult]]:
    """``(path, result)`` per input file, in the order given, globs expanded in sorted order.

    ``result.url`` is the path as given (or as the glob matched it); a readable
    file has status 200 and its raw bytes (gzip is left to the decoder). Failures:
    ``not_found`` (no such file, or a glob matching no file), ``unreadable``
    (a directory, no permission, an I/O error), ``too_large``.
    """
    for path, problem in expand_paths(patterns):
        if problem is not None:
            yield path, FetchResult(url=path, source="file", failure="not_found", detail=problem)
        else:
            yield path, read_file(path, max_size=max_size)
