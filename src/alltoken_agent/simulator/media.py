"""Media endpoints of both dialects, wired into the `/v1` pipeline, plus the bucket.

Every `/v1` media route goes through `pipeline.v1_endpoint` (auth, faults, request ids,
request log) and then `media_wire.media_endpoint` (media fault rules, error envelope).

AllToken (docs/wire-format.md §1.7-§1.9):

* `POST /v1/images/generations/async`, `POST /v1/images/generations` (legacy, same),
  `GET /v1/images/generations/{id}` -- `media_images.py`;
* `POST /v1/uploads/presign` -- `uploads.py`;
* `POST /v1/videos/generations`, `GET /v1/videos/generations[?limit=&status=]`,
  `GET /v1/videos/generations/{id}`, `POST /v1/videos/generations/{id}/cancel` --
  `media_videos.py`.

TokenHub (§2.3, §2.4): `POST /v1/images/generations` (synchronous,
`tokenhub_images.py`), `POST /v1/video/generations` and `GET /v1/video/tasks/{id}`
(`tokenhub_videos.py`).

Both: the simulated bucket under `/_sim/r2/` (`r2.py`). State, settings and counters:
`SimulatorState.media` (`media_store.py`); job faults: `job_faults.py`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from alltoken_agent.simulator._constants import Dialect
from alltoken_agent.simulator.control import SimulatorState
from alltoken_agent.simulator.media_images import ImageEndpoints
from alltoken_agent.simulator.media_videos import VideoEndpoints
from alltoken_agent.simulator.pipeline import Handler, v1_endpoint
from alltoken_agent.simulator.r2 import object_routes
from alltoken_agent.simulator.tokenhub_images import TokenHubImages
from alltoken_agent.simulator.tokenhub_videos import TokenHubVideos
from alltoken_agent.simulator.uploads import presign_handler


def media_routes(dialect: Dialect, state: SimulatorState, chunk_delay: float) -> list[BaseRoute]:
    """Return the media routes of a dialect and the simulated bucket.

    Args:
        dialect: Wire dialect.
        state: Simulator state the routes log to and keep their tasks in.
        chunk_delay: Delay setting of the app (passed through to the pipeline).

    Returns:
        The routes.
    """
    media = state.media

    def v1(path: str, handler: Handler, method: str) -> Route:
        endpoint = v1_endpoint(handler, dialect=dialect, state=state, chunk_delay=chunk_delay)
        return Route(path, endpoint, methods=[method])

    routes: list[BaseRoute] = []
    if dialect == "alltoken":
        create_image, poll_image = ImageEndpoints(media).handlers()
        videos = VideoEndpoints(media).handlers()
        routes += [
            v1("/v1/images/generations/async", create_image, "POST"),
            v1("/v1/images/generations", create_image, "POST"),
            v1("/v1/images/generations/{task_id}", poll_image, "GET"),
            v1("/v1/uploads/presign", presign_handler(media), "POST"),
            v1("/v1/videos/generations", videos["create"], "POST"),
            v1("/v1/videos/generations", videos["list"], "GET"),
            v1("/v1/videos/generations/{task_id}", videos["poll"], "GET"),
            v1("/v1/videos/generations/{task_id}/cancel", videos["cancel"], "POST"),
        ]
    else:
        create_video, poll_video = TokenHubVideos(media).handlers()
        routes += [
            v1("/v1/images/generations", TokenHubImages(media).handler(), "POST"),
            v1("/v1/video/generations", create_video, "POST"),
            v1("/v1/video/tasks/{task_id}", poll_video, "GET"),
        ]
    routes += object_routes(state)
    return routes
