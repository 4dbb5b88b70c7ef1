"""Tokens, media and cost of the session so far, summed from the agent's events."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alltoken_agent.agent import AgentEvent, CostEvent, UsageEvent
from alltoken_agent.money import format_usd


@dataclass
class SessionTotals:
    """Running totals for the status bar."""

    tokens: int = 0
    """Prompt plus completion tokens of every chat request."""
    cost: Decimal | None = None
    """USD, when the gateway reported any cost (AllToken does; others may not)."""
    images: int = 0
    """Images generated; a media job's billing units are not chat tokens."""
    video_seconds: float = 0.0
    """Seconds of video generated."""

    def add(self, event: AgentEvent) -> bool:
        """Count a ``usage`` or ``cost`` event; True when the totals changed."""
        if isinstance(event, UsageEvent):
            self.tokens += event.usage.total_tokens
            return True
        if isinstance(event, CostEvent):
            self.cost = (self.cost or Decimal(0)) + event.cost.amount
            return True
        return False

    def reset(self) -> None:
        """Start from zero (a new or resumed session)."""
        self.tokens = 0
        self.cost = None
        self.images = 0
        self.video_seconds = 0.0

    def describe(self) -> str:
        """``1,234 tokens · 2 images · 5 s video · $0.0012`` (``cost n/a`` when none was reported).

        Media appears only once some was made.
        """
        parts = [f"{self.tokens:,} tokens"]
        if self.images:
            parts.append(f"{self.images} image{'' if self.images == 1 else 's'}")
        if self.video_seconds:
            parts.append(f"{self.video_seconds:g} s video")
        parts.append("cost n/a" if self.cost is None else format_usd(self.cost))
        return " · ".join(parts)
