"""Wire helpers shared by the media endpoints: request access, validation errors, faults.

Media handlers get the usual `(body, ctx)` from the `/v1` pipeline and read path
parameters, query, headers and the bearer token from `ctx.scope` through `incoming`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from alltoken_agent.simulator._constants import IDEMPOTENCY_HEADER, JOB_FAULT_HEADER
from alltoken_agent.simulator.envelope import error_body, error_response
from alltoken_agent.simulator.faults import DropConnection, plain_body_fault
from alltoken_agent.simulator.job_faults import JobFault, JobFaultSpecError, parse_job_fault
from alltoken_agent.simulator.media_store import MediaState, MediaTask, token_hash
from alltoken_agent.simulator.pipeline import Handler, RequestContext, bearer_token

OBJECT_PREFIX: Final = "/_sim/r2/"
"""Path prefix of the simulated R2 bucket (result downloads and upload PUTs)."""


class MediaRequestError(ValueError):
    """A media request is rejected; carries the HTTP status, code slug and param."""

    def __init__(
        self, message: str, *, param: str | None = None, status: int = 400, code: str = ""
    ) -> None:
        super().__init__(message)
        self.param = param
        self.status = status
        self.code = code or "invalid_request"


def require(ok: bool, param: str | None, message: str, **kwargs: Any) -> None:
    """Raise `MediaRequestError` (400 `invalid_request` unless overridden) when not ok."""
    if not ok:
        raise MediaRequestError(message, param=param, **kwargs)


def is_int(value: Any) -> bool:
    """Whether a JSON value is an integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_optional(body: Mapping[str, Any], name: str, kind: type, what: str) -> None:
    """Require `body[name]` to be absent/null or an instance of `kind`."""
    value = body.get(name)
    ok = value is None or (
        isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    )
    require(ok, name, f"{name} must be {what}")


def check_choice(body: Mapping[str, Any], name: str, options: tuple[str, ...]) -> None:
    """Require `body[name]` to be absent/null or one of `options`."""
    value = body.get(name)
    require(
        value is None or (isinstance(value, str) and value in options),
        name,
        f"{name} must be one of {', '.join(options)}",
    )


def is_public_http_url(value: Any) -> bool:
    """Whether a value is an absolute http(s) URL with a host (§1.9 "public http(s) only")."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def error_for(exc: MediaRequestError, ctx: RequestContext) -> JSONResponse:
    """Render a `MediaRequestError` in the gateway envelope."""
    return error_response(
        exc.status,
        exc.code,
        f"{exc} (simulated gateway).",
        request_id=ctx.request_id,
        param=exc.param,
    )


@dataclass(frozen=True)
class Incoming:
    """What a media handler needs from the HTTP request besides the JSON body."""

    request: Request
    """The Starlette request (path params, query, headers)."""
    owner: str
    """`token_hash` of the bearer token (the token itself is not kept)."""

    @property
    def root(self) -> str:
        """Root URL the client reached us on, e.g. `http://127.0.0.1:PORT` (no slash)."""
        return str(self.request.base_url).rstrip("/")

    def object_url(self, key: str) -> str:
        """Absolute URL of an object in the simulated bucket."""
        return f"{self.root}{OBJECT_PREFIX}{key}"

    @property
    def idempotency_key(self) -> str | None:
        """The `Idempotency-Key` header, or None when absent or blank."""
        value = self.request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        return value or None

    def header_job_fault(self) -> JobFault | None:
        """The fault of the `X-Sim-Job-Fault` header, if any.

        Raises:
            MediaRequestError: The header holds an unknown spec (400 `invalid_fault_spec`).
        """
        spec = self.request.headers.get(JOB_FAULT_HEADER, "").strip()
        if not spec:
            return None
        try:
            return parse_job_fault(spec)
        except JobFaultSpecError as exc:
            raise MediaRequestError(
                f"{exc} (from the {JOB_FAULT_HEADER} header)",
                param=JOB_FAULT_HEADER,
                code="invalid_fault_spec",
            ) from None


def incoming(ctx: RequestContext) -> Incoming:
    """Rebuild the request of a handler from its ASGI scope."""
    request = Request(ctx.scope)
    return Incoming(request=request, owner=token_hash(bearer_token(request)))


Work = Callable[[Any, RequestContext], Awaitable[Response]]
"""The body of a media endpoint; may raise `MediaRequestError`."""


def media_endpoint(work: Work) -> Handler:
    """Wrap media work with the media fault rules and error rendering.

    Body faults (`disconnect:N`, `malformed:N`, `eof:N`, `stall:N:S`) act before the work
    (nothing is created, claimed or counted); `accept_then_drop` lets the work happen
    and then drops the connection, whatever the response was.
    """

    async def handler(body: Any, ctx: RequestContext) -> Response:
        fault = ctx.fault
        if fault is not None and fault.kind != "accept_then_drop":
            early = await plain_body_fault(fault)
            if early is not None:
                return early
        try:
            response = await work(body, ctx)
        except MediaRequestError as exc:
            response = error_for(exc, ctx)
        if fault is not None and fault.kind == "accept_then_drop":
            return DropConnection()
        return response

    return handler


Phase = Literal["queued", "processing", "completed", "failed", "cancelled"]


def task_phase(task: MediaTask, now: float) -> Phase:
    """Where a task is at clock time `now`: a third of its duration queued, then processing.

    A cancelled task stays cancelled; at the end, its job fault decides (`fail` ->
    failed, `cancel` -> cancelled), otherwise it completed.
    """
    if task.cancelled_at is not None:
        return "cancelled"
    elapsed = now - task.created
    if elapsed < task.duration / 3:
        return "queued"
    if elapsed < task.duration:
        return "processing"
    fault = task.job_fault
    if fault is not None and fault.kind == "fail":
        return "failed"
    if fault is not None and fault.kind == "cancel":
        return "cancelled"
    return "completed"


def find_task(
    media: MediaState, task_id: str, owner: str, *, kind: str, dialect: str
) -> MediaTask | None:
    """Return a task of this kind, dialect and owner (others' tasks are "not found")."""
    with media.lock:
        task = media.tasks.get(task_id)
    if task is None or task.kind != kind or task.dialect != dialect or task.owner != owner:
        return None
    return task


def claim_idempotency(
    media: MediaState, kind: str, owner: str, key: str | None, task_id: str
) -> str | None:
    """Check and start an `Idempotency-Key` window in one step (concurrent retries race).

    Args:
        media: Media state.
        kind: `image` or `video` (separate key spaces).
        owner: `token_hash` of the key (keys are per API key, invented).
        key: The header value, or None (no dedupe).
        task_id: Id the new task will get if the key is free.

    Returns:
        The id of the task the key already names within the window, or None when the
        caller should go on and create `task_id`.
    """
    if key is None:
        return None
    with media.lock:
        hit = media.idempotency.get((kind, owner, key))
        if hit is not None and media.now() - hit[1] < media.idempotency_window:
            return hit[0]
        media.idempotency[(kind, owner, key)] = (task_id, media.now())
    return None


def duplicate(ctx: RequestContext, task_id: str) -> JSONResponse:
    """409 `duplicate_request` with `error.task_id` (§1.1, §3 row 7 follows PATHS)."""
    body = error_body(
        "duplicate_request",
        f"A request with this Idempotency-Key already created task {task_id} within the "
        "dedupe window (simulated gateway). Poll that task instead of resubmitting.",
        request_id=ctx.request_id,
        param=IDEMPOTENCY_HEADER,
    )
    body["error"]["task_id"] = task_id
    return JSONResponse(body, status_code=409)
