"""The TUI's modal screens: internal to the TUI, so in no ``__all__``."""

from __future__ import annotations

from alltoken_agent.tui.screens.approval import ApprovalScreen as ApprovalScreen
from alltoken_agent.tui.screens.help_screen import HelpScreen as HelpScreen
from alltoken_agent.tui.screens.model_picker import ModelPicker as ModelPicker
from alltoken_agent.tui.screens.sessions_screen import SessionsScreen as SessionsScreen
