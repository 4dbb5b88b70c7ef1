"""`alltoken-agent image`: generate images (one prompt, or a batch file), saved to disk."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from alltoken_agent.cli._media_command import media_command


@media_command(
    "image",
    prompt_help="What to draw; read from stdin if omitted.",
    # The media package (and the store behind it) is not imported for --help, so the
    # default is named here; a test checks it against DEFAULT_IMAGE_MODEL.
    model_help="Image model.  [default: gpt-image-2]",
    concurrency=4,
)
def image(
    size: Annotated[
        str | None,
        typer.Option(
            help="auto or WIDTHxHEIGHT, e.g. 1024x1024 (gpt-image-2: multiples of 16).",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        Literal["auto", "low", "medium", "high"] | None,
        typer.Option(help="Rendering quality.", show_default=False),
    ] = None,
    fmt: Annotated[
        Literal["png", "jpeg", "webp"] | None,
        typer.Option(
            "--format",
            help="File format (default: from -o's extension, else png).",
            show_default=False,
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", "-n", min=1, max=10, help="Images per prompt.")] = 1,
    background: Annotated[
        Literal["auto", "opaque", "transparent"] | None,
        typer.Option(help="transparent needs png or webp.", show_default=False),
    ] = None,
    moderation: Annotated[
        Literal["auto", "low"] | None,
        typer.Option(help="Content moderation level (low: less strict).", show_default=False),
    ] = None,
    *,
    model: str | None,
) -> dict[str, Any]:
    """Generate images and save them; the saved paths are printed on stdout.

    Every job is journaled before it is submitted: if the command is interrupted
    the job stays pending and `alltoken-agent jobs resume JOB_ID` saves the result
    without paying again.

    \b
    Examples:
      alltoken-agent image "a red fox in snow" -o fox.png
      alltoken-agent image "a lighthouse at dusk" --size 1536x1024 --quality high -o out/
      alltoken-agent image --batch prompts.txt --concurrency 8 -o out/ --json
      alltoken-agent image --batch prompts.txt --queue -o out/   # made by `worker`s
      alltoken-agent image --provider tokenhub -m wan2.6-t2i "a paper crane"
    """
    from alltoken_agent.media import DEFAULT_IMAGE_MODEL

    return {
        "model": model or DEFAULT_IMAGE_MODEL,
        "size": size,
        "quality": quality,
        "output_format": fmt,
        "n": n,
        "background": background,
        "moderation": moderation,
    }
