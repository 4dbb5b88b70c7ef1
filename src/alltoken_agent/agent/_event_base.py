"""What every agent event shares: immutability, equality, hashing, repr and its two views.

The events themselves are in :mod:`alltoken_agent.agent.events`. Each is a dataclass for
``dataclasses.fields()`` and ``__match_args__`` only: its ``__init__`` is written out in its
class and every other method is written once (here, and the frozen value methods in
``gateway.accounting.FrozenValue``), because the methods ``dataclass``
generates are compiled from source at every import (a frozen one's ``__init__``,
``__setattr__`` and ``__delattr__``, 21 classes: about 6 ms of a ``chat``'s start-up),
while written-out code comes from the bytecode cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, fields
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import AllTokenAgentError
from alltoken_agent.gateway.types import Cost, Usage


def _joined(event: object, attribute: str) -> str:
    """The ``accumulated`` of a delta event built by ``stream_delta``, joined once."""
    fields_ = event.__dict__
    pieces = fields_.get("_pieces") if attribute == "accumulated" else None
    if pieces is None:
        raise AttributeError(f"{type(event).__name__!r} object has no attribute {attribute!r}")
    value = fields_["accumulated"] = "".join(pieces[: fields_["_upto"]])
    return value


_ARGS: dict[type, Callable[[Any], Any]] = {}  # per class: its payload fields, read in one call
_JSON_NAMES: dict[type, tuple[str, ...]] = {}  # per class: the fields of its NDJSON view


class _Event(FrozenValue):
    # Immutability, equality, hashing and repr come from FrozenValue (written once,
    # not generated per class: see the module docstring).
    # Fields left out of the NDJSON view because they repeat what came before.
    _json_skip: ClassVar[frozenset[str]] = frozenset()
    if TYPE_CHECKING:  # each subclass is a dataclass: dataclasses.fields() reads it
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def args(self) -> tuple[Any, ...]:
        """The payload, positionally, as hook handlers receive it."""
        read = _ARGS.get(type(self))
        if read is None:  # once per class: fields() is slow for a per-chunk event
            names = [f.name for f in fields(self) if f.name != "name"]
            getter = attrgetter(*names) if names else lambda _: ()
            read = _ARGS[type(self)] = getter if len(names) != 1 else lambda e: (getter(e),)
        payload: tuple[Any, ...] = read(self)
        return payload

    def to_dict(self) -> dict[str, Any]:
        """The NDJSON view: ``{"event": name, **payload}`` with JSON-ready values."""
        names = _JSON_NAMES.get(type(self))
        if names is None:  # once per class: the server sends this for each of a turn's events
            skip = self._json_skip
            names = tuple(f.name for f in fields(self) if f.name != "name" and f.name not in skip)
            _JSON_NAMES[type(self)] = names
        out: dict[str, Any] = {"event": getattr(self, "name")}  # noqa: B009 - set by subclasses
        for name in names:
            out[name] = _jsonable(getattr(self, name))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (Usage, Cost)):
        return value.to_dict()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, BaseException):
        return _error_dict(value)
    return value


def _error_dict(error: BaseException) -> dict[str, Any]:
    # Ours carry their own fields (errors.py); a hook's or tool's own exception is named
    # by its class, as the CLI's and a batch line's error are.
    if isinstance(error, AllTokenAgentError):
        return error.to_dict()
    name = type(error).__name__
    return {"code": name, "message": str(error), "type": name}
