"""Job-level faults: how a media task ends, chosen when it is created.

Sent as the `X-Sim-Job-Fault` header on a create request, or queued with
`SimulatorState.media.enqueue_job_faults` (also `POST /_sim/media {"job_faults": [...]}`)
for creates without the header. Vocabulary (case-insensitive):

* `fail` / `fail:<code>`: the job ends `failed` (TokenHub: `FAILED`, or `failed` in the
  OpenAI-ish shape) with error code `upstream_error` or `<code>`. TokenHub sync images
  answer HTTP 500 instead (invented).
* `expire`: the result expires at once: AllToken images answer 410 `image_expired` on the
  first claim; videos go `expired` with `is_expired: true`; TokenHub URLs are dead (403).
* `no_r2`: AllToken images get no R2 copy, so the GET after the first claim is 410
  `image_already_retrieved` (the per-task form of the `r2_enabled` switch).
* `cancel`: the job ends `cancelled` upstream (invented cause; images have no cancel
  endpoint, so this is the only way to see their `cancelled` status).
* `slow:<seconds>`: the job takes that long instead of `image_seconds`/`video_seconds`
  (AllToken), so two clients can race for one task while it runs.
* `file_url`: an AllToken video completes with `video_url` set to a `file://` path (a
  hostile gateway pointing the client at its own disk).
* `huge:<MB>`: an AllToken video's file is that many MiB of real bytes, served without
  `Content-Length` (chunked), so only a client counting while it reads can stop it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

JobFaultKind = Literal["fail", "expire", "no_r2", "cancel", "slow", "file_url", "huge"]

_KINDS: Final[dict[str, JobFaultKind]] = {
    "fail": "fail",
    "expire": "expire",
    "no_r2": "no_r2",
    "cancel": "cancel",
    "file_url": "file_url",
}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NUMBER = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,3})?$")
_MAX_HUGE_MB: Final = 4096
"""Largest `huge:<MB>`: enough to pass any sane cap, small enough to stream in a test."""


class JobFaultSpecError(ValueError):
    """A job-fault spec is not in the vocabulary of this module."""


@dataclass(frozen=True)
class JobFault:
    """One parsed job fault."""

    spec: str
    """Normalised spec text."""
    kind: JobFaultKind
    """How the job ends (see the module docstring)."""
    code: str = "upstream_error"
    """Error code of a `fail` job (`upstream_error` is a documented §1.10 slug)."""
    amount: float = 0.0
    """Seconds of a `slow` job, MiB of a `huge` one."""


def parse_job_fault(spec: str) -> JobFault:
    """Parse one job-fault spec such as `fail`, `fail:upstream_content_violation` or `expire`.

    Raises:
        JobFaultSpecError: The spec is not in the vocabulary.
    """
    norm = spec.strip().lower()
    head, sep, arg = norm.partition(":")
    if head in _KINDS and not sep:
        return JobFault(norm, _KINDS[head])
    if head == "fail" and _CODE.match(arg):
        return JobFault(norm, "fail", code=arg)
    if head in ("slow", "huge") and _NUMBER.match(arg):
        amount = float(arg)
        if head == "slow" or 0 < amount <= _MAX_HUGE_MB:
            return JobFault(norm, "slow" if head == "slow" else "huge", amount=amount)
    raise JobFaultSpecError(
        f"unknown job fault {spec!r}; known: fail, fail:<code>, expire, no_r2, cancel, "
        f"slow:<seconds>, file_url, huge:<MB> (MB up to {_MAX_HUGE_MB})"
    )
