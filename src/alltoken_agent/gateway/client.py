"""The async gateway client: one pooled HTTP connection set per gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from alltoken_agent.config import plain_defaults
from alltoken_agent.errors import ConfigError, GatewayError
from alltoken_agent.gateway._chat_body import chat_body
from alltoken_agent.gateway._clients import (
    async_openai_client,
    open_pool,
    openai_client,
    sdk_options,
)
from alltoken_agent.gateway._completion import completion_result
from alltoken_agent.gateway._deadline import Deadlines, within_total
from alltoken_agent.gateway._envelope import detach
from alltoken_agent.gateway._offline import OFFLINE_KEY, start_simulator
from alltoken_agent.gateway._requests import RequestPath
from alltoken_agent.gateway._secret import SecretKey
from alltoken_agent.gateway._settings import section_values
from alltoken_agent.gateway._simulated import SimulatorAware
from alltoken_agent.gateway._transport import (
    RetryNotice,
    build_timeouts,
    with_idle_read,
)
from alltoken_agent.gateway.providers import Provider, get_provider, resolve
from alltoken_agent.gateway.records import Observer, RequestKind, start_record
from alltoken_agent.gateway.redact import Redactor, protect_logs
from alltoken_agent.gateway.retry import RetryPolicy
from alltoken_agent.gateway.sse import DEFAULT_MAX_LINE
from alltoken_agent.gateway.stream import ChatStream, accounting_extra
from alltoken_agent.gateway.types import ChatResult

if TYPE_CHECKING:
    import openai

    from alltoken_agent.config import Config, TimeoutSettings
    from alltoken_agent.simulator import SimulatorServer

Message = Mapping[str, Any]

__all__ = ["OFFLINE_KEY", "Gateway", "Message", "RetryNotice"]


class Gateway(SimulatorAware, RequestPath):
    """Talks to one OpenAI-compatible gateway.

    Example:
        ```python
        async with Gateway() as gateway:  # provider "alltoken", key from ALLTOKEN_API_KEY
            result = await gateway.chat([{"role": "user", "content": "Hi"}])
            async with gateway.stream([{"role": "user", "content": "Hi"}]) as stream:
                async for event in stream:
                    ...
        ```
    """

    def __init__(
        self,
        provider: str | Provider | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        config: Config | None = None,
        timeout: float | TimeoutSettings | None = None,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        environ: Mapping[str, str] | None = None,
        max_line: int = DEFAULT_MAX_LINE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Resolve the provider and open the connection pool.

        Args:
            provider: A profile name (``alltoken``, ``tokenhub``, ``openai`` or
                one from the config file) or a ``Provider``.
            api_key: Overrides the key from the provider's environment variable.
            base_url: Overrides the provider's base URL.
            model: Default model for requests that name none.
            config: The config file's settings; defaults to none.
            timeout: Seconds (applied to connect and read) or full settings, whose
                ``idle`` and ``total`` bound a reply (else the config's do).
            retry: The retry policy; defaults come from the config.
            on_retry: Called before each retry sleep (for progress display).
            environ: Environment to read keys from; defaults to ``os.environ``.
            max_line: Longest SSE line accepted, in characters; a longer one ends the
                stream with ``malformed_chunk``.
            transport: Carries the requests instead of the pool (``[http]``), e.g. an
                ``httpx.MockTransport`` in a test; it sees the requests with the key.

        Raises:
            ConfigError: Unknown provider, no base URL, or no key where one is needed.
        """
        cfg = config or plain_defaults()
        resolved = resolve(
            provider=provider, base_url=base_url, model=model, config=cfg, environ=environ
        )
        self.provider = resolved.provider
        self.model = resolved.model
        key = SecretKey(api_key) if api_key else resolved.api_key
        # An explicit base URL may point at a local server that takes no key.
        if key is None and self.provider.requires_key and not resolved.base_url_overridden:
            raise ConfigError(
                f"{resolved.describe_missing_key()}, or pass gateway=Gateway.offline() "
                "to run on the built-in simulator"
            )
        self._api_key = key
        self._redact = Redactor([key.get_secret_value() if key else None])
        protect_logs(key.get_secret_value() if key else None)
        policy = retry or RetryPolicy(**section_values(cfg.retry))
        self.retry = policy.capped(self.provider.max_attempts)  # a contract's bound (§2.5)
        self.max_request_cost = cfg.ledger.max_request_cost_usd
        """USD; a streamed cost comment above it is taken as wrong (``[ledger]``)."""
        self.on_retry = on_retry
        self._timeouts = build_timeouts(timeout, cfg.timeouts)
        # Seconds (or none) bound only the connection; settings carry their own deadlines.
        limits = cfg.timeouts if timeout is None or isinstance(timeout, (int, float)) else timeout
        self._deadlines = Deadlines(total=limits.total, idle=limits.idle)
        # Replies read whole (catalog, media, the SDK clients) get the idle deadline
        # as a pause in the bytes; streamed chat applies it per data line instead.
        self._whole_timeouts = with_idle_read(self._timeouts, limits.idle)
        self._idle_read = limits.idle if self._whole_timeouts.read == limits.idle else None
        """The idle deadline when it is the read timeout of replies read whole."""
        self._max_line = max_line
        self._simulator: SimulatorServer | None = None
        self._simulated = False
        self._observers: list[Observer] = []
        assert self.provider.base_url is not None
        self.base_url = self.provider.base_url
        self._client = open_pool(
            self.base_url,
            key,
            self.provider.headers,
            self._timeouts,
            self._redact,
            self._note_response,
            cfg.http,
            transport,
        )

    @classmethod
    def offline(cls, provider: str | Provider = "alltoken", **kwargs: Any) -> Gateway:
        """Start the offline simulator in-process and return a Gateway talking to it.

        The simulator listens on a free loopback port and speaks the provider's
        dialect; ``aclose()`` stops it. This is what ``--offline`` runs use.
        """
        base = (
            provider
            if isinstance(provider, Provider)
            else get_provider(provider, kwargs.get("config"))
        )
        server, profile = start_simulator(base, chunk_delay=kwargs.pop("chunk_delay", 0.0))
        try:
            gateway = cls(profile, api_key=OFFLINE_KEY, **kwargs)
        except BaseException:
            server.stop()
            raise
        gateway._simulator = server
        gateway._simulated = True
        return gateway

    def __repr__(self) -> str:
        return f"Gateway(provider={self.provider.name!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (and stop the offline simulator, if any)."""
        await self._client.aclose()
        if self._simulator is not None:
            server, self._simulator = self._simulator, None
            await asyncio.to_thread(server.stop)

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(record)`` after every request (see ``RequestRecord``)."""
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        """Stop calling ``observer``."""
        if observer in self._observers:
            self._observers.remove(observer)

    def observe(
        self,
        kind: RequestKind,
        model: str | None,
        *,
        stream: bool = False,
    ) -> Callable[..., None] | None:
        """Start timing a request; call the returned function once it ends.

        Returns None when nobody observes, so an unobserved request pays nothing.
        The returned ``end(result=None, error=None, first_token_at=None, **fields)``
        takes a ``ChatResult``-like object (``usage``, ``cost``, ``request_id``) or
        the error, and extra ``RequestRecord`` fields (media jobs pass ``extra``).
        """
        return start_record(
            self._observers,
            self.provider.name,
            kind,
            model,
            stream=stream,
            # Asked when the request ends, once its reply has said who answered.
            simulated=self._is_simulated,
        )

    @property
    def deadlines(self) -> Deadlines:
        """The ``[timeouts] total`` and ``idle`` seconds every request of this gateway gets."""
        return self._deadlines

    def redact(self, text: str) -> str:
        """Mask this gateway's key (and key-shaped tokens) in ``text``."""
        return self._redact(text)

    # -- chat ---------------------------------------------------------------

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatResult:
        """Send a non-streaming chat completion and return the whole reply.

        Every extra keyword is passed through as a request field, gateway
        extensions included (``enable_search``, ``thinking``, ``thinking_budget``,
        ``response_format``, ``tools``, ``tool_choice``, ...). ``extra_headers``
        are added to this request only.
        """
        body = chat_body(messages, model or self.model, self.provider.name, fields, stream=False)
        end = self.observe("chat", body["model"])
        try:
            response = await within_total(
                self._deadlines.start(),
                lambda: self._send("chat/completions", body, extra_headers, stream=False),
            )
            result = completion_result(response)
        except GatewayError as error:
            detach(error)  # no httpx or JSON error (nor the request they hold) rides along
            if end is not None:
                end(error=error)
            raise
        except asyncio.CancelledError:
            if end is not None:
                end()
            raise
        if end is not None:
            if result.notices:  # the ledger row says why its usage is unknown
                end(result, extra=accounting_extra(result))
            else:
                end(result)
        return result

    def stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatStream:
        """Start a streaming chat completion; see ``ChatStream``.

        Takes the same arguments as ``chat``. ``stream_options.include_usage``
        is always asked for, so the usage chunk (and on AllToken the cost
        comment) arrive.
        """
        body = chat_body(messages, model or self.model, self.provider.name, fields, stream=True)
        headers = {"Accept": "text/event-stream", **(extra_headers or {})}
        end = self.observe("chat", body["model"], stream=True)
        return ChatStream(
            lambda: self._send("chat/completions", body, headers, stream=True),
            self._redact,
            on_end=end,
            max_cost=self.max_request_cost,
            max_line=self._max_line,
            deadlines=self._deadlines,
        )

    # -- official SDK clients -------------------------------------------------

    def openai_client(self) -> openai.OpenAI:
        """An official ``openai`` SDK client configured for this provider."""
        return openai_client(self._sdk_options(), self._redact, self.base_url)

    def async_openai_client(self) -> openai.AsyncOpenAI:
        """An official async ``openai`` SDK client configured for this provider."""
        return async_openai_client(self._sdk_options(), self._redact, self.base_url)

    def _sdk_options(self) -> dict[str, Any]:
        return sdk_options(
            self._api_key,
            self.base_url,
            self._whole_timeouts,
            self.retry.max_retries,
            self.provider.headers,
        )
