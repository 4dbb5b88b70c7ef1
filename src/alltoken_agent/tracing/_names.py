"""Span attribute names: the OpenTelemetry GenAI conventions, and our own under ``alltoken.``.

Written out rather than imported from ``opentelemetry-semantic-conventions``: its
``gen_ai`` constants are incubating and, since the conventions moved to their own
repository (open-telemetry/semantic-conventions-genai), marked deprecated, which
would warn on import.
"""

from __future__ import annotations

from typing import Final

# -- GenAI conventions (development status) -----------------------------------

OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
AGENT_ID: Final = "gen_ai.agent.id"
AGENT_NAME: Final = "gen_ai.agent.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_STREAM: Final = "gen_ai.request.stream"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
OUTPUT_TYPE: Final = "gen_ai.output.type"
CONVERSATION_COMPACTED: Final = "gen_ai.conversation.compacted"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_DESCRIPTION: Final = "gen_ai.tool.description"

# Opt-in content: JSON strings, since span attributes cannot hold structures yet.
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"

# -- general conventions (stable) ---------------------------------------------

ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
HTTP_STATUS_CODE: Final = "http.response.status_code"

# -- ours ---------------------------------------------------------------------

COST_USD: Final = "alltoken.cost_usd"
"""What the request (or, on a run span, the whole run) cost in USD, as the gateway reported it."""
COST_SOURCE: Final = "alltoken.cost_source"
"""``gateway`` (the cost comment) or ``estimated``."""
REQUEST_ID: Final = "alltoken.request_id"
"""The gateway's request id (``x-gateway-request-id``), the one its support asks for."""
ATTEMPTS: Final = "alltoken.attempts"
"""HTTP attempts the request took (retries included)."""
STEP: Final = "alltoken.step"
"""The tool-loop step (1-based) a model request belongs to."""
REQUEST_COUNT: Final = "alltoken.request_count"
"""Model requests a run made (run spans only)."""
APPROVAL_DECISION: Final = "alltoken.tool.approval.decision"
"""How a call that needed approval was decided: ``allow``, ``deny`` or ``edit``."""
APPROVAL_EVENT: Final = "alltoken.tool.approval"
"""Span event on a tool span: the moment the approval decision came."""

# -- values -------------------------------------------------------------------

OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CHAT: Final = "chat"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EXECUTE_TOOL: Final = "execute_tool"
ERROR_OTHER: Final = "_OTHER"
