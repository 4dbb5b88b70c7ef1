"""The TUI's modal screens."""

from __future__ import annotations

from alltoken_agent.tui.screens.approval import ApprovalScreen
from alltoken_agent.tui.screens.help_screen import HelpScreen
from alltoken_agent.tui.screens.model_picker import ModelPicker
from alltoken_agent.tui.screens.sessions_screen import SessionsScreen

__all__ = ["ApprovalScreen", "HelpScreen", "ModelPicker", "SessionsScreen"]
