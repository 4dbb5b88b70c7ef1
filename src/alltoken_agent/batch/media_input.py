"""Media lines of a batch: one image or video job per line, checked before anything runs.

A media line's journaled request holds ``kind``, ``prompt``, ``id``, ``model`` (None: the
media default), ``options`` (the job's create fields) and ``media_dir`` (the folder its
files go to, absolute); once the job is made, its ``job_id`` too (see
:meth:`~alltoken_agent.store.batches.BatchRepository.attach_job`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from alltoken_agent.errors import UserError
from alltoken_agent.store.batches import NewItem

MediaKind = Literal["image", "video"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "video")
KINDS = ("chat", *MEDIA_KINDS)
"""What a line may run: ``chat`` (an agent turn, the default), an image or a video job."""

MEDIA_OPTIONS: dict[str, dict[str, type]] = {
    "image": {
        "size": str,
        "quality": str,
        "output_format": str,
        "n": int,
        "background": str,
        "moderation": str,
        "seed": int,
    },
    "video": {
        "duration": int,
        "ratio": str,
        "resolution": str,
        "generate_audio": bool,
        "seed": int,
        "watermark": bool,
    },
}
"""The create fields a media line may set, by kind, with their JSON type; the job's own
checks (sizes, durations a model takes) run when the line runs, before it is sent."""

_ALIASES = {"format": "output_format"}
"""Line keys spelled as the ``image`` command's flags."""


def media_folder(path: str | os.PathLike[str]) -> str:
    """An absolute folder target (ending in a separator), as the media journal keeps them."""
    return str(Path(path).expanduser().absolute()) + os.sep


def media_request(
    data: Mapping[str, Any],
    kind: MediaKind,
    *,
    ident: str | int | None,
    model: str | None,
    media_dir: str,
) -> dict[str, Any]:
    """The journaled request of a media line from its JSON object (``prompt`` checked).

    Raises:
        UserError: An unknown key, or a value of the wrong type.
    """
    allowed = MEDIA_OPTIONS[kind]
    options: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("prompt", "id", "model", "kind"):
            continue
        name = _ALIASES.get(key, key)
        if name not in allowed:
            known = ", ".join(sorted({"prompt", "id", "model", "kind", *allowed}))
            raise UserError(f"unknown key {key!r} for a {kind} line; it may have: {known}")
        if value is None:
            continue
        wanted = allowed[name]
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise UserError(f"{key} must be {_TYPE_NAMES[wanted]}")
        options[name] = value
    return {
        "kind": kind,
        "prompt": data["prompt"],
        "id": ident,
        "model": model,
        "options": options,
        "media_dir": media_dir,
    }


_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false"}


def media_batch(
    data: bytes,
    prompts: Sequence[tuple[int, str]],
    kind: MediaKind,
    *,
    model: str | None,
    options: Mapping[str, Any],
    media_dir: str,
) -> tuple[str, list[NewItem]]:
    """The run id and journal items of an ``image``/``video --batch FILE --queue``.

    ``prompts`` are the file's prompts with their line numbers; the run id hashes the
    file's bytes and the settings, so queueing the same file with the same flags again
    finds the run already queued (nothing is queued, nor paid, twice).
    """
    settings = {"kind": kind, "model": model, "options": dict(options), "media_dir": media_dir}
    identity = json.dumps(
        {"input": hashlib.sha256(data).hexdigest(), "media": settings},
        sort_keys=True,
        ensure_ascii=True,
        default=str,
    )
    run_id = "bat_" + hashlib.sha256(identity.encode()).hexdigest()[:32]
    given = {key: value for key, value in options.items() if value is not None}
    items = [
        NewItem(
            line=line,
            request={
                "kind": kind,
                "prompt": prompt,
                "id": None,
                "model": model,
                "options": given,
                "media_dir": media_dir,
            },
        )
        for line, prompt in prompts
    ]
    return run_id, items
