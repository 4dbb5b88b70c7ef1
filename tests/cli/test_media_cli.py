"""`alltoken-agent image`, `video` and `jobs`: the CLI in-process, the simulator over loopback."""

from __future__ import annotations

import asyncio
import io
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent import Gateway, MediaJobError
from alltoken_agent.media import Media, PollPolicy
from alltoken_agent.store import Store
from tests.cli.helpers import FAST_RETRY_CONFIG, ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    monkeypatch.setenv("TOKENHUB_API_KEY", TEST_KEY)


@pytest.fixture
def fast_sim(sim: Any) -> Any:
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1
    return sim


def _jobs() -> list[Any]:
    with Store() as store:
        return store.media_jobs.list_jobs()


@pytest.mark.slow
def test_image_json_events_and_the_saved_file(fast_sim: Any, tmp_path: Path) -> None:
    target = tmp_path / "fox.webp"
    result = run_cli(
        "image", "a red fox", "--size", "64x48", "-o", str(target),
        "--base-url", fast_sim.base_url, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    events = ndjson(result.stdout)
    names = [e["event"] for e in events]
    assert names[0] == "job:submitted" and names[-2:] == ["job:saved", "job:done"]
    assert set(names) <= {"job:submitted", "job:status", "job:saved", "job:done"}
    submitted, done = events[0], events[-1]
    assert submitted["task_id"].startswith("igen_") and submitted["model"] == "gpt-image-2"
    assert done["paths"] == [str(target)] and done["job_id"] == submitted["job_id"]
    with Image.open(target) as image:
        assert (image.format, image.size) == ("WEBP", (64, 48))


@pytest.mark.slow
def test_image_quiet_output_prints_the_path_on_stdout(fast_sim: Any, tmp_path: Path) -> None:
    result = run_cli("image", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url)
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert Path(line).parent == tmp_path and Path(line).is_file()
    assert "submitted to gpt-image-2" in result.stderr and "saved" in result.stderr


@pytest.mark.slow
def test_image_batch_reports_each_failure_and_keeps_the_rest(fast_sim: Any, tmp_path: Path) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("# foxes\na red fox\n\na blue fox\na green fox\n")
    fast_sim.state.media.enqueue_job_faults(["fail"])  # the first create, concurrency 1
    result = run_cli(
        "image", "--batch", str(batch), "--concurrency", "1", "-o", str(tmp_path / "out"),
        "--base-url", fast_sim.base_url, "--json",
    )  # fmt: skip
    assert result.exit_code == 1
    events = ndjson(result.stdout)
    (error,) = [e for e in events if e["event"] == "error"]
    assert (error["index"], error["prompt"], error["type"]) == (0, "a red fox", "MediaJobError")
    assert len([e for e in events if e["event"] == "job:done"]) == 2
    assert len(list((tmp_path / "out").iterdir())) == 2
    assert "failed on the gateway" in result.stderr


def test_bad_image_options_exit_2_before_any_request(fast_sim: Any, tmp_path: Path) -> None:
    result = run_cli("image", "a fox", "--size", "100x100", "--base-url", fast_sim.base_url)
    assert result.exit_code == 2 and "multiples of 16" in result.stderr
    assert fast_sim.state.requests == []


@pytest.mark.slow
def test_polling_that_keeps_failing_exits_with_the_gateway_code_and_a_resume_hint(
    fast_sim: Any, tmp_path: Path, isolated_environment: Path
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    fast_sim.state.enqueue_faults(["slow:0", "503", "503"])  # the create passes, polls fail
    result = run_cli("image", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url)
    assert result.exit_code == 6, result.stderr  # UNAVAILABLE, from the 503 underneath
    (job,) = _jobs()
    assert job.status == "pending"
    assert f"alltoken-agent jobs resume {job.id}" in result.stderr
    resumed = run_cli("jobs", "resume", "--base-url", fast_sim.base_url)  # every pending job
    assert resumed.exit_code == 0, resumed.stderr
    assert Path(resumed.stdout.strip()).is_file()
    assert fast_sim.state.media.submits == {"image": 1}


@pytest.mark.slow
def test_video_with_a_local_first_frame_and_json(fast_sim: Any, tmp_path: Path) -> None:
    frame = tmp_path / "start.png"
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "PNG")
    frame.write_bytes(buffer.getvalue())
    result = run_cli(
        "video", "the fox turns", "-m", "seedance-2.0", "--first-frame", str(frame),
        "--duration", "5", "-o", str(tmp_path / "clip.mp4"),
        "--base-url", fast_sim.base_url, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    names = [e["event"] for e in ndjson(result.stdout)]
    assert "job:download" in names and names[-1] == "job:done"
    assert (tmp_path / "clip.mp4").read_bytes()[4:8] == b"ftyp"
    create = next(r for r in fast_sim.state.requests if r.path == "/v1/videos/generations")
    assert create.json["content"][0]["upload_id"].startswith("upl_")


def test_video_refuses_a_frame_that_is_not_an_image(fast_sim: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = run_cli(
        "video", "a fox", "--first-frame", str(notes), "--base-url", fast_sim.base_url, "--json"
    )
    assert result.exit_code == 2
    (error,) = ndjson(result.stdout)
    assert error["event"] == "error" and "PNG, JPEG or WebP" in error["message"]
    assert fast_sim.state.requests == []


@pytest.mark.slow
def test_video_failures_exit_1_and_are_journaled(fast_sim: Any, tmp_path: Path) -> None:
    fast_sim.state.media.enqueue_job_faults(["expire"])
    result = run_cli("video", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url)
    assert result.exit_code == 1
    assert "expired" in result.stderr and "submit it again" in result.stderr
    assert [j.status for j in _jobs()] == ["expired"]


@pytest.mark.slow
def test_jobs_list_show_and_their_json(fast_sim: Any, tmp_path: Path) -> None:
    made = run_cli("image", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url, "--json")
    job_id = ndjson(made.stdout)[0]["job_id"]
    listed = run_cli("jobs")
    assert listed.exit_code == 0 and job_id in listed.stdout and "completed" in listed.stdout
    (row,) = ndjson(run_cli("jobs", "list", "--json").stdout)
    assert (row["event"], row["id"], row["status"], row["kind"]) == (
        "job", job_id, "completed", "image",
    )  # fmt: skip
    assert ndjson(run_cli("jobs", "list", "--status", "pending", "--json").stdout) == []
    shown = run_cli("jobs", "show", job_id)
    assert shown.exit_code == 0 and "idempotency_key:" in shown.stdout
    (detail,) = ndjson(run_cli("jobs", "show", row["task_id"], "--json").stdout)
    assert detail["id"] == job_id and detail["files"][0]["path"].startswith(str(tmp_path))
    missing = run_cli("jobs", "show", "job_nope")
    assert missing.exit_code == 2 and "no media job" in missing.stderr
    again = run_cli("jobs", "resume", job_id)  # finished: no request, just where it is
    assert again.exit_code == 0 and again.stdout.strip() == detail["files"][0]["path"]


def test_jobs_resume_without_pending_jobs_says_so() -> None:
    result = run_cli("jobs", "resume")
    assert result.exit_code == 0 and "no pending media jobs" in result.stderr


@pytest.mark.slow
def test_jobs_cancel_a_running_video(fast_sim: Any, tmp_path: Path) -> None:
    fast_sim.state.media.video_seconds = 60

    async def leave_pending() -> None:
        async with Gateway("alltoken", base_url=fast_sim.base_url, api_key=TEST_KEY) as gateway:
            with pytest.raises(MediaJobError, match="stays pending"):
                await Media(gateway).videos.generate(
                    "a fox", save_to=tmp_path, poll=PollPolicy(initial=0.01, deadline=0.05)
                )

    asyncio.run(leave_pending())
    (job,) = _jobs()
    result = run_cli("jobs", "cancel", job.id, "--base-url", fast_sim.base_url, "--json")
    assert result.exit_code == 0, result.stderr
    (event,) = ndjson(result.stdout)
    assert event == {
        "event": "job:cancelled", "job_id": job.id, "task_id": job.task_id, "status": "cancelled",
    }  # fmt: skip
    assert [j.status for j in _jobs()] == ["cancelled"]
    again = run_cli("jobs", "cancel", job.id, "--base-url", fast_sim.base_url)
    assert again.exit_code == 2 and "already ended" in again.stderr


@pytest.mark.slow
def test_jobs_cancel_refuses_an_image_job(fast_sim: Any, tmp_path: Path) -> None:
    made = run_cli("image", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url, "--json")
    job_id = ndjson(made.stdout)[0]["job_id"]
    result = run_cli("jobs", "cancel", job_id, "--base-url", fast_sim.base_url)
    assert result.exit_code == 2 and "cannot be cancelled" in result.stderr


def test_help_shows_examples() -> None:
    for command in (["image"], ["video"], ["jobs"]):
        result = run_cli(*command, "--help")
        assert result.exit_code == 0 and "Examples:" in result.stdout


def test_the_live_display_follows_a_job_through_every_event(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from alltoken_agent.cli.media import JobDisplay
    from alltoken_agent.cli.output import EventWriter
    from alltoken_agent.media import (
        JobDoneEvent,
        JobDownloadEvent,
        JobSavedEvent,
        JobStatusEvent,
        JobSubmittedEvent,
    )

    display = JobDisplay(EventWriter(enabled=False), live=True)
    path = tmp_path / "clip.mp4"
    common: dict[str, Any] = {"job_id": "job_1", "kind": "video"}
    for event in (
        JobSubmittedEvent(**common, model="m", provider="p", task_id="vgen_1"),
        JobStatusEvent(
            **common, task_id="vgen_1", status="processing", remote_status=None, elapsed=1
        ),
        JobDownloadEvent(**common, path=path, received=50, total=100),
        JobSavedEvent(**common, path=path, mime_type="video/mp4", size=100),
        JobDoneEvent(**common, task_id="vgen_1", paths=(path,), elapsed=2),
    ):
        display(event)
    display.close()
    assert display.saved == [path] and display.unfinished == {}
    assert "job_1" in capsys.readouterr().err


@pytest.mark.slow
def test_image_offline_runs_on_the_built_in_simulator(tmp_path: Path) -> None:
    result = run_cli("image", "a fox", "--offline", "-o", str(tmp_path / "fox.png"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "fox.png")
    with Image.open(tmp_path / "fox.png") as image:
        assert image.format == "PNG"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["video", "a fox", "--first-frame", "missing.png"], "first frame: no such file"),
        (["video", "a fox", "--last-frame", "data:image/png;base64,AA"], "data: URLs"),
        (["image", "a fox", "-o", "blocker/fox.png"], "is a file, not a folder"),
        (["video", "a fox", "-o", "blocker/clip.mp4"], "is a file, not a folder"),
        (["image", "--batch", "empty.txt"], "holds no prompt"),
        (["image", "a fox", "--batch", "empty.txt"], "not both"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_sends_nothing(
    fast_sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file where a folder should be")
    (tmp_path / "empty.txt").write_text("# nothing here\n\n")
    result = run_cli(*args, "--base-url", fast_sim.base_url)
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert fast_sim.state.requests == [] and _jobs() == []


# -- never overwrite, never-sent jobs, download caps (issue 15 "Media jobs", issue 16) -----


@pytest.mark.slow
def test_image_at_a_taken_path_saves_beside_it_and_says_so(fast_sim: Any, tmp_path: Path) -> None:
    target = tmp_path / "fox.png"
    target.write_bytes(b"keep me")
    args = ("image", "a fox", "--size", "64x64", "-o", str(target), "--base-url", fast_sim.base_url)
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "fox-1.png")
    assert f"{target} already exists" in result.stderr and "--overwrite" in result.stderr
    assert target.read_bytes() == b"keep me"
    replaced = run_cli(*args, "--overwrite", "--json")
    assert replaced.exit_code == 0, replaced.stderr
    assert ndjson(replaced.stdout)[-1]["paths"] == [str(target)]
    assert target.read_bytes()[:4] == b"\x89PNG" and replaced.stderr == ""


def _never_sent_job(base_url: str, tmp_path: Path) -> str:
    """A job journaled but never sent: what a crash between the two leaves."""

    async def journal_only() -> str:
        async with Gateway("alltoken", base_url=base_url, api_key=TEST_KEY) as gateway:
            record = await Media(gateway).images.create_job("a fox", size="64x64", save_to=tmp_path)
            return record.id

    return asyncio.run(journal_only())


@pytest.mark.slow
def test_jobs_list_marks_never_sent_jobs_and_names_an_empty_filter(
    fast_sim: Any, tmp_path: Path
) -> None:
    job_id = _never_sent_job(fast_sim.base_url, tmp_path)
    listed = run_cli("jobs", "list")
    assert listed.exit_code == 0 and job_id in listed.stdout and "never sent" in listed.stdout
    shown = run_cli("jobs", "show", job_id)
    assert shown.exit_code == 0 and f"jobs resume {job_id} --yes" in shown.stderr
    (row,) = ndjson(run_cli("jobs", "list", "--json").stdout)
    assert (row["id"], row["never_sent"]) == (job_id, True)
    empty = run_cli("jobs", "list", "--status", "pending")
    assert empty.exit_code == 0 and "no pending jobs" in empty.stderr
    assert "yet" not in empty.stderr
    none_yet = run_cli("jobs", "list", "--kind", "video")
    assert "no video jobs" in none_yet.stderr


@pytest.mark.slow
def test_jobs_resume_asks_before_sending_a_never_sent_job(fast_sim: Any, tmp_path: Path) -> None:
    job_id = _never_sent_job(fast_sim.base_url, tmp_path)
    refused = run_cli("jobs", "resume", "--base-url", fast_sim.base_url)  # no TTY, no --yes
    assert refused.exit_code == 2 and refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert "never sent" in line and f"jobs resume {job_id} --yes" in line
    assert f"jobs discard {job_id}" in line
    assert fast_sim.state.media.submits == {} and _jobs()[0].status == "submitting"
    sent = run_cli("jobs", "resume", job_id, "--yes", "--base-url", fast_sim.base_url)
    assert sent.exit_code == 0, sent.stderr
    assert Path(sent.stdout.strip()).is_file() and fast_sim.state.media.submits == {"image": 1}


@pytest.mark.slow
def test_jobs_discard_forgets_only_a_job_that_was_never_sent(fast_sim: Any, tmp_path: Path) -> None:
    job_id = _never_sent_job(fast_sim.base_url, tmp_path)
    made = run_cli("image", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url, "--json")
    paid = ndjson(made.stdout)[0]["job_id"]
    forgot = run_cli("jobs", "discard", job_id)
    assert forgot.exit_code == 0 and "forgot" in forgot.stderr
    kept = run_cli("jobs", "discard", paid)
    assert kept.exit_code == 2 and "may be paid for" in kept.stderr
    assert [job.id for job in _jobs()] == [paid]


@pytest.mark.slow
def test_video_past_the_configured_cap_stops_with_its_own_error(
    fast_sim: Any, tmp_path: Path, isolated_environment: Path
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG + "[media]\nmax_video_mb = 1\n")
    fast_sim.state.media.enqueue_job_faults(["huge:2"])
    result = run_cli("video", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url)
    assert result.exit_code == 1
    assert "result_too_large" in result.stderr and "max_video_mb" in result.stderr
    assert "expired" not in result.stderr and list(tmp_path.iterdir()) == []
    assert _jobs()[0].status == "pending"


@pytest.mark.slow
def test_video_with_a_file_url_result_is_refused_with_its_own_error(
    fast_sim: Any, tmp_path: Path
) -> None:
    fast_sim.state.media.enqueue_job_faults(["file_url"])
    result = run_cli("video", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url)
    assert result.exit_code == 1
    assert "unsafe_result_url" in result.stderr and "not http(s)" in result.stderr
    assert "expired" not in result.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
@pytest.mark.parametrize(("answer", "sent"), [("n", False), ("y", True)])
def test_jobs_resume_on_a_terminal_asks_before_sending_a_never_sent_job(
    fast_sim: Any, tmp_path: Path, answer: str, sent: bool
) -> None:
    """A real child on a pseudo-terminal: the question needs a TTY on stdin and stderr."""
    import pty

    job_id = _never_sent_job(fast_sim.base_url, tmp_path)
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "jobs", "resume", job_id,
         "--base-url", fast_sim.base_url],
        stdin=follower, stdout=subprocess.DEVNULL, stderr=follower, env=os.environ.copy(),
    )  # fmt: skip
    os.close(follower)
    seen = b""
    try:
        while b"send it now" not in seen:
            ready, _, _ = select.select([leader], [], [], 60)
            assert ready, f"no question within a minute: {seen!r}"
            seen += os.read(leader, 4096)
        os.write(leader, f"{answer}\n".encode())
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        os.close(leader)
    assert job_id.encode() in seen and b"billed" in seen
    assert fast_sim.state.media.submits == ({"image": 1} if sent else {})
    assert _jobs()[0].status == ("completed" if sent else "submitting")


@pytest.mark.slow
def test_image_moderation_flag_goes_into_the_create_request(fast_sim: Any, tmp_path: Path) -> None:
    result = run_cli(
        "image", "a red fox", "--size", "64x48", "--moderation", "low",
        "-o", str(tmp_path / "fox.png"), "--base-url", fast_sim.base_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    create = next(r for r in fast_sim.state.requests if r.method == "POST")
    assert create.path.startswith("/v1/images/generations")
    assert create.json["moderation"] == "low"


def test_image_moderation_outside_the_spec_is_exit_2(fast_sim: Any) -> None:
    result = run_cli("image", "a fox", "--moderation", "none", "--base-url", fast_sim.base_url)
    assert result.exit_code == 2
    assert fast_sim.state.requests == []


@pytest.mark.slow
@pytest.mark.parametrize("watermark", ["--watermark", "--no-watermark"])
def test_video_seed_watermark_and_callback_url_go_into_the_create_request(
    fast_sim: Any, tmp_path: Path, watermark: str
) -> None:
    result = run_cli(
        "video", "a fox", "--seed", "-42", watermark,
        "--callback-url", "https://example.com/hooks/video?x=1",
        "-o", str(tmp_path / "clip.mp4"), "--base-url", fast_sim.base_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    create = next(r for r in fast_sim.state.requests if r.path == "/v1/videos/generations")
    assert create.json["seed"] == -42
    assert create.json["watermark"] is (watermark == "--watermark")
    assert create.json["callback_url"] == "https://example.com/hooks/video?x=1"


@pytest.mark.slow
def test_video_without_the_new_flags_sends_none_of_their_fields(
    fast_sim: Any, tmp_path: Path
) -> None:
    result = run_cli(
        "video", "a fox", "-o", str(tmp_path / "clip.mp4"), "--base-url", fast_sim.base_url
    )
    assert result.exit_code == 0, result.stderr
    create = next(r for r in fast_sim.state.requests if r.path == "/v1/videos/generations")
    assert not {"seed", "watermark", "callback_url"} & set(create.json)


@pytest.mark.parametrize(
    "flags",
    [
        ["--seed", str(2**63)],
        ["--seed", str(-(2**63) - 1)],
        ["--seed", "1.5"],
        ["--callback-url", "ftp://example.com/hook"],
        ["--callback-url", "https://"],
        ["--callback-url", "example.com/hook"],
        ["--callback-url", "https://example.com:99999/hook"],
        ["--callback-url", "https://exa mple.com/hook"],
    ],
)
def test_video_bad_seed_or_callback_url_is_exit_2_before_any_request(
    fast_sim: Any, flags: list[str]
) -> None:
    result = run_cli("video", "a fox", *flags, "--base-url", fast_sim.base_url)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert fast_sim.state.requests == []


def test_video_callback_url_error_does_not_echo_the_value(fast_sim: Any) -> None:
    result = run_cli(
        "video", "a fox", "--callback-url", f"ftp://{TEST_KEY}@example.com/",
        "--base-url", fast_sim.base_url,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "http:// or https://" in result.stderr
    assert TEST_KEY not in result.stdout + result.stderr


@pytest.mark.slow
def test_image_batch_files_are_named_from_prompt_and_line(fast_sim: Any, tmp_path: Path) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("# foxes\nA red fox in the snow, at dawn\n\nÉté à Paris!\n???\n")
    out = tmp_path / "out"
    result = run_cli(
        "image", "--batch", str(batch), "-o", str(out), "--base-url", fast_sim.base_url, "--json"
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "002-a-red-fox-in-the.png", "004-ete-a-paris.png", "005-prompt.png",
    ]  # fmt: skip
    done = {e["line"]: e for e in ndjson(result.stdout) if e["event"] == "job:done"}
    assert done[2]["prompt"] == "A red fox in the snow, at dawn"
    assert done[2]["paths"] == [str(out / "002-a-red-fox-in-the.png")]
    assert done[4]["prompt"] == "Été à Paris!" and done[5]["prompt"] == "???"
    submitted = [e for e in ndjson(result.stdout) if e["event"] == "job:submitted"]
    assert sorted(e["line"] for e in submitted) == [2, 4, 5]


@pytest.mark.slow
def test_image_batch_name_taken_saves_beside_it(fast_sim: Any, tmp_path: Path) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("a fox\na cat\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "001-a-fox.png").write_bytes(b"mine")
    result = run_cli(
        "image", "--batch", str(batch), "-o", str(out), "--base-url", fast_sim.base_url
    )
    assert result.exit_code == 0, result.stderr
    assert (out / "001-a-fox.png").read_bytes() == b"mine"
    assert sorted(Path(line).name for line in result.stdout.splitlines()) == [
        "001-a-fox-1.png", "002-a-cat.png",
    ]  # fmt: skip
    assert "already exists" in result.stderr


@pytest.mark.slow
def test_video_batch_files_are_named_from_prompt_and_line(fast_sim: Any, tmp_path: Path) -> None:
    batch = tmp_path / "scenes.txt"
    batch.write_text("rain on a tin roof\nwaves\n")
    out = tmp_path / "clips"
    result = run_cli(
        "video", "--batch", str(batch), "-o", str(out), "--base-url", fast_sim.base_url, "--json"
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["001-rain-on-a-tin-roof.mp4", "002-waves.mp4"]
    done = [e for e in ndjson(result.stdout) if e["event"] == "job:done"]
    assert {(e["line"], e["prompt"]) for e in done} == {(1, "rain on a tin roof"), (2, "waves")}
    shown = run_cli("jobs", "show", done[0]["job_id"])
    assert f"save to:         {out}{os.sep}00" in shown.stdout and ".EXT (the ext" in shown.stdout


@pytest.mark.slow
def test_jobs_show_prints_readable_fields_not_reprs(fast_sim: Any, tmp_path: Path) -> None:
    made = run_cli("image", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url, "--json")
    job_id = ndjson(made.stdout)[0]["job_id"]
    shown = run_cli("jobs", "show", job_id)
    assert shown.exit_code == 0, shown.stderr
    assert "{" not in shown.stdout and "[" not in shown.stdout
    fields = dict(line.split(":", 1) for line in shown.stdout.splitlines())
    assert fields["job"].strip() == job_id and fields["status"].strip() == "completed"
    assert fields["prompt"].strip() == "a fox"
    assert fields["file"].strip().startswith(str(tmp_path / job_id)) and "bytes)" in fields["file"]
    assert fields["cost"].strip() == "unknown"  # media replies carry none: never 0
    assert "total_tokens=" in fields["usage"]
    (detail,) = ndjson(run_cli("jobs", "show", job_id, "--json").stdout)
    assert detail["params"]["prompt"] == "a fox"


@pytest.mark.slow
def test_jobs_show_names_the_error_of_a_failed_job(fast_sim: Any, tmp_path: Path) -> None:
    fast_sim.state.media.enqueue_job_faults(["fail"])
    made = run_cli("image", "a fox", "-o", str(tmp_path), "--base-url", fast_sim.base_url)
    assert made.exit_code == 1
    (job,) = _jobs()
    shown = run_cli("jobs", "show", job.id)
    assert shown.exit_code == 0, shown.stderr
    (error_line,) = [line for line in shown.stdout.splitlines() if line.startswith("error:")]
    assert job.error and job.error in error_line
    assert "{" not in shown.stdout  # no Python reprs of the params or result
    assert "status:" in shown.stdout and "failed" in shown.stdout


@pytest.mark.slow
def test_one_prompt_batch_is_named_in_a_folder_and_keeps_a_file_target(
    fast_sim: Any, tmp_path: Path
) -> None:
    batch = tmp_path / "one.txt"
    batch.write_text("\na lone fox\n")
    out = tmp_path / "out"
    named = run_cli("image", "--batch", str(batch), "-o", str(out), "--base-url", fast_sim.base_url)
    assert named.exit_code == 0, named.stderr
    assert [p.name for p in out.iterdir()] == ["002-a-lone-fox.png"]
    target = tmp_path / "fox.png"
    kept = run_cli(
        "image", "--batch", str(batch), "-o", str(target), "--base-url", fast_sim.base_url
    )
    assert kept.exit_code == 0, kept.stderr
    assert kept.stdout.strip() == str(target) and target.is_file()


@pytest.mark.slow
def test_a_json_reader_that_leaves_early_gets_no_traceback_and_the_image_is_saved(
    isolated_environment: Path, tmp_path: Path
) -> None:
    # `alltoken-agent image --json ... | head -1`: the pipe closes after the first event.
    out = tmp_path / "fox.png"
    env = {**os.environ, "ALLTOKEN_AGENT_HOME": str(isolated_environment)}
    command = [sys.executable, "-m", "alltoken_agent", "image", "--offline", "--json"]
    child = subprocess.Popen(
        [*command, "-o", str(out), "a red fox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()  # the reader is gone
    with child.stderr:
        stderr = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, stderr
    assert first.startswith(b"{")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    assert out.is_file()
