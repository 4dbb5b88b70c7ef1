"""Message content parts: text and images, and user content in the shape the spec wants.

A list given as a message holds strings, ``text(...)``/``image(...)`` parts, paths and
bytes; ``user_content`` turns it into content-part objects (docs/wire-format.md §1.3),
because a bare string inside a content list is a 400 on AllToken.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from alltoken_agent._content_parts import (
    image_url_part,
    is_data_image_url,
    repair_part,
    text_part,
)
from alltoken_agent.errors import UserError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Gateways reject larger inline images; fail early with a clear message instead."""

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
IMAGE_URL_PATTERN = (
    rf"^(?:https?://(?:{_LABEL}\.)*{_TOP}(?::[1-9][0-9]{{0,3}})?"
    r"(?:[/?#][A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?"
    r"|data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2})$"
)
"""An image a remote caller may send (server, MCP): an http(s) URL or an inline
``data:image`` URL, never a path. Narrower than URLs in general on purpose: every
string it matches is a URL the spec's ``image_url.url`` (pydantic ``AnyUrl``) accepts,
so a request the front end lets through is never a 400 at the gateway."""

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
    source: str | Path | bytes, *, detail: Literal["auto", "low", "high"] | None = None
) -> dict[str, Any]:
    """Build an ``image_url`` content part from a URL, a local file or image bytes.

    Local files and bytes are sent inline as ``data:`` URLs, which chat completions on
    these gateways accept.

    Args:
        source: An ``http(s)://`` or ``data:`` URL, a path to a PNG, JPEG, GIF or WebP
            file, or the bytes of one.
        detail: Optional resolution hint for the model.

    Raises:
        UserError: The file is missing, unreadable, too large or not an image.
    """
    if isinstance(source, bytes):
        return image_url_part(_data_url(source, "the bytes given are"), detail)
    text = str(source)
    if isinstance(source, str) and text.startswith(("http://", "https://", "data:")):
        return image_url_part(text, detail)
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
    return image_url_part(_data_url(data, f"{path} is"), detail)


def _data_url(data: bytes, subject: str) -> str:
    """``data`` as a ``data:`` URL; ``subject`` starts the error messages ("x.png is")."""
    if len(data) > MAX_IMAGE_BYTES:
        raise UserError(
            f"{subject} {len(data) / 1e6:.1f} MB; the limit for inline images is "
            f"{MAX_IMAGE_BYTES / 1e6:.0f} MB: pass a public URL instead"
        )
    mime = _sniff(data)
    if mime is None:
        raise UserError(f"{subject} not a PNG, JPEG, GIF or WebP image")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def text(value: str) -> dict[str, Any]:
    """Build a ``text`` content part."""
    return text_part(value)


def user_content(content: Any) -> str | list[dict[str, Any]]:
    """The content of a user message, in the shape the chat spec accepts.

    A string stays a string. A list (or tuple) becomes content parts: strings become
    text parts (a whole ``data:image/...`` URL becomes an image part), ``Path`` objects
    and bytes are read as images, and parts built by ``text()``/``image()`` or written
    by hand pass (a typeless ``{"text": ...}`` gets its type). A single part, path or
    bytes is a one-part list.

    Raises:
        UserError: The message is empty, or an item is neither text nor an image; the
            message names the item.
    """
    if isinstance(content, str):
        if not content.strip():
            raise UserError("the message is empty")
        return content
    if isinstance(content, (Mapping, Path, bytes)):
        content = [content]
    if not isinstance(content, (list, tuple)):
        raise UserError(
            f"a message is a string or a list of parts, not {type(content).__name__}; "
            "use text(...) and image(...) for the parts"
        )
    parts = [_part(item, index) for index, item in enumerate(content)]
    if not parts or all(p["type"] == "text" and not p["text"].strip() for p in parts):
        raise UserError("the message is empty")
    return parts


def _part(item: Any, index: int) -> dict[str, Any]:
    if isinstance(item, str) and is_data_image_url(item.strip()):
        return image(item.strip())
    if isinstance(item, (Path, bytes)):
        return image(item)
    part = repair_part(item)
    if part is None:
        what = type(item).__name__
        if isinstance(item, Mapping):
            what = f"a part of type {item.get('type')!r}"
        raise UserError(
            f"message part {index} is {what}; a part is text (a string or text(...)) "
            "or an image (image(path_or_url) or a Path)"
        )
    return part
