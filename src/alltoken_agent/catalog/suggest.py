"""Close catalog ids for a mistyped model name (the CLI's and the TUI's "did you mean")."""

from __future__ import annotations

from collections.abc import Iterable

SUGGESTIONS = 3
"""Close ids offered at most."""
CUTOFF = 0.6
"""difflib's similarity below which an id is not offered (0..1)."""


def close_models(name: str, ids: Iterable[str], limit: int = SUGGESTIONS) -> list[str]:
    """The catalog ids closest to ``name`` (case-insensitive), best first."""
    import difflib  # only when a model was mistyped

    by_lower: dict[str, str] = {}
    for model_id in ids:
        by_lower.setdefault(model_id.lower(), model_id)
    wanted = name.lower()
    found = difflib.get_close_matches(wanted, list(by_lower), n=limit, cutoff=CUTOFF)
    # "gpt-5.4-nano" for "openai/gpt-5.4-nano" and back: the vendor prefix is often left out.
    for lower in by_lower:
        if len(found) >= limit:
            break
        if lower not in found and (lower.endswith("/" + wanted) or wanted.endswith("/" + lower)):
            found.append(lower)
    return [by_lower[lower] for lower in found]
