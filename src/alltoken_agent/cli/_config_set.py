"""`config set`: check a dotted key and a value against the settings model, then write it."""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeGuard, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError

from alltoken_agent import Config, ConfigError, UserError
from alltoken_agent._files import write_atomic
from alltoken_agent.cli._toml_edit import dumps, key_text, set_in_text, value_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

write_atomically = write_atomic
"""The one atomic write, by the name ``config init`` imports it under."""

HIDDEN = "<hidden>"
"""Shown instead of a secret value (server keys, MCP env and headers, the store URL)."""


@dataclass(frozen=True)
class SetOutcome:
    """What ``set_key`` wrote."""

    key: str
    """The key as the user gave it, normalised (``a.b``; odd names quoted)."""
    shown: str
    """The value as written, or ``HIDDEN`` for a secret."""
    dropped_comments: bool
    """The file had comments and had to be rewritten without them."""


def read_document(target: Path) -> dict[str, Any]:
    """The config file as TOML data; an empty document when there is no file.

    Raises:
        ConfigError: The file is not valid TOML.
    """
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as error:
        raise _not_utf8(target, error) from None
    return _parse(target, text)


def _not_utf8(target: Path, error: UnicodeDecodeError) -> ConfigError:
    return ConfigError(
        f"config file {target} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at "
        f"offset {error.start}); fix it by hand, or start again with "
        "`alltoken-agent config init --force`"
    )


def _parse(target: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"config file {target} is not valid TOML ({error}); fix it by hand, "
            "or start again with `alltoken-agent config init --force`"
        ) from None


def set_key(target: Path, key: str, value: str) -> SetOutcome:
    """Set ``key`` to ``value`` in the config file at ``target``.

    Raises:
        UserError: The key is unknown or the value is not valid for it.
        ConfigError: The file is not valid TOML.
    """
    from alltoken_agent.cli._input import check_text

    # Bytes that are not UTF-8 would fail half-way through the write: refuse them first.
    check_text(key, "KEY")
    check_text(value, "VALUE")
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except UnicodeDecodeError as error:
        raise _not_utf8(target, error) from None
    document = _parse(target, text)
    path = parse_key(key)
    shown_key = ".".join(key_text(part) for part in path)
    config = _validated(document, path, value, shown_key)
    written = _toml_value(_walk(config, path))
    updated = copy.deepcopy(document)
    _put(updated, path, written)
    edited = set_in_text(text, path, written, updated)
    dropped = edited is None and "#" in text
    write_atomic(target, edited if edited is not None else dumps(updated))
    _check_model(config, path)
    return SetOutcome(key=shown_key, shown=_shown(_walk(config, path)), dropped_comments=dropped)


def _check_model(config: Config, path: list[str]) -> None:
    """Warn (the value is still written) when a model name is not in the cached catalog."""
    from alltoken_agent.cli._did_you_mean import unknown_model_warning

    provider: str | None = None
    if path == ["model"]:
        model = config.model
    elif len(path) == 3 and path[0] == "providers" and path[2] == "default_model":
        provider = path[1]
        model = config.providers[provider].default_model
    else:
        return
    warning = None if not model else unknown_model_warning(config, model, provider)
    if warning is not None:
        print(warning, file=sys.stderr)


def parse_key(key: str) -> list[str]:
    """The parts of a dotted key (TOML syntax, so ``prices."gpt-5.4".input_per_1k`` works).

    Raises:
        UserError: It is not a key, or not one the config file knows.
    """
    try:
        data: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        raise UserError(
            f"{key!r} is not a key; write it dotted, like timeouts.read, and quote a name "
            "that holds dots: 'prices.\"gpt-5.4\".input_per_1k'"
        ) from None
    path: list[str] = []
    while isinstance(data, dict):
        name, data = next(iter(data.items()))
        path.append(name)
    _check_path(path)
    return path


def _check_path(path: list[str]) -> None:
    """Follow ``path`` through the settings model; unknown keys are an error."""
    model: type[BaseModel] | None = Config
    index = 0
    while index < len(path):
        where = ".".join(path[:index]) or "the top level"
        if model is None:
            raise UserError(f"unknown key {'.'.join(path)!r}: {where} is a value, not a table")
        field = model.model_fields.get(path[index])
        if field is None:
            known = ", ".join(model.model_fields)
            raise UserError(f"unknown key {'.'.join(path)!r}: {where} has {known}")
        annotation = field.annotation
        index += 1
        if _is_model(annotation):
            model = annotation
        elif get_origin(annotation) is dict:
            item = get_args(annotation)[1]
            index += 1  # the next part is a name of the user's (a provider, a model...)
            model = item if _is_model(item) and index <= len(path) else None
        else:
            model = None


def _is_model(annotation: object) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _validated(document: dict[str, Any], path: list[str], value: str, key: str) -> Config:
    """The settings with ``path`` set to ``value``, read as text first or as TOML."""
    candidates: list[Any] = [value]
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    else:
        if value.lstrip()[:1] in ('"', "'", "[", "{"):
            candidates.insert(0, parsed)  # it was written as TOML: take it as TOML
        elif parsed != value:
            candidates.append(parsed)
    first_error: ValidationError | None = None
    for candidate in candidates:
        trial = copy.deepcopy(document)
        _put(trial, path, candidate)
        try:
            return Config.model_validate(trial)
        except ValidationError as error:
            first_error = first_error or error
    assert first_error is not None
    problems = "; ".join(_problem(err["loc"], err["msg"], path) for err in first_error.errors())
    shapes = {"list_type", "dict_type", "model_type"}
    if any(err["type"] in shapes for err in first_error.errors()):
        problems += " (write a list or a table in TOML: '[\"a\", \"b\"]', '{ read = 90 }')"
    raise UserError(f"invalid value {value!r} for {key}: {problems}")


def _problem(location: tuple[int | str, ...], message: str, path: list[str]) -> str:
    """One validation error; its location is left out when it is the key being set."""
    where = [str(part) for part in location]
    return message if where == path else f"{'.'.join(where)}: {message}"


def _put(document: dict[str, Any], path: list[str], value: Any) -> None:
    table = document
    for depth, part in enumerate(path[:-1]):
        inner = table.setdefault(part, {})
        if not isinstance(inner, dict):
            where = ".".join(path[: depth + 1])
            raise UserError(f"cannot set {'.'.join(path)}: {where} is a value in the file")
        table = inner
    table[path[-1]] = value


def _walk(config: Config, path: list[str]) -> Any:
    value: Any = config
    for part in path:
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


def _toml_value(value: Any) -> Any:
    """A validated value as TOML data: decimals as strings (exact), secrets revealed."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return {
            name: _toml_value(getattr(value, name))
            for name in type(value).model_fields
            if name in value.model_fields_set
        }
    if isinstance(value, dict):
        return {name: _toml_value(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_toml_value(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if value is None:
        raise UserError("a setting cannot be set to nothing; edit the file to remove it")
    return value


def _shown(value: Any) -> str:
    if _has_secret(value):
        return HIDDEN
    return value_text(_toml_value(value))


def _has_secret(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return True
    if isinstance(value, BaseModel):
        return any(_has_secret(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, dict):
        return any(_has_secret(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_secret(item) for item in value)
    return False
