"""A generated image or video: a small preview where possible, and always the saved path."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.style import Style
from textual.widgets import Static

from alltoken_agent.tui.preview import half_block_preview

PREVIEW_COLOURS = frozenset({"256", "truecolor"})
"""Colour systems in which a half-block preview is recognisable."""


class MediaResult(Vertical):
    """The files a media job saved: images previewed inline, every file as a link."""

    def __init__(self, kind: str, prompt: str, paths: list[Path]) -> None:
        super().__init__()
        self.kind = kind
        self.paths = paths
        self.previews = 0
        """How many images got a preview."""
        self.border_title = f"{kind} · {prompt[:40]}"

    def compose(self) -> ComposeResult:
        """A preview per image (in a terminal with enough colours), then the saved path."""
        colourful = self.app.console.color_system in PREVIEW_COLOURS
        for path in self.paths:
            art = half_block_preview(path) if colourful and self.kind == "image" else None
            if art is not None:
                self.previews += 1
                yield Static(art, classes="media-preview")
            # A resumed session's file may have been moved or deleted since.
            gone = ("  (no longer there)", "dim") if not path.exists() else ""
            link = Content.assemble(
                ("saved ", "dim"), (str(path), Style(link=path.resolve().as_uri())), gone
            )
            yield Static(link, classes="media-path")
