"""Human approval of tool calls: who decides, and what the model hears back."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import UserError


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class ApprovalRequest(FrozenValue):
    """A tool call waiting for a decision."""

    tool_name: str
    arguments: Any
    """The parsed arguments (or the raw text when they are not JSON)."""
    call_id: str

    def __init__(self, tool_name: str, arguments: Any, call_id: str) -> None:
        fields = self.__dict__
        fields["tool_name"] = tool_name
        fields["arguments"] = arguments
        fields["call_id"] = call_id


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class ApprovalDecision(FrozenValue):
    """Allow the call, deny it (the model reads the reason), or run it with new arguments."""

    action: Literal["allow", "deny", "edit"]
    reason: str | None = None
    arguments: Any = None
    """The replacement arguments, for ``edit``."""

    def __init__(
        self,
        action: Literal["allow", "deny", "edit"],
        reason: str | None = None,
        arguments: Any = None,
    ) -> None:
        fields = self.__dict__
        fields["action"] = action
        fields["reason"] = reason
        fields["arguments"] = arguments

    @classmethod
    def allow(cls) -> ApprovalDecision:
        """Run the call as the model asked."""
        return cls("allow")

    @classmethod
    def deny(cls, reason: str = "the user did not approve this call") -> ApprovalDecision:
        """Do not run the call; ``reason`` goes back to the model."""
        return cls("deny", reason=reason)

    @classmethod
    def edit(cls, arguments: Any) -> ApprovalDecision:
        """Run the call with ``arguments`` instead; the model is told they changed."""
        return cls("edit", arguments=arguments)


ApprovalHandler = Callable[
    [ApprovalRequest], "ApprovalDecision | bool | Awaitable[ApprovalDecision | bool]"
]
"""Decides a call; sync or async. ``True``/``False`` mean allow/deny."""

NO_HANDLER_REASON = (
    "this tool needs approval and nobody could approve it here (non-interactive run); "
    "do not retry the call"
)


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Verdict(FrozenValue):
    """A decision, and the exception of a handler that raised instead of deciding."""

    decision: ApprovalDecision
    error: Exception | None = None

    def __init__(self, decision: ApprovalDecision, error: Exception | None = None) -> None:
        fields = self.__dict__
        fields["decision"] = decision
        fields["error"] = error


def failed_reason(error: Exception) -> str:
    """The denial reason the model reads when the approval handler raised."""
    detail = f": {error}" if str(error) else ""
    return f"the approval handler failed ({type(error).__name__}{detail}); do not retry the call"


async def decide(handler: ApprovalHandler | None, request: ApprovalRequest) -> Verdict:
    """Ask ``handler``; without one, deny with a reason the model can act on.

    A handler that raises denies the call: running a call nobody approved would
    be unsafe, and failing the run would lose the turn over one call. The
    exception comes back in the verdict, for the loop to report.

    Raises:
        UserError: The handler answered something other than a decision or a bool
            (a forgotten ``return`` gives None): guessing allow or deny would be unsafe.
    """
    if handler is None:
        return Verdict(ApprovalDecision.deny(NO_HANDLER_REASON))
    try:
        answer = handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
    except Exception as error:
        return Verdict(ApprovalDecision.deny(failed_reason(error)), error)
    return Verdict(_checked(answer, request))


def _checked(answer: Any, request: ApprovalRequest) -> ApprovalDecision:
    if isinstance(answer, bool):
        return ApprovalDecision.allow() if answer else ApprovalDecision.deny()
    if not isinstance(answer, ApprovalDecision):
        raise UserError(
            f"the approval handler returned {answer!r} for {request.tool_name}; return "
            "ApprovalDecision.allow(), .deny(reason), .edit(arguments), True or False"
        )
    if answer.action == "edit" and not isinstance(answer.arguments, dict):
        raise UserError(
            f"the approval handler edited the arguments of {request.tool_name} to "
            f"{answer.arguments!r}; edited arguments must be a dict (a JSON object)"
        )
    return answer


def denied_result(decision: ApprovalDecision) -> str:
    """The tool result the model reads for a denied call."""
    return f"Error: the call was not run: {decision.reason or 'denied'}"


def edited_note(arguments: Any) -> str:
    """The line put before the result of a call run with edited arguments."""
    return f"Note: the user changed the arguments to {json.dumps(arguments, ensure_ascii=False)}.\n"
