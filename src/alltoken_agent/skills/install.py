"""Install the packaged SKILL.md where an agent runtime looks for skills."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from alltoken_agent import UserError
from alltoken_agent._files import write_atomic
from alltoken_agent.skills.runtimes import RUNTIMES, SKILL_NAME, get_runtime

PlanState = Literal["new", "same", "different"]

# OpenClaw reads single-line frontmatter keys; its gating lives under metadata.openclaw.
_OPENCLAW_METADATA = {
    "homepage": "https://alltoken.ai",
    "docs": "https://alltoken.ai/docs/",
    "openclaw": {
        "requires": {"bins": ["alltoken-agent"]},
        "primaryEnv": "ALLTOKEN_API_KEY",
    },
}


def packaged_skill() -> str:
    """The SKILL.md shipped in the package."""
    return resources.files("alltoken_agent.skills").joinpath("SKILL.md").read_text("utf-8")


def skill_text(target: str | None = None) -> str:
    """The SKILL.md to install for ``target``.

    That is the packaged file, with OpenClaw's own metadata for ``openclaw`` (its loader
    gates skills on ``metadata.openclaw``).
    """
    text = packaged_skill()
    if target != "openclaw":
        return text
    head, sep, body = text.partition("\n---\n")
    lines = [
        f"metadata: {json.dumps(_OPENCLAW_METADATA)}" if line.startswith("metadata:") else line
        for line in head.splitlines()
    ]
    return "\n".join(lines) + sep + body


@dataclass(frozen=True)
class SkillPlan:
    """What ``skill install`` would do."""

    target: str
    path: Path
    text: str
    state: PlanState
    """``new`` (nothing there), ``same`` (already installed), ``different`` (another file)."""


def skill_path(target: str, home: Path, environ: Mapping[str, str]) -> tuple[str, Path]:
    """The runtime name (or ``dir``) and the SKILL.md path for a ``--target``.

    A target that is no runtime name is a folder: the skill goes in
    ``DIR/alltoken-agent/SKILL.md``, or ``DIR/SKILL.md`` when DIR is already named
    ``alltoken-agent``. A bare word (no path separator, not starting with ``.`` or
    ``~``) must be an existing folder: ``claud`` is far more likely a mistyped runtime
    than a new folder wanted in the current one.

    Raises:
        UserError: The target is empty, an unknown bare word, or an existing file.
    """
    if not target.strip():
        raise UserError("--target is empty; use one of " + ", ".join(RUNTIMES) + " or a folder")
    runtime = get_runtime(target)
    if runtime is not None:
        return runtime.name, runtime.skill_path(home, environ)
    folder = Path(target).expanduser().absolute()
    if _bare_word(target) and not folder.is_dir():
        raise UserError(
            f"unknown target {target!r}: use one of {', '.join(RUNTIMES)}, or a folder path "
            f"(./{target} for a new folder here)"
        )
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--target {target!r} is a file; give a runtime name or a folder")
    if folder.name == SKILL_NAME:
        return "dir", folder / "SKILL.md"
    return "dir", folder / SKILL_NAME / "SKILL.md"


def _bare_word(target: str) -> bool:
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return not target.startswith((".", "~")) and not any(sep in target for sep in separators)


def plan_skill_install(target: str, home: Path, environ: Mapping[str, str]) -> SkillPlan:
    """Work out where the skill goes and whether something else is already there."""
    name, path = skill_path(target, home, environ)
    text = skill_text(name)
    if not path.exists():
        state: PlanState = "new"
    else:
        try:
            current = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        state = "same" if current == text else "different"
    return SkillPlan(target=name, path=path, text=text, state=state)


def install_skill(plan: SkillPlan, *, force: bool = False) -> bool:
    """Write the skill; returns False when it was already there, unchanged.

    Raises:
        UserError: A different file is there and ``force`` is off, or it cannot be written.
    """
    if plan.state == "same":
        return False
    if plan.state == "different" and not force:
        raise UserError(
            f"{plan.path} already exists and differs from alltoken-agent's skill; "
            "pass --force to replace it"
        )
    write_atomically(plan.path, plan.text)
    return True


def write_atomically(path: Path, text: str, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` in one step (a crash leaves the old file or the new).

    Raises:
        UserError: The folder cannot be created or the file written.
    """
    try:
        write_atomic(path, text, mode=mode)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
