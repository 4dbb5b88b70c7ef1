"""``X-Request-Cost`` and ``X-Budget-Remaining`` on every reply, set in one place.

A route that knows the figures (a message answered as JSON) sets them itself; this
middleware fills in the rest when the reply starts:

- ``X-Request-Cost``: ``0`` when answering made no request to the model gateway (a
  refusal, a listing, a usage report: nothing was spent), ``unknown`` when work that may
  spend was started and its cost is not known yet (an event stream, whose cost is in its
  last event; a media job, billed as it runs). Never ``0`` for a cost we do not know.
- ``X-Request-Cost-Book``: set by a route beside the cost of a run it answers for:
  which of the ledger's books the cost went to, ``real`` or ``simulated``.
- ``X-Budget-Remaining``: the caller's remaining daily budget in USD, ``unlimited``
  without a budget, ``unknown`` when the caller is not known (no valid key) or the
  ledger cannot be read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alltoken_agent.server.auth import CALLER_SCOPE_KEY, Caller, Keyring

COST_HEADER: Final = "X-Request-Cost"
BOOK_HEADER: Final = "X-Request-Cost-Book"
"""Beside a run's own cost: ``real``, or ``simulated`` when the simulator answered (the
ledger's two books: a made-up cost never passes for money)."""
BUDGET_HEADER: Final = "X-Budget-Remaining"
SPENDS_SCOPE_KEY: Final = "alltoken_agent.spends"
"""Set in the ASGI scope by a route once it starts work that may spend on the gateway."""

UNKNOWN: Final = "unknown"
UNLIMITED: Final = "unlimited"

logger = logging.getLogger("alltoken_agent.server")

BudgetLookup = Callable[[Caller], Awaitable[Decimal | None]]
"""The caller's remaining budget, None when no budget is configured."""


def mark_spending(request: Request) -> None:
    """Note that answering ``request`` started work that may spend (cost: ``unknown``)."""
    request.scope[SPENDS_SCOPE_KEY] = True


def format_remaining(remaining: Decimal | None) -> str:
    """The budget header's value: the amount, or ``unlimited`` without a budget."""
    return UNLIMITED if remaining is None else format(remaining, "f")


class CostHeaders:
    """ASGI middleware: both headers on every HTTP reply that lacks them."""

    def __init__(
        self, app: ASGIApp, keyring: Keyring, remaining: BudgetLookup, *, budgeted: bool
    ) -> None:
        self.app = app
        self.keyring = keyring
        self.remaining = remaining
        self.budgeted = budgeted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add what the reply's start is missing."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if COST_HEADER not in headers:
                    headers[COST_HEADER] = UNKNOWN if scope.get(SPENDS_SCOPE_KEY) else "0"
                if BUDGET_HEADER not in headers:
                    headers[BUDGET_HEADER] = await self._budget(scope)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _budget(self, scope: Scope) -> str:
        if not self.budgeted:
            return UNLIMITED
        caller = scope.get(CALLER_SCOPE_KEY)
        if not isinstance(caller, Caller):  # a path outside the gate, or a refused key
            caller = self.keyring.identify(Headers(scope=scope).get("authorization"))
        if caller is None:
            return UNKNOWN
        try:
            return format_remaining(await self.remaining(caller))
        except Exception as error:  # a reply must not fail over its header
            logger.warning("cannot read the budget for the reply header: %s", type(error).__name__)
            return UNKNOWN
