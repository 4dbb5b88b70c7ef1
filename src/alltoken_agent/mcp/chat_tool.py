"""The ``chat`` tool: one message to an agent, optionally continuing a named session."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from alltoken_agent import (
    Agent,
    AllTokenAgentError,
    RunResult,
    UserError,
    image,
    request_tags,
    text,
)
from alltoken_agent.agent import (
    DEFAULT_INSTRUCTIONS,
    IMAGE_URL_PATTERN,
    DoneEvent,
    resolve_tool_names,
)
from alltoken_agent.mcp.context import ToolDeps
from alltoken_agent.mcp.errors import error_result, unexpected_result

DESCRIPTION = (
    "Send a message to an alltoken-agent agent (AllToken or another OpenAI-compatible "
    "gateway) and get its reply. The agent may use its built-in tools (current time, "
    "calculator) before answering. Pass `session` to continue a named conversation kept "
    "between calls (shared with the CLI's `chat --session`)."
)


class ToolCallOut(BaseModel):
    """One tool call of the run."""

    name: str
    arguments: Any
    is_error: bool


class ChatReply(BaseModel):
    """What ``chat`` returns as structured content (the reply text is also the text content).

    The run's ``done`` event (``DoneEvent.to_dict()``, the CLI's last ``--json`` line and
    the server's last SSE event) plus ``session`` and ``session_messages``.
    """

    text: str = Field(description="The agent's final answer.")
    model: str = Field(description="The model that gave the answer.")
    session: str | None = Field(description="The session name, when one was used.")
    session_messages: int = Field(
        description="Messages the session holds after this call (0 without a session)."
    )
    stop_reason: str = Field(description="stop, length, content_filter or max_steps.")
    steps: int = Field(description="Model requests made for this message.")
    usage: dict[str, int] | None = Field(
        description="Token counts summed over the requests; null when a request's are unknown."
    )
    cost: dict[str, str | None] | None = Field(
        description="The gateway-reported cost summed over the requests (`cost` in USD as a "
        "decimal string); null when a request's cost is unknown."
    )
    request_id: str | None = Field(description="The gateway request id of the last request.")
    request_ids: list[str] = Field(description="Every request's gateway id, in order.")
    tool_calls: list[ToolCallOut] = Field(description="The tools the agent called, in order.")
    simulated: bool = Field(
        description="True when the offline simulator answered: the cost is made up, not money."
    )


PromptArg = Annotated[str, Field(description="The message to send.", min_length=1)]
ModelArg = Annotated[
    str | None,
    Field(description="Model id, e.g. deepseek-v4-flash; defaults to the server's model."),
]
SessionArg = Annotated[
    str | None,
    Field(
        description="Keep the conversation under this name; later calls with the same name "
        "continue it.",
        min_length=1,
        max_length=200,
    ),
]
ImagesArg = Annotated[
    list[Annotated[str, Field(pattern=IMAGE_URL_PATTERN)]] | None,
    Field(
        description="Images for a vision model, sent with the prompt: https:// URLs or "
        "data:image/...;base64 URLs (no file paths).",
        max_length=16,
    ),
]
SystemArg = Annotated[
    str | None,
    Field(description="System prompt; a session remembers the last one given."),
]


def register_chat(server: MCPServer[Any], deps: ToolDeps) -> None:
    """Add the ``chat`` tool to ``server``."""

    async def chat(
        prompt: PromptArg,
        model: ModelArg = None,
        session: SessionArg = None,
        system: SystemArg = None,
        images: ImagesArg = None,
    ) -> Annotated[CallToolResult, ChatReply]:
        try:
            content = [text(prompt), *(image(url) for url in images)] if images else prompt
            return await _chat(deps, prompt, model, session, system, content)
        except AllTokenAgentError as error:
            return error_result(error)
        except Exception as error:
            return unexpected_result("chat", error, deps.gateway.redact)

    server.add_tool(
        chat,
        name="chat",
        title="Chat with an agent",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )


async def _chat(
    deps: ToolDeps,
    prompt: str,
    model: str | None,
    session: str | None,
    system: str | None,
    content: str | list[dict[str, Any]],
) -> CallToolResult:
    if not prompt.strip():
        raise UserError("the prompt is empty")
    chosen = model or deps.gateway.model
    if not chosen:
        raise UserError(
            f"no model chosen for provider {deps.gateway.provider.name!r}: pass `model`"
        )
    if session is None:
        agent = _agent(deps, chosen, system or DEFAULT_INSTRUCTIONS, None)
        return _reply(await agent.run(content), session=None, session_messages=0)
    opened = deps.sessions.open(session, gateway=deps.gateway, config=deps.config, model=chosen)
    async with opened as stored:
        instructions = system or stored.record.instructions or DEFAULT_INSTRUCTIONS
        agent = _agent(deps, chosen, instructions, stored.history)
        start = agent.message_count  # no copy of the whole history
        try:
            with request_tags(session=session):
                result = await agent.run(content)
        finally:
            # Whole steps the agent committed are kept even when the run failed.
            count = await deps.sessions.save(
                stored, agent.get_messages(start), model=chosen, system=system
            )
    return _reply(result, session=session, session_messages=count)


def _agent(
    deps: ToolDeps, model: str, instructions: str, history: list[dict[str, Any]] | None
) -> Agent[str]:
    return Agent(
        model,
        instructions=instructions,
        tools=resolve_tool_names("default"),
        gateway=deps.gateway,
        history=history,
        config=deps.config,
    )


def _reply(result: RunResult[str], *, session: str | None, session_messages: int) -> CallToolResult:
    done = DoneEvent.from_result(result).to_dict()
    del done["event"]
    reply = ChatReply(**done, session=session, session_messages=session_messages)
    text = result.text or f"(no answer: the run stopped at {result.stop_reason})"
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=reply.model_dump(mode="json"),
    )
