"""The async gateway client: one pooled HTTP connection set per gateway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from alltoken_agent._version import __version__
from alltoken_agent.config import Config, TimeoutSettings
from alltoken_agent.errors import (
    ConfigError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    UpstreamError,
)
from alltoken_agent.gateway._envelope import error_from_response
from alltoken_agent.gateway.catalog_api import ModelsAPI
from alltoken_agent.gateway.providers import Provider, get_provider, resolve
from alltoken_agent.gateway.records import (
    Observer,
    RequestKind,
    RequestRecord,
    current_tags,
    notify,
)
from alltoken_agent.gateway.redact import Redactor, protect_logs
from alltoken_agent.gateway.retry import RetryPolicy
from alltoken_agent.gateway.stream import REQUEST_ID_FIELD, ChatStream
from alltoken_agent.gateway.types import ChatResult, ToolCall, Usage

if TYPE_CHECKING:
    import openai

    from alltoken_agent.media import ImagesAPI, VideosAPI
    from alltoken_agent.simulator import SimulatorServer
    from alltoken_agent.store import Store

Message = Mapping[str, Any]

# The simulator speaks two dialects; a plain OpenAI-compatible host behaves
# like TokenHub on the wire (no cost comment, no gateway extensions).
_SIMULATOR_DIALECT = {"alltoken": "alltoken", "tokenhub": "tokenhub", "openai": "tokenhub"}
OFFLINE_KEY = "offline-simulator"
"""The placeholder key the in-process simulator is called with; not a secret."""


@dataclass(frozen=True)
class RetryNotice:
    """Told to ``on_retry`` before each retry sleep."""

    attempt: int
    """The retry about to be made, from 1."""
    delay: float
    error: GatewayError


class Gateway:
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
        store: Store | None = None,
    ) -> None:
        """Resolve the provider and open the connection pool.

        Args:
            provider: A profile name (``alltoken``, ``tokenhub``, ``openai`` or
                one from the config file) or a ``Provider``.
            api_key: Overrides the key from the provider's environment variable.
            base_url: Overrides the provider's base URL.
            model: Default model for requests that name none.
            config: The config file's settings; defaults to none.
            timeout: Seconds (applied to connect and read) or full settings.
            retry: The retry policy; defaults come from the config.
            on_retry: Called before each retry sleep (for progress display).
            environ: Environment to read keys from; defaults to ``os.environ``.
            store: Where media jobs are journaled; None opens the default ``Store()``
                on the first image or video job.

        Raises:
            ConfigError: Unknown provider, no base URL, or no key where one is needed.
        """
        cfg = config or Config()
        resolved = resolve(
            provider=provider, base_url=base_url, model=model, config=cfg, environ=environ
        )
        self.provider = resolved.provider
        self.model = resolved.model
        key = SecretStr(api_key) if api_key else resolved.api_key
        # An explicit base URL may point at a local server that takes no key.
        if key is None and self.provider.requires_key and not resolved.base_url_overridden:
            raise ConfigError(resolved.describe_missing_key())
        self._api_key = key
        self._redact = Redactor([key.get_secret_value() if key else None])
        protect_logs(key.get_secret_value() if key else None)
        self.retry = retry or RetryPolicy(**cfg.retry.model_dump())
        self.on_retry = on_retry
        self._timeouts = _timeouts(timeout, cfg.timeouts)
        self._simulator: SimulatorServer | None = None
        self._observers: list[Observer] = []
        self.store = store
        """The media job journal's store (opened on first media use when None)."""
        headers = {"User-Agent": f"alltoken-agent/{__version__}", **self.provider.headers}
        if key is not None:
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
        assert self.provider.base_url is not None
        self.base_url = self.provider.base_url
        self._client = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=self._timeouts,
            # Few idle connections: httpcore scans its pool quadratically in the
            # number of idle connections on every request, which made 200
            # concurrent streams cost 3x the CPU with 200 kept alive.
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=20),
        )

    @classmethod
    def offline(cls, provider: str | Provider = "alltoken", **kwargs: Any) -> Gateway:
        """Start the offline simulator in-process and return a Gateway talking to it.

        The simulator listens on a free loopback port and speaks the provider's
        dialect; ``aclose()`` stops it. This is what ``--offline`` runs use.
        """
        # The one place the core reaches the simulator, and only when asked to.
        from alltoken_agent.simulator import SimulatorServer

        base = (
            provider
            if isinstance(provider, Provider)
            else get_provider(provider, kwargs.get("config"))
        )
        server = SimulatorServer(
            _SIMULATOR_DIALECT[base.dialect], chunk_delay=kwargs.pop("chunk_delay", 0.0)
        )
        server.start()
        profile = replace(
            base,
            base_url=server.base_url,
            api_key_env=None,
            requires_key=False,
            # The simulator's catalog knows this one, for providers with no default.
            default_model=base.default_model or "gpt-5.4-mini",
        )
        try:
            gateway = cls(profile, api_key=OFFLINE_KEY, **kwargs)
        except BaseException:
            server.stop()
            raise
        gateway._simulator = server
        return gateway

    @property
    def offline_simulator(self) -> SimulatorServer | None:
        """The in-process simulator when this gateway was made by ``offline()``."""
        return self._simulator

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
        if not self._observers:
            return None
        started_at = datetime.now(timezone.utc)
        started = time.monotonic()
        tags = dict(current_tags())

        def end(
            result: Any = None,
            error: GatewayError | None = None,
            first_token_at: float | None = None,
            **fields: Any,
        ) -> None:
            finished = time.monotonic()
            if error is not None:
                outcome = error.code
            else:
                outcome = "ok" if result is not None else "cancelled"
            record = RequestRecord(
                kind=kind,
                provider=self.provider.name,
                model=getattr(result, "model", None) or model,
                started_at=started_at,
                outcome=outcome,
                stream=stream,
                latency=finished - started,
                ttft=None if first_token_at is None else first_token_at - started,
                usage=getattr(result, "usage", None),
                cost=getattr(result, "cost", None),
                status=error.status if error is not None else None,
                request_id=getattr(result, "request_id", None)
                or (error.request_id if error is not None else None),
                attempts=error.attempts if error is not None else 1,
                tags=tags,
                **fields,
            )
            notify(self._observers, record)

        return end

    def redact(self, text: str) -> str:
        """Mask this gateway's key (and key-shaped tokens) in ``text``."""
        return self._redact(text)

    @property
    def models(self) -> ModelsAPI:
        """Model lists (``GET /models``) and the public catalog, rankings and health."""
        return ModelsAPI(self)

    # media/ is a core layer above gateway/: these two properties import it at call
    # time, a documented exception to "imports point down" (like ``offline()``).

    @property
    def images(self) -> ImagesAPI:
        """Image jobs: ``await gateway.images.generate(prompt, save_to=...)``."""
        from alltoken_agent.media import ImagesAPI

        return ImagesAPI(self)

    @property
    def videos(self) -> VideosAPI:
        """Video jobs: ``await gateway.videos.generate(prompt, ...)``, ``get``, ``cancel``."""
        from alltoken_agent.media import VideosAPI

        return VideosAPI(self)

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
        body = self._body(messages, model, fields, stream=False)
        end = self.observe("chat", body["model"])
        try:
            response = await self._send("chat/completions", body, extra_headers, stream=False)
            try:
                data = response.json()
            except ValueError:
                raise UpstreamError(
                    "the gateway answered 200 with a body that is not JSON",
                    status=response.status_code,
                    code="malformed_response",
                    request_id=response.headers.get(REQUEST_ID_FIELD),
                ) from None
            result = _parse_completion(data, response.headers.get(REQUEST_ID_FIELD))
        except GatewayError as error:
            if end is not None:
                end(error=error)
            raise
        except asyncio.CancelledError:
            if end is not None:
                end()
            raise
        if end is not None:
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
        body = self._body(messages, model, fields, stream=True)
        headers = {"Accept": "text/event-stream", **(extra_headers or {})}
        end = self.observe("chat", body["model"], stream=True)
        return ChatStream(
            lambda: self._send("chat/completions", body, headers, stream=True),
            self._redact,
            on_end=end,
        )

    def _body(
        self,
        messages: Sequence[Message],
        model: str | None,
        fields: dict[str, Any],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        chosen = model or self.model
        if not chosen:
            raise ConfigError(
                f"no model chosen for provider {self.provider.name!r}: pass model= "
                "(--model) or set `model` in the config file"
            )
        body: dict[str, Any] = {"model": chosen, "messages": list(messages), **fields}
        body["stream"] = stream
        if stream:
            options = dict(body.get("stream_options") or {})
            options["include_usage"] = True
            body["stream_options"] = options
        else:
            body.pop("stream_options", None)
        return body

    # -- transport ----------------------------------------------------------

    async def _send(
        self,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        *,
        stream: bool,
    ) -> httpx.Response:
        """POST with the retry policy; returns a successful response.

        With ``stream=True`` the response body is not read yet, and nothing is
        retried after this returns.
        """
        attempt = 0
        while True:
            error = await self._attempt(path, body, headers, stream)
            if isinstance(error, httpx.Response):
                return error
            delay = self.retry.delay(attempt, error)
            if delay is None:
                error.attempts = attempt + 1
                raise error
            if self.on_retry is not None:
                self.on_retry(RetryNotice(attempt=attempt + 1, delay=delay, error=error))
            await asyncio.sleep(delay)
            attempt += 1

    async def _get(
        self, url: str, *, params: Mapping[str, str] | None = None, auth: bool = True
    ) -> httpx.Response:
        """GET with the retry policy; returns a successful, fully read response.

        ``url`` is relative to the base URL or absolute (the public catalog);
        ``auth=False`` leaves the Authorization header out (public endpoints).
        """
        attempt = 0
        while True:
            try:
                request = self._client.build_request("GET", url, params=params)
                if not auth:
                    request.headers.pop("Authorization", None)
                response = await self._client.send(request)
            except httpx.TimeoutException as exc:
                error: GatewayError = GatewayTimeoutError(
                    self._redact(f"no answer from {request.url} in time ({type(exc).__name__})")
                )
            except httpx.TransportError as exc:
                reason = self._redact(str(exc) or type(exc).__name__)
                error = GatewayConnectionError(f"cannot reach {request.url}: {reason}")
            else:
                if response.status_code < 400:
                    return response
                error = error_from_response(
                    response.status_code, response.content, response.headers, self._redact
                )
            delay = self.retry.delay(attempt, error)
            if delay is None:
                error.attempts = attempt + 1
                raise error
            if self.on_retry is not None:
                self.on_retry(RetryNotice(attempt=attempt + 1, delay=delay, error=error))
            await asyncio.sleep(delay)
            attempt += 1

    async def _attempt(
        self,
        path: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> httpx.Response | GatewayError:
        """One try; the error it returns instead of raising decides the retry."""
        try:
            request = self._client.build_request("POST", path, json=body, headers=headers)
            response = await self._client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            return GatewayTimeoutError(
                self._redact(f"no answer from {self.base_url} in time ({type(exc).__name__})")
            )
        except httpx.TransportError as exc:
            reason = self._redact(str(exc) or type(exc).__name__)
            return GatewayConnectionError(f"cannot reach {self.base_url}: {reason}")
        if response.status_code < 400:
            return response
        raw = await response.aread()
        await response.aclose()
        return error_from_response(response.status_code, raw, response.headers, self._redact)

    # -- official SDK clients -------------------------------------------------

    def openai_client(self) -> openai.OpenAI:
        """An official ``openai`` SDK client configured for this provider."""
        import openai

        return openai.OpenAI(**self._sdk_options())

    def async_openai_client(self) -> openai.AsyncOpenAI:
        """An official async ``openai`` SDK client configured for this provider."""
        import openai

        return openai.AsyncOpenAI(**self._sdk_options())

    def _sdk_options(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key.get_secret_value() if self._api_key else "not-needed",
            "base_url": self.base_url,
            "timeout": self._timeouts.read,
            "max_retries": self.retry.max_retries,
            "default_headers": dict(self.provider.headers),
        }


def _timeouts(value: float | TimeoutSettings | None, default: TimeoutSettings) -> httpx.Timeout:
    if isinstance(value, (int, float)):
        return httpx.Timeout(value, connect=min(float(value), default.connect))
    settings = value or default
    return httpx.Timeout(
        connect=settings.connect, read=settings.read, write=settings.write, pool=settings.pool
    )


def _parse_completion(data: Any, header_request_id: str | None) -> ChatResult:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise UpstreamError(
            "the gateway answered 200 without a `choices` list",
            status=200,
            code="malformed_response",
            request_id=header_request_id,
        )
    choices = data["choices"]
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    calls = tuple(
        ToolCall(
            id=call.get("id") or f"call_{index}",
            name=(call.get("function") or {}).get("name") or "",
            arguments=((call.get("function") or {}).get("arguments") or "").strip() or "{}",
        )
        for index, call in enumerate(message.get("tool_calls") or ())
    )
    usage = data.get("usage")
    return ChatResult(
        text=message.get("content") or "",
        reasoning=message.get("reasoning_content") or message.get("reasoning") or "",
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        usage=Usage.from_wire(usage) if isinstance(usage, dict) else None,
        model=data.get("model"),
        request_id=data.get(REQUEST_ID_FIELD) or header_request_id,
        response_id=data.get("id"),
    )
