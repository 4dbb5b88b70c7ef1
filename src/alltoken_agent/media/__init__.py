"""Image and video jobs: submit, poll, persist, resume, download.

Built from a gateway and a store: ``media = Media(gateway, store)``, then
``media.images`` and ``media.videos``. Every job is journaled in the store before its
first request, with its idempotency key and output path, so a crash or Ctrl-C never
loses a paid result: ``alltoken-agent jobs resume`` (or ``media.resume``) finishes it
without submitting it again. Results are written to disk atomically the moment they
arrive.

Jobs have an owner, as sessions do: ``owner=None`` (the default everywhere) is the
local owner, whose jobs ``alltoken-agent jobs`` lists; a server passes its caller's key
id to ``generate``/``create_job``, ``resume``, ``find``, ``cancel`` and ``pending``,
so no caller reaches another's job. ``create_job`` journals a job
without sending it, for callers that answer with the job id before the job ends;
``resume`` then runs it.

``Media``, ``ImagesAPI``, ``VideosAPI``, their results and job events are public at
the root (``from alltoken_agent import Media``); this package's ``__all__`` lists its
further names. The root's names and a few internal ones are also imported here
(``X as X``) for the package's own modules.
"""

from __future__ import annotations

import alltoken_agent._httpx_import  # noqa: F401  (before httpx: see there)
from alltoken_agent.media.events import JobDoneEvent as JobDoneEvent
from alltoken_agent.media.events import JobDownloadEvent as JobDownloadEvent
from alltoken_agent.media.events import JobEvent as JobEvent
from alltoken_agent.media.events import JobSavedEvent as JobSavedEvent
from alltoken_agent.media.events import JobStatusEvent as JobStatusEvent
from alltoken_agent.media.events import JobSubmittedEvent as JobSubmittedEvent
from alltoken_agent.media.images import DEFAULT_IMAGE_MODEL
from alltoken_agent.media.images import ImagesAPI as ImagesAPI
from alltoken_agent.media.jobs import Media as Media
from alltoken_agent.media.lease import LEASE_SECONDS as LEASE_SECONDS
from alltoken_agent.media.lease import holder_is_dead as holder_is_dead
from alltoken_agent.media.lease import new_holder as new_holder
from alltoken_agent.media.policy import DownloadLimits
from alltoken_agent.media.policy import PollPolicy as PollPolicy
from alltoken_agent.media.results import ImageResult as ImageResult
from alltoken_agent.media.results import MediaFile as MediaFile
from alltoken_agent.media.results import VideoResult as VideoResult
from alltoken_agent.media.results import VideoTask as VideoTask
from alltoken_agent.media.runner import resume_hint as resume_hint
from alltoken_agent.media.videos import DEFAULT_VIDEO_MODELS
from alltoken_agent.media.videos import VideosAPI as VideosAPI
from alltoken_agent.store.media import MediaJobRecord as MediaJobRecord
from alltoken_agent.store.media import MediaJobStatus

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_VIDEO_MODELS",
    "DownloadLimits",
    "MediaJobStatus",
]
