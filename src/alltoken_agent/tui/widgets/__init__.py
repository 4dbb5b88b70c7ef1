"""The TUI's widgets, one per module: internal to the TUI, so in no ``__all__``."""

from __future__ import annotations

from alltoken_agent.tui.widgets.assistant_turn import AssistantTurn as AssistantTurn
from alltoken_agent.tui.widgets.chat_log import ChatLog as ChatLog
from alltoken_agent.tui.widgets.error_message import ErrorMessage as ErrorMessage
from alltoken_agent.tui.widgets.key_hints import KeyHints as KeyHints
from alltoken_agent.tui.widgets.media_job import MediaJob as MediaJob
from alltoken_agent.tui.widgets.media_result import MediaResult as MediaResult
from alltoken_agent.tui.widgets.note_message import NoteMessage as NoteMessage
from alltoken_agent.tui.widgets.prompt_input import PromptInput as PromptInput
from alltoken_agent.tui.widgets.reasoning_block import ReasoningBlock as ReasoningBlock
from alltoken_agent.tui.widgets.status_bar import StatusBar as StatusBar
from alltoken_agent.tui.widgets.tool_panel import ToolPanel as ToolPanel
from alltoken_agent.tui.widgets.user_message import UserMessage as UserMessage
