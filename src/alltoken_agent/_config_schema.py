"""The config file's schema: the pydantic models :mod:`alltoken_agent.config` hands out.

They live apart from :func:`~alltoken_agent.config.load_config` so that a run whose
config is plain values (``chat``, see :mod:`alltoken_agent._config_plain`) can read it
without importing pydantic; ``alltoken_agent.config`` imports this module the first
time one of its names is asked for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from alltoken_agent.config import Dialect


class _Section(BaseModel):
    # Validators are built on first use, all at once inside Config's: building each
    # section's own at import cost a command's start-up about twice as much.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    def __init__(self, /, **data: Any) -> None:
        """Validate ``data``; with none, take the defaults without building a validator.

        Pydantic never validates a default, so a section made from no values is its
        defaults exactly as ``model_construct()`` makes them; building the validators
        for that alone cost ``chat`` about 25 ms of CPU before its request.
        ``tests/test_config_quick.py`` pins the two ways to the same result.
        """
        if data:
            super().__init__(**data)
            return
        defaults = self.model_construct()
        for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__"):
            object.__setattr__(self, name, getattr(defaults, name))
        object.__setattr__(self, "__pydantic_private__", None)


class TimeoutSettings(_Section):
    """Seconds to wait; the defaults match the official SDKs."""

    connect: float = Field(default=10.0, gt=0)
    read: float = Field(default=60.0, gt=0)
    write: float = Field(default=30.0, gt=0)
    """Sending a request body; the official SDK clients only. Our own pool (aiohttp) has no
    write timeout, so there ``total`` bounds an upload."""
    pool: float = Field(default=30.0, gt=0)
    idle: float | None = Field(default=120.0, gt=0)
    """A streamed reply without a ``data:`` line this long ends in ``idle_timeout``.
    SSE comments (``: ping`` keep-alives) do not count; ``read`` restarts on any byte."""
    total: float | None = Field(default=600.0, gt=0)
    """A request (retries, their waits and the whole body) longer than this ends in
    ``total_timeout``. None (Python only) means no limit, for both."""


class HttpSettings(_Section):
    """The connection pool of a gateway (one per ``Gateway``, so per process in a front end)."""

    max_connections: int = Field(default=1000, ge=1)
    """Open connections, in use and idle; a request past it waits up to ``[timeouts] pool``."""
    keepalive_expiry: float = Field(default=5.0, ge=0)
    """Seconds an idle connection is kept for the next request (httpx's default: a server
    that closes idle connections sooner may race a request on one)."""


class RetrySettings(_Section):
    """How hard to retry 429, 5xx, timeouts and connection errors."""

    max_retries: int = Field(default=3, ge=0, le=20)
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=20.0, ge=0)
    max_retry_after: float = Field(default=120.0, ge=0)


class ProviderSettings(_Section):
    """A provider defined or overridden in the config file."""

    base_url: str | None = None
    api_key_env: str | None = None
    requires_key: bool | None = None
    default_model: str | None = None
    dialect: Dialect | None = None
    headers: dict[str, str] = Field(default_factory=dict)


class FamilySettings(_Section):
    """Overrides for a model family (see ``agent/families.py``)."""

    prefixes: list[str] | None = None
    search: Literal["native", "ignored", "unreliable", "rejected", "unknown"] | None = None
    echo_reasoning: bool | None = None


class PriceSettings(_Section):
    """A model's price override, USD (as decimal strings or numbers)."""

    input_per_1k: Decimal | None = Field(default=None, ge=0)
    output_per_1k: Decimal | None = Field(default=None, ge=0)
    per_image: Decimal | None = Field(default=None, ge=0)
    per_video_second: Decimal | None = Field(default=None, ge=0)


class BudgetSettings(_Section):
    """Spending limits; the agent stops before a request that would cross one."""

    daily_usd: Decimal | None = Field(default=None, gt=0)
    warn_at: float = Field(default=0.8, gt=0, le=1)


class LedgerSettings(_Section):
    """How gateway-reported costs are checked before they are believed."""

    max_request_cost_usd: Decimal = Field(default=Decimal(100), gt=0, allow_inf_nan=False)
    """A gateway cost above it (USD, one request) is taken as wrong: recorded as unknown."""


class MediaSettings(_Section):
    """Image and video results: the largest download accepted, per kind, in MB (MiB).

    A gateway that sends a bigger file (or says it will) gets its download stopped
    while it streams; the job stays resumable, so raising the cap and running
    ``jobs resume`` fetches it.
    """

    max_image_mb: float = Field(default=64.0, gt=0)
    max_video_mb: float = Field(default=2048.0, gt=0)


class ServerSettings(_Section):
    """``alltoken-agent serve``: who may call it, its limits, and where it keeps its state.

    ```toml
    [server]
    keys = ["a-long-random-key-for-alice", "another-for-bob"]   # Bearer keys; or env
    store_url = "postgresql://agent@db.internal/agent"        # shared by every replica
    max_body_bytes = 8388608          # 413 past it
    rate_limit_per_minute = 120       # per key; 429 with Retry-After past it
    rate_limit_burst = 30
    max_concurrent_runs = 8           # agent runs in flight per key
    daily_budget_usd = "5.00"         # per key, from the ledger
    shutdown_grace = 20.0             # seconds in-flight runs get on shutdown
    header_timeout = 10.0             # seconds to send a request's headers; 408 past it
    auth_failure_limit = 10           # wrong keys per client address per window; then 429
    auth_failure_window = 60.0
    max_sessions_per_key = 1000       # creating one more is 403
    media_jobs = "workers"            # queue image/video jobs for `alltoken-agent worker`
    processes = 2                     # server processes on one port (serve --processes)
    ```

    ``ALLTOKEN_AGENT_SERVER_KEYS`` (comma-separated) replaces ``keys`` when set.
    """

    keys: list[SecretStr] = Field(default_factory=list)
    store_url: SecretStr | None = None
    """A SQLAlchemy URL; None is the local SQLite file. Secret: it may hold a password."""
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    rate_limit_per_minute: float = Field(default=120.0, gt=0)
    rate_limit_burst: int = Field(default=30, ge=1)
    max_concurrent_runs: int = Field(default=8, ge=1)
    daily_budget_usd: Decimal | None = Field(default=None, gt=0)
    shutdown_grace: float = Field(default=20.0, ge=0)
    header_timeout: float = Field(default=10.0, gt=0)
    auth_failure_limit: int = Field(default=10, ge=1)
    auth_failure_window: float = Field(default=60.0, gt=0)
    max_sessions_per_key: int = Field(default=1000, ge=1)
    media_jobs: Literal["server", "workers"] = "server"
    """Who runs the media jobs the server accepts: ``server`` (itself) or ``workers``."""
    processes: int = Field(default=1, ge=1, le=256)
    """Server processes sharing the port (``serve --processes``); limits count per process."""


class ContextSettings(_Section):
    """How the agent fits long conversations into a model's context window."""

    policy: Literal["trim", "fail"] = "trim"
    """``trim`` drops the oldest turns; ``fail`` raises instead."""
    lengths: dict[str, int] = Field(default_factory=dict)
    """Context length in tokens per model id, over the catalog's."""


class ApprovalSettings(_Section):
    """Tools whose calls a person must approve first (MCP tools included, by name)."""

    tools: list[str] = Field(default_factory=list)


class MCPServerSettings(_Section):
    """An MCP server whose tools an agent may use: ``chat --mcp NAME``, ``tui --mcp NAME``.

    Give either ``command`` (a program started with stdio) or ``url`` (streamable HTTP):

    ```toml
    [mcp_servers.files]
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
    env = {LOG_LEVEL = "warn"}       # set for the server
    env_vars = ["GITHUB_TOKEN"]      # passed on from your environment
    cwd = "/srv/project"

    [mcp_servers.search]
    url = "https://mcp.example.com/mcp"
    headers = {Authorization = "Bearer ..."}
    startup_timeout = 30.0           # seconds to start and shake hands (default 30)
    call_timeout = 120.0             # seconds one tool call may take (default 120)
    list_timeout = 30.0              # seconds to list the tools (default 30)
    prefix = "search"                # a clashing tool becomes search__NAME (default: NAME)
    ```

    A stdio server gets a minimal environment (``HOME``, ``PATH``, ``USER`` and a few
    more) plus ``env`` and the ``env_vars`` that are set; nothing else of yours.
    """

    command: str | None = Field(default=None, min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, SecretStr] = Field(default_factory=dict)
    env_vars: list[str] = Field(default_factory=list)
    cwd: str | None = None
    url: str | None = Field(default=None, pattern=r"^https?://")
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    startup_timeout: float = Field(default=30.0, gt=0)
    call_timeout: float = Field(default=120.0, gt=0)
    list_timeout: float = Field(default=30.0, gt=0)
    prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of command (stdio) or url (streamable HTTP)")
        if self.url is not None and (self.args or self.env or self.env_vars or self.cwd):
            raise ValueError("args, env, env_vars and cwd go with command, not url")
        if self.command is not None and self.headers:
            raise ValueError("headers go with url, not command")
        return self


class Config(_Section):
    """The whole config file."""

    provider: str | None = None
    model: str | None = None
    fallbacks: list[str] = Field(default_factory=list)
    """Models tried in order when the model fails after its retries (429, 5xx, timeout,
    connection); never on 400/401/402/403. An agent given a list of models ignores it."""
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    families: dict[str, FamilySettings] = Field(default_factory=dict)
    prices: dict[str, PriceSettings] = Field(default_factory=dict)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    context: ContextSettings = Field(default_factory=ContextSettings)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    mcp_servers: dict[str, MCPServerSettings] = Field(default_factory=dict)
