"""A config file's plain values as attributes, read without importing pydantic.

``chat`` reads its config before its request, and pydantic's import alone cost it about
40 ms of CPU there (bench/cli_startup.py). The pydantic models in
:mod:`alltoken_agent._config_schema` stay the one schema; :data:`FIELDS` describes the same
fields as plain data (name, kind, default, bounds), and ``tests/config/test_config_plain.py``
pins it equal to what the models say, so the two cannot drift apart.

Inside :func:`plain_values` (``chat`` opens it), :func:`~alltoken_agent.config.load_config`
hands out :class:`PlainSection` objects when every value in the file is one that validation
would take as it is: a string for a ``str``, a bool for a ``bool``, a whole number or float
within its bounds for a number, a choice of a ``Literal``, lists and tables of those. Anything
else (a ``Decimal`` price, a secret, a pattern, a section with its own validator, an unknown
key, a value out of bounds) answers None, and the file goes through the pydantic models,
whose result and error messages are the same as ever. Outside :func:`plain_values` nothing
changes: every other command gets the pydantic ``Config``. Plain defaults go to
a ``Gateway`` or an ``Agent`` given no config too (``config.plain_defaults``): both only
read their config.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, ClassVar

SECRET = "secret"
"""The kind of a ``SecretStr`` field: never taken plain."""
SECTION_DEFAULT = "section defaults"
"""The default of a nested section: that section built from no values."""

FieldSpec = tuple[Any, Any, dict[str, Any]]
"""(kind, default, checks). A kind is ``str``, ``bool``, ``int``, ``float``, ``Decimal``,
:data:`SECRET`, or ``("optional" | "list" | "dict", kind)``, ``("literal", choices)``,
``("section", name)``; checks are ``Field()``'s (``gt``, ``ge``, ``le``, ``pattern``...)."""

_GT0: dict[str, Any] = {"gt": 0}
_GE0: dict[str, Any] = {"ge": 0}
_OPT_STR = ("optional", str)

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "TimeoutSettings": {
        "connect": (float, 10.0, _GT0),
        "read": (float, 60.0, _GT0),
        "write": (float, 30.0, _GT0),
        "pool": (float, 30.0, _GT0),
        "idle": (("optional", float), 120.0, _GT0),
        "total": (("optional", float), 600.0, _GT0),
    },
    "HttpSettings": {
        "max_connections": (int, 1000, {"ge": 1}),
        "keepalive_expiry": (float, 5.0, _GE0),
    },
    "RetrySettings": {
        "max_retries": (int, 3, {"ge": 0, "le": 20}),
        "base_delay": (float, 0.5, _GE0),
        "max_delay": (float, 20.0, _GE0),
        "max_retry_after": (float, 120.0, _GE0),
    },
    "ProviderSettings": {
        "base_url": (_OPT_STR, None, {}),
        "api_key_env": (_OPT_STR, None, {}),
        "requires_key": (("optional", bool), None, {}),
        "default_model": (_OPT_STR, None, {}),
        "dialect": (("optional", ("literal", ("alltoken", "tokenhub", "openai"))), None, {}),
        "headers": (("dict", str), {}, {}),
    },
    "FamilySettings": {
        "prefixes": (("optional", ("list", str)), None, {}),
        "search": (
            ("optional", ("literal", ("native", "ignored", "unreliable", "rejected", "unknown"))),
            None,
            {},
        ),
        "echo_reasoning": (("optional", bool), None, {}),
    },
    "PriceSettings": {
        name: (("optional", Decimal), None, _GE0)
        for name in ("input_per_1k", "output_per_1k", "per_image", "per_video_second")
    },
    "BudgetSettings": {
        "daily_usd": (("optional", Decimal), None, _GT0),
        "warn_at": (float, 0.8, {"gt": 0, "le": 1}),
    },
    "LedgerSettings": {
        "max_request_cost_usd": (Decimal, Decimal(100), {"gt": 0, "allow_inf_nan": False}),
    },
    "MediaSettings": {
        "max_image_mb": (float, 64.0, _GT0),
        "max_video_mb": (float, 2048.0, _GT0),
    },
    "ServerSettings": {
        "keys": (("list", SECRET), [], {}),
        "store_url": (("optional", SECRET), None, {}),
        "max_body_bytes": (int, 8 * 1024 * 1024, {"ge": 1024}),
        "rate_limit_per_minute": (float, 120.0, _GT0),
        "rate_limit_burst": (int, 30, {"ge": 1}),
        "max_concurrent_runs": (int, 8, {"ge": 1}),
        "daily_budget_usd": (("optional", Decimal), None, _GT0),
        "shutdown_grace": (float, 20.0, _GE0),
        "header_timeout": (float, 10.0, _GT0),
        "auth_failure_limit": (int, 10, {"ge": 1}),
        "auth_failure_window": (float, 60.0, _GT0),
        "max_sessions_per_key": (int, 1000, {"ge": 1}),
        "media_jobs": (("literal", ("server", "workers")), "server", {}),
        "processes": (int, 1, {"ge": 1, "le": 256}),
    },
    "ContextSettings": {
        "policy": (("literal", ("trim", "fail")), "trim", {}),
        "lengths": (("dict", int), {}, {}),
    },
    "ApprovalSettings": {"tools": (("list", str), [], {})},
    "MCPServerSettings": {
        "command": (_OPT_STR, None, {"min_length": 1}),
        "args": (("list", str), [], {}),
        "env": (("dict", SECRET), {}, {}),
        "env_vars": (("list", str), [], {}),
        "cwd": (_OPT_STR, None, {}),
        "url": (_OPT_STR, None, {"pattern": r"^https?://"}),
        "headers": (("dict", SECRET), {}, {}),
        "startup_timeout": (float, 30.0, _GT0),
        "call_timeout": (float, 120.0, _GT0),
        "list_timeout": (float, 30.0, _GT0),
        "prefix": (_OPT_STR, None, {"pattern": r"^[A-Za-z0-9_-]{1,32}$"}),
    },
    "Config": {
        "provider": (_OPT_STR, None, {}),
        "model": (_OPT_STR, None, {}),
        "fallbacks": (("list", str), [], {}),
        "timeouts": (("section", "TimeoutSettings"), SECTION_DEFAULT, {}),
        "retry": (("section", "RetrySettings"), SECTION_DEFAULT, {}),
        "http": (("section", "HttpSettings"), SECTION_DEFAULT, {}),
        "providers": (("dict", ("section", "ProviderSettings")), {}, {}),
        "families": (("dict", ("section", "FamilySettings")), {}, {}),
        "prices": (("dict", ("section", "PriceSettings")), {}, {}),
        "budget": (("section", "BudgetSettings"), SECTION_DEFAULT, {}),
        "ledger": (("section", "LedgerSettings"), SECTION_DEFAULT, {}),
        "context": (("section", "ContextSettings"), SECTION_DEFAULT, {}),
        "approval": (("section", "ApprovalSettings"), SECTION_DEFAULT, {}),
        "server": (("section", "ServerSettings"), SECTION_DEFAULT, {}),
        "media": (("section", "MediaSettings"), SECTION_DEFAULT, {}),
        "mcp_servers": (("dict", ("section", "MCPServerSettings")), {}, {}),
    },
}
"""Each config model's fields, as ``alltoken_agent._config_schema`` declares them."""

VALIDATED = frozenset({"MCPServerSettings"})
"""Models with a validator of their own: a value for one always goes to pydantic."""

_UNUSUAL = object()
"""A value validation might change or refuse: the schema must see the file."""

_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}

_wanted: ContextVar[bool] = ContextVar("alltoken_agent_plain_config", default=False)


@contextmanager
def plain_values() -> Iterator[None]:
    """Within it, ``load_config`` may answer plain sections (see the module's docstring)."""
    token = _wanted.set(True)
    try:
        yield
    finally:
        _wanted.reset(token)


def plain_wanted() -> bool:
    """Whether the caller is inside :func:`plain_values`."""
    return _wanted.get()


class PlainSection:
    """A config section's values as attributes, as the pydantic model would hold them.

    Has the few model methods the core calls on a config (``model_fields``,
    ``model_fields_set``, ``model_dump``, ``model_copy``); the class of each is named
    after the model it stands for.
    """

    model_fields: ClassVar[dict[str, FieldSpec]] = {}
    model_fields_set: set[str]

    def __init__(self, values: dict[str, Any], fields_set: set[str]) -> None:
        """Hold ``values`` (every field); ``fields_set``: the ones given explicitly."""
        self.__dict__.update(values)
        self.__dict__["model_fields_set"] = fields_set

    def _values(self) -> dict[str, Any]:
        return {name: self.__dict__[name] for name in type(self).model_fields}

    def model_dump(
        self, *, exclude_none: bool = False, exclude_unset: bool = False
    ) -> dict[str, Any]:
        """The values by name, nested sections as dicts (as pydantic's ``model_dump``)."""
        names = self.model_fields_set if exclude_unset else type(self).model_fields
        dumped: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = self.__dict__[name]
            if name not in names or (exclude_none and value is None):
                continue
            dumped[name] = _dumped(value, exclude_none, exclude_unset)
        return dumped

    def model_copy(self, *, update: dict[str, Any] | None = None) -> PlainSection:
        """A copy with ``update``'s values (no validation, as pydantic's ``model_copy``)."""
        changes = update or {}
        return type(self)({**self._values(), **changes}, self.model_fields_set | set(changes))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PlainSection)
            and type(other) is type(self)
            and other._values() == self._values()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'**********' if _secret(spec[0]) else repr(self.__dict__[name])}"
            for name, spec in type(self).model_fields.items()
        )
        return f"{type(self).__name__}({shown})"


def _dumped(value: Any, exclude_none: bool, exclude_unset: bool) -> Any:
    if isinstance(value, PlainSection):
        return value.model_dump(exclude_none=exclude_none, exclude_unset=exclude_unset)
    if isinstance(value, dict):
        return {key: _dumped(item, exclude_none, exclude_unset) for key, item in value.items()}
    if isinstance(value, list):
        return [_dumped(item, exclude_none, exclude_unset) for item in value]
    return value


def _secret(kind: Any) -> bool:
    if kind == SECRET:
        return True
    return isinstance(kind, tuple) and kind[0] != "literal" and _secret(kind[1])


_classes: dict[str, type[PlainSection]] = {}


def _class(name: str) -> type[PlainSection]:
    made = _classes.get(name)
    if made is None:
        made = _classes[name] = type(name, (PlainSection,), {"model_fields": FIELDS[name]})
    return made


def plain_config(data: Any) -> PlainSection | None:
    """The whole config from a parsed TOML document, or None when pydantic must check it."""
    built = _section("Config", data)
    return None if built is _UNUSUAL else built


def _section(name: str, data: Any) -> Any:
    if type(data) is not dict or (name in VALIDATED and data):
        return _UNUSUAL
    fields = FIELDS[name]
    values: dict[str, Any] = {}
    for key, value in data.items():
        spec = fields.get(key)
        if spec is None:
            return _UNUSUAL  # an unknown key: pydantic's message names it
        plain = _plain(spec[0], spec[2], value)
        if plain is _UNUSUAL:
            return _UNUSUAL
        values[key] = plain
    for key, (kind, default, _) in fields.items():
        if key not in values:
            values[key] = _default(kind, default)
    return _class(name)(values, set(data))


def _default(kind: Any, default: Any) -> Any:
    if default == SECTION_DEFAULT:
        return _section(kind[1], {})
    if isinstance(default, (list, dict)):
        return type(default)()  # a fresh one, as a default_factory makes
    return default


def _plain(kind: Any, checks: dict[str, Any], value: Any) -> Any:
    """``value`` as validation would make it for ``kind``, or :data:`_UNUSUAL`."""
    if isinstance(kind, tuple):
        shape, inner = kind
        if shape == "optional":  # TOML has no null: the value is always the other arm
            return _plain(inner, checks, value)
        if checks:
            return _UNUSUAL
        if shape == "literal":
            chosen = any(type(value) is type(choice) and value == choice for choice in inner)
            return value if chosen else _UNUSUAL
        if shape == "section":
            return _section(inner, value)
        if shape == "list" and type(value) is list:
            items = [_plain(inner, {}, item) for item in value]
            return _UNUSUAL if any(item is _UNUSUAL for item in items) else items
        if shape == "dict" and type(value) is dict:
            table = {key: _plain(inner, {}, item) for key, item in value.items()}
            return _UNUSUAL if any(item is _UNUSUAL for item in table.values()) else table
        return _UNUSUAL
    if any(check not in _BOUNDS for check in checks):
        return _UNUSUAL  # a pattern, a length, a finite-only rule: pydantic checks it
    if kind is str or kind is bool:
        return value if type(value) is kind and not checks else _UNUSUAL
    if kind is int or kind is float:
        kinds: tuple[type, ...] = (int,) if kind is int else (int, float)
        if type(value) not in kinds:
            return _UNUSUAL
        try:
            number = kind(value)
        except OverflowError:  # a whole number too large for a float
            return _UNUSUAL
        within = all(_BOUNDS[check](number, bound) for check, bound in checks.items())
        return number if within else _UNUSUAL
    return _UNUSUAL  # a Decimal, a secret: pydantic converts it
