"""Hook for the media endpoints (images, videos, uploads): not implemented yet.

When they arrive, `media_routes` returns their routes, each wrapped with
`pipeline.v1_endpoint` so they get auth, faults, request ids and the request log like
chat does. Planned per gateway-api.md: AllToken §1.7 (async images: `202` create, poll,
the one-time `b64_json` delivery and `410` state machine of §3 row 6, `409` idempotency
hits of §3 row 7), §1.8 (`/uploads/presign`), §1.9 (video tasks, `completed` as the
terminal word of §3 row 8), and TokenHub §2.3/§2.4 (sync images, video tasks in the
three shapes of §3 row 17).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from alltoken_agent.simulator._constants import Dialect
from alltoken_agent.simulator.control import SimulatorState


def media_routes(dialect: Dialect, state: SimulatorState, chunk_delay: float) -> list[BaseRoute]:
    """Return the media routes of a dialect (none yet; see the module docstring).

    Args:
        dialect: Wire dialect.
        state: Simulator state the routes will log to.
        chunk_delay: Delay setting of the app (media polling may reuse it).

    Returns:
        An empty list for now.
    """
    del dialect, state, chunk_delay  # used once the media endpoints exist
    return []
