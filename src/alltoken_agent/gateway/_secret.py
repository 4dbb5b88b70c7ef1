"""An API key held so that it never shows itself, without importing pydantic.

It behaves as pydantic's ``SecretStr`` does where a key travels (``repr``, ``str`` and
f-strings show stars; ``get_secret_value()`` gives the key): importing pydantic only for
that cost ``chat`` about 40 ms of CPU before its request (bench/cli_startup.py).
"""

from __future__ import annotations

from typing import Any


class SecretKey:
    """A secret string: only :meth:`get_secret_value` gives it back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        """Hold ``value``."""
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself."""
        return self._value

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"SecretKey('{self}')"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled or deep-copied as itself; the value is what it holds, never its text.
        return (SecretKey, (self._value,))
