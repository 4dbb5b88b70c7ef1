"""`batch` runs one image or video job per line: files named from the prompt, in order.

The CLI runs in-process against the simulator; what went out is read from the
simulator's request log and its count of created (billed) tasks.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent.store import Store
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

KEY_ENV = {"ALLTOKEN_API_KEY": TEST_KEY}
PROMPTS = ["a red fox in snow", "a lighthouse at dusk", "a paper crane", "two owls", "a kite"]


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def outputs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def image_submits(sim: Any) -> list[Any]:
    """Every image create the simulator received (deduped repeats included)."""
    return [
        r
        for r in sim.state.requests
        if r.method == "POST" and r.path.startswith("/v1/images/generations")
    ]


def batch(sim: Any, *args: str) -> Any:
    return run_cli("batch", *args, "--base-url", sim.base_url, env=KEY_ENV)


@pytest.fixture(autouse=True)
def quick_jobs(sim: Any) -> None:
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1


@pytest.mark.slow
def test_five_image_lines_make_five_files_and_five_output_lines_in_order(
    sim: Any, tmp_path: Path, store_url: str | None
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [{"prompt": p, "id": f"p{n}", "size": "64x64"} for n, p in enumerate(PROMPTS, 1)],
    )
    out = tmp_path / "out.jsonl"
    pictures = tmp_path / "pictures"
    on = [] if store_url is None else ["--store", store_url]

    result = batch(
        sim, str(source), "-o", str(out), "--kind", "image", "--media-dir", str(pictures),
        "--concurrency", "3", *on,
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    lines = outputs(out)
    assert [o["line"] for o in lines] == [1, 2, 3, 4, 5]
    assert [o["id"] for o in lines] == ["p1", "p2", "p3", "p4", "p5"]
    assert all(o["kind"] == "image" and o["error"] is None for o in lines)
    assert [Path(o["files"][0]).name for o in lines] == [
        "001-a-red-fox-in-snow.png",
        "002-a-lighthouse-at-dusk.png",
        "003-a-paper-crane.png",
        "004-two-owls.png",
        "005-a-kite.png",
    ]
    for line in lines:
        with Image.open(line["files"][0]) as image:
            assert image.size == (64, 64)
        assert Decimal(line["cost"]) > 0  # the catalog's price per image
        assert line["usage"]["total_tokens"] > 0
    assert sorted(p.name for p in pictures.iterdir()) == [Path(o["files"][0]).name for o in lines]
    assert sim.state.media.submits == {"image": 5}
    assert sorted(r.json["prompt"] for r in image_submits(sim)) == sorted(PROMPTS)
    with Store(store_url) as store:  # each line's job is in the media journal, completed
        jobs = [store.media_jobs.get(o["job_id"]) for o in lines]
    assert all(job is not None and job.status == "completed" for job in jobs)
    assert "5 ok, 0 failed" in result.stderr

    again = batch(
        sim, str(source), "-o", str(out), "--kind", "image", "--media-dir", str(pictures), *on,
    )  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert outputs(out) == lines
    assert sim.state.media.submits == {"image": 5}  # nothing paid again


@pytest.mark.slow
def test_lines_of_mixed_kinds_run_each_as_it_says(sim: Any, tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            {"prompt": "[[reply hello]]"},
            {"kind": "image", "prompt": "a fox", "size": "64x64", "format": "webp"},
            {"kind": "video", "prompt": "a fox runs", "duration": 5},
            {"kind": "image", "prompt": "a fox", "size": "64x64", "colour": "red"},
            {"kind": "sound", "prompt": "a fox"},
        ],
    )
    out = tmp_path / "out.jsonl"

    result = run_cli(
        "batch", str(source), "-o", str(out), "--base-url", sim.base_url, "--tools", "none",
        env=KEY_ENV,
    )  # fmt: skip

    assert result.exit_code == 1, result.stderr
    chat, image, video, bad_key, bad_kind = outputs(out)
    assert chat["text"] == "hello" and "kind" not in chat
    assert image["files"] == [str(tmp_path / "002-a-fox.webp")]
    assert video["files"] == [str(tmp_path / "003-a-fox-runs.mp4")]
    assert Path(video["files"][0]).read_bytes()[4:8] == b"ftyp"
    assert bad_key["error"]["code"] == "invalid_line" and "colour" in bad_key["error"]["message"]
    assert bad_kind["error"]["code"] == "invalid_line" and "sound" in bad_kind["error"]["message"]
    assert sim.state.media.submits == {"image": 1, "video": 1}


@pytest.mark.slow
def test_a_line_the_job_refuses_fails_alone_and_nothing_is_sent(sim: Any, tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [{"prompt": "a fox", "size": "65x65"}, {"prompt": "an owl", "size": "64x64"}],
    )
    out = tmp_path / "out.jsonl"

    result = batch(sim, str(source), "-o", str(out), "--kind", "image")

    assert result.exit_code == 1, result.stderr
    refused, fine = outputs(out)
    assert refused["error"]["code"] == "invalid_line" and refused["job_id"] is None
    assert refused["files"] == [] and refused["cost"] is None
    assert fine["error"] is None and len(fine["files"]) == 1
    assert [r.json["prompt"] for r in image_submits(sim)] == ["an owl"]


@pytest.mark.slow
def test_a_budget_stops_media_lines_before_it_is_crossed(sim: Any, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"prompt": p, "size": "64x64"} for p in PROMPTS])
    out = tmp_path / "out.jsonl"

    # gpt-image-2 is $0.04 an image in the catalog: room for two, not three.
    result = batch(sim, str(source), "-o", str(out), "--kind", "image", "--budget", "0.10")

    assert result.exit_code == 7, result.stderr
    lines = outputs(out)
    assert [o["error"] for o in lines[:2]] == [None, None]
    assert [Decimal(o["cost"]) for o in lines[:2]] == [Decimal("0.04")] * 2
    assert [o["error"]["code"] for o in lines[2:]] == ["budget_exceeded"] * 3
    assert all(o["files"] == [] and o["cost"] is None and o["kind"] == "image" for o in lines[2:])
    assert sim.state.media.submits == {"image": 2}
    assert "3 not run (budget)" in result.stderr

    more = batch(sim, str(source), "-o", str(out), "--kind", "image", "--budget", "1")
    assert more.exit_code == 0, more.stderr
    assert all(o["error"] is None and len(o["files"]) == 1 for o in outputs(out))
    assert sim.state.media.submits == {"image": 5}  # the first two were not paid again


@pytest.mark.slow
def test_a_job_the_gateway_failed_is_submitted_anew_only_with_retry_failed(
    sim: Any, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"prompt": "a fox", "size": "64x64"}])
    out = tmp_path / "out.jsonl"
    sim.state.media.enqueue_job_faults(["fail"])

    failed = batch(sim, str(source), "-o", str(out), "--kind", "image")

    assert failed.exit_code == 1, failed.stderr
    [line] = outputs(out)
    assert line["error"]["status"] == "failed" and line["files"] == []
    assert line["job_id"] is not None
    kept = batch(sim, str(source), "-o", str(out), "--kind", "image")
    assert kept.exit_code == 1 and outputs(out) == [line]
    assert sim.state.media.submits == {"image": 1}

    retried = batch(sim, str(source), "-o", str(out), "--kind", "image", "--retry-failed")

    assert retried.exit_code == 0, retried.stderr
    [again] = outputs(out)
    assert again["error"] is None and len(again["files"]) == 1
    assert again["job_id"] != line["job_id"]  # a new job: the failed one is not polled again
    assert sim.state.media.submits == {"image": 2}


def test_a_key_echoed_on_a_media_submit_stops_new_lines_and_is_written_nowhere(
    sim: Any, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"prompt": p, "size": "64x64"} for p in PROMPTS])
    out = tmp_path / "out.jsonl"
    sim.state.enqueue_faults(["leak_key"])  # a 401 whose message and header echo the key

    result = batch(sim, str(source), "-o", str(out), "--kind", "image", "--concurrency", "1")

    assert result.exit_code == 3, result.stderr
    lines = outputs(out)
    assert lines[0]["error"]["code"] is not None and lines[0]["files"] == []
    assert [o["error"]["code"] for o in lines[1:]] == ["not_run"] * 4
    assert sim.state.media.submits == {}
    with Store() as store:
        journal = json.dumps([job.to_dict() for job in store.media_jobs.list_jobs()], default=str)
    for text in (out.read_text(), result.stderr, result.stdout, journal):
        assert TEST_KEY not in text


def test_an_unknown_kind_flag_is_one_line_and_exit_2(sim: Any, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"prompt": "a fox"}])

    result = batch(sim, str(source), "-o", str(tmp_path / "out.jsonl"), "--kind", "sound")

    assert result.exit_code == 2
    assert "--kind must be one of chat, image, video" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert sim.state.requests == []
