"""Message content parts: text and images."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Literal

from alltoken_agent.errors import UserError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Gateways reject larger inline images; fail early with a clear message instead."""

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _sniff(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image(
    source: str | Path, *, detail: Literal["auto", "low", "high"] | None = None
) -> dict[str, Any]:
    """Build an ``image_url`` content part from a URL or a local file.

    Local files are read and sent inline as ``data:`` URLs, which chat
    completions on these gateways accept.

    Args:
        source: An ``http(s)://`` or ``data:`` URL, or a path to a PNG, JPEG,
            GIF or WebP file.
        detail: Optional resolution hint for the model.

    Raises:
        UserError: The file is missing, unreadable, too large or not an image.
    """
    text = str(source)
    if isinstance(source, str) and text.startswith(("http://", "https://", "data:")):
        url = text
    else:
        path = Path(source).expanduser()
        try:
            size = path.stat().st_size
            if path.is_dir():
                raise UserError(f"cannot read image {path}: it is a folder, not a file")
            if size > MAX_IMAGE_BYTES:
                raise UserError(
                    f"image {path} is {size / 1e6:.1f} MB; the limit for inline images is "
                    f"{MAX_IMAGE_BYTES / 1e6:.0f} MB: pass a public URL instead"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read image {path}: {exc.strerror}") from None
        mime = _sniff(data)
        if mime is None:
            raise UserError(f"{path} is not a PNG, JPEG, GIF or WebP image")
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    part: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if detail:
        part["image_url"]["detail"] = detail
    return part


def text(value: str) -> dict[str, Any]:
    """Build a ``text`` content part."""
    return {"type": "text", "text": value}
