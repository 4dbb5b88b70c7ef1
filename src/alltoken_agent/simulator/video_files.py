"""The simulated video files: tiny real clips shipped in `assets/`, and last frames.

`assets/clip.mp4` and `assets/clip.mov` are 1-second, 160x90, 8 fps H.264 clips (MP4 and
QuickTime containers, `moov` before `mdat`) made once with PyAV; `assets/README.md`
says how. Every simulated video is one of them whatever its requested resolution or
duration (invented: the files stay a few KB). Last frames are PNGs of the task's size.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Final

from alltoken_agent.simulator.imaging import render_image

VIDEO_TYPES: Final[dict[str, str]] = {"mp4": "video/mp4", "mov": "video/quicktime"}
"""Container -> `Content-Type` served."""


@functools.cache
def video_bytes(container: str) -> bytes:
    """Return the bytes of the shipped clip for `mp4` or `mov`."""
    assets = resources.files("alltoken_agent.simulator") / "assets"
    return (assets / f"clip.{container}").read_bytes()


def last_frame(seed: str, width: int, height: int) -> bytes:
    """Render a "last frame" PNG (deterministic per seed)."""
    return render_image(f"last-frame|{seed}", width, height, "png")
