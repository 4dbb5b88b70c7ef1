"""Image and video jobs: submit, poll, persist, resume, download.

Reached through a gateway: ``gateway.images`` and ``gateway.videos``. Every job is
journaled in the store before its first request, with its idempotency key and output
path, so a crash or Ctrl-C never loses a paid result: ``alltoken-agent jobs resume``
(or ``resume_job``) finishes it without submitting it again. Results are written to
disk atomically the moment they arrive.

Jobs have an owner, as sessions do: ``owner=None`` (the default everywhere) is the
local owner, whose jobs ``alltoken-agent jobs`` lists; a server passes its caller's key
id to ``generate``/``create_job``, ``resume``, ``find_job``, ``cancel_job`` and
``pending_jobs``, so no caller reaches another's job. ``create_job`` journals a job
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
from alltoken_agent.media.jobs import cancel_job, find_job, pending_jobs, resume_job
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
    "MediaFile",
    "MediaJobRecord",
    "MediaJobStatus",
    "PollPolicy",
    "VideoResult",
    "VideoTask",
    "VideosAPI",
    "cancel_job",
    "find_job",
    "holder_is_dead",
    "new_holder",
    "pending_jobs",
    "resume_hint",
    "resume_job",
]
