"""`alltoken-agent video`: generate videos, streamed to disk as soon as they are ready."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import typer

from alltoken_agent.cli._media_command import media_command


def _check_callback_url(value: str | None) -> str | None:
    """Accept only an http(s) URL with a host (docs/wire-format.md §1.9: a URI)."""
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in value)
    ):
        # The value is not echoed: a pasted secret must not be printed back.
        raise typer.BadParameter("it must be an http:// or https:// URL with a host")
    return value


@media_command(
    "video",
    prompt_help="What should happen; read from stdin if omitted.",
    model_help="Video model (default: seedance-1.5-pro on AllToken, happyhorse-1.0-t2v on "
    "TokenHub).",
    concurrency=2,
)
def video(
    duration: Annotated[
        int | None,
        typer.Option(
            help="Seconds (range depends on the model; -1: the model picks).", show_default=False
        ),
    ] = None,
    ratio: Annotated[
        Literal["16:9", "9:16", "4:3", "3:4", "21:9", "1:1", "adaptive"] | None,
        typer.Option(help="Aspect ratio.", show_default=False),
    ] = None,
    resolution: Annotated[
        Literal["480p", "720p", "1080p"] | None,
        typer.Option(help="Output resolution.", show_default=False),
    ] = None,
    audio: Annotated[
        bool | None,
        typer.Option(
            "--audio/--no-audio", help="Ask for (or against) a soundtrack.", show_default=False
        ),
    ] = None,
    first_frame: Annotated[
        str | None,
        typer.Option(
            "--first-frame",
            metavar="FILE|URL",
            show_default=False,
            help="Image the video starts from: a local PNG/JPEG/WebP (uploaded) "
            "or a public https URL.",
        ),
    ] = None,
    last_frame: Annotated[
        str | None,
        typer.Option(
            "--last-frame", metavar="FILE|URL", show_default=False, help="Image the video ends on."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=-(2**63),
            max=2**63 - 1,
            help="Reproducibility seed (a 64-bit integer).",
            show_default=False,
        ),
    ] = None,
    watermark: Annotated[
        bool | None,
        typer.Option(
            "--watermark/--no-watermark",
            help="Ask for (or against) the provider's watermark.",
            show_default=False,
        ),
    ] = None,
    callback_url: Annotated[
        str | None,
        typer.Option(
            "--callback-url",
            metavar="URL",
            callback=_check_callback_url,
            help="http(s) URL the gateway calls when the task ends.",
            show_default=False,
        ),
    ] = None,
    *,
    model: str | None,
) -> dict[str, Any]:
    """Generate a video and save it; the saved path is printed on stdout.

    The job is journaled before it is submitted, and the file is streamed to disk
    the moment the task completes (its link is temporary). If the command is
    interrupted, `alltoken-agent jobs resume JOB_ID` finishes it without paying again.

    \b
    Examples:
      alltoken-agent video "a fox runs through snow" --duration 5 -o fox.mp4
      alltoken-agent video "the fox turns around" --first-frame fox.png --ratio 16:9
      alltoken-agent video --batch scenes.txt -o clips/ --json
      alltoken-agent video --provider tokenhub -m wan2.7-t2v "rain on a tin roof"
    """
    return {
        "model": model,
        "duration": duration,
        "ratio": ratio,
        "resolution": resolution,
        "generate_audio": audio,
        "first_frame": _frame(first_frame),
        "last_frame": _frame(last_frame),
        "seed": seed,
        "watermark": watermark,
        "callback_url": callback_url,
    }


def _frame(value: str | None) -> str | Path | None:
    """A URL stays text; anything else is a file path (checked by the library)."""
    if value is None or "://" in value or value.startswith("data:"):
        return value
    return Path(value)
