"""Frozen value classes without the methods ``@dataclass(frozen=True)`` compiles at import.

A leaf: the gateway, the agent, the ledger and ``paths`` use it, and importing it loads
none of them.
"""

from __future__ import annotations

from dataclasses import Field, FrozenInstanceError, fields
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn


class FrozenValue:
    """What ``@dataclass(frozen=True)`` would generate, written once for its subclasses.

    Each subclass is ``@dataclass(init=False, eq=False, repr=False)`` (for ``fields()``
    and ``replace()``) with its ``__init__`` written out: dataclass compiles the methods
    it generates from source at every import, a cost every ``chat`` pays at start-up,
    while written-out code comes from the bytecode cache. These do what the generated
    ones did: compare and hash by the ``compare`` fields, print the ``repr`` ones, and
    refuse to be changed.
    """

    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _compared(self) == _compared(other)

    def __hash__(self) -> int:
        return hash(_compared(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"


def _compared(value: FrozenValue) -> tuple[Any, ...]:
    return tuple(getattr(value, f.name) for f in fields(value) if f.compare)
