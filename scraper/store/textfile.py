"""Writing records so that a reader never sees half a file.

``-o out.jsonl`` is written to a temporary file beside the target and renamed
over it only when the run has finished: a crash or Ctrl-C leaves the previous
file (or none), never a torn one.

What "the target" is depends on what the path names:

* a regular file: replaced atomically, keeping its permission bits (and its
  owner and group where the OS lets us);
* no file yet: created atomically with the mode ``open()`` would give
  (``0666`` less the umask, or the directory's default ACL);
* a symlink: the file it points to is written as above and the link stays a
  link; a dangling link creates its target;
* a character or block device, a FIFO, ``/dev/stdout``, ``/dev/fd/N`` or
  ``/proc/self/fd/N``: written straight into, with no temporary file (these
  cannot be renamed over, and replacing them would break them);
* a directory: :class:`OutputError`.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from types import TracebackType
from typing import IO

from scraper.errors import OutputError
from scraper.store.atomic import AtomicReplacement

__all__ = ["AtomicTextFile", "OutputError"]

_MAX_LINKS = 40  # as Linux's MAXSYMLINKS: more hops than this is a loop
_PROC_FD_DIR = re.compile(r"/proc/(\d+)/(?:task/\d+/)?fd")
_STREAM_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_NOCTTY | os.O_CLOEXEC


class AtomicTextFile:
    """A text sink: stdout when ``path`` is None, else the target ``path`` names (see the module doc)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = os.fspath(path) if path is not None else None
        self._stream: IO[str] | None = None
        self._replacement: AtomicReplacement | None = None

    def __enter__(self) -> AtomicTextFile:
        if self.path is None:
            self._stream = sys.stdout
            return self
        try:
            self._open(self.path)
        except OSError as exc:
            raise _error(self.path, exc) from exc
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
        try:
            if self._replacement is None:
                self._stream.close()  # a stream: what was written is already the output
            else:
                self._finish(self._replacement, committed=exc_type is None)
        except OSError as err:
            raise _error(self.path, err) from err
        finally:
            self._stream = None

    def _open(self, path: str) -> None:
        """Pick how to write ``path``: stream into a device or pipe, else a temporary file to rename."""
        through_proc, own_fd = _proc_fd(path)
        if own_fd is not None:  # our own descriptor: share its offset and O_APPEND, as a shell would
            self._stream = _text(os.dup(own_fd))
            return
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            existing = None  # a new file, or a dangling link whose target we create
        else:
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            existing = mode
        if through_proc or (existing is not None and not stat.S_ISREG(existing)):
            self._stream = _text(os.open(path, _STREAM_FLAGS))
            return
        self._replacement = AtomicReplacement(path, prefix=".scraper-", suffix=".tmp")
        try:
            self._stream = self._replacement.open_text()
        except BaseException:
            self._replacement.discard()
            raise

    def _finish(self, replacement: AtomicReplacement, committed: bool) -> None:
        """Put the temporary file in place of the target if the run ended well; never leave it behind."""
        self._replacement = None
        if committed:
            replacement.commit()  # closes (flushes) the stream first; removes the file on failure
        else:
            replacement.discard()


def _error(path: str, exc: OSError) -> OutputError:
    """An OutputError that names the path and says what to do, keeping the errno for callers."""
    reason = exc.strerror or str(exc)
    hint = {
        errno.EISDIR: f": give a file name inside it, e.g. {os.path.join(path, 'out.jsonl')}",
        errno.ENOENT: ": create the directory first",
        errno.EACCES: ": choose a path you can write, or fix the permissions",
        errno.ELOOP: ": the symlinks at that path form a loop",
    }.get(exc.errno or 0, "")
    error = OutputError(f"cannot write {path}: {reason}{hint}")
    error.errno = exc.errno
    return error


def _text(fd: int) -> IO[str]:
    """The one text encoding of every output: UTF-8, ``\\n`` line ends whatever the platform."""
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")


def _proc_fd(path: str) -> tuple[bool, int | None]:
    """Whether ``path`` leads through a ``/proc/PID/fd/N`` link, and N when PID is this process.

    Such links (``/dev/stdout``, ``/dev/fd/N`` and links to them) name an open
    descriptor, not a file: resolving one gives the path of whatever it has
    open, or a pseudo-name such as ``pipe:[123]``, so it must never be replaced.
    """
    here = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        parent, name = os.path.split(here)
        parent = os.path.realpath(parent)
        found = _PROC_FD_DIR.fullmatch(parent)
        if found and name.isdigit():
            return True, int(name) if int(found.group(1)) == os.getpid() else None
        here = os.path.join(parent, name)
        if not os.path.islink(here):
            return False, None
        here = os.path.join(parent, os.readlink(here))
    return False, None
