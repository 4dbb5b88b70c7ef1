"""What the simulated model sees of the images in a message, as a real vision model would.

Inline images (`data:` URLs) are decoded with Pillow, header only, so the reply can
say what arrived: `You sent 1 image (PNG, 64x64).` The simulator is offline, so an
http(s) image is not fetched; the reply says so instead of pretending to see it.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from typing import Any, Final

from PIL import Image, UnidentifiedImageError

MAX_DECODED: Final = 32 * 1024 * 1024
"""Data URLs longer than this are not decoded (the gateway limits are far lower)."""


def image_urls(message: Mapping[str, Any]) -> list[str]:
    """The URLs of a message's `image_url` parts, in order."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    urls: list[str] = []
    for part in content:
        if isinstance(part, Mapping) and part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else None
            if isinstance(url, str):
                urls.append(url)
    return urls


def describe(url: str) -> str:
    """One image as the simulated model reports it: `PNG, 64x64`, or why it cannot."""
    if not url[:5].lower() == "data:":
        return "a URL the offline simulator does not fetch"
    header, _, payload = url.partition(",")
    if not header.lower().endswith(";base64") or len(payload) > MAX_DECODED:
        return "an inline image the simulator could not decode"
    try:
        data = base64.b64decode(payload, validate=True)
        with Image.open(io.BytesIO(data)) as picture:
            return f"{picture.format}, {picture.width}x{picture.height}"
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError):
        return "an inline image the simulator could not decode"


def seen_images(message: Mapping[str, Any]) -> str:
    """The sentence the reply adds about the message's images ("" when it has none)."""
    urls = image_urls(message)
    if not urls:
        return ""
    noun = "image" if len(urls) == 1 else "images"
    return f"You sent {len(urls)} {noun} ({'; '.join(describe(u) for u in urls)})."
