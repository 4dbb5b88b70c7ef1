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
"""

from __future__ import annotations

from alltoken_agent.media.events import (
    JobDoneEvent,
    JobDownloadEvent,
    JobEvent,
    JobSavedEvent,
    JobStatusEvent,
    JobSubmittedEvent,
)
from alltoken_agent.media.images import DEFAULT_IMAGE_MODEL, ImagesAPI
from alltoken_agent.media.jobs import Media
from alltoken_agent.media.lease import LEASE_SECONDS, holder_is_dead, new_holder
from alltoken_agent.media.policy import DownloadLimits, PollPolicy
from alltoken_agent.media.results import ImageResult, MediaFile, VideoResult, VideoTask
from alltoken_agent.media.runner import resume_hint
from alltoken_agent.media.videos import DEFAULT_VIDEO_MODELS, VideosAPI
from alltoken_agent.store.media import MediaJobRecord, MediaJobStatus

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_VIDEO_MODELS",
    "DownloadLimits",
    "ImageResult",
    "ImagesAPI",
    "JobDoneEvent",
    "JobDownloadEvent",
    "JobEvent",
    "JobSavedEvent",
    "JobStatusEvent",
    "JobSubmittedEvent",
    "LEASE_SECONDS",
    "Media",
    "MediaFile",
    "MediaJobRecord",
    "MediaJobStatus",
    "PollPolicy",
    "VideoResult",
    "VideoTask",
    "VideosAPI",
    "holder_is_dead",
    "new_holder",
    "resume_hint",
]
