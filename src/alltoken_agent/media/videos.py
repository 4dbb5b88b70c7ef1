"""``media.videos``: video jobs, journaled, polled, and streamed to disk before the link dies."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alltoken_agent.errors import ConflictError, GatewayError, MediaJobError, UserError
from alltoken_agent.media._api import JobsAPI, recorded_failure
from alltoken_agent.media._wire import call, json_body
from alltoken_agent.media.policy import DownloadLimits, PollPolicy
from alltoken_agent.media.results import VideoResult, VideoTask, stored_files, video_result
from alltoken_agent.media.runner import ProgressCallback, Run, refused
from alltoken_agent.media.saving import deliver_video
from alltoken_agent.media.uploads import check_image_file, is_url, upload_image
from alltoken_agent.media.video_wire import (
    ALLTOKEN_ROUTE,
    alltoken_body,
    read_video,
    tokenhub_body,
    tokenhub_route,
    video_task,
)
from alltoken_agent.store.media import MediaJobRecord

DEFAULT_VIDEO_MODELS = {"alltoken": "seedance-1.5-pro", "tokenhub": "happyhorse-1.0-t2v"}
Frame = str | os.PathLike[str]
"""A frame or reference image: a local file (uploaded) or an http(s)/``asset://`` URL."""


class VideosAPI(JobsAPI[VideoResult]):
    """Video generation and tasks; reached as ``Media(gateway).videos``.

    Example:
        ```python
        async with Gateway() as gateway:
            result = await Media(gateway).videos.generate(
                "a fox runs through snow", duration=5, first_frame="fox.png", save_to="out/"
            )
            print(result.path)
        ```
    """

    kind = "video"
    concurrency = 2

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        duration: int | None = None,
        ratio: str | None = None,
        resolution: str | None = None,
        generate_audio: bool | None = None,
        seed: int | None = None,
        watermark: bool | None = None,
        callback_url: str | None = None,
        first_frame: Frame | None = None,
        last_frame: Frame | None = None,
        reference_images: Sequence[Frame] = (),
        save_to: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        poll: PollPolicy | None = None,
        owner: str | None = None,
        overwrite: bool = False,
        limits: DownloadLimits | None = None,
        **extra: Any,
    ) -> VideoResult:
        """Generate a video, stream it to disk, and return where it is.

        Args:
            prompt: What should happen.
            model: Defaults to seedance-1.5-pro (AllToken) or happyhorse-1.0-t2v (TokenHub).
            duration: Seconds (model ranges in §1.9; -1 lets the model pick).
            ratio: ``16:9``, ``9:16``, ``4:3``, ``3:4``, ``21:9``, ``1:1`` or ``adaptive``.
            resolution: ``480p``, ``720p`` or ``1080p``.
            generate_audio: Ask for a soundtrack.
            seed: Reproducibility seed.
            watermark: Ask for (or against) the provider's watermark.
            callback_url: The gateway calls it when the task ends.
            first_frame: Image the video starts from: a local file (uploaded) or a URL.
            last_frame: Image the video ends on.
            reference_images: Images the video should resemble.
            save_to: A file path or a folder (``JOB_ID.mp4`` inside); default: here.
            on_progress: Called with each ``JobEvent`` (downloads report bytes).
            poll: How often and how long to poll (``PollPolicy.for_videos()``).
            owner: Whose job this is in the journal: None is the local owner (what
                ``alltoken-agent jobs`` lists); a server passes its caller's id, and
                then only that owner finds, resumes or cancels the job.
            overwrite: Replace a file already at ``save_to``; by default the result
                goes to a free name beside it (``fox-1.png``) and ``job:saved`` says so.
            limits: The largest result file to download (``DownloadLimits()``).
            **extra: Other create fields, sent as given (``return_last_frame``,
                ``service_tier``, ``camera_fixed``, ``output_format``, ...).

        Raises:
            UserError: Bad input (a missing or unsupported frame file) before any request.
            MediaJobError: The job failed, expired or was cancelled (journaled so), or it
                is still running at the deadline (left ``pending``: resumable).
        """
        record = await self.create_job(
            prompt,
            model=model,
            duration=duration,
            ratio=ratio,
            resolution=resolution,
            generate_audio=generate_audio,
            seed=seed,
            watermark=watermark,
            callback_url=callback_url,
            first_frame=first_frame,
            last_frame=last_frame,
            reference_images=reference_images,
            save_to=save_to,
            owner=owner,
            overwrite=overwrite,
            **extra,
        )
        return await self._start(record, poll, on_progress, limits)

    async def create_job(
        self,
        prompt: str,
        *,
        model: str | None = None,
        duration: int | None = None,
        ratio: str | None = None,
        resolution: str | None = None,
        generate_audio: bool | None = None,
        seed: int | None = None,
        watermark: bool | None = None,
        callback_url: str | None = None,
        first_frame: Frame | None = None,
        last_frame: Frame | None = None,
        reference_images: Sequence[Frame] = (),
        save_to: str | os.PathLike[str] | None = None,
        owner: str | None = None,
        overwrite: bool = False,
        job_id: str | None = None,
        **extra: Any,
    ) -> MediaJobRecord:
        """Check the input and journal a video job (``submitting``) without sending it.

        For callers that answer before the job ends, such as a server returning the
        job id at once: ``resume(job.id, owner=...)`` then uploads local frames,
        submits and finishes it, and a crash before that leaves a job that
        ``alltoken-agent jobs resume`` picks up. The arguments are those of
        :meth:`generate`, and ``job_id`` (see ``images.create_job``).

        Raises:
            UserError: Bad input; nothing is journaled.
        """
        options = {
            "duration": duration,
            "ratio": ratio,
            "resolution": resolution,
            "generate_audio": generate_audio,
            "seed": seed,
            "watermark": watermark,
            "callback_url": callback_url,
            **extra,
        }
        frames = [("first_frame", first_frame), ("last_frame", last_frame)]
        frames += [("reference_image", image) for image in reference_images]
        options["frames"] = [(role, value) for role, value in frames if value is not None]
        return await self._create(
            prompt, model, options, save_to=save_to, owner=owner, overwrite=overwrite, job_id=job_id
        )

    def _request(
        self, prompt: str, model: str | None, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        model = model or self._default_model()
        given: builtins.list[tuple[str, Frame]] = options["frames"]
        if given and self.dialect != "alltoken":
            raise UserError("TokenHub's text-to-video models take no frames or reference images")
        for role, value in given:  # every local file is checked before any request
            if not is_url(value):
                check_image_file(value, role.replace("_", " "))
        params = {k: v for k, v in options.items() if v is not None and k != "frames"}
        params["prompt"] = prompt
        params["frames"] = [{"role": role, "source": os.fspath(value)} for role, value in given]
        local = any(not is_url(value) for _, value in given)
        # Local frames are uploaded after the job is journaled; links go in as they are.
        request = None if local else self._body(model, params, _links(params["frames"]))
        return model, params, request

    async def get(
        self, task_id: str, *, model: str | None = None, owner: str | None = None
    ) -> VideoTask:
        """The task as the gateway reports it now (a journal job id of ``owner`` works too).

        TokenHub needs the task's model; it is taken from the journal when known.
        """
        record = await self.journal.find(task_id, owner=owner)
        if record is not None and record.task_id:
            task_id, model = record.task_id, model or record.model
        if self.dialect == "alltoken":
            response = await call(self.gateway, "GET", f"videos/generations/{task_id}")
        elif self.dialect == "tokenhub":
            if model is None:
                raise UserError("TokenHub polls need the task's model: pass model=")
            route = tokenhub_route(model)
            url = route.poll_path.format(task_id=task_id)
            response = await call(self.gateway, "GET", url, params=route.poll_params)
        else:
            raise self._unsupported()
        return video_task(json_body(response))

    async def cancel(self, task_id: str, *, owner: str | None = None) -> VideoTask:
        """Cancel a queued or processing task (AllToken); the journal says ``cancelled``.

        ``task_id`` may be a journal job id of ``owner`` (None: local), whose row then
        follows.

        Raises:
            MediaJobError: The task already finished (409), or the gateway has no cancel.
        """
        if self.dialect != "alltoken":
            raise UserError(f"{self.gateway.provider.name} has no way to cancel a video task")
        record = await self.journal.find(task_id, owner=owner)
        remote = record.task_id if record is not None and record.task_id else task_id
        try:
            response = await call(self.gateway, "POST", f"videos/generations/{remote}/cancel")
        except ConflictError as error:
            raise MediaJobError(
                f"video task {remote} cannot be cancelled: {error.message}"
            ) from error
        task = video_task(json_body(response))
        if record is not None and not record.finished:
            await self.journal.finish(
                record.id, "cancelled", error_code="cancelled", error="was cancelled"
            )
        return task

    async def list(self, *, limit: int = 20, status: str | None = None) -> builtins.list[VideoTask]:
        """The key's recent video tasks on the gateway, newest first (AllToken)."""
        if self.dialect != "alltoken":
            raise UserError(
                "only AllToken lists video tasks; `alltoken-agent jobs list` shows ours"
            )
        params = {"limit": str(limit), **({"status": status} if status else {})}
        response = await call(self.gateway, "GET", "videos/generations", params=params)
        items = json_body(response).get("items") or []
        return [video_task(item) for item in items if isinstance(item, dict)]

    def _default_model(self) -> str:
        if self.dialect not in DEFAULT_VIDEO_MODELS:
            raise self._unsupported()
        return DEFAULT_VIDEO_MODELS[self.dialect]

    def _unsupported(self) -> UserError:
        return UserError(
            f"video generation needs an AllToken or TokenHub gateway; provider "
            f"{self.gateway.provider.name!r} speaks the plain OpenAI dialect"
        )

    def _body(
        self, model: str, params: dict[str, Any], content: builtins.list[dict[str, Any]]
    ) -> dict[str, Any]:
        options = {k: v for k, v in params.items() if k not in ("prompt", "frames")}
        if self.dialect == "alltoken":
            return alltoken_body(model, params["prompt"], options, content)
        if self.dialect == "tokenhub":
            return tokenhub_body(model, params["prompt"], options)
        raise self._unsupported()

    async def _prepare(self, run: Run) -> None:
        """Upload local frames and journal the final body (also on resume after a crash)."""
        record = run.record
        content: builtins.list[dict[str, Any]] = []
        for frame in record.params.get("frames") or ():
            role, source = frame["role"], frame["source"]
            if is_url(source):
                content += _links([frame])
                continue
            image = check_image_file(source, role.replace("_", " "))
            try:
                upload_id = await upload_image(self.gateway, image, "video_input_image")
            except GatewayError as error:
                reason = f"could not upload {image.path}: {error}"
                if refused(error):  # e.g. 413 payload_too_large: trying again cannot help
                    raise await run.fail("failed", reason, code=error.code, cause=error) from error
                raise run.pending_error(reason, error) from error
            content.append({"type": "image", "upload_id": upload_id, "role": role})
        await run.update(request=self._body(record.model, record.params, content))

    async def _steps(self, run: Run, *, fresh: bool) -> VideoResult:
        record = run.record
        if record.status == "completed":
            files = stored_files(record)
            if files is not None:
                return video_result(record, files)
            run.unobserved()
        elif record.finished:
            raise recorded_failure(record)
        route = ALLTOKEN_ROUTE if self.dialect == "alltoken" else tokenhub_route(record.model)
        first_delay = await self._submit(run, route, fresh=fresh)
        data, state = await run.poll(route, read_video, first_delay=first_delay)
        if state.status != "completed":
            raise await run.ended(state)
        return await run.protect(deliver_video(run, data, state))


def _links(frames: Iterable[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
    """Content items for frames given as links (§1.9 ``image_url`` items with a role)."""
    return [
        {"type": "image_url", "image_url": {"url": frame["source"]}, "role": frame["role"]}
        for frame in frames
    ]
