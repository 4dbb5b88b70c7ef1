"""Help for a mistyped model name: close catalog ids, and the command that lists them all."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from alltoken_agent.catalog.suggest import close_models
from alltoken_agent.errors import GatewayError, NotFoundError

if TYPE_CHECKING:
    from alltoken_agent import Gateway
    from alltoken_agent.config import Config


MODELS_COMMAND = "`alltoken-agent models`"

# A 404 upstream_model_not_found (docs/wire-format.md §1.10) may point at the raw API,
# replaced by the command a CLI user runs instead.
_RAW_PATH = re.compile(r"\s*List models with GET /v1/models\.?", re.IGNORECASE)


def hint(suggestions: list[str]) -> str:
    """``did you mean a, b? `alltoken-agent models` lists the models``."""
    listed = f"{MODELS_COMMAND} lists the models"
    if not suggestions:
        return listed
    return f"did you mean {', '.join(suggestions)}? {listed}"


def is_unknown_model(error: BaseException) -> bool:
    """Whether the gateway said the requested model does not exist (404)."""
    return isinstance(error, NotFoundError) and (
        error.code.endswith("model_not_found") or error.param == "model"
    )


def with_hint(message: str, suggestions: list[str]) -> str:
    """The gateway's message without its raw API path, and the hint after it."""
    if MODELS_COMMAND in message:
        return message
    text = _RAW_PATH.sub("", message).rstrip()
    return f"{text} ({hint(suggestions)})" if text else hint(suggestions)


async def explain_unknown_model(error: GatewayError, gateway: Gateway, model: str | None) -> None:
    """Add the close catalog ids and the models command to an unknown-model error.

    The catalog comes from its disk cache when fresh, else one request; when that
    fails too, the hint names the command alone. The error's message is ours to
    extend (it was redacted on the way in); its code and request id stay.
    """
    if not is_unknown_model(error) or not model:
        return
    error.message = with_hint(error.message, close_models(model, await _catalog_ids(gateway)))


async def _catalog_ids(gateway: Gateway) -> list[str]:
    from alltoken_agent.catalog import Catalog

    catalog = Catalog(gateway)
    try:
        if gateway.provider.public_base_url is not None:
            return [entry.id for entry in await catalog.entries(retry=False)]
        return [info.id for info in await catalog.models()]
    except GatewayError:
        return []


def unknown_model_warning(config: Config, model: str, provider: str | None = None) -> str | None:
    """A warning line when ``model`` is not in the provider's cached catalog, else None.

    Reads the disk cache only (filled by `alltoken-agent models` and by chat), so it
    works offline and never waits on a gateway; with no cached catalog, or for a
    model policy (``auto:cheap``), nothing is checked and None is returned.
    """
    from alltoken_agent.catalog import DiskCache, cache_key, default_cache_dir
    from alltoken_agent.errors import ConfigError
    from alltoken_agent.gateway.providers import resolve

    if model.startswith("auto"):
        return None
    try:
        profile = resolve(provider=provider, config=config).provider
    except ConfigError:
        return None
    assert profile.base_url is not None  # resolve() refuses a provider without one
    cache = DiskCache(default_cache_dir())
    ids: list[str] = []
    seen = False
    for endpoint in ("catalog", "models"):
        stored = cache.read(cache_key(profile.name, profile.base_url, endpoint))
        if stored is None or not isinstance(stored.data, list):
            continue
        seen = True
        ids += [_id(item) for item in stored.data if _id(item)]
    if not seen or model in ids:
        return None
    return (
        f"alltoken-agent: warning: model {model!r} is not in the catalog of provider "
        f"{profile.name!r} (as cached); {hint(close_models(model, ids))}"
    )


def _id(item: Any) -> str:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else ""
