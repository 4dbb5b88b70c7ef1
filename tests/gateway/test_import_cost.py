"""What ``import alltoken_agent.gateway`` and opening a ``Gateway`` load and build.

Each check that looks at ``sys.modules`` runs in a fresh interpreter: this test process
has imported everything already. The times are measured by bench/import_time.py and
bench/cli_startup.py, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import alltoken_agent.gateway
from alltoken_agent.config import PriceSettings, ProviderSettings, RetrySettings
from alltoken_agent.gateway._settings import section_values
from tests.gateway.helpers import TEST_KEY
from tests.test_import_weight import lazy_table_checked

pytestmark = pytest.mark.slow  # many servers or processes: the full suite (CI) runs it

ROOT = Path(__file__).resolve().parents[2]

CATALOG_MODULES = {
    "alltoken_agent.gateway.catalog_api",
    "alltoken_agent.gateway.catalog_facets",
    "alltoken_agent.gateway.catalog_parse",
    "alltoken_agent.gateway.catalog_types",
}
"""The catalog's parsers and answer types: a chat request uses none of them."""
NOT_AT_IMPORT = {
    "alltoken_agent.simulator",
    "alltoken_agent.catalog",
    "aiohttp",
    "anyio",
    "httpcore",
    "h11",
    "sniffio",
    "openai",
    "pydantic.type_adapter",
    "pydantic.plugin._loader",
}
"""Loaded when a request needs them (the transport's connection pool, the offline
simulator, the SDK clients), not by the import."""


def fresh(code: str) -> Any:
    """Run ``code`` in a new interpreter; it prints one JSON value, returned here."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


LOADED = "sorted(name for name, module in sys.modules.items() if module is not None)"


def test_importing_the_gateway_loads_no_catalog_and_no_connection_machinery() -> None:
    loaded = set(
        fresh(f"import json, sys\nimport alltoken_agent.gateway\nprint(json.dumps({LOADED}))")
    )
    assert {"alltoken_agent.gateway.client", "httpx"} <= loaded  # the probe did import it
    assert sorted(loaded & CATALOG_MODULES) == []
    assert sorted(loaded & NOT_AT_IMPORT) == []


def test_a_catalog_name_loads_its_module_on_first_use() -> None:
    probe = (
        "import json, sys\n"
        "from alltoken_agent.gateway import CatalogEntry, ModelFilters\n"
        "from alltoken_agent.gateway import catalog_facets, catalog_types\n"
        "print(json.dumps([CatalogEntry is catalog_types.CatalogEntry,"
        " ModelFilters is catalog_facets.ModelFilters,"
        f" 'alltoken_agent.gateway.catalog_types' in {LOADED}]))"
    )
    assert fresh(probe) == [True, True, True]


def test_the_lazy_catalog_table_is_what_type_checkers_read() -> None:
    table = lazy_table_checked(alltoken_agent.gateway)
    assert set(table) <= set(alltoken_agent.gateway.__all__)
    assert set(alltoken_agent.gateway.__all__) <= set(dir(alltoken_agent.gateway))
    with pytest.raises(AttributeError, match="NoSuchThing"):
        alltoken_agent.gateway.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


OPEN_GATEWAY = """
import json, sys
from pathlib import Path
from alltoken_agent.config import Config, ProviderSettings, RetrySettings, load_config
from alltoken_agent.gateway import Gateway

config = load_config(Path(sys.argv[1]))
gateway = Gateway("alltoken", api_key={key!r}, config=config)
built = [
    type(model.__pydantic_serializer__).__name__
    for model in (Config, RetrySettings, ProviderSettings)
]
print(json.dumps({{
    "retries": gateway.retry.max_retries,
    "base_url": gateway.base_url,
    "header": gateway.provider.headers.get("X-Team"),
    "built": built,
    "plugins": "pydantic.plugin._loader" in sys.modules,
}}))
"""


def test_opening_a_gateway_from_a_plain_config_builds_no_pydantic_schema(tmp_path: Path) -> None:
    # Chat's config is assembled without validators (_config_quick); reading its retry
    # and provider sections must not build pydantic's serializers either (~20 ms).
    path = tmp_path / "config.toml"
    path.write_text(
        "[retry]\nmax_retries = 5\n"
        '[providers.alltoken]\nbase_url = "http://127.0.0.1:9/v1"\n'
        'headers = { X-Team = "blue" }\n',
        encoding="utf-8",
    )
    code = OPEN_GATEWAY.format(key=TEST_KEY)
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "retries": 5,
        "base_url": "http://127.0.0.1:9/v1",
        "header": "blue",
        "built": ["MockValSer", "MockValSer", "MockValSer"],
        "plugins": False,
    }


@pytest.mark.parametrize(
    "section",
    [
        RetrySettings(),
        RetrySettings(max_retries=5, max_delay=1.5),
        ProviderSettings(),
        ProviderSettings(base_url="http://127.0.0.1:9/v1", headers={"X-Team": "blue"}),
        ProviderSettings(dialect="tokenhub", requires_key=False),
        PriceSettings(),
        PriceSettings(input_per_1k="0.25", per_image=1),  # type: ignore[arg-type]
    ],
)
def test_a_sections_values_are_what_model_dump_gives(section: Any) -> None:
    assert section_values(section) == section.model_dump()
    assert section_values(section, only_set=True) == section.model_dump(exclude_unset=True)


def test_a_gateway_that_is_opened_compiles_no_key_pattern_until_it_masks_one() -> None:
    # The key-shape pattern is for error texts and rejected input; a valid base URL and a
    # new Gateway do not compile it, the first masking does (and masks).
    probe = (
        "import json\n"
        "from alltoken_agent.errors import ConfigError\n"
        "from alltoken_agent.gateway import Gateway, redact\n"
        "from alltoken_agent.gateway.providers import check_base_url\n"
        "check_base_url('http://127.0.0.1:9/v1')\n"
        f"Gateway(base_url='http://127.0.0.1:9/v1', api_key={TEST_KEY!r})\n"
        "before = redact._key_shapes.cache_info().currsize\n"
        "try:\n"
        "    check_base_url('ftp://host/sk-abcdefghijklmnop')\n"
        "except ConfigError as error:\n"
        "    said = str(error)\n"
        "print(json.dumps([before, redact._key_shapes.cache_info().currsize, said]))\n"
    )
    before, after, said = fresh(probe)
    assert (before, after) == (0, 1)
    assert "sk-***" in said and "abcdefghijklmnop" not in said
