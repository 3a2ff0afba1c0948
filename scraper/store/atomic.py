"""Replacing a file so that a reader, a crash or a power cut never leaves half of it.

Why one class: the ``-o`` output file, the distributed manifest and every partition are all
written the same way (a temporary file beside the target, fsync, rename, fsync the
directory), and the copies had drifted apart (one did not make the rename durable, two
created their files 0600 whatever the umask).  :class:`AtomicReplacement` is that one way.

What it guarantees:

* The new content appears in one ``rename(2)``: a reader sees the old file or the new one.
  The temporary file is in the target's own directory, because a rename across
  filesystems is a copy, not atomic.
* After :meth:`~AtomicReplacement.commit` returns, the content and the rename are on disk:
  the file is fsynced before the rename and the directory after it.
* On any failure (the writer raises, fsync or rename fails, :meth:`~AtomicReplacement.discard`
  is called) the temporary file is removed and the target is untouched.  Only a killed
  process leaves one behind, named ``prefix + random + suffix`` so its owner can sweep it.
* The replacement ends up as ``open(target, "w")`` would have left it: a new file gets
  ``0666`` less the umask (or the directory's default ACL), an existing one keeps its mode
  and, where the OS lets us, its owner and group; a target we may not write is refused, not
  silently replaced (a rename needs only the directory's permission, which is not the
  user's intent).  A symlink stays a link: the file it points to is replaced.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from types import TracebackType
from typing import IO

__all__ = ["AtomicReplacement"]

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_NAME_ATTEMPTS = 100


class AtomicReplacement:
    """A temporary file beside ``target`` that takes the target's place on :meth:`commit`.

    The temporary file exists (empty) once the object is made.  Write it through
    :meth:`open_text` or :meth:`open_binary`, never by reopening :attr:`path`: the descriptor
    made with the file is the one that may write it whatever mode it was given (a target
    that is 0444, or a umask of 0277, would refuse a second open).  As a context manager it
    commits when the block ends normally and discards when the block raises.
    """

    def __init__(self, target: str | os.PathLike[str], *, prefix: str, suffix: str = ".tmp") -> None:
        self.target = os.path.realpath(target)
        """The file that will be replaced: ``target`` with its symlinks followed."""
        self.path, self._fd = _create_temp(self.target, prefix, suffix)
        """The temporary file (for names in messages and sweeping; write through open_text/open_binary)."""
        self._files: list[IO[str] | IO[bytes]] = []
        self._finished = False

    def open_text(self) -> IO[str]:
        """A text file on the temporary file: UTF-8 with ``\n`` line ends, the encoding of every output."""
        text = os.fdopen(self._dup(), "w", encoding="utf-8", newline="\n")
        self._files.append(text)
        return text

    def open_binary(self) -> IO[bytes]:
        """A binary file on the temporary file, for writers that encode themselves (pyarrow)."""
        binary = os.fdopen(self._dup(), "wb")
        self._files.append(binary)
        return binary

    def commit(self) -> None:
        """Make what was written the target, durably; on any failure remove the temporary file and raise.

        Files from open_text/open_binary still open are closed (so flushed) first; a full disk
        shows there, or at the fsync, and the target stays as it was.
        """
        if self._finished:
            raise RuntimeError(f"{self.path} was already committed or discarded")
        try:
            self._close_files()
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            os.replace(self.path, self.target)
        except BaseException:
            self.discard()
            raise
        self._finished = True
        _fsync_directory(os.path.dirname(self.target))

    def discard(self) -> None:
        """Remove the temporary file, leaving the target as it was; a no-op once committed or discarded."""
        if self._finished:
            return
        self._finished = True
        try:
            self._close_files()
        except OSError:
            pass  # unwritten data of a file being thrown away
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> AtomicReplacement:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is None and not self._finished:
            self.commit()
        else:
            self.discard()

    def _dup(self) -> int:
        """A descriptor of our own file for one writer, which may close it; ours stays open to fsync."""
        if self._finished:
            raise RuntimeError(f"{self.path} was already committed or discarded")
        return os.dup(self._fd)

    def _close_files(self) -> None:
        """Close (and so flush) every file handed out; the first failure is raised after all are closed."""
        files, self._files = self._files, []
        failure: BaseException | None = None
        for file in files:
            try:
                file.close()
            except BaseException as exc:  # noqa: BLE001 - raised below, after the others are closed
                failure = failure or exc
        if failure is not None:
            raise failure


def _create_temp(target: str, prefix: str, suffix: str) -> tuple[str, int]:
    """Create the temporary file beside ``target`` with the mode the target must end with; (path, descriptor).

    A new target gets ``0666`` and the kernel applies the umask (or a default ACL) exactly as
    for ``open()``.  For an existing one the file starts 0600, so nobody can open it before it
    has the target's owner and mode.
    """
    try:
        like: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        like = None
    if like is not None and not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "permission denied", target)
    directory = os.path.dirname(target)
    for _ in range(_NAME_ATTEMPTS):
        path = os.path.join(directory, f"{prefix}{secrets.token_hex(6)}{suffix}")
        try:
            fd = os.open(path, _TEMP_FLAGS, 0o666 if like is None else 0o600)
        except FileExistsError:
            continue
        try:
            if like is not None:
                _copy_owner_and_mode(fd, like)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        return path, fd
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


def _copy_owner_and_mode(fd: int, like: os.stat_result) -> None:
    """Give the replacement the old file's owner and group where permitted, then its mode.

    chown first: it may clear set-user-ID and set-group-ID bits, which fchmod then restores.
    """
    if (like.st_uid, like.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, like.st_uid, like.st_gid)
        except PermissionError:
            try:
                os.fchown(fd, -1, like.st_gid)  # a member of the group may keep the group
            except PermissionError:
                pass
    os.fchmod(fd, stat.S_IMODE(like.st_mode))


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable; filesystems that cannot sync a directory are let off."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)
