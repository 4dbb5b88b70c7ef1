"""`jobs show` as people read it: one ``name: value`` line per fact, not Python reprs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alltoken_agent.media import MediaJobRecord

_SHOWN_PARAMS = ("prompt",)
"""Parameters with a line of their own; the rest go on one ``options:`` line."""


def job_lines(record: MediaJobRecord) -> list[str]:
    """The readable view of a journaled job, one ``name: value`` line each."""
    rows: list[tuple[str, Any]] = [
        ("job", record.id),
        ("kind", record.kind),
        ("status", _status(record)),
        ("model", record.model),
        (
            "provider",
            f"{record.provider} ({record.base_url})" if record.base_url else record.provider,
        ),
        ("task", record.task_id),
        ("prompt", record.params.get("prompt")),
        ("options", _pairs({k: v for k, v in record.params.items() if k not in _SHOWN_PARAMS})),
        ("save to", _target(record.output_path)),
    ]
    rows += [("file", _file(entry)) for entry in record.files]
    usage = record.result.get("usage")
    rows.append(("usage", _pairs(usage) if isinstance(usage, Mapping) and usage else "unknown"))
    # The journal keeps what the gateway said; media replies carry no cost, so it is
    # unknown here (never 0). `alltoken-agent usage` shows the ledger's estimate.
    cost = record.result.get("cost")
    rows.append(("cost", cost if cost not in (None, "", {}) else "unknown"))
    if record.error or record.error_code:
        rows.append(("error", ": ".join(str(p) for p in (record.error_code, record.error) if p)))
    rows += [
        ("request id", record.result.get("request_id")),
        ("created", record.created_at.isoformat()),
        ("submitted", record.submitted_at.isoformat() if record.submitted_at else None),
        ("completed", record.completed_at.isoformat() if record.completed_at else None),
        ("idempotency_key", record.idempotency_key),
    ]
    width = max(len(name) for name, _ in rows) + 2
    return [
        f"{name + ':':{width}}{_clean(value)}"
        for name, value in rows
        if value not in (None, "", {}, [])
    ]


def _status(record: MediaJobRecord) -> str:
    extra = []
    if record.status == "queued":  # a server handed it to workers; none has taken it
        extra.append("waiting for a worker")
    elif record.never_sent:
        extra.append("never sent")
    if record.remote_status and record.remote_status != record.status:
        extra.append(f"gateway said {record.remote_status}")
    return f"{record.status} ({', '.join(extra)})" if extra else record.status


def _target(output_path: str) -> str:
    """A batch's named target ``STEM.*`` reads as what it means."""
    from alltoken_agent.media.files import ANY_SUFFIX

    if output_path.endswith(ANY_SUFFIX):
        return f"{output_path[: -len(ANY_SUFFIX)]}.EXT (the extension of the result)"
    return output_path


def _file(entry: Mapping[str, Any]) -> str:
    size = entry.get("size")
    details = [str(entry.get("mime_type") or "unknown type")]
    details.append(f"{size:,} bytes" if isinstance(size, int) else "size unknown")
    return f"{entry.get('path')} ({', '.join(details)})"


def _pairs(data: Mapping[str, Any]) -> str:
    """``a=1, b=2``; a nested mapping is flattened as ``outer.inner=...``."""
    parts: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            parts += [f"{key}.{k}={v}" for k, v in value.items() if v is not None]
        elif value is not None:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def _clean(value: Any) -> str:
    """One line of printable text: journaled gateway text may hold control characters."""
    return "".join(c if c.isprintable() else " " for c in str(value))
