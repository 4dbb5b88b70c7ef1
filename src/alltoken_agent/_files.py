"""The one atomic file write: a reader sees no file or the whole file, never half of one.

Every file is written to a hidden temporary file in the target folder, flushed to disk
(``fsync``), then moved into place (atomic on POSIX and Windows), and the folder entry
is flushed too. With ``replace=False`` a file already at the target is never replaced:
the new one takes the first free name beside it (``fox-1.png``, ``fox-2.png``, ...),
by a hard link, which fails rather than replace, so a file that appears meanwhile
(another process, another job) is not lost either.

Used for everything we write whole: media results, the config file, installed skills
and MCP configs, `check` records and batch outputs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

FREE_NAME_TRIES = 1000
"""Names tried beside a taken target (``NAME-1.EXT`` up to ``NAME-999.EXT``)."""


def write_atomic(
    path: Path, data: bytes | str, *, replace: bool = True, mode: int | None = None
) -> Path:
    """Write ``data`` at ``path`` all at once (temp file, fsync, move, fsync the folder).

    Text is written as UTF-8, as given (no newline translation). ``mode``: the file's
    permission bits; without it a replaced file keeps its own (a config someone made
    owner-only stays so) and a new file gets the process's default.

    Returns:
        Where the file is: ``path``, or a free name beside it when ``replace`` is
        False and ``path`` was taken.

    Raises:
        OSError: The folder cannot be made or the file written (nothing is left behind).
    """
    with PartFile(path) as part:
        part.write(data.encode("utf-8") if isinstance(data, str) else data)
        if mode is None and replace:
            with contextlib.suppress(OSError):  # no file there yet
                mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode is not None:
            os.chmod(part.temp, mode)
        return part.commit(replace=replace)


def beside(path: Path, number: int) -> Path:
    """``NAME-NUMBER.EXT`` next to ``path``."""
    return path.with_name(f"{path.stem}-{number}{path.suffix}")


class PartFile:
    """A file being written next to its target, renamed into place by :meth:`commit`.

    Leaving the ``with`` block without a commit deletes the partial file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        self._file: BinaryIO = open(self.temp, "xb")  # closed by commit or discard
        self.size = 0
        self._done = False

    def write(self, data: bytes) -> None:
        """Append bytes."""
        self._file.write(data)
        self.size += len(data)

    def commit(self, *, replace: bool = True) -> Path:
        """Flush to disk and move the file into place; return where it went.

        ``replace=False`` keeps a file already at the target and takes the first free
        name beside it (``self.path`` is updated).

        Raises:
            FileExistsError: Every name tried was taken.
        """
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if replace:
            os.replace(self.temp, self.path)
        else:
            self.path = self._link_free_name()
            with contextlib.suppress(FileNotFoundError):  # moved, without hard links
                self.temp.unlink()
        self._done = True
        _sync_folder(self.path.parent)
        return self.path

    def _link_free_name(self) -> Path:
        for number in range(FREE_NAME_TRIES):
            candidate = self.path if number == 0 else beside(self.path, number)
            try:
                os.link(self.temp, candidate)  # fails if the name is taken: no clobbering
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: check, then move
                if candidate.exists():
                    continue
                os.replace(self.temp, candidate)
            return candidate
        raise FileExistsError(
            errno.EEXIST, f"{self.path} and {FREE_NAME_TRIES - 1} names beside it are taken"
        )

    def discard(self) -> None:
        """Drop the partial file."""
        if not self._file.closed:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()

    def __enter__(self) -> PartFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._done:
            self.discard()


def _sync_folder(folder: Path) -> None:
    """Flush a folder entry (the rename) to disk where the OS allows it."""
    if os.name != "posix":  # pragma: no cover - Windows cannot open a folder for fsync
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
