"""Image requests and answers in each dialect (docs/wire-format.md §1.7, §2.3, §3 rows 5-7, 17).

* AllToken: ``POST /images/generations/async`` -> ``202 {id: igen_...}``, then ``GET
  /images/generations/{id}`` until ``completed``; the first completed answer carries
  ``b64_json`` (once) and ``r2_url`` (kept >= 30 days).
* TokenHub: ``POST /images/generations`` answers at once; the body shape depends on the
  model family (§2.3): A (``wanx2.1-t2i-turbo``, flat, ``size`` as ``W*H``), B
  (``wan2.6-t2i``, DashScope ``input``/``parameters``), C (``gpt-image-2``, OpenAI
  style). The answer holds ``data`` or ``output``; URLs are temporary (~24 h).
* OpenAI-compatible: ``POST /images/generations`` answers ``data[{b64_json | url}]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from alltoken_agent.errors import UserError
from alltoken_agent.gateway._envelope import parse_retry_after
from alltoken_agent.media._wire import PollState, Route
from alltoken_agent.media.results import mapping

Quality = Literal["auto", "low", "medium", "high"]
ImageFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "opaque", "transparent"]
Moderation = Literal["auto", "low"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "quality": ("auto", "low", "medium", "high"),
    "output_format": ("png", "jpeg", "webp"),
    "background": ("auto", "opaque", "transparent"),
    "moderation": ("auto", "low"),
}
_SIZE = re.compile(r"^(\d{1,5})[x*](\d{1,5})$")
_TOKENHUB_SHAPES = {"wanx2.1-t2i-turbo": "A", "wan2.6-t2i": "B", "gpt-image-2": "C"}
_STATUSES = {"queued": "queued", "processing": "processing", "completed": "completed",
             "failed": "failed", "cancelled": "cancelled", "canceled": "cancelled"}  # fmt: skip

ALLTOKEN_ROUTE = Route(
    create_path="images/generations/async",
    task_id=lambda data: str(data["id"]) if data.get("id") else None,
    idempotent=True,
    dedupe_seconds=60.0,  # §1.1: a 60-second dedupe window on image create
    poll_path="images/generations/{task_id}",
)
SYNC_ROUTE = Route(
    create_path="images/generations",
    task_id=lambda data: None,  # answered at once: there is no task to poll
)


def check_options(model: str, options: Mapping[str, Any]) -> None:
    """Refuse bad image options before any request (§1.7 rules; §3 row 5: the SPEC's).

    Raises:
        UserError: A value is outside what the gateway accepts.
    """
    for name, allowed in _CHOICES.items():
        value = options.get(name)
        if value is not None and value not in allowed:
            raise UserError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    n = options.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10:
        raise UserError(f"n must be a whole number from 1 to 10, not {n!r}")
    if options.get("background") == "transparent" and options.get("output_format") == "jpeg":
        raise UserError(
            "a transparent background needs output_format png or webp (JPEG has no alpha)"
        )
    size = options.get("size")
    if size is None or size == "auto":
        return
    match = _SIZE.match(size) if isinstance(size, str) else None
    if match is None:
        raise UserError(f"size must be 'auto' or WIDTHxHEIGHT such as 1024x1024, not {size!r}")
    if "gpt-image" in model:
        _check_gpt_image_size(size, int(match[1]), int(match[2]))


def _check_gpt_image_size(size: str, width: int, height: int) -> None:
    if width % 16 or height % 16:
        raise UserError(f"size {size}: both sides must be multiples of 16 for gpt-image-2")
    if max(width, height) > 3840 or min(width, height) > 2160 or min(width, height) < 16:
        raise UserError(f"size {size}: at most 3840x2160 (or 2160x3840) for gpt-image-2")
    if max(width, height) > 3 * min(width, height):
        raise UserError(f"size {size}: the aspect ratio must be between 1:3 and 3:1")


def tokenhub_shape(model: str) -> str:
    """TokenHub's body shape for an image model (§2.3): A, B or C, by family; C if unknown.

    ``tokenhub/gpt-image-2`` is ``gpt-image-2``: the provider prefix is ignored (§2.1).
    """
    bare = model.rsplit("/", 1)[-1]
    if bare in _TOKENHUB_SHAPES:
        return _TOKENHUB_SHAPES[bare]
    return "A" if bare.startswith("wanx") else "B" if bare.startswith("wan") else "C"


def request_body(
    dialect: str, model: str, prompt: str, options: Mapping[str, Any]
) -> dict[str, Any]:
    """The create body for this dialect; options left as None are not sent."""
    given = {k: v for k, v in options.items() if v is not None}
    if dialect != "tokenhub":
        return {"model": model, "prompt": prompt, **given}
    shape = tokenhub_shape(model)
    size = given.pop("size", None)
    star = None if size in (None, "auto") else str(size).replace("x", "*")
    n = given.get("n")
    if shape == "A":
        return _drop_none({"model": model, "prompt": prompt, "size": star, "n": n})
    if shape == "B":
        parameters = _drop_none({"size": star, "n": n, "watermark": given.get("watermark")})
        messages = [{"role": "user", "content": [{"text": prompt}]}]
        return {"model": model, "input": {"messages": messages}, "parameters": parameters}
    # Shape C is OpenAI-style; TokenHub documents only these fields for it (§2.3).
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    if size is not None:
        body["size"] = size
    for name in ("n", "output_format", "watermark", "response_format"):
        if name in given:
            body[name] = given[name]
    return body


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def read_poll(data: Mapping[str, Any], headers: httpx.Headers) -> PollState:
    """Normalise an AllToken image poll answer.

    The wait hint is ``next_poll_after_ms`` when present, else ``Retry-After``.
    """
    remote = str(data.get("status") or "")
    hint_ms = data.get("next_poll_after_ms")
    hint = (
        hint_ms / 1000
        if isinstance(hint_ms, (int, float)) and not isinstance(hint_ms, bool) and hint_ms >= 0
        else parse_retry_after(headers.get("retry-after"))
    )
    error = mapping(data.get("error"))
    return PollState(
        status=_STATUSES.get(remote.lower(), "unknown"),
        remote=remote or None,
        hint=hint,
        error_code=error.get("code"),
        error_message=error.get("message"),
    )


@dataclass(frozen=True)
class ImageItem:
    """One image of an answer: its bytes (``b64_json``) and/or where to fetch it."""

    b64_json: str | None = None
    url: str | None = None
    """The provider's URL (TokenHub's temporary links; AllToken's upstream URL)."""
    r2_url: str | None = None
    """AllToken's durable copy (>= 30 days)."""
    r2_url_expires_at: str | None = None
    mime_type: str | None = None

    @property
    def source(self) -> str | None:
        """Where to download the image when its bytes did not come inline."""
        return self.r2_url or self.url

    def to_journal(self) -> dict[str, Any]:
        """What the journal keeps (never the bytes)."""
        return {
            "url": self.url,
            "r2_url": self.r2_url,
            "r2_url_expires_at": self.r2_url_expires_at,
            "mime_type": self.mime_type,
        }

    @classmethod
    def from_journal(cls, data: Mapping[str, Any]) -> ImageItem:
        """Rebuild an item from the journal (no bytes)."""
        return cls(
            url=data.get("url"),
            r2_url=data.get("r2_url"),
            r2_url_expires_at=data.get("r2_url_expires_at"),
            mime_type=data.get("mime_type"),
        )


def image_items(data: Mapping[str, Any]) -> list[ImageItem]:
    """The images of a completed answer, from ``data`` or (DashScope) ``output`` (§3 row 17)."""
    items = [
        ImageItem(
            b64_json=entry.get("b64_json") or None,
            url=entry.get("url") or None,
            r2_url=entry.get("r2_url") or None,
            r2_url_expires_at=entry.get("r2_url_expires_at") or None,
            mime_type=entry.get("mime_type") or None,
        )
        for entry in data.get("data") or ()
        if isinstance(entry, Mapping)
    ]
    output = data.get("output")
    if not items and isinstance(output, Mapping):
        for choice in output.get("choices") or ():
            content = (
                (choice.get("message") or {}).get("content")
                if isinstance(choice, Mapping)
                else None
            )
            for part in content or ():
                if isinstance(part, Mapping) and isinstance(part.get("image"), str):
                    items.append(ImageItem(url=part["image"]))
        for entry in output.get("results") or ():  # DashScope's older task results
            if isinstance(entry, Mapping) and isinstance(entry.get("url"), str):
                items.append(ImageItem(url=entry["url"]))
    return items
