"""The user's config file: a TOML document read into validated settings.

```toml
provider = "alltoken"            # default provider
model = "minimax-m2.7"           # default model for every provider
fallbacks = ["deepseek-v4-flash"] # tried in order when the model fails after its retries

[timeouts]
connect = 10.0
read = 60.0                      # between two bytes
idle = 120.0                     # a stream without a data line (pings do not count)
total = 600.0                    # a whole request, retries and body included

[retry]
max_retries = 3

[http]
max_connections = 1000           # open connections per process (one pool per gateway)
keepalive_expiry = 5.0           # seconds an idle connection is kept for reuse

[providers.local]                # a provider of your own
base_url = "http://127.0.0.1:11434/v1"
api_key_env = "LOCAL_API_KEY"
requires_key = false
default_model = "llama3.2"
dialect = "openai"

[families.deepseek]              # model-family quirks (agent/families.py)
search = "native"                # native | ignored | unreliable | rejected | unknown
echo_reasoning = true            # send earlier reasoning_content back

[prices."my-model"]              # override or add a model's price (USD)
input_per_1k = "0.0002"
output_per_1k = "0.00125"

[budget]
daily_usd = "5.00"               # stop before a request that would cross it
warn_at = 0.8                    # warning event at 80 %

[ledger]
max_request_cost_usd = "100"     # a gateway cost above it is recorded as unknown

[media]
max_image_mb = 64                # largest image download (MiB); past it: result_too_large
max_video_mb = 2048              # largest video download (MiB)

[context]
policy = "trim"                  # trim the oldest turns to fit, or "fail"
lengths = { "my-model" = 32000 } # context length per model, over the catalog's

[approval]
tools = ["web_search"]           # calls a person must approve first
```

A ``[providers.NAME]`` table whose NAME is a built-in profile overrides only the
fields it sets.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from alltoken_agent._config_plain import plain_config, plain_wanted
from alltoken_agent.errors import ConfigError

if TYPE_CHECKING:
    from alltoken_agent._config_schema import ApprovalSettings as ApprovalSettings
    from alltoken_agent._config_schema import BudgetSettings as BudgetSettings
    from alltoken_agent._config_schema import Config as Config
    from alltoken_agent._config_schema import ContextSettings as ContextSettings
    from alltoken_agent._config_schema import FamilySettings as FamilySettings
    from alltoken_agent._config_schema import HttpSettings as HttpSettings
    from alltoken_agent._config_schema import LedgerSettings as LedgerSettings
    from alltoken_agent._config_schema import MCPServerSettings as MCPServerSettings
    from alltoken_agent._config_schema import MediaSettings as MediaSettings
    from alltoken_agent._config_schema import PriceSettings as PriceSettings
    from alltoken_agent._config_schema import ProviderSettings as ProviderSettings
    from alltoken_agent._config_schema import RetrySettings as RetrySettings
    from alltoken_agent._config_schema import ServerSettings as ServerSettings
    from alltoken_agent._config_schema import TimeoutSettings as TimeoutSettings

Dialect = Literal["alltoken", "tokenhub", "openai"]

_SCHEMA = frozenset(
    {
        "_Section",
        "ApprovalSettings",
        "BudgetSettings",
        "Config",
        "ContextSettings",
        "FamilySettings",
        "HttpSettings",
        "LedgerSettings",
        "MCPServerSettings",
        "MediaSettings",
        "PriceSettings",
        "ProviderSettings",
        "RetrySettings",
        "ServerSettings",
        "TimeoutSettings",
    }
)
"""The models of ``_config_schema``, handed out from here the first time each is asked for:
importing them imports pydantic, which a ``chat`` run with a plain config never needs."""


def __getattr__(name: str) -> Any:
    if name in _SCHEMA:
        from alltoken_agent import _config_schema

        value = getattr(_config_schema, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def plain_defaults() -> Config:
    """The defaults as plain sections (``_config_plain``): read as a ``Config``, no pydantic.

    For a config file that is missing inside ``plain_values()``, and for a ``Gateway`` or an
    ``Agent`` given no config: both only read it, and pydantic's import (about 60 ms)
    would hold values nobody gave. ``tests/config/test_config_plain.py`` pins the plain
    fields to the models'.
    """
    defaults = plain_config({})
    assert defaults is not None  # no values: nothing for pydantic to check
    return cast("Config", defaults)


def load_config(path: Path) -> Config:
    """Read the config file; a missing file is an empty config.

    Inside ``_config_plain.plain_values()`` (``chat``), a file of plain values comes back
    as plain sections with the same attributes, read without pydantic (``_config_plain``).

    Raises:
        ConfigError: The file is not valid TOML or has unknown or invalid keys.
    """
    plain = plain_wanted()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if plain:
            return plain_defaults()
        from alltoken_agent._config_schema import Config

        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    # Imported here: without a config file (a fresh install, chat's bench) it costs nothing.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    if plain:
        values = plain_config(data)
        if values is not None:
            return cast("Config", values)
    return _validated(path, data)


def _validated(path: Path, data: dict[str, Any]) -> Config:
    """``data`` through the pydantic schema; its errors as one ``ConfigError``."""
    from pydantic import ValidationError

    from alltoken_agent._config_quick import assemble
    from alltoken_agent._config_schema import Config

    quick = assemble(Config, data)  # plain values: the schema's result, without validators
    if quick is not None:
        return quick
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config file {path} is invalid: {problems}") from None
