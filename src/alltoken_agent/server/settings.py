"""What one server runs with: its keys, limits and store, from the config file, env and flags."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal, get_args

from pydantic import SecretStr

from alltoken_agent import Config, ConfigError, app_dirs

KEYS_ENV: Final = "ALLTOKEN_AGENT_SERVER_KEYS"
"""Comma-separated server keys; when set, they replace ``[server] keys`` of the config file."""

STORE_ENV: Final = "ALLTOKEN_AGENT_SERVER_STORE"
"""A database URL for the server's state; replaces ``[server] store_url`` when set."""

MEDIA_DIR_ENV: Final = "ALLTOKEN_AGENT_SERVER_MEDIA_DIR"
"""The folder where media jobs' files are saved; replaces the default when set."""

MIN_KEY_LENGTH: Final = 16
"""Server keys shorter than this are refused: a Bearer key must not be guessable."""

DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT: Final = 10.0
DEFAULT_AUTH_FAILURE_LIMIT: Final = 10
DEFAULT_AUTH_FAILURE_WINDOW: Final = 60.0
DEFAULT_MAX_SESSIONS_PER_KEY: Final = 1000

MediaJobsMode = Literal["server", "workers"]
"""Who runs the media jobs a server accepts: the server itself, or ``worker`` processes."""


@dataclass(frozen=True)
class ServerOptions:
    """The server's settings; ``create_app`` takes one.

    Build it with :meth:`from_config` (config file, then environment, then flags), or
    directly in tests. With no ``keys`` the server is open: every caller is the local
    owner, and ``alltoken-agent serve`` then binds only a loopback host.
    """

    keys: tuple[SecretStr, ...] = ()
    """Bearer keys; each sees only its own sessions and usage."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Larger request bodies get 413, detected while reading, never buffered whole."""
    rate_limit_per_minute: float = 120.0
    """Requests per minute per key, refilled continuously; past it 429 with Retry-After."""
    rate_limit_burst: int = 30
    """Requests a key may make at once before the per-minute rate applies."""
    max_concurrent_runs: int = 8
    """Agent runs (message posts) in flight per key; past it 429."""
    daily_budget_usd: Decimal | None = None
    """Per-key spending limit since midnight UTC, from the ledger; None for none."""
    shutdown_grace: float = 20.0
    """Seconds in-flight runs get to finish on shutdown before they end with an error event."""
    keepalive_interval: float = 15.0
    """Seconds of silence after which an event stream sends a keep-alive comment."""
    store_url: SecretStr | None = None
    """The database for sessions and the ledger; None is the local SQLite file."""
    media_dir: Path | None = None
    """Where media jobs' files are saved, one folder per key inside (``local`` on an open
    server); None is ``media/server`` in the data folder (see :attr:`media_folder`)."""
    max_concurrent_jobs: int = 16
    """Media jobs one key may have running on this server at once (with ``media_jobs =
    "workers"``: waiting in the queue for a worker); past it 429."""
    media_jobs: MediaJobsMode = "server"
    """``server``: this server drives each media job it accepts. ``workers``: it queues
    the job for ``alltoken-agent worker`` processes on the same store and runs none."""
    resume_jobs: bool = True
    """Resume this server's unfinished media jobs (its keys' jobs whose files go under
    its media folder) in the background when it starts."""
    media_sweep_interval: float = 5.0
    """Seconds between two looks (after the resume at startup) for media jobs another
    replica on the same database left unfinished (died, hung or stopped), to take over."""
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    """Seconds a client has to send a request's headers, counted from when it connects
    (or its previous reply ended), however slowly the bytes trickle in; past it 408 and
    the connection is closed. Applies when served by ``AppServer``/``uvicorn_config``."""
    auth_failure_limit: int = DEFAULT_AUTH_FAILURE_LIMIT
    """Missing or wrong keys one client address may send in ``auth_failure_window``
    seconds; past it, everything from that address is 429 until the window moves on."""
    auth_failure_window: float = DEFAULT_AUTH_FAILURE_WINDOW
    """The window, in seconds, failed authentications are counted over."""
    max_sessions_per_key: int = DEFAULT_MAX_SESSIONS_PER_KEY
    """Sessions one key may keep; creating one more is 403 until it deletes some. Not
    applied on a server without keys (its sessions are the local user's)."""
    processes: int = 1
    """Processes serving this port (``serve --processes N``). Each counts the rate limits,
    concurrent runs and jobs and failed authentications on its own: ``/v1/capabilities``
    says so, since a client's connections may land on any of them."""

    def __post_init__(self) -> None:
        for key in self.keys:
            secret = key.get_secret_value()
            if len(secret) < MIN_KEY_LENGTH or secret != secret.strip() or "," in secret:
                raise ConfigError(
                    f"a server key must have at least {MIN_KEY_LENGTH} characters, without "
                    "spaces around it or commas; generate one with: python -c "
                    "'import secrets; print(secrets.token_urlsafe(32))'"
                )
        if self.max_body_bytes < 1:
            raise ConfigError("max_body_bytes must be at least 1")
        if self.rate_limit_per_minute <= 0 or self.rate_limit_burst < 1:
            raise ConfigError("the rate limit must be more than 0 per minute, with a burst of 1+")
        if self.max_concurrent_runs < 1:
            raise ConfigError("max_concurrent_runs must be at least 1")
        if self.max_concurrent_jobs < 1:
            raise ConfigError("max_concurrent_jobs must be at least 1")
        if self.media_jobs not in get_args(MediaJobsMode):
            raise ConfigError(f"media_jobs is server or workers, not {self.media_jobs!r}")
        if not self.media_sweep_interval > 0:
            raise ConfigError("media_sweep_interval must be more than 0 seconds")
        if not self.header_timeout > 0:
            raise ConfigError("header_timeout must be more than 0 seconds")
        if self.auth_failure_limit < 1 or not self.auth_failure_window > 0:
            raise ConfigError(
                "auth_failure_limit must be at least 1 and auth_failure_window more than 0"
            )
        if self.max_sessions_per_key < 1:
            raise ConfigError("max_sessions_per_key must be at least 1")

    @property
    def media_folder(self) -> Path:
        """The folder media files go to: ``media_dir``, else the data folder's ``media/server``.

        ``ALLTOKEN_AGENT_HOME`` moves the data folder.
        """
        if self.media_dir is not None:
            return self.media_dir.expanduser().absolute()
        return (app_dirs().data / "media" / "server").absolute()

    @property
    def open(self) -> bool:
        """Whether no key is configured (anyone who reaches the server may use it)."""
        return not self.keys

    @classmethod
    def from_config(
        cls,
        config: Config,
        environ: Mapping[str, str] | None = None,
        *,
        store_url: str | None = None,
        media_dir: str | os.PathLike[str] | None = None,
        media_jobs: MediaJobsMode | None = None,
    ) -> ServerOptions:
        """The ``[server]`` section, with the environment's keys and store URL over it.

        Args:
            config: The config file's settings.
            environ: Environment to read ``ALLTOKEN_AGENT_SERVER_KEYS``,
                ``ALLTOKEN_AGENT_SERVER_STORE`` and ``ALLTOKEN_AGENT_SERVER_MEDIA_DIR``
                from; defaults to ``os.environ``.
            store_url: A database URL from the command line; wins over both.
            media_dir: The media folder from the command line; wins over the environment.
            media_jobs: Who runs media jobs, from the command line; wins over the file.

        Raises:
            ConfigError: A key is too short or malformed.
        """
        env = os.environ if environ is None else environ
        section = config.server
        keys = tuple(section.keys)
        env_keys = env.get(KEYS_ENV)
        if env_keys is not None and env_keys.strip():
            keys = tuple(SecretStr(k.strip()) for k in env_keys.split(",") if k.strip())
        url: SecretStr | None = section.store_url
        if env.get(STORE_ENV):
            url = SecretStr(env[STORE_ENV])
        if store_url:
            url = SecretStr(store_url)
        media = media_dir or env.get(MEDIA_DIR_ENV) or None
        return cls(
            keys=keys,
            max_body_bytes=section.max_body_bytes,
            rate_limit_per_minute=section.rate_limit_per_minute,
            rate_limit_burst=section.rate_limit_burst,
            max_concurrent_runs=section.max_concurrent_runs,
            daily_budget_usd=section.daily_budget_usd,
            shutdown_grace=section.shutdown_grace,
            header_timeout=section.header_timeout,
            auth_failure_limit=section.auth_failure_limit,
            auth_failure_window=section.auth_failure_window,
            max_sessions_per_key=section.max_sessions_per_key,
            store_url=url,
            media_dir=None if media is None else Path(media),
            media_jobs=media_jobs or section.media_jobs,
        )

    def with_changes(self, **changes: Any) -> ServerOptions:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
