"""Config snippets that make AllToken a runtime's own model provider (the seed's "Pattern A").

The runtime then talks to AllToken's OpenAI-compatible API itself; alltoken-agent only
prints the snippet. The key is referenced by its environment variable, never included.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from alltoken_agent import UserError
from alltoken_agent.gateway import BUILTIN_PROVIDERS

PROVIDER_TARGETS = ("hermes", "openclaw")
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


def provider_snippet(target: str, models: Sequence[str] = DEFAULT_MODELS) -> ProviderSnippet:
    """The snippet for ``target`` (``hermes`` or ``openclaw``).

    Raises:
        UserError: Another target, or no model.
    """
    chosen = [m.strip() for m in models if m.strip()] or list(DEFAULT_MODELS)
    name = target.strip().lower()
    if name == "hermes":
        return _hermes(chosen)
    if name == "openclaw":
        return _openclaw(chosen)
    raise UserError(
        f"unknown target {target!r}; provider-config knows {', '.join(PROVIDER_TARGETS)}"
    )


def _hermes(models: list[str]) -> ProviderSnippet:
    base_url, key_env = alltoken_endpoint()
    lines = [
        "custom_providers:",
        "  - name: alltoken",
        f"    base_url: {base_url}",
        f"    key_env: {key_env}",
        "    api_mode: chat_completions",
        "    models:",
        *(f"      {json.dumps(model)}: {{}}" for model in models),
    ]
    note = (
        f"Add this to ~/.hermes/config.yaml (merge with an existing custom_providers list) and "
        f"keep {key_env} in your environment or ~/.hermes/.env. Then choose it with "
        f"`hermes model`, or in a session: /model custom:alltoken:{models[0]}"
    )
    return ProviderSnippet("hermes", "~/.hermes/config.yaml", "\n".join(lines) + "\n", note)


def _openclaw(models: list[str]) -> ProviderSnippet:
    base_url, key_env = alltoken_endpoint()
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
