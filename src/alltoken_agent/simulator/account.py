"""`/api-account/user/*`: the web-session-only account routes (AllToken only).

Keys, usage, billing and balance pages of the dashboard live there and take a web
session, not an API key: a Bearer API key (or no credentials at all, the simulator has
no web sessions) gets `401` with type `auth_error` and code `invalid_token`
(docs/wire-format.md §1.1, §3 row 13). Key-visible quota is `/v1/usage` instead.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alltoken_agent.simulator.envelope import error_response

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def user_only(request: Request) -> JSONResponse:
    """Refuse every request: only a dashboard web session may use these routes."""
    has_bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    reason = "API keys are not accepted here" if has_bearer else "no web session was presented"
    return error_response(
        401,
        "invalid_token",
        f"{request.url.path} needs a signed-in web session: {reason} (simulated).",
        request_id=None,
    )


def account_routes() -> list[Route]:
    """Return the `/api-account/user` routes (every path below it, every method)."""
    return [
        Route("/api-account/user", user_only, methods=_METHODS),
        Route("/api-account/user/{rest:path}", user_only, methods=_METHODS),
    ]
