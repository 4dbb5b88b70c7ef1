"""Real, decodable, deterministic images for the media endpoints (Pillow).

An image is an 8x8 mosaic whose colours (and, when transparent, alpha values) come from a
SHA-256 of its seed text, scaled to the requested size with nearest-neighbour
resampling. Big flat blocks keep encoding fast (a 3840x2160 PNG takes a fraction of a
second) and files small. Files carry a "simulated" label in their metadata where the
format has a text field (PNG `tEXt`, JPEG comment); WebP has none here.
"""

from __future__ import annotations

import hashlib
import io
from typing import Final, Literal

from PIL import Image, PngImagePlugin

ImageFormat = Literal["png", "jpeg", "webp"]

MIME_TYPES: Final[dict[str, str]] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
"""Output format -> MIME type (§1.7 `mime_type`)."""

LABEL: Final = "alltoken-agent simulator: simulated image, not a model output"
_GRID: Final = 8


def _mosaic(seed: str, transparent: bool) -> Image.Image:
    digest = hashlib.sha256(seed.encode()).digest()
    stream = digest * ((_GRID * _GRID * 4) // len(digest) + 1)
    mode = "RGBA" if transparent else "RGB"
    tile = Image.new(mode, (_GRID, _GRID))
    pixels: list[tuple[int, ...]] = []
    for i in range(_GRID * _GRID):
        x, y = i % _GRID, i // _GRID
        # A diagonal gradient tinted by the seed, so images look like "something".
        red = (stream[i] // 2 + x * 16) % 256
        green = (stream[i + 1] // 2 + y * 16) % 256
        blue = (stream[i + 2] + (x + y) * 8) % 256
        if transparent:
            alpha = 0 if (x + y + stream[3]) % 3 == 0 else 128 + stream[i + 3] // 2
            pixels.append((red, green, blue, alpha))
        else:
            pixels.append((red, green, blue))
    tile.putdata(pixels)
    return tile


def render_image(
    seed: str,
    width: int,
    height: int,
    fmt: ImageFormat = "png",
    *,
    transparent: bool = False,
    compression: int | None = None,
) -> bytes:
    """Render one image and return its encoded bytes.

    Args:
        seed: Text the pattern derives from (same seed, same bytes).
        width: Pixels.
        height: Pixels.
        fmt: `png`, `jpeg` or `webp`.
        transparent: RGBA with transparent blocks (PNG/WebP only).
        compression: `output_compression` 0-100 for JPEG/WebP (None: upstream 100).

    Returns:
        The file bytes.

    Raises:
        ValueError: A transparent JPEG was asked for.
    """
    if transparent and fmt == "jpeg":
        raise ValueError("JPEG cannot carry transparency")
    image = _mosaic(seed, transparent).resize((width, height), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    level = 100 if compression is None else compression
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", LABEL)
        image.save(buffer, "PNG", compress_level=1, pnginfo=info)
    elif fmt == "jpeg":
        # Pillow's JPEG quality tops out usefully at 95; 100 is allowed but large.
        image.save(buffer, "JPEG", quality=max(1, min(level, 95)), comment=LABEL.encode())
    elif level >= 100:
        # invented mapping: compression 100 means no loss, so lossless WebP (also the
        # fastest encoder for flat blocks).
        image.save(buffer, "WEBP", lossless=True, quality=0, method=0)
    else:
        image.save(buffer, "WEBP", quality=max(1, level), method=0)
    return buffer.getvalue()
