"""A config of plain values is assembled without pydantic's validators, into the same Config.

``_config_quick.assemble`` reads the schema's own fields; these tests pin that what it
builds is what validation builds, value for value and type for type, and that
anything validation could change or refuse is left to validation.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from alltoken_agent import ConfigError
from alltoken_agent._config_quick import assemble
from alltoken_agent.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]

PLAIN = [
    {},
    {"provider": "tokenhub", "model": "deepseek-v4-flash", "fallbacks": ["a", "b"]},
    {"timeouts": {"connect": 3, "read": 2.5, "idle": 1e9, "total": math.inf}},
    {"retry": {"max_retries": 0, "base_delay": 0}, "http": {"max_connections": 1}},
    {"providers": {"local": {"base_url": "http://127.0.0.1:11434/v1", "requires_key": False}}},
    {"providers": {"x": {"dialect": "openai", "headers": {"X-A": "b"}}}},
    {"families": {"deepseek": {"search": "native", "echo_reasoning": True, "prefixes": ["ds"]}}},
    {"budget": {"warn_at": 1}, "context": {"policy": "fail", "lengths": {"m": 32000}}},
    {"approval": {"tools": ["web_search"]}, "media": {"max_image_mb": 1}},
    {"server": {"max_body_bytes": 1024, "rate_limit_burst": 1, "shutdown_grace": 0}},
]

UNUSUAL = [
    {"prices": {"m": {"input_per_1k": "0.0002"}}},  # Decimal
    {"budget": {"daily_usd": "5.00"}},
    {"ledger": {"max_request_cost_usd": 100}},
    {"server": {"keys": ["k" * 20]}},  # SecretStr
    {"mcp_servers": {"a": {"command": "x"}}},  # a model validator
    {"mcp_servers": {"a": {"command": "x", "url": "http://y"}}},  # ... which refuses this
    {"timeouts": {"connect": 0}},  # gt=0
    {"timeouts": {"connect": math.nan}},
    {"timeouts": {"connect": "10"}},
    {"timeouts": {"connect": True}},
    {"timeouts": {"connect": 10**400}},
    {"retry": {"max_retries": 21}},  # le=20
    {"retry": {"max_retries": 2.0}},
    {"http": {"max_connections": True}},
    {"context": {"policy": "drop"}},
    {"families": {"x": {"search": 1}}},
    {"provider": 1},
    {"fallbacks": "a"},
    {"fallbacks": ["a", 1]},
    {"timeouts": {"conect": 1}},  # an unknown key
    {"colour": "blue"},
    {"providers": {"x": {"headers": {"a": 1}}}},
    {"timeouts": []},
]


def same(quick: BaseModel, checked: BaseModel) -> None:
    """Equal values of equal types, and the same fields marked as set."""
    assert type(quick) is type(checked)
    assert repr(quick.model_dump()) == repr(checked.model_dump())
    assert repr(quick.model_dump(exclude_unset=True)) == repr(
        checked.model_dump(exclude_unset=True)
    )
    assert quick == checked


@pytest.mark.parametrize("data", PLAIN, ids=lambda data: json.dumps(data, default=str)[:60])
def test_plain_values_make_the_config_validation_makes(data: dict[str, Any]) -> None:
    quick = assemble(Config, data)
    assert quick is not None
    same(quick, Config.model_validate(data))


@pytest.mark.parametrize("data", UNUSUAL, ids=lambda data: json.dumps(data, default=str)[:60])
def test_anything_else_is_left_to_validation(data: dict[str, Any]) -> None:
    assert assemble(Config, data) is None


def test_every_plain_default_of_the_schema_takes_the_quick_way() -> None:
    # From the schema itself, so a new field is covered: each section with each of its
    # fields set to its own default value.
    taken = 0
    for name, field in Config.model_fields.items():
        section = field.annotation
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            continue
        for key, inner in section.model_fields.items():
            default = inner.get_default(call_default_factory=True)
            data = {name: {key: default}}
            quick = assemble(Config, data)
            if quick is not None:
                taken += 1
                same(quick, Config.model_validate(data))
    assert taken >= 25


def test_no_values_are_the_defaults_validation_gives() -> None:
    same(Config(), Config.model_validate({}))
    for field in Config.model_fields.values():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            same(section(), section.model_validate({}))


def test_a_bad_file_still_gets_the_schemas_message(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[timeouts]\nconnect = 0\nconect = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "timeouts.connect: Input should be greater than 0" in str(caught.value)
    assert "timeouts.conect: Extra inputs are not permitted" in str(caught.value)


LOADED = """
import sys
from pathlib import Path
from alltoken_agent.config import Config, load_config

config = load_config(Path(sys.argv[1]))
built = [model.__name__ for model in (Config, *(f.annotation for f in Config.model_fields.values()))
         if isinstance(model, type) and type(model.__pydantic_validator__).__name__ != "MockValSer"]
print(config.model, config.timeouts.total, config.http.max_connections, built)
"""


def test_loading_a_plain_file_builds_no_validator(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('model = "m"\n[timeouts]\ntotal = 30\n[http]\nmax_connections = 4\n')
    done = subprocess.run(
        [sys.executable, "-c", LOADED, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["m", "30.0", "4", "[]"]
