"""Jobs made on the offline simulator: resumable while it runs, clearly ended once it is gone.

The simulator keeps its tasks in memory, so a job left pending by an ``--offline`` run
can never finish elsewhere; resuming it must neither hang on a 404 nor send a real key
to the port the dead simulator used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alltoken_agent import Gateway, MediaJobError
from alltoken_agent.media import Media, PollPolicy
from alltoken_agent.store import Store
from tests.cli.helpers import ndjson, run_cli
from tests.media.conftest import FAST

SHORT = PollPolicy(initial=0.01, interval=0.05, deadline=0.1)


async def _leave_pending(store: Store, out: Path) -> str:
    async with Gateway.offline() as gateway:
        assert gateway.offline_simulator is not None
        gateway.offline_simulator.state.media.image_seconds = 30
        with pytest.raises(MediaJobError, match="stays pending"):
            await Media(gateway, store).images.generate("a fox", save_to=out, poll=SHORT)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "pending" and job.result["offline"] is True
    return job.id


async def test_an_offline_job_resumes_on_the_simulator_it_was_made_on(
    store: Store, out: Path
) -> None:
    async with Gateway.offline() as gateway:
        assert gateway.offline_simulator is not None
        tasks = gateway.offline_simulator.state.media
        tasks.image_seconds = 30
        images = Media(gateway, store).images
        with pytest.raises(MediaJobError, match="stays pending"):
            await images.generate("a fox", save_to=out, poll=SHORT)
        (job,) = store.media_jobs.list_jobs()
        tasks.advance(30)
        result = await images.resume(job.id, poll=FAST)
        assert result.paths[0].is_file() and tasks.submits == {"image": 1}


@pytest.mark.slow
async def test_once_its_simulator_is_gone_an_offline_job_ends_with_a_clear_error(
    store: Store, out: Path
) -> None:
    job_id = await _leave_pending(store, out)
    async with Gateway.offline() as later:
        with pytest.raises(MediaJobError, match="offline simulator") as caught:
            await Media(later, store).images.resume(job_id, poll=FAST)
        assert later.offline_simulator is not None
        assert later.offline_simulator.state.requests == []  # nothing was sent
    assert job_id in str(caught.value) and "run the prompt again" in str(caught.value)
    job = store.media_jobs.get(job_id)
    assert job is not None and (job.status, job.error_code) == ("failed", "simulator_gone")
    assert store.media_jobs.unfinished() == []


@pytest.mark.slow
def test_jobs_resume_never_sends_a_real_key_to_a_dead_offline_port(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    with Store() as store:  # the journal `jobs` reads, in this test's ALLTOKEN_AGENT_HOME
        job_id = asyncio.run(_leave_pending(store, out))
    monkeypatch.setenv("ALLTOKEN_API_KEY", "sk-real-key-0123456789abcdef")
    result = run_cli("jobs", "resume", "--json")
    assert result.exit_code == 1
    (error,) = ndjson(result.stdout)
    assert error["event"] == "error" and "offline simulator" in error["message"]
    assert "connection" not in result.stderr and "sk-real-key" not in result.stdout
    again = run_cli("jobs", "resume")
    assert again.exit_code == 0 and "no pending media jobs" in again.stderr
    with Store() as store:
        assert store.media_jobs.get(job_id).status == "failed"  # type: ignore[union-attr]
