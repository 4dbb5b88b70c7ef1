"""Pydantic models at the edge: what requests may hold and what responses promise (OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from alltoken_agent.agent import (
    BUILTIN_TOOLS,
    DEFAULT_TOOL_NAMES,
    IMAGE_URL_PATTERN,
    image,
    text,
)

MAX_CONTENT_CHARS = 500_000
"""Even written as JSON escapes (12 bytes for a character outside the BMP) a message this
long fits the default 8 MiB body limit, so an overlong one gets its clear 422, not a 413."""
MAX_INSTRUCTIONS_CHARS = 100_000
MAX_ID_CHARS = 255


def valid_unicode(value: str) -> str:
    """Refuse text holding a lone surrogate, which no database or UTF-8 stream takes."""
    # JSON may carry lone surrogates ("\ud800").
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


def _known_tool(name: str) -> str:
    if name not in BUILTIN_TOOLS:
        raise ValueError(f"unknown tool {name!r}; known tools: {', '.join(sorted(BUILTIN_TOOLS))}")
    return name


Text = Annotated[str, AfterValidator(valid_unicode)]
BLANK = (
    r"^[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
)
"""Only whitespace (Python's ``str.isspace``), spelled out so every regex engine reads it alike."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must hold more than whitespace")
    return value


NotBlank = Annotated[
    Text, AfterValidator(_not_blank), Field(json_schema_extra={"not": {"pattern": BLANK}})
]
"""Text with a character that is not whitespace; the schema says so with ``not`` + ``pattern``."""

ModelId = Annotated[NotBlank, Field(min_length=1, max_length=MAX_ID_CHARS)]
ToolName = Annotated[
    str,
    Field(json_schema_extra={"enum": sorted(BUILTIN_TOOLS)}),
    AfterValidator(_known_tool),
]


class _In(BaseModel):
    # strict: the schema says boolean and string, so 0 or "yes" is refused, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True)


class SessionCreate(_In):
    """A new conversation: its model, system prompt and tools."""

    model: ModelId | None = None
    """Model id; the server's default model when omitted."""
    instructions: Annotated[Text, Field(max_length=MAX_INSTRUCTIONS_CHARS)] | None = None
    """The system prompt; the agent's default when omitted."""
    tools: list[ToolName] | None = Field(default=None, max_length=len(BUILTIN_TOOLS))
    """Built-in tools by name (see ``GET /v1/capabilities``); omitted: the default tools
    (get_current_time, calculate); ``[]``: none."""
    thinking: bool = False
    """Ask the model for its reasoning, streamed as ``reasoning:delta`` events."""


MAX_IMAGES = 16
ImageRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CONTENT_CHARS * 16,
        pattern=IMAGE_URL_PATTERN,
    ),
]
"""An image for a vision model, as the chat spec carries it (docs/wire-format.md §1.3)."""


class MessageCreate(_In):
    """One user message for the agent."""

    content: Annotated[NotBlank, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]
    """The message text; not blank."""
    images: list[ImageRef] | None = Field(default=None, max_length=MAX_IMAGES)
    """Images sent with the text, for vision models: `https://` URLs or
    `data:image/png|jpeg|gif|webp;base64,...` URLs (never a path on the server)."""

    def message_content(self) -> str | list[dict[str, Any]]:
        """The agent's input: the text alone, or a text part then one part per image."""
        if not self.images:
            return self.content
        return [text(self.content), *(image(url) for url in self.images)]


class SessionOut(BaseModel):
    """A conversation, without its messages."""

    id: str
    model: str | None
    instructions: str | None
    tools: list[str]
    thinking: bool
    created_at: datetime
    updated_at: datetime
    message_count: int
    name: str | None = None
    """The session's name (``PATCH /v1/sessions/{id}``); None until it is given one."""


class SessionDetail(SessionOut):
    """A conversation with its messages (OpenAI chat format, system prompt excluded)."""

    messages: list[dict[str, Any]]


class SessionList(BaseModel):
    """The caller's conversations, most recently updated first."""

    sessions: list[SessionOut]


class UsageOut(BaseModel):
    """Token counts."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    reasoning_tokens: int
    cached_tokens: int


class CostOut(BaseModel):
    """A cost the gateway reported, USD as decimal strings."""

    cost: str | None
    currency: str
    input_price: str | None = None
    output_price: str | None = None
    source: str


class BudgetOut(BaseModel):
    """The caller's daily budget (UTC day), USD as decimal strings."""

    limit: str
    spent: str
    remaining: str


class ToolCallOut(BaseModel):
    """One tool call of the run."""

    name: str
    arguments: Any
    is_error: bool


class ChatReply(BaseModel):
    """The agent's answer: the payload of the stream's final ``done`` event."""

    session_id: str
    text: str
    model: str
    stop_reason: str
    steps: int
    usage: UsageOut | None
    """Summed token counts; None when a model request's usage is unknown (a ``notice``
    event said why)."""
    cost: CostOut | None
    """Summed gateway-reported cost of the model requests (as in the CLI's ``--json``)."""
    request_cost: str | None
    """Everything this message cost (tool requests included; estimated where the gateway
    gave no figure), USD; None when unknown. Also the ``X-Request-Cost`` header."""
    request_id: str | None
    request_ids: list[str]
    tool_calls: list[ToolCallOut]
    simulated: bool
    """The offline simulator answered: the costs here are made up, never money (they
    count in the simulated book, apart from real spend)."""
    budget: BudgetOut | None
    """The caller's budget after this message; None when no budget is set."""


class SkillChatRequest(_In):
    """The AllToken agent skill's server contract: one message to the agent of a session id."""

    sessionId: Annotated[NotBlank, Field(min_length=1, max_length=MAX_ID_CHARS)]
    """The client's name for the conversation; its agent is created on first use."""
    message: Annotated[NotBlank, Field(min_length=1, max_length=MAX_CONTENT_CHARS)]
    """The user's message."""


class SkillChatReply(BaseModel):
    """The agent's answer and the conversation so far, as the skill's server returns them."""

    response: str
    """The assistant's answer."""
    history: list[dict[str, Any]]
    """Every message of the session (system prompt aside), in the chat spec's shape."""


class ReportRowOut(BaseModel):
    """Usage of a group of requests."""

    key: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: str
    unknown_cost_requests: int


class UsageReportOut(BaseModel):
    """The caller's usage, grouped by model, UTC day or session, with totals."""

    by: Literal["model", "day", "session"]
    since: str | None
    until: str | None
    currency: str
    rows: list[ReportRowOut]
    totals: ReportRowOut
    budget: BudgetOut | None


class LimitsOut(BaseModel):
    """The limits this server enforces per key."""

    max_body_bytes: int
    rate_limit_per_minute: float
    rate_limit_burst: int
    max_concurrent_runs: int
    processes: int = Field(
        description="Processes serving this address (`serve --processes N`). The rate "
        "limits and max_concurrent_runs above are counted by each process on its own, so a "
        "key whose connections land on several may get up to this many times them."
    )


class Capabilities(BaseModel):
    """What this server supports, for clients to detect."""

    version: str
    streaming: bool
    """``Accept: text/event-stream`` on a message post streams the agent's events."""
    tools: bool
    tool_names: list[str]
    default_tools: list[str]
    media: bool
    """Image and video jobs: ``POST /v1/images``, ``POST /v1/videos``, ``GET /v1/jobs``."""
    reasoning: bool
    """Sessions created with ``thinking`` stream the model's reasoning."""
    cancel: bool
    """Closing a message's event stream cancels its run; finished steps stay saved."""
    usage: bool
    auth: Literal["bearer", "none"]
    events: list[str]
    """Event names a stream may carry (``retry``, ``done`` and ``error`` included)."""
    limits: LimitsOut


class QueueHealth(BaseModel):
    """The media job queue of a server that hands its jobs to workers."""

    oldest_waiting_seconds: float | None = Field(
        description="Age of the oldest job no worker has taken yet; null when none waits. "
        "Growing while jobs are submitted: no worker is taking them."
    )


class Health(BaseModel):
    """Whether the server takes new work (and, handing jobs to workers, how they wait)."""

    status: Literal["ok", "draining"]
    queue: QueueHealth | None = Field(
        default=None, description='Only with `media_jobs = "workers"`.'
    )


class ErrorInfo(BaseModel):
    """What went wrong."""

    code: str
    message: str
    type: str
    request_id: str | None = None
    details: list[dict[str, Any]] | None = None
    """Per-field problems of a 422."""


class ErrorResponse(BaseModel):
    """Every error response (the gateway's envelope)."""

    error: ErrorInfo


DEFAULT_TOOLS: list[str] = list(DEFAULT_TOOL_NAMES)
