"""Progress events of a media job, for ``on_progress`` and the CLI's ``--json`` NDJSON.

One frozen dataclass per event, its ``name`` the wire name (``job:submitted``), like
the agent's events: the same objects reach a library callback, the terminal display
and the NDJSON stream.

* ``job:submitted``: the gateway accepted the job (``task_id`` known when it has one);
* ``job:status``: the gateway reported a new status (``queued``, ``processing``, ...);
* ``job:download``: bytes of a result file arrived (``received`` of ``total``);
* ``job:saved``: a result file is complete on disk;
* ``job:done``: every file of the job is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True, kw_only=True)
class _JobEvent:
    job_id: str
    """Our journal id (``job_`` + 16 hex): what ``jobs resume`` takes."""
    kind: Literal["image", "video"]

    @property
    def phase(self) -> str:
        """A word for a progress line: what is happening (``submitted``, ``saved``, ...)."""
        name: str = getattr(self, "name")  # noqa: B009 - set by subclasses
        return str(getattr(self, "status", None) or name.split(":", 1)[1])

    def to_dict(self) -> dict[str, Any]:
        """The NDJSON view: ``{"event": name, **fields}`` with JSON-ready values."""
        out: dict[str, Any] = {"event": getattr(self, "name")}  # noqa: B009 - in subclasses
        for f in fields(self):
            if f.name != "name":
                value = getattr(self, f.name)
                out[f.name] = str(value) if isinstance(value, Path) else value
        return out


@dataclass(frozen=True, kw_only=True)
class JobSubmittedEvent(_JobEvent):
    """The gateway accepted the job; it is journaled as ``pending``."""

    model: str
    provider: str
    task_id: str | None
    """The gateway's task id; None for a synchronous create that has none."""
    name: Literal["job:submitted"] = field(default="job:submitted", repr=False)


@dataclass(frozen=True, kw_only=True)
class JobStatusEvent(_JobEvent):
    """The gateway reported a new status for the job."""

    task_id: str | None
    status: str
    """Normalised: ``queued``, ``processing``, ``completed``, ``failed``, ``cancelled``,
    ``expired`` or ``unknown``; or ``waiting`` (ours, not the gateway's): another process
    is finishing the job and this run waits for it."""
    remote_status: str | None
    """The word the gateway used (``RUNNING``, ``succeeded``, ...)."""
    elapsed: float
    """Seconds since this run of the job started."""
    name: Literal["job:status"] = field(default="job:status", repr=False)


@dataclass(frozen=True, kw_only=True)
class JobDownloadEvent(_JobEvent):
    """Bytes of a result file arrived."""

    path: Path
    received: int
    total: int | None
    """From ``Content-Length``; None when the server did not say."""
    name: Literal["job:download"] = field(default="job:download", repr=False)

    @property
    def progress(self) -> float | None:
        """Fraction received, 0 to 1, when the total is known."""
        return None if not self.total else min(1.0, self.received / self.total)


@dataclass(frozen=True, kw_only=True)
class JobSavedEvent(_JobEvent):
    """A result file is complete on disk (written atomically)."""

    path: Path
    mime_type: str
    size: int
    taken: Path | None = None
    """The target asked for, when another file was there already: the result was saved
    at ``path`` beside it rather than replacing it (unless ``overwrite``)."""
    name: Literal["job:saved"] = field(default="job:saved", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The NDJSON view; ``taken`` only when the target was taken."""
        out = super().to_dict()
        if self.taken is None:
            del out["taken"]
        return out


@dataclass(frozen=True, kw_only=True)
class JobDoneEvent(_JobEvent):
    """Every file of the job is saved; the journal says ``completed``."""

    task_id: str | None
    paths: tuple[Path, ...]
    elapsed: float
    name: Literal["job:done"] = field(default="job:done", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The NDJSON view, with the paths as strings."""
        out = super().to_dict()
        out["paths"] = [str(path) for path in self.paths]
        return out


JobEvent = JobSubmittedEvent | JobStatusEvent | JobDownloadEvent | JobSavedEvent | JobDoneEvent
"""Any media job event; ``name`` tells them apart."""
