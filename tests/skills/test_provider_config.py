"""Provider snippets are written by the YAML library, so odd model ids read back as given."""

from __future__ import annotations

import pytest

from alltoken_agent.skills.provider_config import provider_snippet

ODD = ["yes", "1.5", "null", "a #b", "x: y", "*star", "2026-01-01"]


def test_hermes_model_ids_a_yaml_1_1_reader_would_misread_stay_strings() -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML reads YAML 1.1, as Hermes does
    document = yaml.safe_load(provider_snippet("hermes", ODD).text)
    assert list(document["custom_providers"][0]["models"]) == ODD
    assert document["model"]["default"] == "yes"


def test_hermes_snippet_keeps_its_documented_layout() -> None:
    text = provider_snippet("hermes", ["m1"], "http://127.0.0.1:8765/v1").text
    assert text == (
        "model:\n"
        "  provider: custom:alltoken\n"
        "  default: m1\n"
        "custom_providers:\n"
        "  - name: alltoken\n"
        "    base_url: http://127.0.0.1:8765/v1\n"
        "    key_env: ALLTOKEN_API_KEY\n"
        "    api_mode: chat_completions\n"
        "    models:\n"
        "      m1: {}\n"
    )
