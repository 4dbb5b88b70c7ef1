"""A background simulator stays out of the process's uvicorn logging.

`serve --offline` runs a real uvicorn server and an in-process simulator side by
side; both use the process-wide `uvicorn.*` loggers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def uvicorn_loggers() -> Iterator[tuple[_Collect, _Collect]]:
    """uvicorn's loggers set up the way a foreground server leaves them (INFO)."""
    error, access = logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn.access")
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in (error, access)]
    error_records, access_records = _Collect(), _Collect()
    error.addHandler(error_records)
    access.addHandler(access_records)
    error.setLevel(logging.INFO)
    access.setLevel(logging.INFO)
    yield error_records, access_records
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def test_background_simulator_logs_nothing_and_leaves_uvicorn_logging_alone(
    uvicorn_loggers: tuple[_Collect, _Collect],
) -> None:
    error_records, access_records = uvicorn_loggers
    # Whatever an earlier server in this process left (uvicorn's config turns it off).
    propagate = logging.getLogger("uvicorn.access").propagate
    with SimulatorServer("alltoken") as sim:
        response = httpx.get(sim.base_url + "/models", headers={"Authorization": "Bearer k"})
        assert response.status_code == 200
    # A real server started in this process before the simulator still logs as set up.
    error, access = logging.getLogger("uvicorn.error"), logging.getLogger("uvicorn.access")
    assert error.level == logging.INFO and access.level == logging.INFO
    assert access_records in access.handlers and access.propagate == propagate
    sim_lines = [r.getMessage() for r in error_records.records + access_records.records]
    assert sim_lines == []  # no second "Shutting down" / "Finished server process"
    error.info("the real server's line")
    assert [r.getMessage() for r in error_records.records] == ["the real server's line"]


def test_background_simulator_warnings_still_come_through(
    uvicorn_loggers: tuple[_Collect, _Collect],
) -> None:
    error_records, _ = uvicorn_loggers
    logger = logging.getLogger("uvicorn.error")
    before = set(threading.enumerate())
    with SimulatorServer("alltoken"):
        (thread,) = set(threading.enumerate()) - before
        assert thread.name.startswith("alltoken-simulator-")
        for level, text in [(logging.WARNING, "warned"), (logging.INFO, "chatter")]:
            record = logger.makeRecord(logger.name, level, __file__, 1, text, (), None)
            record.threadName = thread.name  # as if uvicorn had logged it from that thread
            logger.handle(record)
    assert [r.getMessage() for r in error_records.records] == ["warned"]
