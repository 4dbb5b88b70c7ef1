"""``create_agent(...)``: the AllToken agent skill's factory, with ``Agent``'s options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from alltoken_agent.agent.agent import Agent

P = ParamSpec("P")
R = TypeVar("R")


def _with_options_of(cls: Callable[P, R]) -> Callable[[Callable[..., object]], Callable[P, R]]:
    """Give a factory the signature of ``cls``, for type checkers and ``help()`` alike."""

    def decorate(factory: Callable[..., object]) -> Callable[P, R]:
        # __wrapped__ (and only that: the name and docstring stay the factory's) makes
        # inspect.signature() show the class's parameters.
        functools.update_wrapper(factory, cls, assigned=(), updated=())
        return cast("Callable[P, R]", factory)

    return decorate


@_with_options_of(Agent)
def create_agent(*args: Any, **kwargs: Any) -> Agent[Any]:
    """Create an agent: ``Agent(...)`` under the name the AllToken agent skill uses.

    It takes exactly ``Agent``'s arguments (model, instructions, tools, max_steps,
    temperature, enable_search, thinking, gateway, and the keyword-only options) and
    returns the same object; the type of ``output_type`` carries over as with
    ``Agent``.

    Example:
        ```python
        agent = create_agent(model="deepseek-v4-flash", tools=[calculate])
        print(agent.send_sync("What is 2+3?"))
        agent.close_sync()
        ```
    """
    return Agent(*args, **kwargs)
