"""The Agent: a conversation, its tools and hooks, over one gateway."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, overload

from alltoken_agent.agent._blocking import BlockingCalls, BlockingLoop, OutputT
from alltoken_agent.agent._model_requests import BudgetGuard
from alltoken_agent.agent._turn_parts import TurnParts, new_agent_id
from alltoken_agent.agent.approval import ApprovalHandler
from alltoken_agent.agent.content import user_content
from alltoken_agent.agent.context import ContextPolicy, TokenCounts
from alltoken_agent.agent.families import FamilyTable
from alltoken_agent.agent.history import History
from alltoken_agent.agent.hooks import EventHandlers, Hooks
from alltoken_agent.agent.loop import Turn, TurnSettings
from alltoken_agent.agent.output import OutputSpec
from alltoken_agent.agent.result import RunResult
from alltoken_agent.agent.run_handle import AgentRun
from alltoken_agent.agent.settings import (
    ModelSettings,
    check_settings,
    suggest_keywords,
    without_knobs,
)
from alltoken_agent.agent.tools import Tool, as_tool
from alltoken_agent.catalog import PriceLookup
from alltoken_agent.errors import UserError
from alltoken_agent.gateway import Gateway
from alltoken_agent.ledger import Budget, RunningBudget

if TYPE_CHECKING:
    from alltoken_agent.agent.mcp_client import MCPTools
    from alltoken_agent.config import Config
    from alltoken_agent.mcp_wire.servers import MCPServer

T = TypeVar("T")

_new = object.__new__

DEFAULT_MODEL = "minimax-m2.7"
DEFAULT_INSTRUCTIONS = "You are a helpful assistant."


@functools.cache
def _default_config() -> Config:
    """The config of an agent given none: shared, never mutated, made on first use.

    The defaults as plain values (``config.plain_defaults``), as a ``Gateway`` given none
    holds them: no pydantic imported for values nobody gave.
    """
    from alltoken_agent.config import plain_defaults

    return plain_defaults()


class Agent(BlockingCalls[OutputT], EventHandlers, History):
    """An agent: instructions, tools and a history, talking to one gateway.

    Example:
        ```python
        agent = Agent(model="deepseek-v4-flash", tools=[get_current_time])
        agent.on("tool:call", lambda name, args, call_id: print("calling", name))
        text = await agent.send("What time is it in Tokyo?")
        ```
    """

    @suggest_keywords
    def __init__(
        self,
        model: str | Sequence[str] = DEFAULT_MODEL,
        instructions: str | None = DEFAULT_INSTRUCTIONS,
        tools: Iterable[Any] = (),
        max_steps: int = 5,
        temperature: float | None = 0.7,
        enable_search: bool = False,
        thinking: bool = False,
        gateway: Gateway | None = None,
        *,
        thinking_budget: int | None = None,
        output_type: type[OutputT] | None = None,
        history: Sequence[dict[str, Any]] | None = None,
        config: Config | None = None,
        budget_usd: Decimal | float | str | None = None,
        budgets: Iterable[Budget] = (),
        prices: PriceLookup | None = None,
        approval_handler: ApprovalHandler | None = None,
        require_approval: Iterable[str] = (),
        context_policy: ContextPolicy | None = None,
        context_length: int | None = None,
        mcp_servers: Iterable[MCPServer] = (),
        settings: ModelSettings | None = None,
    ) -> None:
        """Create an agent.

        Args:
            model: A model id, or a list of them: a fallback chain tried in order
                when a model fails after its retries (never on 400/401/402/403).
            instructions: The system prompt (None for none).
            tools: ``@tool`` functions, ``Tool`` objects, plain functions, or the
                AllToken agent skill's ``{"definition": ..., "execute": ...}`` mappings.
            max_steps: Model requests allowed per turn before the run stops with
                ``MaxStepsExceededError``.
            temperature: Sampling temperature (None to leave it to the model).
            enable_search: Web search: the gateway's ``enable_search`` on families
                that support it, else the ``web_search`` tool (with a notice event).
            thinking: Ask for reasoning; it streams as ``reasoning:delta`` events.
            gateway: The gateway to use; by default one is created from the
                environment on first use and closed by ``aclose()``.
            thinking_budget: Reasoning-token budget, sent with ``thinking``.
            output_type: A pydantic model (or dataclass/TypedDict): replies are
                requested as JSON of its schema and returned validated.
            history: Earlier messages to continue from (e.g. a stored session).
            config: Settings from the config file (model-family overrides).
            budget_usd: A spending limit for this agent (all its runs): it stops with
                ``BudgetExceededError`` before a request that would cross it, and
                emits ``budget:warning`` from 80 %.
            budgets: More limits checked before every request (e.g. the daily one
                from ``alltoken_agent.ledger.Budgets.from_config``).
            prices: Model prices, to estimate a request before it is sent and to
                count requests whose cost the gateway does not report.
            approval_handler: Decides calls of tools that need approval (sync or
                async; returns ``ApprovalDecision`` or a bool). Without one such
                calls are denied, with a reason the model reads.
            require_approval: Tool names that need approval, besides tools made with
                ``@tool(requires_approval=True)`` and the config's ``[approval]``.
            context_policy: ``trim`` (default; from the config's ``[context]``) drops
                the oldest turns so a request fits the model's context; ``fail``
                raises ``ContextLengthError``.
            context_length: The context window in tokens for every model of this
                agent, over the config's and the catalog's.
            mcp_servers: MCP servers whose tools the agent may call. They start on the
                first run, their tools are listed once (again when a server says they
                changed), and ``aclose()`` stops them; a tool whose name is taken is
                offered as ``PREFIX__name``.
            settings: Request settings sent with every request (``ModelSettings``:
                ``{"temperature": 0.2, "max_tokens": 400}``); its ``temperature``,
                ``enable_search``, ``thinking`` and ``thinking_budget`` win over the
                arguments of those names.

        Raises:
            UserError: No model, a bad ``max_steps``, duplicate tool names, an unknown
                key or a bad value in ``settings``.
            TypeError: An unknown argument (the message names the closest one).
        """
        checked = check_settings(settings)
        config = config or _default_config()
        models = [model] if isinstance(model, str) else list(model)
        if isinstance(model, str) and config.fallbacks:
            # One model gets the config's chain; a list given here is the whole chain.
            models += [m for m in config.fallbacks if m not in models]
        if not models or not all(isinstance(m, str) and m for m in models):
            raise UserError("model must be a model id or a non-empty list of model ids")
        if max_steps < 1:
            raise UserError("max_steps must be at least 1")
        self.models = models
        self.max_steps = max_steps
        if checked:
            temperature = checked.get("temperature", temperature)
            enable_search = checked.get("enable_search", enable_search)
            thinking = checked.get("thinking", thinking)
            thinking_budget = checked.get("thinking_budget", thinking_budget)
        self.temperature = temperature
        self.enable_search = enable_search
        self.thinking = thinking
        self.thinking_budget = thinking_budget
        self.settings: ModelSettings = without_knobs(checked) if checked else {}
        """The request settings besides the four knobs above (which live as attributes)."""
        self.output_type = output_type
        self._output = OutputSpec(output_type) if output_type is not None else None
        self._config = config
        self._families = FamilyTable.for_config(self._config.families)
        self._tools: dict[str, Tool] = {}
        self._parts = TurnParts(self._families, self._config.context.lengths)
        for item in tools:
            self.add_tool(item)
        self._gateway = gateway
        self._owns_gateway = gateway is None
        self._hooks = Hooks()
        self._begin_history(instructions, history)
        self._blocking = BlockingLoop()
        self.approval_handler = approval_handler
        self._approval_names = set(require_approval)
        self._approval_names.update(self._config.approval.tools)
        self.context_policy: ContextPolicy = context_policy or self._config.context.policy
        self.context_length = context_length
        self._token_counts = TokenCounts()  # per message, so a turn counts only new ones
        servers = list(mcp_servers)
        self._mcp: MCPTools | None = None
        if servers:  # the MCP client (its connection code) loads for an agent that has some
            from alltoken_agent.agent.mcp_client import MCPTools

            self._mcp = MCPTools(servers)
        self.id = new_agent_id()
        """Tags this agent's requests (``agent``), so records and budgets can tell them apart."""
        self.prices = prices
        self._budgets = list(budgets)
        self._budget: RunningBudget | None = None
        if budget_usd is not None:
            self._budget = RunningBudget(
                Decimal(str(budget_usd)), prices=prices, match={"agent": self.id}
            )
            self._budgets.append(self._budget)

    # -- configuration ------------------------------------------------------

    @property
    def model(self) -> str:
        """The first model of the chain."""
        return self.models[0]

    @property
    def gateway(self) -> Gateway:
        """The gateway; created from the environment on first use when none was given."""
        if self._gateway is None:
            self._gateway = Gateway(config=self._config)
        if self._budget is not None:
            self._budget.count_on(self._gateway)
        return self._gateway

    @property
    def tools(self) -> list[Tool]:
        """The agent's tools, in the order they were added."""
        return list(self._tools.values())

    def add_tool(self, item: Any) -> Tool:
        """Add a tool (any form ``tools=`` accepts); returns the ``Tool``.

        Raises:
            UserError: A tool of that name is already there, or ``item`` is no tool.
        """
        new = as_tool(item)
        if new.name in self._tools:  # check_unique_names' message, without a scan per tool
            raise UserError(
                f"duplicate tool names: {new.name!r} (2 tools); pass name= to tool() to rename one"
            )
        self._tools[new.name] = new
        self._parts.forget()  # the next turn offers it
        return new

    # -- running ------------------------------------------------------------

    @overload
    async def run(
        self, content: Any, *, stream: bool = ..., output_type: None = ...
    ) -> RunResult[OutputT]: ...

    @overload
    async def run(
        self, content: Any, *, stream: bool = ..., output_type: type[T]
    ) -> RunResult[T]: ...

    async def run(
        self, content: Any, *, stream: bool = True, output_type: type[Any] | None = None
    ) -> RunResult[Any]:
        """Run one turn and return everything it produced (see ``RunResult``)."""
        run = self._start(content, stream=stream, output_type=output_type, deltas=None)
        async for _ in run:
            pass
        return run.result

    @overload
    async def send(
        self, content: Any, *, stream: bool = ..., output_type: None = ...
    ) -> OutputT: ...

    @overload
    async def send(self, content: Any, *, stream: bool = ..., output_type: type[T]) -> T: ...

    async def send(
        self, content: Any, *, stream: bool = True, output_type: type[Any] | None = None
    ) -> Any:
        """Send a message, run the tool loop, and return the final answer.

        Args:
            content: A string, or a list of content parts (``text(...)``, ``image(...)``).
            stream: Stream each model request (the default) or not; the tool loop
                runs either way.
            output_type: Return a validated instance of this type for this call.
        """
        # run()'s body, not a call to it: one frame fewer to resume on every network read.
        run = self._start(content, stream=stream, output_type=output_type, deltas=None)
        async for _ in run:
            pass
        return run.result.output

    @overload
    def stream(self, content: Any, *, output_type: None = ...) -> AgentRun[OutputT]: ...

    @overload
    def stream(self, content: Any, *, output_type: type[T]) -> AgentRun[T]: ...

    def stream(self, content: Any, *, output_type: type[Any] | None = None) -> AgentRun[Any]:
        """Run one turn, yielding every event; ``.result`` holds the outcome afterwards."""
        return self._start(content, stream=True, output_type=output_type, deltas=True)

    async def aclose(self) -> None:
        """Stop the agent's MCP servers; close the gateway if the agent created it."""
        if self._mcp is not None:
            await self._mcp.aclose()
        if self._owns_gateway and self._gateway is not None:
            await self._gateway.aclose()
            self._gateway = None

    async def __aenter__(self) -> Agent[OutputT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- internals ----------------------------------------------------------

    def _start(
        self,
        content: Any,
        *,
        stream: bool,
        output_type: type[Any] | None,
        deltas: bool | None,
        stream_events: bool = True,
    ) -> AgentRun[Any]:
        if content is None or (isinstance(content, str) and not content.strip()):
            raise UserError("the message is empty")
        content = user_content(content)  # strings in a list become parts (spec §1.3)
        output = OutputSpec(output_type) if output_type is not None else self._output
        gateway = self.gateway  # once: the property re-registers the budget's observer
        options, prelude = self._parts.get(
            gateway,
            self._tools,
            self._mcp,
            temperature=self.temperature,
            enable_search=self.enable_search,
            thinking=self.thinking,
            thinking_budget=self.thinking_budget,
            settings=self.settings,
            context_length=self.context_length,
        )
        # A bare instance's __init__ called as its method: calling the class with these
        # keywords (which packs them into a dict for __init__ first) made _start 7.3 µs
        # hot, this 6.0. mypy warns that an instance's __init__ may be a subclass's;
        # _new made exactly a TurnSettings.
        settings = _new(TurnSettings)
        settings.__init__(  # type: ignore[misc]
            gateway=gateway,
            models=self.models,
            tools=dict(self._tools),
            max_steps=self.max_steps,
            stream=stream,
            families=self._families,
            fields_for=options.fields_for,
            tools_for=options.tools_for,
            output=output,
            tags={"agent": self.id},
            approval=self.approval_handler,
            approval_names=self._approval_names,
            context_policy=self.context_policy,
            token_counts=self._token_counts,
            # No budget, no guard: a request then skips the check altogether.
            budget=BudgetGuard(self._budgets, self.prices) if self._budgets else None,
            deltas=deltas
            if deltas is not None
            else self._hooks.wants("stream:delta") or self._hooks.wants("reasoning:delta"),
            # stream() hands every event to its reader; run()/send() only to hooks.
            readers="all" if deltas else "hooks" if stream_events else "unstreamed",
            hooks=self._hooks,
            prelude=prelude,
        )
        turn = Turn(settings, self._messages, {"role": "user", "content": content})
        return AgentRun(turn.events(), turn)
