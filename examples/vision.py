"""Vision: ask about a picture, as in the README's ``image("photo.jpg")`` line.

The list ``["What is in this picture?", image(path)]`` goes out as two content parts,
``{"type": "text", ...}`` and ``{"type": "image_url", ...}``: the shape AllToken's own
request model accepts. Pass a PNG, JPEG, GIF or WebP file; without one, a small sample
picture is drawn in a temporary folder.

Run it with ``ALLTOKEN_API_KEY`` set to ask a real vision model, or without a key to
run on the built-in offline simulator, whose reply says which image it received::

    python examples/vision.py [photo.jpg]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image

from alltoken_agent import Agent, Gateway, image


def open_gateway() -> Gateway:
    """AllToken when ALLTOKEN_API_KEY is set, else the built-in offline simulator."""
    if os.environ.get("ALLTOKEN_API_KEY"):
        return Gateway()
    print("no ALLTOKEN_API_KEY: running on the offline simulator", file=sys.stderr)
    return Gateway.offline()


def sample_photo(folder: Path) -> Path:
    """A 64x48 JPEG: a blue sky over green grass."""
    picture = Image.new("RGB", (64, 48), "skyblue")
    picture.paste((34, 139, 34), (0, 30, 64, 48))
    path = folder / "photo.jpg"
    picture.save(path, "JPEG")
    return path


async def ask(photo: Path) -> None:
    async with open_gateway() as gateway:
        # A model that takes image input (modality "vision" in the catalog).
        agent = Agent("qwen3.6-flash", gateway=gateway, tools=[])
        print(await agent.send(["What is in this picture?", image(photo)]))
        sent = agent.get_messages()[-2]["content"]
        print("sent parts:", [part["type"] for part in sent])


def main() -> None:
    if len(sys.argv) > 1:
        asyncio.run(ask(Path(sys.argv[1])))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(ask(sample_photo(Path(folder))))


if __name__ == "__main__":
    main()
