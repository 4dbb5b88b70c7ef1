"""What each model family supports, and so what each model of a turn is sent.

The families are data, not code, and overridable in the config file.

``search``: how the family treats ``enable_search`` on AllToken (docs/wire-format.md
§1.11, live probe): ``native`` searches; ``ignored`` drops the flag silently;
``unreliable`` answers empty or refuses; ``rejected`` fails with 503;
``unknown`` for families never probed. Only ``native`` gets the flag; every
other family gets the ``web_search`` tool instead.

``echo_reasoning``: whether ``reasoning_content`` of earlier assistant turns is
sent back. Some upstreams require it alongside tool calls (DeepSeek's thinking
mode, Kimi, MiniMax keep their reasoning across tool turns); others reject or
ignore the unknown field.

``RequestOptions`` applies the table to one turn: taken from the agent when the turn
starts (its attributes may change between turns, e.g. thinking toggled in the TUI),
then fixed for the turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.agent import builtin_tools
from alltoken_agent.agent.events import NoticeEvent
from alltoken_agent.agent.settings import ModelSettings, request_fields
from alltoken_agent.agent.tools import Tool
from alltoken_agent.gateway import Provider

if TYPE_CHECKING:  # a pydantic model: annotations only (a plain chat reads no pydantic)
    from alltoken_agent.config import FamilySettings

SearchSupport = Literal["native", "ignored", "unreliable", "rejected", "unknown"]


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class ModelFamily(FrozenValue):
    """One family of models and its quirks."""

    name: str
    prefixes: tuple[str, ...]
    """Model ids starting with one of these (after any ``vendor/`` prefix) belong here."""
    search: SearchSupport = "unknown"
    echo_reasoning: bool = False

    def __init__(
        self,
        name: str,
        prefixes: tuple[str, ...],
        search: SearchSupport = "unknown",
        echo_reasoning: bool = False,
    ) -> None:
        fields = self.__dict__
        fields["name"] = name
        fields["prefixes"] = prefixes
        fields["search"] = search
        fields["echo_reasoning"] = echo_reasoning


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


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class RequestOptions(FrozenValue):
    """The request fields and tools one turn sends to each model of its chain."""

    provider: Provider
    families: FamilyTable
    tools: Sequence[Tool]
    temperature: float | None
    enable_search: bool
    thinking: bool
    thinking_budget: int | None
    settings: ModelSettings = field(default_factory=lambda: ModelSettings())
    """The agent's other settings (its knobs above are taken out)."""

    def __init__(
        self,
        provider: Provider,
        families: FamilyTable,
        tools: Sequence[Tool],
        temperature: float | None,
        enable_search: bool,
        thinking: bool,
        thinking_budget: int | None,
        settings: ModelSettings | None = None,
    ) -> None:
        # Written out: the frozen dataclass's sets each field through object.__setattr__,
        # and a new agent makes one for its first turn.
        self.__dict__.update(
            provider=provider,
            families=families,
            tools=tools,
            temperature=temperature,
            enable_search=enable_search,
            thinking=thinking,
            thinking_budget=thinking_budget,
            settings=ModelSettings() if settings is None else settings,
        )

    def native_search(self, model: str) -> bool:
        """Whether ``model`` searches with the gateway's ``enable_search`` flag."""
        return (
            self.provider.dialect == "alltoken" and self.families.lookup(model).search == "native"
        )

    def fields_for(self, model: str) -> dict[str, Any]:
        """Request fields for ``model`` (``settings`` win over the knobs)."""
        fields: dict[str, Any] = {}
        if self.temperature is not None:
            fields["temperature"] = self.temperature
        if self.enable_search and self.native_search(model):
            fields["enable_search"] = True
        if self.thinking:
            fields["thinking"] = True
            if self.thinking_budget is not None:
                fields["thinking_budget"] = self.thinking_budget
        fields.update(request_fields(self.settings))
        return fields

    def tools_for(self, model: str) -> list[Tool]:
        """The tools offered to ``model``: the web_search tool stands in for the flag."""
        tools = list(self.tools)
        if (
            self.enable_search
            and not self.native_search(model)
            and all(t.name != "web_search" for t in tools)
        ):
            tools.append(builtin_tools.web_search)  # built on first use
        return tools

    def search_notice(self, model: str) -> NoticeEvent | None:
        """The notice that ``model`` searches through the tool, when it does."""
        if not self.enable_search or self.native_search(model):
            return None
        family = self.families.lookup(model)
        return NoticeEvent(
            message=f"{model} ({family.name} family on {self.provider.name}) does not "
            "search with enable_search; the agent uses the web_search tool instead"
        )
