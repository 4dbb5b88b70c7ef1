"""What each model family supports: data, not code, and overridable in the config file.

``search``: how the family treats ``enable_search`` on AllToken (docs/wire-format.md
§1.11, live probe): ``native`` searches; ``ignored`` drops the flag silently;
``unreliable`` answers empty or refuses; ``rejected`` fails with 503;
``unknown`` for families never probed. Only ``native`` gets the flag; every
other family gets the ``web_search`` tool instead.

``echo_reasoning``: whether ``reasoning_content`` of earlier assistant turns is
sent back. Some upstreams require it alongside tool calls (DeepSeek's thinking
mode, Kimi, MiniMax keep their reasoning across tool turns); others reject or
ignore the unknown field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from alltoken_agent.config import FamilySettings

SearchSupport = Literal["native", "ignored", "unreliable", "rejected", "unknown"]


@dataclass(frozen=True)
class ModelFamily:
    """One family of models and its quirks."""

    name: str
    prefixes: tuple[str, ...]
    """Model ids starting with one of these (after any ``vendor/`` prefix) belong here."""
    search: SearchSupport = "unknown"
    echo_reasoning: bool = False


DEFAULT_FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily("deepseek", ("deepseek",), "native", echo_reasoning=True),
    ModelFamily("qwen", ("qwen", "qwq"), "native"),
    ModelFamily("claude", ("claude",), "ignored"),
    ModelFamily("glm", ("glm",), "ignored"),
    ModelFamily("kimi", ("kimi", "moonshot"), "ignored", echo_reasoning=True),
    ModelFamily("minimax", ("minimax",), "ignored", echo_reasoning=True),
    ModelFamily("gemini", ("gemini",), "unreliable"),
    ModelFamily("openai", ("gpt", "o1", "o3", "o4", "chatgpt"), "rejected"),
)
UNKNOWN_FAMILY = ModelFamily("unknown", ())


class FamilyTable:
    """Looks up a model id's family; config entries override or add families."""

    _default: FamilyTable | None = None

    @classmethod
    def for_config(cls, overrides: Mapping[str, FamilySettings] | None) -> FamilyTable:
        """The table for these overrides; the default table is built once and shared."""
        if overrides:
            return cls(overrides)
        if cls._default is None:
            cls._default = cls()
        return cls._default

    def __init__(self, overrides: Mapping[str, FamilySettings] | None = None) -> None:
        families = {family.name: family for family in DEFAULT_FAMILIES}
        for name, settings in (overrides or {}).items():
            base = families.get(name, ModelFamily(name, ()))
            changes = settings.model_dump(exclude_none=True)
            if "prefixes" in changes:
                changes["prefixes"] = tuple(p.lower() for p in changes["prefixes"])
            families[name] = replace(base, **changes)
        # Longest prefix first, so "o1" never shadows a family named "o1-mini..." added later.
        self._by_prefix = sorted(
            ((prefix, family) for family in families.values() for prefix in family.prefixes),
            key=lambda item: len(item[0]),
            reverse=True,
        )

    def lookup(self, model: str) -> ModelFamily:
        """The family of ``model`` (``tokenhub/``-style vendor prefixes are skipped)."""
        bare = model.rsplit("/", 1)[-1].lower()
        for prefix, family in self._by_prefix:
            if bare.startswith(prefix):
                return family
        return UNKNOWN_FAMILY
