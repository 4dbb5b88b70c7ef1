"""The ``generate_image`` and ``generate_video`` tools: media jobs saved to the media folder.

Jobs are journaled like the CLI's (local owner, in the server's store), so one left
unfinished (the call was cancelled, or the gateway kept failing) is finished later by
``alltoken-agent jobs resume``. While a job runs, its events go to the client as
progress notifications.
"""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ContentBlock, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from alltoken_agent import AllTokenAgentError, MediaFile
from alltoken_agent.mcp.context import ToolDeps
from alltoken_agent.mcp.errors import error_result, unexpected_result
from alltoken_agent.mcp.progress import JobProgress
from alltoken_agent.media import DEFAULT_IMAGE_MODEL, Media

IMAGE_DESCRIPTION = (
    "Generate an image from a prompt (default model gpt-image-2) and save it. Returns the "
    "saved file's path and the image itself. Takes 15-60 s on real models."
)
VIDEO_DESCRIPTION = (
    "Generate a video from a prompt (AllToken: seedance-1.5-pro by default) and save it as "
    "an MP4. Returns the saved file's path. Takes 30 s to several minutes; progress "
    "notifications report the job's status while it runs."
)


class SavedFile(BaseModel):
    """One saved result file."""

    path: str = Field(description="Absolute path of the file on the server's machine.")
    mime_type: str
    size: int = Field(description="Bytes.")


class MediaReply(BaseModel):
    """What the media tools return as structured content."""

    job_id: str = Field(description="The journal's job id (`alltoken-agent jobs show ID`).")
    model: str
    task_id: str | None = Field(description="The gateway's task id, when it has one.")
    paths: list[str] = Field(description="The saved files, in order.")
    files: list[SavedFile]


PromptArg = Annotated[str, Field(description="What to generate.", min_length=1)]
ImageModelArg = Annotated[
    str | None, Field(description=f"Image model id; {DEFAULT_IMAGE_MODEL} when omitted.")
]
SizeArg = Annotated[
    str | None,
    Field(description="`auto` or WIDTHxHEIGHT, e.g. 1024x1024 (gpt-image-2: multiples of 16)."),
]
QualityArg = Annotated[
    Literal["auto", "low", "medium", "high"] | None,
    Field(description="Rendering quality; the model's default when omitted."),
]
FormatArg = Annotated[
    Literal["png", "jpeg", "webp"] | None, Field(description="File format; png when omitted.")
]
VideoModelArg = Annotated[
    str | None, Field(description="Video model id; the gateway's default when omitted.")
]
DurationArg = Annotated[
    int | None, Field(description="Seconds of video (-1: the model picks); model ranges apply.")
]
RatioArg = Annotated[
    Literal["16:9", "9:16", "4:3", "3:4", "21:9", "1:1", "adaptive"] | None,
    Field(description="Aspect ratio."),
]
ResolutionArg = Annotated[Literal["480p", "720p", "1080p"] | None, Field(description="Resolution.")]


def register_media_tools(server: MCPServer[Any], deps: ToolDeps) -> None:
    """Add ``generate_image`` and ``generate_video`` to ``server``."""

    async def generate_image(
        ctx: Context[Any, Any],
        prompt: PromptArg,
        model: ImageModelArg = None,
        size: SizeArg = None,
        quality: QualityArg = None,
        output_format: FormatArg = None,
    ) -> Annotated[CallToolResult, MediaReply]:
        options: dict[str, Any] = {"size": size, "quality": quality, "output_format": output_format}
        if model:
            options["model"] = model
        try:
            async with JobProgress(ctx) as progress:
                result = await Media(deps.gateway, deps.store).images.generate(
                    prompt, save_to=_folder(deps), on_progress=progress, **options
                )
            images = await asyncio.to_thread(_image_blocks, result.files)
        except AllTokenAgentError as error:
            return error_result(error)
        except Exception as error:
            return unexpected_result("generate_image", error, deps.gateway.redact)
        return _reply(result.job_id, result.model, result.task_id, result.files, images)

    async def generate_video(
        ctx: Context[Any, Any],
        prompt: PromptArg,
        model: VideoModelArg = None,
        duration: DurationArg = None,
        ratio: RatioArg = None,
        resolution: ResolutionArg = None,
    ) -> Annotated[CallToolResult, MediaReply]:
        try:
            async with JobProgress(ctx) as progress:
                result = await Media(deps.gateway, deps.store).videos.generate(
                    prompt,
                    model=model or None,
                    duration=duration,
                    ratio=ratio,
                    resolution=resolution,
                    save_to=_folder(deps),
                    on_progress=progress,
                )
        except AllTokenAgentError as error:
            return error_result(error)
        except Exception as error:
            return unexpected_result("generate_video", error, deps.gateway.redact)
        return _reply(result.job_id, result.model, result.task_id, result.files, [])

    server.add_tool(
        generate_image,
        name="generate_image",
        title="Generate an image",
        description=IMAGE_DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    server.add_tool(
        generate_video,
        name="generate_video",
        title="Generate a video",
        description=VIDEO_DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )


def _folder(deps: ToolDeps) -> str:
    """The media folder, spelled as a folder (the core then names files ``JOB_ID.EXT``)."""
    return f"{deps.media_folder}{os.sep}"


def _image_blocks(files: tuple[MediaFile, ...]) -> list[ContentBlock]:
    """Each saved image as MCP image content (base64 and its MIME type)."""
    return [
        ImageContent(
            type="image",
            data=base64.b64encode(Path(file.path).read_bytes()).decode("ascii"),
            mime_type=file.mime_type,
        )
        for file in files
        if file.mime_type.startswith("image/")
    ]


def _reply(
    job_id: str,
    model: str,
    task_id: str | None,
    files: tuple[MediaFile, ...],
    extra: list[ContentBlock],
) -> CallToolResult:
    reply = MediaReply(
        job_id=job_id,
        model=model,
        task_id=task_id,
        paths=[str(file.path) for file in files],
        files=[
            SavedFile(path=str(file.path), mime_type=file.mime_type, size=file.size)
            for file in files
        ],
    )
    text = "\n".join(f"saved {file.path} ({file.mime_type}, {file.size} bytes)" for file in files)
    content: list[ContentBlock] = [TextContent(type="text", text=f"{text}\njob {job_id}")]
    return CallToolResult(content=content + extra, structured_content=reply.model_dump(mode="json"))
