"""An error, shown in the chat instead of a traceback."""

from __future__ import annotations

from textual.widgets import Static

from alltoken_agent import GatewayError


class ErrorMessage(Static):
    """An error block: what failed, the gateway's code and request id, and what to do."""

    def __init__(self, error: BaseException) -> None:
        self.text = describe_error(error)
        super().__init__(self.text, markup=False)
        self.border_title = "Error"


def describe_error(error: BaseException) -> str:
    """One or more lines for the user: code (HTTP status), message, request id."""
    if isinstance(error, GatewayError):
        head = error.code if error.status is None else f"{error.code} (HTTP {error.status})"
        lines = [f"{head}: {error.message}"]
        if error.attempts > 1:
            lines.append(f"gave up after {error.attempts} attempts")
        if error.request_id:
            lines.append(f"request id: {error.request_id}")
        return "\n".join(lines)
    message = str(error) or type(error).__name__
    return f"{type(error).__name__}: {message}"
