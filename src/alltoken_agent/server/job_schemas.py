"""Pydantic models of the media job routes: what a submit may hold, what a job looks like.

Every value the schema allows is one the server accepts (202): what only the gateway
can judge (an unknown model, a duration a model does not take) makes the job end
``failed`` with the gateway's error code, readable at ``GET /v1/jobs/{id}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from alltoken_agent.server.schemas import MAX_CONTENT_CHARS, ModelId, NotBlank, valid_unicode

ImageSize = Literal[
    "auto",
    "1024x1024",
    "1536x1024",
    "1024x1536",
    "2048x2048",
    "2048x1152",
    "1152x2048",
    "3840x2160",
    "2160x3840",
]
"""Sizes every image model takes (gpt-image-2's rules: multiples of 16, up to 4K, 1:3-3:1)."""

JobKind = Literal["image", "video"]
JobStatus = Literal[
    "queued", "submitting", "pending", "completed", "failed", "cancelled", "expired"
]
FrameUrl = Annotated[
    str,
    Field(
        pattern=r"^(https?|asset)://\S+$",
        max_length=4096,
        description="An http(s) link the gateway can fetch, or an `asset://` id; never a file "
        "of the server.",
    ),
    AfterValidator(valid_unicode),
]
Prompt = Annotated[NotBlank, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]


def _whole(value: object) -> object:
    # JSON Schema counts 5.0 as an integer; strict pydantic would refuse it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Integers written 5 or 5.0, never "5" nor true; the bounds go before the validator so
# the schema keeps them as minimum and maximum.
ImageCount = Annotated[int, Field(ge=1, le=10), BeforeValidator(_whole)]
Duration = Annotated[int, Field(ge=-1, le=60), BeforeValidator(_whole)]
Seed = Annotated[int, Field(ge=-1, le=4_294_967_295), BeforeValidator(_whole)]


class _In(BaseModel):
    # strict: the schema says boolean and integer, so 0 or "yes" is refused, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


class _Out(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


class ImageJobCreate(_In):
    """An image job: a prompt, a model and the main options."""

    model_config = ConfigDict(
        json_schema_extra={
            # JPEG has no alpha channel: a transparent background needs png or webp.
            "not": {
                "required": ["background", "output_format"],
                "properties": {
                    "background": {"const": "transparent"},
                    "output_format": {"const": "jpeg"},
                },
            }
        },
    )

    prompt: Prompt
    """What to draw."""
    model: ModelId | None = None
    """Image model; gpt-image-2 when omitted."""
    size: ImageSize | None = None
    """``auto`` or one of the listed sizes; the model's default when omitted."""
    quality: Literal["auto", "low", "medium", "high"] | None = None
    output_format: Literal["png", "jpeg", "webp"] | None = None
    """File format; png when omitted."""
    background: Literal["auto", "opaque", "transparent"] | None = None
    """``transparent`` needs png or webp."""
    n: ImageCount = 1
    """How many images."""


class VideoJobCreate(_In):
    """A video job: a prompt, a model and the main options."""

    prompt: Prompt
    """What should happen."""
    model: ModelId | None = None
    """Video model; the gateway's default video model (seedance-1.5-pro on AllToken) when
    omitted."""
    duration: Duration | None = None
    """Seconds (-1: the model picks); the model's range applies."""
    ratio: Literal["16:9", "9:16", "4:3", "3:4", "21:9", "1:1", "adaptive"] | None = None
    resolution: Literal["480p", "720p", "1080p"] | None = None
    generate_audio: bool | None = None
    """Ask for a soundtrack."""
    seed: Seed | None = None
    first_frame: FrameUrl | None = None
    """Image the video starts from (AllToken only)."""
    last_frame: FrameUrl | None = None
    """Image the video ends on (AllToken only)."""


class JobFileOut(_Out):
    """One saved result file."""

    index: int
    """Its place among the job's files, as in its URL."""
    mime_type: str
    size: int
    """Bytes."""
    url: str | None
    """Where to fetch it (``GET``, same key); None for a file this server does not serve."""


class JobErrorOut(_Out):
    """Why a job ended without its files."""

    code: str | None
    """The gateway's error code (``upstream_error``, ``upstream_model_not_found``, ...)."""
    message: str | None


class JobOut(_Out):
    """A media job and, once it completed, its files."""

    id: str
    """Our job id (``job_`` + 16 hex)."""
    kind: JobKind
    status: JobStatus
    """``queued``: waiting for a worker (a server with ``media_jobs = "workers"``); no
    worker has taken it, nothing was sent. ``submitting`` and ``pending`` jobs are
    running (or resume when their server or a worker starts again); the other statuses
    are final."""
    model: str
    task_id: str | None
    """The gateway's task id, once it accepted the job."""
    params: dict[str, Any]
    """The prompt and options the job was submitted with."""
    files: list[JobFileOut]
    error: JobErrorOut | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class JobList(_Out):
    """The caller's media jobs, newest first."""

    jobs: list[JobOut]
