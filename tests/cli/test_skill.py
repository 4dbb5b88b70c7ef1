"""`alltoken-agent skill` and `provider-config`: skills and provider snippets for other runtimes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import alltoken_agent
from alltoken_agent.skills import packaged_skill
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

ENV = {"ALLTOKEN_API_KEY": TEST_KEY}
LOCATIONS = {
    "claude": ".claude/skills/alltoken-agent/SKILL.md",
    "codex": ".agents/skills/alltoken-agent/SKILL.md",
    "opencode": ".config/opencode/skills/alltoken-agent/SKILL.md",
    "hermes": ".hermes/skills/alltoken-agent/SKILL.md",
    "openclaw": ".openclaw/skills/alltoken-agent/SKILL.md",
}


def cli(*args: str) -> Any:
    result = run_cli(*args, env=ENV)
    assert TEST_KEY not in result.stdout + result.stderr
    return result


def frontmatter(text: str) -> dict[str, Any]:
    """Parse the frontmatter, holding it to OpenClaw's rule of one line per key."""
    yaml = pytest.importorskip("yaml")
    assert text.startswith("---\n")
    head = text[4:].split("\n---\n", 1)[0]
    assert all(re.match(r"[a-z-]+: \S", line) for line in head.splitlines()), head
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def test_packaged_skill_has_frontmatter_every_runtime_accepts() -> None:
    text = packaged_skill()
    meta = frontmatter(text)
    assert meta["name"] == "alltoken-agent"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", meta["name"])  # Agent Skills / OpenCode rule
    assert 1 <= len(meta["description"]) <= 160  # OpenClaw: one line, under 160 characters
    assert all(isinstance(v, str) for v in meta["metadata"].values())  # OpenCode: str -> str
    assert len(meta["compatibility"]) <= 500
    # The version, docs link and license the skill formats define (ClawHub reads a
    # top-level semver `version`; OpenCode's metadata is str -> str, so it is repeated there).
    assert meta["version"] == meta["metadata"]["version"] == alltoken_agent.__version__
    assert meta["license"] == "MIT"
    assert meta["metadata"]["docs"].startswith("https://")
    assert meta["homepage"].startswith("https://")
    for needle in ("--json", "`done`", "stream:delta", "--session", "exit", "alltoken-agent mcp"):
        assert needle in text, needle
    assert not re.search(r"sk-[A-Za-z0-9]{8,}", text)  # names the variable, never a key


@pytest.mark.parametrize("target", sorted(LOCATIONS))
def test_installs_where_each_runtime_looks(tmp_path: Path, target: str) -> None:
    result = cli("skill", "install", "--target", target, "--home", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    path = tmp_path / LOCATIONS[target]
    assert str(path) in result.stdout
    text = path.read_text()
    assert frontmatter(text)["name"] == "alltoken-agent"
    if target == "openclaw":
        assert frontmatter(text)["metadata"]["openclaw"]["requires"]["bins"] == ["alltoken-agent"]
    else:
        assert text == packaged_skill()
    assert TEST_KEY not in text


def test_dry_run_prints_the_path_and_writes_nothing(tmp_path: Path) -> None:
    result = cli("skill", "install", "--target", "claude", "--home", str(tmp_path), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{tmp_path / LOCATIONS['claude']}: would be written"
    assert not any(tmp_path.iterdir())


def test_a_different_skill_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    path = tmp_path / LOCATIONS["codex"]
    path.parent.mkdir(parents=True)
    path.write_text("---\nname: alltoken-agent\ndescription: mine\n---\nmy notes\n")
    args = ("skill", "install", "--target", "codex", "--home", str(tmp_path))

    dry = cli(*args, "--dry-run")
    assert "exists and differs" in dry.stdout
    refused = cli(*args)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert path.read_text().endswith("my notes\n")

    forced = cli(*args, "--force")
    assert forced.exit_code == 0 and path.read_text() == packaged_skill()
    again = cli(*args)
    assert again.exit_code == 0 and "unchanged" in again.stdout


def test_any_folder_can_be_the_target(tmp_path: Path) -> None:
    skills = tmp_path / "project" / ".claude" / "skills"
    result = cli("skill", "install", "--target", str(skills))
    assert result.exit_code == 0, result.stderr
    assert (skills / "alltoken-agent" / "SKILL.md").read_text() == packaged_skill()
    named = tmp_path / "alltoken-agent"
    assert cli("skill", "install", "--target", str(named)).exit_code == 0
    assert (named / "SKILL.md").is_file()
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert cli("skill", "install", "--target", str(afile)).exit_code == 2


def test_skill_show_prints_the_packaged_file() -> None:
    result = cli("skill", "show")
    assert result.exit_code == 0 and result.stdout == packaged_skill()


def test_provider_config_for_hermes() -> None:
    yaml = pytest.importorskip("yaml")
    result = cli("provider-config", "--target", "hermes", "-m", "deepseek-v4-flash")
    assert result.exit_code == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    [provider] = document["custom_providers"]
    assert provider == {
        "name": "alltoken",
        "base_url": "https://api.alltoken.ai/v1",
        "key_env": "ALLTOKEN_API_KEY",
        "api_mode": "chat_completions",
        "models": {"deepseek-v4-flash": {}},
    }
    # Hermes names a custom provider `custom:<name>`; this block makes it the default,
    # so `hermes -z PROMPT` needs no flags (scripts/check-runtimes runs exactly that).
    assert document["model"] == {"provider": "custom:alltoken", "default": "deepseek-v4-flash"}
    assert "~/.hermes/config.yaml" in result.stderr


def test_provider_config_for_openclaw() -> None:
    result = cli("provider-config", "--target", "openclaw")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    provider = document["models"]["providers"]["alltoken"]
    assert provider["baseUrl"] == "https://api.alltoken.ai/v1"
    assert provider["apiKey"] == "${ALLTOKEN_API_KEY}"
    assert provider["api"] == "openai-completions"
    assert [m["id"] for m in provider["models"]][0] == "minimax-m2.7"
    assert document["agents"]["defaults"]["model"]["primary"] == "alltoken/minimax-m2.7"


def test_provider_config_rejects_other_targets() -> None:
    result = cli("provider-config", "--target", "claude")
    assert result.exit_code == 2
    assert "generic" in result.stderr  # the choices named include the new target


def test_provider_config_generic_prints_the_skills_own_shape() -> None:
    yaml = pytest.importorskip("yaml")
    result = cli("provider-config", "--target", "generic", "-m", "gpt-5.4-mini")
    assert result.exit_code == 0, result.stderr
    # Word for word the AllToken skill's Pattern A block: these names are the contract.
    assert result.stdout == (
        "provider:\n"
        "  base_url: https://api.alltoken.ai/v1\n"
        "  api_key: ${ALLTOKEN_API_KEY}\n"
        "model: gpt-5.4-mini\n"
    )
    assert yaml.safe_load(result.stdout) == {
        "provider": {"base_url": "https://api.alltoken.ai/v1", "api_key": "${ALLTOKEN_API_KEY}"},
        "model": "gpt-5.4-mini",
    }
    default = cli("provider-config", "--target", "GENERIC")
    assert default.exit_code == 0 and default.stdout.endswith("model: minimax-m2.7\n")


def test_provider_config_generic_quotes_a_model_id_yaml_would_change() -> None:
    yaml = pytest.importorskip("yaml")
    for model in ("1.5", "yes", "null", "a #b", "x: y", "*star", "é"):
        result = cli("provider-config", "-t", "generic", "-m", model)
        assert result.exit_code == 0, result.stderr
        assert yaml.safe_load(result.stdout)["model"] == model, result.stdout


@pytest.mark.parametrize("target", ["hermes", "openclaw", "generic"])
def test_provider_config_base_url_goes_into_every_snippet(target: str) -> None:
    yaml = pytest.importorskip("yaml")
    url = "http://127.0.0.1:8765/v1"
    result = cli("provider-config", "-t", target, "--base-url", url + "/", "-m", "m1")
    assert result.exit_code == 0, result.stderr
    document = yaml.safe_load(result.stdout)  # JSON is YAML too
    found = {
        "hermes": lambda d: d["custom_providers"][0]["base_url"],
        "openclaw": lambda d: d["models"]["providers"]["alltoken"]["baseUrl"],
        "generic": lambda d: d["provider"]["base_url"],
    }[target](document)
    assert found == url  # the trailing slash is dropped, as for every --base-url
    assert "api.alltoken.ai" not in result.stdout
    assert "ALLTOKEN_API_KEY" in result.stdout  # the key is still only named


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/v1", "only http:// and https://"),
        ("127.0.0.1:8765/v1", "needs a scheme"),
        ("http://127.0.0.1:8765/v1?x=1", "no ?query"),
        ("", "it is empty"),
    ],
)
def test_provider_config_refuses_a_base_url_that_cannot_be_one(url: str, message: str) -> None:
    result = cli("provider-config", "-t", "generic", "--base-url", url)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_provider_config_refuses_a_base_url_with_a_key_in_it_and_never_shows_it() -> None:
    secret = "hunter2-not-key-shaped"
    for url in (f"https://user:{secret}@gw.example/v1", f"https://{TEST_KEY}@gw.example/v1"):
        result = cli("provider-config", "-t", "openclaw", "--base-url", url)
        assert result.exit_code == 2
        assert "user or password" in result.stderr
        assert result.stdout == ""
        assert secret not in result.stderr and TEST_KEY not in result.stderr
