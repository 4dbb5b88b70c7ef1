"""The Starlette app of the simulator: route table and `create_app`.

Routes:

* `/v1/chat/completions`, `/v1/models`, `/v1/models/{id}`, `/v1/images/models`,
  `/v1/videos/models` (both dialects, through the `/v1` pipeline: auth, faults, request
  ids, request log);
* media endpoints of the dialect (images, uploads, videos) and the simulated bucket
  `/_sim/r2/*`: see `media.py`;
* `/api-account/*` public catalog (AllToken only, `public.py`), and the web-session-only
  `/api-account/user/*`, which refuses API keys (`account.py`);
* `/_sim/*` control routes for tests (`control.py`).

Every response carries `X-Simulator: alltoken-agent-simulator` (errors, media, catalog
and the bucket included), so a client reaching the simulator by base URL can tell its
made-up costs from real spend. Tests that make the simulator play a real gateway build
it with `identify=False`.
"""

from __future__ import annotations

from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from alltoken_agent.simulator._constants import DIALECTS, RAW_SEND_SCOPE_KEY, Dialect
from alltoken_agent.simulator.account import account_routes
from alltoken_agent.simulator.chat import chat_completions
from alltoken_agent.simulator.control import SimulatorState, control_routes
from alltoken_agent.simulator.envelope import error_response
from alltoken_agent.simulator.faults import plain_body_fault
from alltoken_agent.simulator.listing import model_entry, model_list
from alltoken_agent.simulator.media import media_routes
from alltoken_agent.simulator.pipeline import Handler, RequestContext, v1_endpoint
from alltoken_agent.simulator.public import public_routes

IDENTITY_HEADER = "X-Simulator"
"""Response header naming the simulator on every reply (invented: no gateway sends it)."""

IDENTITY = "alltoken-agent-simulator"
"""The value of `IDENTITY_HEADER`."""

_IDENTITY_RAW = (IDENTITY_HEADER.lower().encode("latin-1"), IDENTITY.encode("latin-1"))


class SimulatorApp(Starlette):
    """Starlette app that labels every response and stashes the server's raw `send`.

    Starlette's middleware wraps `send`; the connection-drop faults need the server's
    own callable to reach the socket (`faults.drop_connection`), so the raw one is
    stashed before the labelling wrapper is put around it.
    """

    identify: bool = True
    """Whether responses carry `IDENTITY_HEADER` (set by `create_app`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] == "http":
            scope[RAW_SEND_SCOPE_KEY] = send
            if self.identify:
                send = _labelled(send)
        await super().__call__(scope, receive, send)


def _labelled(send: Send) -> Send:
    """`send` with the identity header added to the response start, in one place for all routes."""

    async def labelled(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            headers.append(_IDENTITY_RAW)
            message = {**message, "headers": headers}
        await send(message)

    return labelled


def _models_handler(modality: str | None) -> Handler:
    async def handler(body: Any, ctx: RequestContext) -> Response:
        replacement = await plain_body_fault(ctx.fault)
        if replacement is not None:
            return replacement
        return JSONResponse(model_list(ctx.dialect, modality))

    return handler


async def _model_handler(body: Any, ctx: RequestContext) -> Response:
    """`GET /v1/models/{id}`: one list entry, or a 404 envelope for an unknown id."""
    replacement = await plain_body_fault(ctx.fault)
    if replacement is not None:
        return replacement
    model_id = str(ctx.scope["path_params"]["model_id"])
    entry = model_entry(ctx.dialect, model_id)
    if entry is None:
        return error_response(
            404,
            "not_found",
            f"The model {model_id[:100]!r} does not exist (simulated): GET /v1/models lists "
            "the ids.",
            request_id=ctx.request_id,
            param="model",
        )
    return JSONResponse(entry)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    # invented: the slug for a wrong method; unknown paths use the documented `not_found`.
    code = "method_not_allowed" if status == 405 else "not_found"
    message = f"{request.method} {request.url.path}: no such endpoint in the simulator."
    return error_response(status, code, message, request_id=None)


def create_app(
    dialect: Literal["alltoken", "tokenhub"] = "alltoken",
    *,
    state: SimulatorState | None = None,
    chunk_delay: float = 0.0,
    identify: bool = True,
) -> Starlette:
    """Build the simulator app for one gateway dialect.

    Args:
        dialect: `alltoken` (docs/wire-format.md §1) or `tokenhub` (§2).
        state: Shared state; a fresh one when None. Exposed as `app.state.sim`.
        chunk_delay: Seconds between streamed events, on a schedule from the first (the
            loop's own lag does not add up over a long stream).
        identify: Label every response with `IDENTITY_HEADER`. Only tests turn it off,
            to let the simulator play a real gateway whose spend is real.

    Returns:
        The ASGI app.

    Raises:
        ValueError: Unknown dialect or negative `chunk_delay`.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")
    if chunk_delay < 0:
        raise ValueError("chunk_delay must be >= 0 seconds")
    sim = state if state is not None else SimulatorState()
    checked: Dialect = dialect

    def v1(path: str, handler: Handler, method: str) -> Route:
        endpoint = v1_endpoint(handler, dialect=checked, state=sim, chunk_delay=chunk_delay)
        return Route(path, endpoint, methods=[method])

    routes: list[BaseRoute] = [
        v1("/v1/chat/completions", chat_completions, "POST"),
        v1("/v1/models", _models_handler(None), "GET"),
        v1("/v1/models/{model_id:path}", _model_handler, "GET"),
        v1("/v1/images/models", _models_handler("image"), "GET"),
        v1("/v1/videos/models", _models_handler("video"), "GET"),
        # Media endpoints (images, videos, uploads) and the simulated bucket; see media.py.
        *media_routes(checked, sim, chunk_delay),
        *control_routes(sim),
    ]
    if checked == "alltoken":
        routes.extend(public_routes())
        routes.extend(account_routes())
    app = SimulatorApp(routes=routes, exception_handlers={HTTPException: _http_error})
    app.identify = identify
    app.state.sim = sim
    app.state.dialect = checked
    return app
