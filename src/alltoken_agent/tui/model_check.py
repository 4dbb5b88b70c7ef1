"""``/model NAME``: is the name one the gateway lists, and if not, which names are close."""

from __future__ import annotations

from collections.abc import Sequence

from alltoken_agent.catalog.choice import is_auto
from alltoken_agent.catalog.suggest import close_models


def refusal(model: str, ids: Sequence[str], provider: str) -> str | None:
    """Why ``model`` is refused (with close ids), or None when the gateway lists it.

    A model policy (``auto:cheap``) is not a catalog id and is always accepted: the
    agent resolves it against the catalog on each turn.
    """
    if model in ids or is_auto(model):
        return None
    close = close_models(model, ids)
    guess = f" Did you mean {', '.join(close)}?" if close else ""
    return (
        f"{model!r} is not one of the chat models {provider} lists, so the model stays "
        f"as it was.{guess} /model alone (or F2) opens the list."
    )
