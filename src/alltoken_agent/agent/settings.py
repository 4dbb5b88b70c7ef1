"""``ModelSettings``: the request settings an agent sends with every model request.

The keys are the chat request fields of docs/wire-format.md §1.3 that a caller
may choose; the agent owns the rest (``model``, ``messages``, ``stream``,
``stream_options``, ``tools``). A TypedDict, so a type checker catches a
misspelled key, and :func:`check_settings` catches it at run time.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, ParamSpec, TypeAlias, TypedDict

from alltoken_agent.errors import UserError

P = ParamSpec("P")
ToolChoice: TypeAlias = Literal["auto", "none", "required"] | Mapping[str, Any]


class ModelSettings(TypedDict, total=False):
    """Request settings sent with every model request of an agent (all optional).

    Example:
        ```python
        agent = Agent(settings={"temperature": 0.2, "max_tokens": 400, "stop": ["END"]})
        ```
    """

    temperature: float | None
    """Sampling temperature, 0 to 2 (None: leave it to the model)."""
    top_p: float
    """Nucleus sampling: the probability mass to sample from."""
    top_k: int
    """Sample from the k most likely tokens."""
    max_tokens: int
    """The longest reply, in tokens (at least 1)."""
    stop: str | Sequence[str]
    """Where the model stops writing."""
    seed: int
    """Sampling seed. Not in AllToken's request schema (§1.3), which ignores
    unknown fields; for OpenAI-compatible gateways that honour it."""
    frequency_penalty: float
    """-2 to 2: positive values discourage repeating tokens by how often they came."""
    presence_penalty: float
    """-2 to 2: positive values discourage tokens that came at all."""
    user: str
    """An id of the end user, for the gateway's abuse monitoring."""
    tool_choice: ToolChoice
    """``auto``, ``none``, ``required``, or ``{"type": "function", "function": {"name": ...}}``."""
    response_format: Mapping[str, Any]
    """``{"type": "json_object"}`` or a ``json_schema`` block; ``output_type`` sets its own."""
    thinking: bool
    """Ask for reasoning (a gateway extension); it streams as ``reasoning:delta`` events."""
    thinking_budget: int
    """Reasoning-token budget, sent with ``thinking``."""
    enable_search: bool
    """Web search: the gateway's flag on families that support it, else the ``web_search``
    tool (docs/wire-format.md §1.11)."""
    extra_body: Mapping[str, Any]
    """Request fields this type does not name (a gateway's newer ones), sent as given."""


SETTING_NAMES: frozenset[str] = frozenset(ModelSettings.__optional_keys__)
"""Every key ``ModelSettings`` takes."""
AGENT_KNOBS = ("temperature", "enable_search", "thinking", "thinking_budget")
"""Settings that are also ``Agent`` arguments; the agent decides per model how to send them."""
_OWNED = {
    "model": "pass model= to the agent",
    "messages": "the agent builds them from its history",
    "tools": "pass tools= to the agent",
    "stream": "the agent streams unless run with stream=False",
    "stream_options": "the agent always asks for usage on a stream",
}
_NUMBER = (int, float)


def _is_number(value: object) -> bool:
    # NaN and infinity have no JSON form: the request body could not be encoded.
    return isinstance(value, _NUMBER) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_stop(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, Sequence) and all(isinstance(item, str) for item in value)


def _is_tool_choice(value: object) -> bool:
    return value in ("auto", "none", "required") or isinstance(value, Mapping)


_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "temperature": (lambda v: v is None or _is_number(v), "a finite number or None"),
    "top_p": (_is_number, "a finite number"),
    "top_k": (_is_int, "an integer"),
    "max_tokens": (_is_positive_int, "an integer of at least 1"),
    "stop": (_is_stop, "a string or a list of strings"),
    "seed": (_is_int, "an integer"),
    "frequency_penalty": (_is_number, "a finite number"),
    "presence_penalty": (_is_number, "a finite number"),
    "user": (lambda v: isinstance(v, str), "a string"),
    "tool_choice": (_is_tool_choice, "'auto', 'none', 'required' or a mapping"),
    "response_format": (lambda v: isinstance(v, Mapping), "a mapping"),
    "thinking": (lambda v: isinstance(v, bool), "True or False"),
    "thinking_budget": (_is_int, "an integer"),
    "enable_search": (lambda v: isinstance(v, bool), "True or False"),
    "extra_body": (lambda v: isinstance(v, Mapping), "a mapping"),
}


def check_settings(settings: Mapping[str, Any] | None) -> ModelSettings:
    """A copy of ``settings`` once every key is known and every value of the right type.

    Raises:
        UserError: An unknown key (named, with the closest known one), or a value of
            the wrong type.
    """
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise UserError(f"settings must be a mapping of request settings, not {settings!r}")
    checked: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in SETTING_NAMES:
            raise UserError(f"settings: unknown key {key!r}{_hint(str(key))}")
        accepts, expected = _CHECKS[key]
        if not accepts(value):
            raise UserError(f"settings: {key!r} must be {expected}, not {value!r}")
        checked[key] = dict(value) if isinstance(value, Mapping) else value
    for key in checked.get("extra_body", {}):
        if key in _OWNED or key in SETTING_NAMES:
            where = _OWNED.get(key) or f"give it as settings[{key!r}]"
            raise UserError(f"settings: extra_body may not set {key!r} ({where})")
    return checked  # type: ignore[return-value]  # every key and value checked above


def _hint(key: str) -> str:
    if key in _OWNED:
        return f" ({_OWNED[key]})"
    import difflib  # a misspelt key's hint only: not on every run's import

    close = difflib.get_close_matches(key, sorted(SETTING_NAMES), n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known keys: {', '.join(sorted(SETTING_NAMES))} (others go in 'extra_body')"


def without_knobs(settings: ModelSettings) -> ModelSettings:
    """``settings`` less the ``AGENT_KNOBS``, which an agent keeps as attributes."""
    rest = settings.copy()
    rest.pop("temperature", None)
    rest.pop("enable_search", None)
    rest.pop("thinking", None)
    rest.pop("thinking_budget", None)
    return rest


def request_fields(settings: ModelSettings) -> dict[str, Any]:
    """The request fields ``settings`` adds (``extra_body`` spread in; agent knobs left out)."""
    if not settings:  # most agents set none: no scan, and no ABC check of a missing stop
        return {}
    fields: dict[str, Any] = {
        key: value
        for key, value in settings.items()
        if key not in AGENT_KNOBS and key != "extra_body"
    }
    if isinstance(fields.get("stop"), Sequence) and not isinstance(fields["stop"], str):
        fields["stop"] = list(fields["stop"])
    fields.update(settings.get("extra_body") or {})
    return fields


def suggest_keywords(init: Callable[P, None]) -> Callable[P, None]:
    """Make a misspelled keyword argument of ``init`` a TypeError that names the right one.

    Python's own error names only the wrong keyword; this one adds the closest
    parameter, as type checkers do (``Agent(temprature=0.2)``).
    """
    parameters = inspect.signature(init).parameters
    names = [name for name in parameters if name != "self"]
    owner = init.__qualname__.split(".")[0]

    @functools.wraps(init)
    def checked(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            init(*args, **kwargs)
        except TypeError:
            # Looked for only when the call failed: an unknown keyword fails the call
            # before its body runs, so a good call pays nothing for the check.
            for key in kwargs:
                if key not in parameters:
                    import difflib  # a misspelt argument's hint only

                    close = difflib.get_close_matches(key, names, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    if key in SETTING_NAMES:
                        hint = f"; request settings go in settings={{{key!r}: ...}}"
                    raise TypeError(
                        f"{owner}() got an unexpected keyword argument {key!r}{hint}"
                    ) from None
            raise

    return checked
