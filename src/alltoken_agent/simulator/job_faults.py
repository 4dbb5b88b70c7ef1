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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

JobFaultKind = Literal["fail", "expire", "no_r2", "cancel"]

_KINDS: Final[dict[str, JobFaultKind]] = {
    "fail": "fail",
    "expire": "expire",
    "no_r2": "no_r2",
    "cancel": "cancel",
}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


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
    raise JobFaultSpecError(
        f"unknown job fault {spec!r}; known: fail, fail:<code>, expire, no_r2, cancel"
    )
