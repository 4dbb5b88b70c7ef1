"""The conversation an agent keeps: its messages in OpenAI's format, the system prompt first.

:class:`History` is a base of :class:`~alltoken_agent.agent.agent.Agent`: the prompt,
the messages, and the ways in (``history=`` copies, :meth:`History.take_history` keeps)
and out (:meth:`History.get_messages` copies).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from alltoken_agent._content_parts import adopted_messages, owned_message


class History:
    """The system prompt and the conversation after it; no other message is a system one."""

    _instructions: str | None
    _messages: list[dict[str, Any]]

    def _begin_history(
        self, instructions: str | None, history: Sequence[dict[str, Any]] | None
    ) -> None:
        """The conversation of a new agent: ``instructions``, then a copy of ``history``."""
        # set_instructions() on an empty conversation, written out.
        self._instructions = instructions
        self._messages = [{"role": "system", "content": instructions}] if instructions else []
        if history:
            # Repaired: a history saved before content lists held parts only would be a 400.
            self._messages.extend(owned_message(m) for m in history if m.get("role") != "system")

    @property
    def instructions(self) -> str | None:
        """The system prompt (None for none): the first message, when there is one."""
        return self._instructions or None

    def set_instructions(self, text: str | None) -> None:
        """Replace the system prompt (the first message)."""
        if self._messages and self._messages[0].get("role") == "system":
            self._messages.pop(0)
        self._instructions = text
        if text:
            self._messages.insert(0, {"role": "system", "content": text})

    def get_messages(self, start: int = 0) -> list[dict[str, Any]]:
        """A copy of the conversation in OpenAI's message format, from message ``start`` on."""
        return copy.deepcopy(self._messages[start:])

    @property
    def message_count(self) -> int:
        """How many messages the conversation holds: ``len(get_messages())`` without a copy."""
        return len(self._messages)

    def clear_history(self) -> None:
        """Forget the conversation; the system prompt stays."""
        self._messages = [m for m in self._messages[:1] if m.get("role") == "system"]

    def take_history(self, messages: list[dict[str, Any]]) -> None:
        """Continue from ``messages`` (the system prompt stays), kept as they are, not copied.

        For messages nobody else holds, such as a session just read from a store. Content
        in an older shape is repaired in place; system messages are left out.
        """
        self.clear_history()
        self._messages += adopted_messages(messages)
