"""Provider profiles (data, not subclasses) and how a run picks one.

Precedence for every setting: explicit argument (a CLI flag) > environment
variable > config file > built-in default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.config import Dialect, plain_defaults
from alltoken_agent.errors import ConfigError
from alltoken_agent.gateway._secret import SecretKey
from alltoken_agent.gateway._settings import section_values
from alltoken_agent.gateway.redact import Redactor

if TYPE_CHECKING:  # the models import pydantic; chat passes plain values (_config_plain)
    from alltoken_agent.config import Config

PROVIDER_ENV = "ALLTOKEN_AGENT_PROVIDER"
MODEL_ENV = "ALLTOKEN_AGENT_MODEL"
BASE_URL_ENV = "ALLTOKEN_AGENT_BASE_URL"


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Provider(FrozenValue):
    """Everything we need to know to talk to one gateway."""

    name: str
    """Profile name, e.g. ``alltoken``."""
    base_url: str | None
    """OpenAI-compatible base, ending in ``/v1`` for the known gateways."""
    api_key_env: str | None
    """Environment variable that holds the key."""
    dialect: Dialect
    """Wire dialect for media jobs and gateway extensions."""
    default_model: str | None = None
    requires_key: bool = True
    """False for local servers (Ollama, vLLM) that take no key."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra headers sent with every request."""
    max_attempts: int | None = None
    """Most attempts per request (the first included) the gateway's contract allows on
    429/5xx; the retry policy never goes past it. None: the policy alone decides."""

    def __init__(
        self,
        name: str,
        base_url: str | None,
        api_key_env: str | None,
        dialect: Dialect,
        default_model: str | None = None,
        requires_key: bool = True,
        headers: Mapping[str, str] | None = None,
        max_attempts: int | None = None,
    ) -> None:
        fields = self.__dict__
        fields["name"] = name
        fields["base_url"] = base_url
        fields["api_key_env"] = api_key_env
        fields["dialect"] = dialect
        fields["default_model"] = default_model
        fields["requires_key"] = requires_key
        fields["headers"] = {} if headers is None else headers
        fields["max_attempts"] = max_attempts

    @property
    def public_base_url(self) -> str | None:
        """Base of AllToken's public catalog endpoints (``/api-account``), if any."""
        if self.dialect != "alltoken" or not self.base_url:
            return None
        root = self.base_url.rstrip("/")
        root = root.removesuffix("/v1")
        return root + "/api-account"


BUILTIN_PROVIDERS: dict[str, Provider] = {
    "alltoken": Provider(
        name="alltoken",
        base_url="https://api.alltoken.ai/v1",
        api_key_env="ALLTOKEN_API_KEY",
        dialect="alltoken",
        default_model="minimax-m2.7",
    ),
    "tokenhub": Provider(
        name="tokenhub",
        base_url="https://tokenhub.link/v1",
        api_key_env="TOKENHUB_API_KEY",
        dialect="tokenhub",
        default_model="deepseek-v3.2",
        # docs/wire-format.md §2.5: retry 429/5xx with backoff, max 3 attempts.
        max_attempts=3,
    ),
    "openai": Provider(
        name="openai",
        base_url=None,
        api_key_env="OPENAI_API_KEY",
        dialect="openai",
    ),
}
DEFAULT_PROVIDER = "alltoken"


def provider_names(config: Config | None = None) -> list[str]:
    """Every provider name the user can pick: built-ins first, then the config's."""
    names = list(BUILTIN_PROVIDERS)
    if config:
        names += [n for n in config.providers if n not in BUILTIN_PROVIDERS]
    return names


def get_provider(name: str, config: Config | None = None) -> Provider:
    """Return the profile called ``name``, with the config file's overrides applied.

    Raises:
        ConfigError: No built-in or configured provider has that name.
    """
    base = BUILTIN_PROVIDERS.get(name)
    override = config.providers.get(name) if config else None
    if base is None and override is None:
        known = ", ".join(provider_names(config))
        raise ConfigError(f"unknown provider {name!r}; known providers: {known}")
    if base is None:
        base = Provider(name=name, base_url=None, api_key_env=None, dialect="openai")
    if override is None:
        return base
    changes = {
        key: value
        for key, value in section_values(override, only_set=True).items()
        if value is not None
    }
    if "headers" in changes:
        changes["headers"] = {**base.headers, **changes["headers"]}
    return replace(base, **changes)


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Resolved(FrozenValue):
    """The outcome of picking provider, URL, model and key for one run."""

    provider: Provider
    """The profile, with ``base_url`` already overridden when asked."""
    model: str | None
    api_key: SecretKey | None
    base_url_overridden: bool = False

    def __init__(
        self,
        provider: Provider,
        model: str | None,
        api_key: SecretKey | None,
        base_url_overridden: bool = False,
    ) -> None:
        fields = self.__dict__
        fields["provider"] = provider
        fields["model"] = model
        fields["api_key"] = api_key
        fields["base_url_overridden"] = base_url_overridden

    @property
    def missing_key(self) -> bool:
        """True when the provider needs a key and none was found."""
        return self.api_key is None and self.provider.requires_key

    def describe_missing_key(self) -> str:
        """A sentence telling the user which variable to set."""
        env = self.provider.api_key_env or "an API key variable"
        return f"no API key for provider {self.provider.name!r}: set {env}"


def resolve(
    *,
    provider: str | Provider | None = None,
    base_url: str | None = None,
    model: str | None = None,
    config: Config | None = None,
    environ: Mapping[str, str] | None = None,
) -> Resolved:
    """Pick provider, base URL, model and API key by the precedence rules.

    Raises:
        ConfigError: The provider is unknown, or it has no base URL.
    """
    env = os.environ if environ is None else environ
    cfg = config or plain_defaults()
    if isinstance(provider, Provider):
        profile = provider
    else:
        profile = get_provider(
            provider or env.get(PROVIDER_ENV) or cfg.provider or DEFAULT_PROVIDER, cfg
        )
    name = profile.name
    url = base_url or env.get(BASE_URL_ENV)
    if url:
        profile = replace(profile, base_url=check_base_url(url).rstrip("/"))
    if not profile.base_url:
        raise ConfigError(
            f"provider {name!r} has no base URL: pass --base-url or set "
            f"[providers.{name}] base_url in the config file"
        )
    if not url:
        check_base_url(profile.base_url)
    chosen_model = model or env.get(MODEL_ENV) or cfg.model or profile.default_model
    key_value = env.get(profile.api_key_env) if profile.api_key_env else None
    api_key = SecretKey(key_value) if key_value else None
    return Resolved(
        provider=profile,
        model=chosen_model,
        api_key=api_key,
        base_url_overridden=bool(url),
    )


_URL_SCHEMES = ("http", "https")


def check_base_url(url: str) -> str:
    """Return ``url`` when it can be a gateway's base URL; else raise, before any request.

    Only ``http://`` and ``https://`` with a host, an optional port from 1 to 65535
    and a path; no spaces around it, no query or fragment (the request path is
    appended to it). Catching this here turns ``file:``, ``ftp:``, an empty host or
    ``:99999`` into one clear line instead of retries against a mangled URL.

    Raises:
        ConfigError: The URL cannot be used, with what is wrong with it.
    """
    problem = _base_url_problem(url)
    if problem:
        # Key-shaped tokens are masked: a key pasted into the wrong flag must not be echoed.
        shown = Redactor()(url)[:200]
        raise ConfigError(f"invalid base URL {shown!r}: {problem}")
    return url


def _base_url_problem(url: str) -> str | None:
    if not url.strip():
        return "it is empty"
    if url != url.strip():
        return "it has spaces around it"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the port must be a number from 1 to 65535"
    scheme = parts.scheme.lower()
    if "://" not in url:
        # `localhost:8080` parses as scheme "localhost"; a digit after the colon is a port.
        rest = url[len(scheme) + 1 :]
        if scheme and scheme not in _URL_SCHEMES and not rest[:1].isdigit():
            return f"only http:// and https:// URLs are supported, not {scheme}:"
        return "it needs a scheme: start it with https:// (or http:// for a local server)"
    if scheme not in _URL_SCHEMES:
        return f"only http:// and https:// URLs are supported, not {scheme}:"
    if not parts.hostname:
        return "it has no host"
    if port == 0:
        return "the port must be a number from 1 to 65535"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "a base URL has no ?query or #fragment"
    return None
