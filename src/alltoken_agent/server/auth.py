"""Who is calling: server keys (Bearer), the owner id each one stands for, and the gate.

A key is never stored: sessions and ledger rows carry its owner id, ``key_`` and the
first 32 hex digits of its SHA-256, so a database dump reveals no key. The gate is
an ASGI middleware so that a request without a valid key (401), or over its rate
(429), is refused before its body is read. Failed keys are counted per client address:
past the limit, that address gets 429 without its key being checked (see ``guard``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from alltoken_agent.server.errors import ApiError, error_response
from alltoken_agent.server.guard import AuthFailures, client_address, too_many_failures
from alltoken_agent.server.limits import RateLimiter

CALLER_SCOPE_KEY: Final = "alltoken_agent.caller"
"""ASGI scope key where the gate leaves the authenticated ``Caller``."""

PROTECTED_PREFIX: Final = "/v1/"
PUBLIC_PATHS: Final = frozenset({"/v1/capabilities"})
SKILL_PATHS: Final = frozenset({"/chat"})
"""Routes of the AllToken agent skill's server contract, outside ``/v1`` by its naming."""


def owner_id(key: str) -> str:
    """The owner id a server key stands for in the store: never the key itself."""
    return "key_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Caller:
    """An authenticated caller."""

    owner: str | None
    """Owner id of the caller's key; None on an open server (the local owner)."""

    @property
    def limit_key(self) -> str:
        """The key limits are counted under."""
        return self.owner or "local"


class Keyring:
    """The configured server keys, looked up by digest (no key is compared char by char)."""

    def __init__(self, keys: Iterable[SecretStr]) -> None:
        self._callers: dict[bytes, Caller] = {}
        for key in keys:
            secret = key.get_secret_value()
            self._callers[_digest(secret)] = Caller(owner_id(secret))

    @property
    def open(self) -> bool:
        """Whether no key is configured: every caller is the local owner."""
        return not self._callers

    @property
    def owners(self) -> list[str | None]:
        """The owner id of every configured key; ``[None]`` (the local owner) when open."""
        if self.open:
            return [None]
        owners = {caller.owner for caller in self._callers.values() if caller.owner}
        return [owner for owner in sorted(owners)]

    def identify(self, authorization: str | None) -> Caller | None:
        """The caller an ``Authorization`` header proves, or None."""
        if self.open:
            return Caller(None)
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self._callers.get(_digest(token.strip()))


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class AuthGate:
    """ASGI middleware: a valid key and a free rate slot for every ``/v1/`` request."""

    def __init__(
        self,
        app: ASGIApp,
        keyring: Keyring,
        limiter: RateLimiter,
        failures: AuthFailures | None = None,
    ) -> None:
        self.app = app
        self.keyring = keyring
        self.limiter = limiter
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse (401, 429) or pass the request on with its ``Caller`` in the scope."""
        path: str = scope.get("path", "")
        protected = path.startswith(PROTECTED_PREFIX) or path in SKILL_PATHS
        if scope["type"] != "http" or not protected or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        blocked = self.failures.retry_after(address) if self.failures is not None else 0
        if blocked:
            # Checked before the key: while blocked, a guess cannot be confirmed either.
            await error_response(too_many_failures(blocked))(scope, receive, send)
            return
        caller = self.keyring.identify(Headers(scope=scope).get("authorization"))
        if caller is None:
            if self.failures is not None:
                self.failures.record(address)
            error = ApiError(
                401,
                "unauthorized",
                "a valid server key is required: send Authorization: Bearer <key>",
                type="authentication_error",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await error_response(error)(scope, receive, send)
            return
        wait = self.limiter.acquire(caller.limit_key)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            error = ApiError(
                429,
                "rate_limited",
                f"too many requests for this key; retry in {seconds} s",
                type="rate_limit_error",
                headers={"Retry-After": str(seconds)},
            )
            await error_response(error)(scope, receive, send)
            return
        scope[CALLER_SCOPE_KEY] = caller
        await self.app(scope, receive, send)


bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ServerKey",
    description="A server key (ALLTOKEN_AGENT_SERVER_KEYS or [server] keys).",
)


async def current_caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Caller:
    """The dependency routes take: the caller the gate authenticated.

    A coroutine, so FastAPI calls it on the event loop: a plain function would cost every
    request a trip through its thread pool.
    """
    caller = request.scope.get(CALLER_SCOPE_KEY)
    if not isinstance(caller, Caller):  # a route outside the gate's prefix: refuse, never open
        raise ApiError(
            401,
            "unauthorized",
            "a valid server key is required: send Authorization: Bearer <key>",
            type="authentication_error",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller
