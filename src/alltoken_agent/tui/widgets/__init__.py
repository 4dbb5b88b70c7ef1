"""The TUI's widgets, one per module."""

from __future__ import annotations

from alltoken_agent.tui.widgets.assistant_turn import AssistantTurn
from alltoken_agent.tui.widgets.chat_log import ChatLog
from alltoken_agent.tui.widgets.error_message import ErrorMessage
from alltoken_agent.tui.widgets.media_job import MediaJob
from alltoken_agent.tui.widgets.media_result import MediaResult
from alltoken_agent.tui.widgets.note_message import NoteMessage
from alltoken_agent.tui.widgets.prompt_input import PromptInput
from alltoken_agent.tui.widgets.reasoning_block import ReasoningBlock
from alltoken_agent.tui.widgets.status_bar import StatusBar
from alltoken_agent.tui.widgets.tool_panel import ToolPanel
from alltoken_agent.tui.widgets.user_message import UserMessage

__all__ = [
    "AssistantTurn",
    "ChatLog",
    "ErrorMessage",
    "MediaJob",
    "MediaResult",
    "NoteMessage",
    "PromptInput",
    "ReasoningBlock",
    "StatusBar",
    "ToolPanel",
    "UserMessage",
]
