"""Inline image previews drawn with half-block characters.

Every colour terminal can show these (each cell is two pixels: ``▀`` in the upper
pixel's colour on the lower pixel's). Pillow decodes the file; without it, or for a
file it cannot read, there is no preview and the app shows the saved path alone.
"""

from __future__ import annotations

from pathlib import Path

from textual.content import Content

PREVIEW_COLUMNS = 32
"""Width of a preview in terminal cells."""


def half_block_preview(path: Path, columns: int = PREVIEW_COLUMNS) -> Content | None:
    """A small colour preview of the image at ``path``, or None when it cannot be drawn."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except (OSError, ValueError):
        return None
    width, height = rgb.size
    if width == 0 or height == 0:
        return None
    columns = max(1, min(columns, width))
    rows = max(2, round(height * columns / width / 2) * 2)
    small = rgb.resize((columns, rows))
    pixels = small.load()
    assert pixels is not None
    parts: list[str | tuple[str, str]] = []
    for y in range(0, rows, 2):
        if y:
            parts.append("\n")
        for x in range(columns):
            top, bottom = pixels[x, y], pixels[x, y + 1]
            parts.append(("▀", f"{_hex(top)} on {_hex(bottom)}"))
    return Content.assemble(*parts)


def _hex(pixel: object) -> str:
    if isinstance(pixel, tuple) and len(pixel) >= 3:
        red, green, blue = (int(c) for c in pixel[:3])
        return f"#{red:02x}{green:02x}{blue:02x}"
    return "#000000"
