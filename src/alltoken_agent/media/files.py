"""Where result files go, and writing them so that a crash never leaves half a file.

Every file is written whole by the package's one atomic write (``_files.py``: a reader
sees no file or the whole file). A file already at the target is never replaced unless
the job was made with ``overwrite``: the result goes to the first free name beside it
(``fox-1.png``, ``fox-2.png``, ...), without clobbering one that appears meanwhile.

A batch names its files after their prompts: the target ``out/003-a-red-fox.*`` (see
:func:`named_target`) means "this name, the extension of what the gateway returns",
which is only known once the result arrives.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

# Re-exported: media's callers write their results through the one atomic write.
from alltoken_agent._files import FREE_NAME_TRIES as FREE_NAME_TRIES
from alltoken_agent._files import PartFile as PartFile
from alltoken_agent._files import beside as beside
from alltoken_agent._files import write_atomic as write_atomic
from alltoken_agent.errors import UserError

MIME_EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}
"""File extension for each MIME type a gateway returns."""

FORMAT_MIME: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
}
"""MIME type for an ``output_format`` value or a file extension."""


def sniff_mime(data: bytes) -> str | None:
    """Recognise PNG, JPEG, WebP, GIF and MP4/MOV by their first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    return None


def output_target(save_to: str | os.PathLike[str] | None) -> str:
    """The absolute target journaled for a job: a file path, or a folder ending in ``/``.

    No ``save_to`` means the current folder. A path that is an existing folder, ends
    in a separator or has no file extension is a folder (created when the job saves).
    """
    if save_to is None:
        return str(Path.cwd()) + os.sep
    text = os.fspath(save_to)
    path = Path(text).expanduser().absolute()
    if path.is_dir() or text.endswith(("/", os.sep)) or not path.suffix:
        return str(path) + os.sep
    return str(path)


def check_target(target: str) -> None:
    """Refuse a journaled target no file can be saved at, before the job is paid for.

    The folder (or the file's folder) need not exist yet, but its nearest existing
    ancestor must be a folder we may write in: finding out after the gateway delivered
    a one-time result would lose it.

    Raises:
        UserError: An ancestor is a file, or the folder is not writable.
    """
    folder = Path(target) if is_folder(target) else Path(target).parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(
            f"cannot save to {target}: {existing} is a file, not a folder; "
            "choose another -o/save_to"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot save to {target}: no permission to write in {existing}; choose another "
            "-o/save_to"
        )


def is_folder(target: str) -> bool:
    """Whether a journaled target names a folder."""
    return target.endswith(("/", os.sep))


ANY_SUFFIX = ".*"
"""The suffix of a named target: the extension comes from the result's type."""

SLUG_WORDS = 5
SLUG_CHARS = 40


def prompt_slug(prompt: str, line: int) -> str:
    """A short file-name stem for a batch prompt: ``003-a-red-fox-in-snow``.

    The line number keeps names apart (and in file order) when prompts start alike;
    only ASCII letters and digits survive, so the name is safe on every file system.
    """
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())[:SLUG_WORDS]
    slug = "-".join(words)[:SLUG_CHARS].strip("-") or "prompt"
    return f"{line:03d}-{slug}"


def named_target(folder: str, stem: str) -> str:
    """The target for a file named ``STEM.EXT`` in ``folder`` (a journaled folder target)."""
    return str(Path(folder) / stem) + ANY_SUFFIX


def file_paths(target: str, job_id: str, extensions: list[str]) -> list[Path]:
    """The path of each result file of a job, in order.

    In a folder: ``JOB_ID.EXT``, or ``JOB_ID-1.EXT``, ``JOB_ID-2.EXT``... for several.
    At a file path: that path for one file; ``STEM-1.SUFFIX``... for several.
    At a named target (``STEM.*``): ``STEM.EXT``, or ``STEM-1.EXT``... for several.
    """
    count = len(extensions)
    if target.endswith(ANY_SUFFIX):
        stem = target[: -len(ANY_SUFFIX)]
        if count == 1:
            return [Path(f"{stem}.{extensions[0]}")]
        return [Path(f"{stem}-{i}.{ext}") for i, ext in enumerate(extensions, 1)]
    if is_folder(target):
        folder = Path(target)
        if count == 1:
            return [folder / f"{job_id}.{extensions[0]}"]
        return [folder / f"{job_id}-{i}.{ext}" for i, ext in enumerate(extensions, 1)]
    path = Path(target)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def extension_for(mime_type: str | None, fallback: str) -> str:
    """The file extension for a MIME type, else ``fallback``."""
    return MIME_EXTENSIONS.get((mime_type or "").split(";")[0].strip().lower(), fallback)
