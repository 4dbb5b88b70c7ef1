"""The config's plain reader (``_config_plain``) against the pydantic schema it mirrors."""

from __future__ import annotations

import dataclasses
import types
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, SecretStr

from alltoken_agent import _config_schema
from alltoken_agent._config_plain import (
    FIELDS,
    SECRET,
    SECTION_DEFAULT,
    VALIDATED,
    PlainSection,
    plain_config,
    plain_values,
)
from alltoken_agent.config import Config, load_config
from alltoken_agent.errors import ConfigError
from alltoken_agent.gateway._secret import SecretKey
from alltoken_agent.gateway._settings import section_values
from alltoken_agent.gateway.providers import resolve

MODELS = {
    name: model
    for name, model in vars(_config_schema).items()
    if isinstance(model, type)
    and issubclass(model, BaseModel)
    # Ours, not pydantic's: the root package renames its exports' __module__ to
    # "alltoken_agent" (docs/architecture.md, "The public API"), so Config may say that.
    and model.__module__.startswith("alltoken_agent")
    and not name.startswith("_")
}


def kind_of(annotation: Any) -> Any:
    """The plain table's kind for a pydantic annotation."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        (arm,) = [arm for arm in get_args(annotation) if arm is not type(None)]
        return ("optional", kind_of(arm))
    if origin is Literal:
        return ("literal", get_args(annotation))
    if origin is list:
        return ("list", kind_of(get_args(annotation)[0]))
    if origin is dict:
        key, value = get_args(annotation)
        assert key is str
        return ("dict", kind_of(value))
    if annotation is SecretStr:
        return SECRET
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("section", annotation.__name__)
    assert annotation in (str, bool, int, float, Decimal), annotation
    return annotation


def checks_of(metadata: list[Any]) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    for item in metadata:
        if dataclasses.is_dataclass(item):  # annotated_types' Gt, Ge, MinLen, AllowInfNan...
            checks.update(dataclasses.asdict(item))
        else:  # pydantic's general metadata: pattern=...
            checks.update({k: v for k, v in vars(item).items() if v is not None})
    return checks


def default_of(model_field: Any) -> Any:
    if model_field.default_factory is None:
        return model_field.default
    if isinstance(model_field.default_factory, type) and issubclass(
        model_field.default_factory, BaseModel
    ):
        return SECTION_DEFAULT
    return model_field.default_factory()


def test_the_plain_table_says_what_the_models_say() -> None:
    described = {
        name: {
            field: (kind_of(info.annotation), default_of(info), checks_of(info.metadata))
            for field, info in model.model_fields.items()
        }
        for name, model in MODELS.items()
    }
    assert FIELDS == described
    assert {name for name, model in MODELS.items() if _has_validator(model)} == VALIDATED


def _has_validator(model: type[BaseModel]) -> bool:
    decorators = model.__pydantic_decorators__
    return bool(decorators.model_validators or decorators.field_validators)


PLAIN_FILES = [
    {},
    {"model": "m", "provider": "local", "fallbacks": ["a", "b"]},
    {"timeouts": {"connect": 3, "read": 2.5, "total": 60}, "retry": {"max_retries": 20}},
    {"http": {"max_connections": 4, "keepalive_expiry": 0}},
    {
        "providers": {
            "local": {
                "base_url": "http://127.0.0.1:1/v1",
                "requires_key": False,
                "dialect": "openai",
                "headers": {"X-A": "b"},
            }
        }
    },
    {"families": {"deepseek": {"search": "native", "prefixes": ["ds-"]}}},
    {"context": {"policy": "fail", "lengths": {"m": 1000}}, "approval": {"tools": ["x"]}},
    {"budget": {"warn_at": 1}, "media": {"max_image_mb": 1}, "server": {"processes": 2}},
    {"prices": {}, "mcp_servers": {}},
]


@pytest.mark.parametrize("data", PLAIN_FILES)
def test_plain_values_read_as_the_schema_reads_them(data: dict[str, Any]) -> None:
    plain = plain_config(data)
    validated = Config.model_validate(data)
    assert plain is not None
    assert type(plain).__name__ == "Config"
    assert plain.model_dump() == validated.model_dump()
    assert plain.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert plain.model_fields_set == validated.model_fields_set
    for name in ("timeouts", "retry", "http", "budget", "media", "context", "approval"):
        section = getattr(plain, name)
        assert type(section).__name__ == type(getattr(validated, name)).__name__
        assert section_values(section) == section_values(getattr(validated, name))
        assert section_values(section, only_set=True) == section_values(
            getattr(validated, name), only_set=True
        )
    for table in ("providers", "families"):
        for key, section in getattr(plain, table).items():
            theirs = getattr(validated, table)[key]
            assert section.model_dump(exclude_none=True) == theirs.model_dump(exclude_none=True)


@pytest.mark.parametrize(
    "data",
    [
        {"nope": 1},  # an unknown key
        {"timeouts": {"connect": 0}},  # out of bounds
        {"timeouts": {"connect": "3"}},  # a string pydantic may convert
        {"retry": {"max_retries": 21}},
        {"retry": {"max_retries": 2.0}},  # a float for an int
        {"http": {"max_connections": True}},  # a bool for an int
        {"model": 3},
        {"providers": {"x": {"dialect": "other"}}},
        {"providers": {"x": {"nope": 1}}},
        {"prices": {"m": {"input_per_1k": "0.1"}}},  # a Decimal
        {"budget": {"daily_usd": "5"}},
        {"server": {"keys": ["k" * 20]}},  # a secret
        {"mcp_servers": {"a": {"command": "x"}}},  # a model with its own validator
        {"timeouts": 3},
        {"timeouts": {"connect": float("nan")}},
    ],
)
def test_what_the_plain_reader_cannot_decide_goes_to_the_schema(data: dict[str, Any]) -> None:
    assert plain_config(data) is None


def test_load_config_answers_plain_values_only_inside_plain_values(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    written = tmp_path / "config.toml"
    written.write_text('model = "m"\n[timeouts]\ntotal = 5\n')
    assert isinstance(load_config(missing), Config)
    assert isinstance(load_config(written), Config)
    with plain_values():
        empty = load_config(missing)
        plain = load_config(written)
    assert isinstance(empty, PlainSection) and isinstance(plain, PlainSection)
    assert empty.model_dump() == Config().model_dump()
    assert plain.model_dump() == load_config(written).model_dump()
    assert isinstance(load_config(written), Config)  # the context is over


@pytest.mark.parametrize(
    "text",
    [
        "model = 3\n",
        "[timeouts]\nconnect = -1\n",
        '[prices.m]\ninput_per_1k = "x"\n',
        "nope = 1\n",
        "model = \n",
    ],
)
def test_a_file_the_plain_reader_refuses_fails_with_the_schemas_message(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as outside:
        load_config(path)
    with plain_values(), pytest.raises(ConfigError) as inside:
        load_config(path)
    assert str(inside.value) == str(outside.value)


def test_a_file_only_the_schema_reads_comes_back_validated_inside_plain_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[prices.m]\ninput_per_1k = "0.5"\n')
    with plain_values():
        config = load_config(path)
    assert isinstance(config, Config)
    assert config.prices["m"].input_per_1k == Decimal("0.5")


def test_model_copy_of_a_plain_section_updates_as_pydantics_does() -> None:
    plain = plain_config({"timeouts": {"read": 5}})
    validated = Config.model_validate({"timeouts": {"read": 5}})
    assert plain is not None
    ours = plain.timeouts.model_copy(update={"total": 9.0})
    theirs = validated.timeouts.model_copy(update={"total": 9.0})
    assert ours.model_dump() == theirs.model_dump()
    assert ours.model_fields_set == theirs.model_fields_set
    assert plain.timeouts.total == 600.0  # the original is unchanged
    assert plain.timeouts == plain_config({"timeouts": {"read": 5}}).timeouts  # type: ignore[union-attr]


def test_the_key_never_shows_itself() -> None:
    key = SecretKey("sk-very-secret-1234")
    for shown in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})):
        assert "sk-very-secret" not in shown
    assert key.get_secret_value() == "sk-very-secret-1234"
    assert key == SecretKey("sk-very-secret-1234") and key != "sk-very-secret-1234"
    resolved = resolve(provider="alltoken", environ={"ALLTOKEN_API_KEY": "sk-very-secret-1234"})
    assert "sk-very-secret" not in repr(resolved)
    assert resolved.api_key is not None
    assert resolved.api_key.get_secret_value() == "sk-very-secret-1234"


def test_a_gateway_given_no_config_holds_the_schemas_defaults_as_plain_values() -> None:
    # Gateway(config=None) reads the defaults without importing pydantic for them.
    from alltoken_agent.config import plain_defaults

    defaults = plain_defaults()
    assert not isinstance(defaults, BaseModel)
    assert defaults.model_dump() == Config().model_dump()
    assert resolve(config=defaults, environ={}) == resolve(config=Config(), environ={})
