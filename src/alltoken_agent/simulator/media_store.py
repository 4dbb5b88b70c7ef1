"""Media state of the simulator: settings, clock, tasks, uploads, stored objects, counters.

One `MediaState` hangs off `SimulatorState.media`. Tests (in-process, or over HTTP via
`/_sim/media`) use it to:

* set durations and TTLs: `image_seconds`, `video_seconds`, `claim_seconds`,
  `image_claim_ttl`, `r2_ttl`, `video_url_ttl`, `tokenhub_url_ttl`, `idempotency_window`,
  `upload_url_ttl`, `upload_claim_ttl` (all seconds), and the "no R2" mode switch
  `r2_enabled` (§3 row 6);
* move the simulated clock forward with `advance(seconds)` instead of sleeping;
* queue job faults for the next creates (`enqueue_job_faults`, see `job_faults.py`);
* read counters: `submits` and `charges` per kind (`image`, `video`),
  `charged_task_ids`, and `polls` per task id.

Media timestamps use the real wall clock plus the `advance` offset, not `SIM_EPOCH`:
expiries are enforced in real time, so a client comparing `*_expires_at` with its own
clock must see real times (invented: chat keeps the fixed epoch).

The store is shared by uvicorn's thread and a test thread, so every access takes one
lock; the `tasks`/`uploads`/`objects` dicts are for the media modules, which hold `lock`
while they change them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final

from alltoken_agent.simulator.job_faults import JobFault, parse_job_fault

DEFAULTS: Final[dict[str, float | bool]] = {
    # Small so tests are fast; §1.12 observed 15-60 s for images and 30 s-5 min for videos.
    "image_seconds": 0.3,
    "video_seconds": 0.6,
    # invented: how long the first claim of an image holds its claim (409 to others).
    "claim_seconds": 0.0,
    # §1.7: 30-minute temp TTL before the first claim; R2 copy kept >= 30 days.
    "image_claim_ttl": 1800.0,
    "r2_ttl": 30 * 86400.0,
    # invented: no source gives the lifetime of a video_url; 24 h like TokenHub's (§2.4).
    "video_url_ttl": 86400.0,
    # §2.3: TokenHub media URLs are temporary (~24 h).
    "tokenhub_url_ttl": 86400.0,
    # §1.1: 60-second Idempotency-Key window.
    "idempotency_window": 60.0,
    # §1.8: presigned PUT valid `expires_in` (300 s); unbound claim expiry 2 h.
    "upload_url_ttl": 300.0,
    "upload_claim_ttl": 7200.0,
    # §3 row 6: "mode switch for no R2": False means later GETs answer 410.
    "r2_enabled": True,
}
"""Every setting and its default; `reset()` restores these."""


def rfc3339(moment: float) -> str:
    """Format a Unix time as RFC 3339 UTC with seconds precision (`...Z`)."""
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_hash(token: str) -> str:
    """Return the stored stand-in of a bearer token (the token itself is never kept)."""
    return hashlib.sha256(f"alltoken-sim-owner:{token}".encode()).hexdigest()


@dataclass
class StoredObject:
    """One object in the simulated R2 bucket, served at `/_sim/r2/{key}`."""

    content_type: str
    """`Content-Type` the object is served with."""
    expires_at: float | None
    """Clock time after which the link is dead (403); None never expires."""
    data: bytes | None = None
    """The bytes, or None until `producer` has run once."""
    producer: Callable[[], bytes] | None = None
    """Makes the bytes lazily (e.g. renders a last frame on first download)."""
    pad_to: int = 0
    """Job fault `huge`: serve the bytes padded with zeros to this size, chunked
    (no `Content-Length`), without holding them in memory."""


@dataclass
class Upload:
    """One presigned direct upload (docs/wire-format.md §1.8)."""

    upload_id: str
    """`upl_` + 24 hex."""
    owner: str
    """`token_hash` of the key that presigned it; only that key may bind it."""
    purpose: str
    """Presign `purpose`."""
    content_type: str
    """Exact `Content-Type` the PUT must send."""
    content_md5: str
    """Exact `Content-MD5` the PUT must send (base64 of the 16-byte digest)."""
    checksum_sha256: str
    """Lower-case hex SHA-256 the bytes must have."""
    content_length: int
    """Exact byte count the PUT must send."""
    url_expires_at: float
    """Clock time after which the PUT URL is dead."""
    claim_expires_at: float
    """Clock time after which an unbound upload can no longer be bound."""
    data: bytes | None = None
    """Bytes once PUT."""
    bound_task: str | None = None
    """Task id the upload was bound to (binds once)."""


@dataclass
class MediaTask:
    """One media task of either dialect (fields unused by a kind stay at defaults)."""

    id: str
    """Task id as sent on the wire."""
    kind: str
    """`image` or `video`."""
    dialect: str
    """`alltoken` or `tokenhub`."""
    model: str
    """The `model` string exactly as the create request sent it."""
    owner: str
    """`token_hash` of the creating key."""
    created: float
    """Clock time of creation."""
    duration: float
    """Seconds from creation to the terminal state."""
    job_fault: JobFault | None
    """Job-level fault chosen at create time."""
    params: dict[str, Any] = field(default_factory=dict)
    """Validated request parameters the endpoint module needs later."""
    shape: str = ""
    """TokenHub body shape (`A`, `B`, `C`); empty on AllToken."""
    cancelled_at: float | None = None
    """Clock time of a cancel request, if any."""
    claimed: bool = False
    """Images: the first claim (with `b64_json`) has been delivered."""
    claiming: bool = False
    """Images: a first claim is in progress (a concurrent GET gets 409)."""
    r2: bool = True
    """Images: whether an R2 copy exists (False in "no R2" mode / `no_r2` fault)."""
    object_keys: list[str] = field(default_factory=list)
    """Keys of the result objects in the simulated bucket."""


class MediaState:
    """Settings, clock, tasks, uploads, stored objects and counters of the media endpoints."""

    image_seconds: float
    """Seconds an image task takes from create to `completed` (a third of it `queued`)."""
    video_seconds: float
    """Seconds a video task takes from create to its terminal state (both dialects)."""
    claim_seconds: float
    """Seconds the first image claim holds the claim; a concurrent GET gets 409."""
    image_claim_ttl: float
    """Seconds after completion during which the first claim is possible (§1.7: 30 min)."""
    r2_ttl: float
    """Seconds the R2 copy of an image (`r2_url`) lives after completion."""
    video_url_ttl: float
    """Seconds a `video_url` lives after completion (then the task is `expired`)."""
    tokenhub_url_ttl: float
    """Seconds TokenHub image and video URLs live."""
    idempotency_window: float
    """Seconds an `Idempotency-Key` dedupes creates."""
    upload_url_ttl: float
    """Seconds a presigned PUT URL stays valid (`expires_in`)."""
    upload_claim_ttl: float
    """Seconds an uploaded, unbound `upload_id` stays bindable."""
    r2_enabled: bool
    """False: "no R2" mode, completed images get no R2 copy (later GETs 410)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        """Lock guarding everything below; media modules hold it while they mutate."""
        self.tasks: dict[str, MediaTask] = {}
        """Tasks by id (both dialects, all kinds)."""
        self.uploads: dict[str, Upload] = {}
        """Presigned uploads by id."""
        self.objects: dict[str, StoredObject] = {}
        """Simulated bucket: key -> object."""
        self.idempotency: dict[tuple[str, str, str], tuple[str, float]] = {}
        """(kind, owner, key) -> (task id, clock time first seen)."""
        self._offset = 0.0
        self._job_faults: list[JobFault] = []
        self._submits: Counter[str] = Counter()
        self._charges: Counter[str] = Counter()
        self._charged: list[str] = []
        self._polls: Counter[str] = Counter()
        self._serial = 0
        self._apply_defaults()

    def _apply_defaults(self) -> None:
        for name, value in DEFAULTS.items():
            setattr(self, name, value)

    # -- clock ------------------------------------------------------------------------

    def now(self) -> float:
        """Return the simulated clock: real Unix time plus everything `advance`d."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward (jobs finish, links expire, windows close).

        Raises:
            ValueError: `seconds` is negative.
        """
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self.lock:
            self._offset += seconds

    # -- ids --------------------------------------------------------------------------

    def new_hex(self, prefix: str, length: int = 24) -> str:
        """Return a deterministic fresh hex id (`prefix` + `length` hex digits)."""
        with self.lock:
            self._serial += 1
            serial = self._serial
        return prefix + hashlib.sha256(f"{prefix}:{serial}".encode()).hexdigest()[:length]

    # -- job faults -------------------------------------------------------------------

    def enqueue_job_faults(self, specs: Iterable[str]) -> None:
        """Queue job faults; each later media create (without the header) takes one.

        Raises:
            JobFaultSpecError: A spec is unknown; nothing is queued then.
        """
        parsed = [parse_job_fault(spec) for spec in specs]
        with self.lock:
            self._job_faults.extend(parsed)

    def pop_job_fault(self) -> JobFault | None:
        """Remove and return the next queued job fault, if any."""
        with self.lock:
            return self._job_faults.pop(0) if self._job_faults else None

    @property
    def pending_job_faults(self) -> list[str]:
        """Job-fault specs still queued, in order."""
        with self.lock:
            return [fault.spec for fault in self._job_faults]

    # -- counters ---------------------------------------------------------------------

    def record_submit(self, task: MediaTask) -> None:
        """Store a NEW task, count its submit and charge it (once; no refunds, invented)."""
        with self.lock:
            self.tasks[task.id] = task
            self._submits[task.kind] += 1
            self._charges[task.kind] += 1
            self._charged.append(task.id)

    def record_poll(self, task_id: str) -> None:
        """Count one answered poll of a task."""
        with self.lock:
            self._polls[task_id] += 1

    @property
    def submits(self) -> dict[str, int]:
        """Creates that made a NEW task, per kind (`image`, `video`)."""
        with self.lock:
            return dict(self._submits)

    @property
    def charges(self) -> dict[str, int]:
        """Tasks billed, per kind; each task is billed once, when it is created."""
        with self.lock:
            return dict(self._charges)

    @property
    def charged_task_ids(self) -> list[str]:
        """Ids of the billed tasks, in billing order."""
        with self.lock:
            return list(self._charged)

    @property
    def polls(self) -> dict[str, int]:
        """Answered polls per task id (faulted or dropped polls are not counted)."""
        with self.lock:
            return dict(self._polls)

    # -- bulk -------------------------------------------------------------------------

    def settings(self) -> dict[str, float | bool]:
        """Return the current settings (names as in `DEFAULTS`)."""
        return {name: getattr(self, name) for name in DEFAULTS}

    def configure(self, changes: dict[str, Any]) -> None:
        """Set several settings at once (used by `POST /_sim/media`).

        Raises:
            ValueError: Unknown name, wrong type, or a negative number; nothing changes.
        """
        checked: dict[str, float | bool] = {}
        for name, value in changes.items():
            if name not in DEFAULTS:
                raise ValueError(f"unknown media setting {name!r}; known: {', '.join(DEFAULTS)}")
            if isinstance(DEFAULTS[name], bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number of seconds >= 0")
            checked[name] = value if isinstance(value, bool) else float(value)
        with self.lock:
            for name, value in checked.items():
                setattr(self, name, value)

    def snapshot(self) -> dict[str, Any]:
        """Return a JSON-ready view: settings, clock offset, counters, pending job faults."""
        with self.lock:
            return {
                "settings": self.settings(),
                "clock_offset": self._offset,
                "submits": dict(self._submits),
                "charges": dict(self._charges),
                "charged_task_ids": list(self._charged),
                "polls": dict(self._polls),
                "pending_job_faults": [fault.spec for fault in self._job_faults],
                "tasks": {task_id: task.kind for task_id, task in self.tasks.items()},
            }

    def reset(self) -> None:
        """Forget every task, upload, object, counter and job fault; restore the defaults."""
        with self.lock:
            self.tasks.clear()
            self.uploads.clear()
            self.objects.clear()
            self.idempotency.clear()
            self._job_faults.clear()
            self._submits.clear()
            self._charges.clear()
            self._charged.clear()
            self._polls.clear()
            self._offset = 0.0
            self._serial = 0
            self._apply_defaults()
