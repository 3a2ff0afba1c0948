"""Writing records so that a reader never sees half a file.

``-o out.jsonl`` is written to a temporary file beside the target and renamed
over it only when the run has finished: a crash or Ctrl-C leaves the previous
file (or none), never a torn one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import TracebackType
from typing import IO

__all__ = ["AtomicTextFile"]


class AtomicTextFile:
    """A text sink: stdout when ``path`` is None, else a file replaced atomically on success."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = os.fspath(path) if path is not None else None
        self._stream: IO[str] | None = None
        self._tmp: str | None = None

    def __enter__(self) -> AtomicTextFile:
        if self.path is None:
            self._stream = sys.stdout
        else:
            directory = os.path.dirname(os.path.abspath(self.path))
            fd, self._tmp = tempfile.mkstemp(prefix=".scraper-", suffix=".tmp", dir=directory)
            self._stream = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        return self

    def write(self, text: str) -> None:
        assert self._stream is not None, "use AtomicTextFile as a context manager"
        self._stream.write(text)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is None:
            return
        if self.path is None:
            self._stream.flush()
            return
        assert self._tmp is not None
        try:
            if exc_type is None:
                self._stream.flush()
                os.fsync(self._stream.fileno())
            self._stream.close()
            if exc_type is None:
                os.replace(self._tmp, self.path)
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)
