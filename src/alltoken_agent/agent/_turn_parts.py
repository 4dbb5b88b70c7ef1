"""What an agent makes once rather than per turn: its id, a turn's options and prelude."""

from __future__ import annotations

import itertools
import operator
import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alltoken_agent.agent.families import FamilyTable, RequestOptions
from alltoken_agent.agent.planning import ContextLengths, Prelude
from alltoken_agent.agent.settings import ModelSettings
from alltoken_agent.agent.tools import Tool

if TYPE_CHECKING:
    from alltoken_agent.agent.mcp_client import MCPTools
    from alltoken_agent.gateway import Gateway


class _AgentIds:
    """Agent ids: a random prefix drawn once per process, and a counter.

    An agent's id is no secret: it tags its requests (``agent``) so ledger records,
    budgets and traces can tell agents apart; nothing is authorised by knowing one.
    So it needs to be unique, not unguessable, and a ``getrandom`` call per agent buys
    nothing. The prefix keeps ids of different processes apart; a forked child draws
    its own (else it would count on from its parent's prefix).
    """

    __slots__ = ("counter", "prefix")

    def __init__(self) -> None:
        self.prefix = secrets.token_hex(6)
        self.counter = itertools.count(1)


_ids = _AgentIds()


def _reseed_ids() -> None:
    global _ids
    _ids = _AgentIds()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_reseed_ids)


def new_agent_id() -> str:
    """An agent id, ``agent_`` and hex: unique within and across processes."""
    ids = _ids
    return f"agent_{ids.prefix}{next(ids.counter):x}"


def _same(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """Whether two keys match: each value the same object, or equal and of one type.

    ``True == 1`` and ``0.0 == False``, but they are not the same setting.
    """
    return all(a is b or (type(a) is type(b) and a == b) for a, b in zip(old, new, strict=True))


class TurnParts:
    """A turn's request options and prelude, kept while nothing feeding them changes.

    They were built afresh for every turn; an agent's attributes may change between
    turns (thinking toggled in the TUI, a tool added), so the values that feed them
    are compared each turn and the parts are rebuilt when any differs.
    """

    def __init__(
        self,
        families: FamilyTable,
        configured_lengths: Mapping[str, int],
    ) -> None:
        self._families = families
        self._configured_lengths = configured_lengths
        self._key: tuple[Any, ...] | None = None
        self._parts: tuple[RequestOptions, Prelude] | None = None
        self._lengths: ContextLengths | None = None

    def forget(self) -> None:
        """Build the parts again next turn (e.g. a tool was added)."""
        self._parts = None

    def get(
        self,
        gateway: Gateway,
        tools: Mapping[str, Tool],
        mcp: MCPTools | None,
        *,
        temperature: float | None,
        enable_search: bool,
        thinking: bool,
        thinking_budget: int | None,
        settings: ModelSettings,
        context_length: int | None,
    ) -> tuple[RequestOptions, Prelude]:
        """The options and prelude for a turn with these values."""
        key = (
            gateway,
            mcp,
            gateway.provider,
            temperature,
            enable_search,
            thinking,
            thinking_budget,
            context_length,
        )
        parts = self._parts
        # settings by identity: the options read the dict itself, so a change made in
        # place shows, and a new dict (even an equal one) is the one they must read.
        if (
            parts is not None
            and self._key is not None
            and parts[0].settings is settings
            # Mostly the very same objects as last turn: one C pass says so.
            and (all(map(operator.is_, self._key, key)) or _same(self._key, key))
        ):
            return parts
        options = RequestOptions(
            provider=gateway.provider,
            families=self._families,
            tools=list(tools.values()),
            temperature=temperature,
            enable_search=enable_search,
            thinking=thinking,
            thinking_budget=thinking_budget,
            settings=settings,
        )
        lengths = self._lengths
        if lengths is None or not lengths.serves(gateway, context_length):
            # Its catalog lengths are kept while the gateway and the override stay.
            lengths = ContextLengths(gateway, self._configured_lengths, context_length)
            self._lengths = lengths
        parts = (options, Prelude(gateway, options, mcp, lengths))
        self._key, self._parts = key, parts
        return parts
