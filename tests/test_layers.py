"""The layers of docs/architecture.md, read from the source: imports only point downwards.

Every import counts, at module level, inside a function or under ``TYPE_CHECKING``:
a lazy import is still a dependency of the layer that writes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "alltoken_agent"
CORE = ("agent", "media", "catalog", "ledger", "batch", "store", "tracing")
WIRE = ("gateway", "mcp_wire")
FRONT_ENDS = ("cli", "tui", "server", "mcp", "skills")
FRAMEWORKS = ("typer", "rich", "textual", "fastapi", "starlette", "uvicorn", "mcp")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute names), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _modules(packages: tuple[str, ...]) -> list[Path]:
    return sorted(path for name in packages for path in (PACKAGE / name).rglob("*.py"))


def _under(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def _found(packages: tuple[str, ...], roots: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in _modules(packages)
        for line, name in _imports(path)
        if _under(name, roots)
    ]


OURS = tuple(f"alltoken_agent.{name}" for name in FRONT_ENDS)


def test_the_core_imports_no_front_end_nor_a_front_ends_framework() -> None:
    assert _found(CORE, (*OURS, *FRAMEWORKS)) == []


def test_the_wire_imports_no_front_end_and_no_core_module() -> None:
    core = tuple(f"alltoken_agent.{name}" for name in CORE)
    frameworks = tuple(name for name in FRAMEWORKS if name != "mcp")
    assert _found(WIRE, (*OURS, *frameworks, *core)) == []


def test_the_mcp_sdk_is_used_by_the_mcp_wire_and_the_mcp_front_end_only() -> None:
    # The agent's MCP client reaches its servers through mcp_wire/, as it reaches a
    # gateway through gateway/; our MCP server is the mcp/ front end.
    allowed = (PACKAGE / "mcp_wire", PACKAGE / "mcp")
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.is_relative_to(folder) for folder in allowed)
        for line, name in _imports(path)
        if _under(name, ("mcp",))
    ]
    assert found == []


def test_the_packages_named_here_exist() -> None:
    # A renamed package would leave the checks above reading nothing.
    for name in (*CORE, *WIRE, *FRONT_ENDS):
        assert (PACKAGE / name / "__init__.py").is_file(), name
