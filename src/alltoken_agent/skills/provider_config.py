"""Config snippets that make AllToken a runtime's own model provider (the skill's "Pattern A").

The runtime then talks to AllToken's OpenAI-compatible API itself; alltoken-agent only
prints the snippet (YAML from the one YAML editor, ``_yaml_edit``, which quotes what a
YAML 1.1 reader would take for another type). The key is referenced by its environment
variable, never included.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from alltoken_agent import ConfigError, UserError
from alltoken_agent._yaml_edit import document_text
from alltoken_agent.gateway import BUILTIN_PROVIDERS, resolve

PROVIDER_TARGETS = ("hermes", "openclaw", "generic")
DEFAULT_MODELS = ("minimax-m2.7", "deepseek-v4-flash", "gpt-5.4-mini")
"""Offered when no ``--model`` is given; the first becomes the default."""


@dataclass(frozen=True)
class ProviderSnippet:
    """A snippet to paste, and where it goes."""

    target: str
    path: str
    """The file it belongs in, as the runtime documents it."""
    text: str
    note: str


def alltoken_endpoint() -> tuple[str, str]:
    """AllToken's OpenAI-compatible base URL and the variable that holds its key."""
    provider = BUILTIN_PROVIDERS["alltoken"]
    assert provider.base_url is not None and provider.api_key_env is not None
    return provider.base_url, provider.api_key_env


def provider_snippet(
    target: str, models: Sequence[str] = DEFAULT_MODELS, base_url: str | None = None
) -> ProviderSnippet:
    """The snippet for ``target`` (``hermes``, ``openclaw`` or ``generic``).

    Args:
        target: The runtime; ``generic`` is the skill's own ``provider:``/``model:`` shape.
        models: Models to offer, the first being the default (empty: `DEFAULT_MODELS`).
        base_url: Another OpenAI-compatible base URL (a local simulator, a proxy);
            AllToken's when None.

    Raises:
        UserError: Another target.
        ConfigError: A base URL that cannot be one, or that holds a user or password.
    """
    chosen = [m.strip() for m in models if m.strip()] or list(DEFAULT_MODELS)
    url = _base_url(base_url)
    name = target.strip().lower()
    if name == "hermes":
        return _hermes(chosen, url)
    if name == "openclaw":
        return _openclaw(chosen, url)
    if name == "generic":
        return _generic(chosen, url)
    raise UserError(
        f"unknown target {target!r}; provider-config knows {', '.join(PROVIDER_TARGETS)}"
    )


def _base_url(given: str | None) -> str:
    if given is None:
        return alltoken_endpoint()[0]
    if not given:  # resolve() would take "" for "not given" and fall back to AllToken's
        raise ConfigError("invalid base URL '': it is empty")
    # The snippet is printed and pasted into a file: a key typed into the URL
    # (https://user:KEY@host) would end up there, so it is refused, and never shown.
    try:
        parts = urlsplit(given.strip())
        userinfo = parts.username is not None or parts.password is not None
    except ValueError:
        userinfo = False  # resolve() below names what is wrong with it
    if userinfo:
        raise ConfigError(
            "invalid base URL: it holds a user or password; the snippet reads the key "
            f"from {alltoken_endpoint()[1]} instead"
        )
    # The same checks as every --base-url (scheme, host, port, no query); no
    # environment is read: the flag alone decides what the snippet says.
    url = resolve(provider="alltoken", base_url=given, environ={}).provider.base_url
    assert url is not None
    return url


def _generic(models: list[str], base_url: str) -> ProviderSnippet:
    key_env = alltoken_endpoint()[1]
    document = {
        "provider": {"base_url": base_url, "api_key": "${" + key_env + "}"},
        "model": models[0],
    }
    note = (
        f"The AllToken skill's Pattern A shape: OpenAI-compatible base URL, the key from "
        f"{key_env} (never the key itself) and the model id. Map these three values onto "
        f"your runtime's provider settings; any id from /v1/models can be the model."
    )
    return ProviderSnippet("generic", "your runtime's config", document_text(document), note)


def _hermes(models: list[str], base_url: str) -> ProviderSnippet:
    key_env = alltoken_endpoint()[1]
    # `model:` makes it the default, as the OpenClaw snippet's `primary` does; with it
    # `hermes -z PROMPT` runs on AllToken with no --provider/-m flags.
    document = {
        "model": {"provider": "custom:alltoken", "default": models[0]},
        "custom_providers": [
            {
                "name": "alltoken",
                "base_url": base_url,
                "key_env": key_env,
                "api_mode": "chat_completions",
                "models": {model: {} for model in models},
            }
        ],
    }
    note = (
        f"Merge this into ~/.hermes/config.yaml (add to an existing custom_providers list) and "
        f"keep {key_env} in your environment or ~/.hermes/.env. The model: block makes "
        f"AllToken the default; without it, pick it with `hermes model` or, in a session, "
        f"/model custom:alltoken:{models[0]}"
    )
    text = document_text(document, list_offset=2)  # Hermes' docs indent list items
    return ProviderSnippet("hermes", "~/.hermes/config.yaml", text, note)


def _openclaw(models: list[str], base_url: str) -> ProviderSnippet:
    key_env = alltoken_endpoint()[1]
    document = {
        "models": {
            "mode": "merge",
            "providers": {
                "alltoken": {
                    "baseUrl": base_url,
                    "apiKey": "${" + key_env + "}",
                    "api": "openai-completions",
                    "models": [{"id": model, "name": model} for model in models],
                }
            },
        },
        "agents": {"defaults": {"model": {"primary": f"alltoken/{models[0]}"}}},
    }
    note = (
        f"Merge this into ~/.openclaw/openclaw.json; OpenClaw reads {key_env} from the "
        f"environment through the ${{{key_env}}} reference. Switch models with "
        f"`openclaw models set alltoken/<model>`."
    )
    text = json.dumps(document, indent=2) + "\n"
    return ProviderSnippet("openclaw", "~/.openclaw/openclaw.json", text, note)
