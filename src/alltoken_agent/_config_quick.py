"""A config file's plain values assembled into :class:`~alltoken_agent.config.Config` quickly.

Validating a file builds pydantic's validators for the whole schema, about 25 ms of
CPU, for every command that reads the config as pydantic models (``chat`` reads its
plain values without pydantic at all, :mod:`alltoken_agent._config_plain`, and comes
here only for a file that needs the schema). Most files hold only plain values: a
model name, a few timeouts, a provider's URL. :func:`assemble` checks each value
against the field it goes to, read from the models' own fields (the annotation and
its ``gt``/``ge``/``lt``/``le`` bounds), so names, types and defaults have one source,
the schema in :mod:`alltoken_agent._config_schema`. When every value is one that validation
would take as it is (a string for a ``str``, a bool for a ``bool``, a whole number or
float within bounds for a ``float``, a choice of a ``Literal``, lists and tables of
those, sections made of such fields), the models are built with ``model_construct``,
which is what validation would have built. Anything else (a ``Decimal`` price, a
secret, a pattern, a model with its own validator, an unknown key, a value out of
bounds) answers None, and the caller validates the whole file with the schema, which
gives its error messages. ``tests/test_config_quick.py`` pins both ways to one result.
"""

from __future__ import annotations

import operator
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)

_UNUSUAL = object()
"""A value validation might change or refuse: the schema must see the file."""

_BOUNDS = {"Gt": operator.gt, "Ge": operator.ge, "Lt": operator.lt, "Le": operator.le}
"""``Field(gt=...)`` and the like, as pydantic keeps them (``annotated_types.Gt``, ...):
the class name, whose lower case is the attribute holding the bound."""


def assemble(model: type[ModelT], data: Any) -> ModelT | None:
    """``model`` built from ``data`` without validators; None when the schema must check it."""
    if type(data) is not dict or _has_validators(model):
        return None
    fields = model.model_fields
    values: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if field is None or field.alias is not None or field.validation_alias is not None:
            return None
        converted = _plain(field.annotation, field.metadata, value)
        if converted is _UNUSUAL:
            return None
        values[key] = converted
    return model.model_construct(**values)


def _has_validators(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    return bool(
        decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
    )


def _plain(annotation: Any, metadata: list[Any], value: Any) -> Any:
    """``value`` as validation would make it for ``annotation``, or :data:`_UNUSUAL`."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        arms = [arm for arm in get_args(annotation) if arm is not type(None)]
        # TOML has no null, so an optional field's value is always its other arm.
        return _plain(arms[0], metadata, value) if len(arms) == 1 else _UNUSUAL
    if not all(_is_bound(item) for item in metadata):
        return _UNUSUAL  # a pattern, a length, a finite-only rule: the schema checks it
    if annotation is str or annotation is bool:
        return value if type(value) is annotation and not metadata else _UNUSUAL
    if annotation is int or annotation is float:
        kinds: tuple[type, ...] = (int,) if annotation is int else (int, float)
        if type(value) not in kinds:
            return _UNUSUAL
        try:
            number = annotation(value)
        except OverflowError:  # a whole number too large for a float
            return _UNUSUAL
        return number if _within(number, metadata) else _UNUSUAL
    if metadata:
        return _UNUSUAL
    if origin is Literal:
        chosen = any(type(value) is type(arg) and value == arg for arg in get_args(annotation))
        return value if chosen else _UNUSUAL
    if origin is list and type(value) is list:
        (item_type,) = get_args(annotation)
        items = [_plain(item_type, [], item) for item in value]
        return _UNUSUAL if any(item is _UNUSUAL for item in items) else items
    if origin is dict and type(value) is dict:
        key_type, value_type = get_args(annotation)
        if key_type is not str:
            return _UNUSUAL
        table = {key: _plain(value_type, [], item) for key, item in value.items()}
        return _UNUSUAL if any(item is _UNUSUAL for item in table.values()) else table
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        built = assemble(annotation, value)
        return _UNUSUAL if built is None else built
    return _UNUSUAL


def _is_bound(item: Any) -> bool:
    kind = type(item)
    return kind.__module__ == "annotated_types" and kind.__name__ in _BOUNDS


def _within(number: float, bounds: list[Any]) -> bool:
    for bound in bounds:
        name = type(bound).__name__
        if not _BOUNDS[name](number, getattr(bound, name.lower())):
            return False
    return True
