"""The usage report a host agent reads after shelling out to ``chat --usage-file FILE``.

```json
{
  "version": 1,
  "status": "ok",
  "error": null,
  "currency": "USD",
  "simulated": false,
  "totals": {"requests": 2, "prompt_tokens": 40, "completion_tokens": 31,
             "reasoning_tokens": 0, "cached_tokens": 0, "total_tokens": 71,
             "cost": "0.0000523000", "cost_source": "gateway",
             "cost_sources": {"gateway": 2, "estimated": 0, "unknown": 0},
             "unknown_cost_requests": 0, "unknown_usage_requests": 0},
  "requests": [{"kind": "chat", "model": "...", "cost": "0.0000188000", ...}]
}
```

``error`` is the CLI's ``error`` event payload plus ``exit_code``; a run stopped by
Ctrl-C or SIGTERM says ``{"code": "interrupted", "signal": "SIGTERM", "message":
"interrupted by SIGTERM", ...}``, and its request in flight is listed with
``outcome`` ``cancelled``.

``totals.cost`` sums the requests whose cost is known, as an exact decimal string
(null when no request's cost is known); the token totals likewise sum the requests
whose usage is known (null when none is: the reply ended without its usage, or sent an
invalid one), and ``unknown_usage_requests`` counts the others;
``cost_source`` is ``gateway``, ``estimated`` or ``unknown`` when every request agrees,
``mixed`` when they do not, ``none`` without requests. ``simulated`` is true when a
request went to the offline simulator: its cost is made up, not money spent. The
file is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from alltoken_agent.catalog import PriceLookup
from alltoken_agent.gateway import RequestRecord
from alltoken_agent.ledger.costs import ZERO, record_cost
from alltoken_agent.store.usage import UsageRow

USAGE_FILE_VERSION = 1
"""Bumped when a field changes meaning; new fields may appear without a bump."""

RunStatus = Literal["ok", "error"]

_TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens")
_SOURCES = ("gateway", "estimated", "unknown")


def usage_report(
    records: Sequence[RequestRecord | UsageRow],
    *,
    status: RunStatus,
    error: Mapping[str, Any] | None = None,
    prices: PriceLookup | None = None,
) -> dict[str, Any]:
    """The usage report as a JSON-ready dict (see the module docstring).

    Args:
        records: The run's requests: gateway records (costed here, with ``prices``
            for estimates) or ledger rows (already costed).
        status: ``ok``, or ``error`` when the run failed.
        error: What went wrong (the CLI's error payload), for ``status="error"``.
        prices: Prices for estimating what the gateway did not report.
    """
    lines = [_line(item, prices) for item in records]
    totals: dict[str, Any] = {"requests": len(lines)}
    unknown_usage = sum(line["prompt_tokens"] is None for line in lines)
    for name in _TOKEN_FIELDS:
        totals[name] = sum(line[name] or 0 for line in lines)
    totals["total_tokens"] = totals["prompt_tokens"] + totals["completion_tokens"]
    if lines and unknown_usage == len(lines):  # no usage known: no sum, not a made-up 0
        for name in (*_TOKEN_FIELDS, "total_tokens"):
            totals[name] = None
    cost = sum((Decimal(line["cost"]) for line in lines if line["cost"] is not None), ZERO)
    counts = {source: sum(line["cost_source"] == source for line in lines) for source in _SOURCES}
    # Every request of unknown cost: the sum is unknown too, not a made-up zero.
    wholly_unknown = bool(lines) and counts["unknown"] == len(lines)
    totals["cost"] = None if wholly_unknown else format(cost, "f")
    totals["cost_source"] = _summary(counts)
    totals["cost_sources"] = counts
    totals["unknown_cost_requests"] = counts["unknown"]
    totals["unknown_usage_requests"] = unknown_usage
    return {
        "version": USAGE_FILE_VERSION,
        "status": status,
        "error": None if error is None else dict(error),
        "currency": "USD",
        "simulated": any(line["simulated"] for line in lines),
        "totals": totals,
        "requests": lines,
    }


def write_usage_report(
    path: str | os.PathLike[str],
    records: Sequence[RequestRecord | UsageRow],
    *,
    status: RunStatus,
    error: Mapping[str, Any] | None = None,
    prices: PriceLookup | None = None,
) -> dict[str, Any]:
    """Write :func:`usage_report` to ``path`` atomically, and return it.

    The JSON goes to a temporary file in the same folder, is flushed to disk, then
    renamed over ``path``. The folder must exist.

    Raises:
        OSError: The folder is missing or not writable.
    """
    report = usage_report(records, status=status, error=error, prices=prices)
    target = Path(path)
    text = json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n"
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return report


def _line(item: RequestRecord | UsageRow, prices: PriceLookup | None) -> dict[str, Any]:
    if isinstance(item, UsageRow):
        data = item.to_dict()
        data.pop("id", None)
        data.pop("owner", None)
        data["started_at"] = data.pop("created_at")
        return data
    cost, source = record_cost(item, prices)
    usage = item.usage
    return {
        "kind": item.kind,
        "provider": item.provider,
        "model": item.model,
        "session": item.tags.get("session"),
        "request_id": item.request_id,
        "started_at": item.started_at.isoformat(),
        "stream": item.stream,
        "outcome": item.outcome,
        "status": item.status,
        "attempts": item.attempts,
        "latency_ms": None if item.latency is None else round(item.latency * 1000),
        "ttft_ms": None if item.ttft is None else round(item.ttft * 1000),
        **{name: None if usage is None else getattr(usage, name) for name in _TOKEN_FIELDS},
        "cost": None if cost is None else format(cost, "f"),
        "cost_source": source,
        "currency": "USD",
        "simulated": item.simulated,
        "extra": dict(item.extra),
    }


def _summary(counts: Mapping[str, int]) -> str:
    present = [source for source in _SOURCES if counts[source]]
    if not present:
        return "none"
    return present[0] if len(present) == 1 else "mixed"
