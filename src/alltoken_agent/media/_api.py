"""The one jobs API that images and videos share: journal, submit, poll, resume, batches.

``JobsAPI[ResultT]`` runs every step a job of either kind takes (journal it, lease it,
resume it without paying twice, run many at once); ``ImagesAPI`` and ``VideosAPI`` add
only what differs: their request fields, wire steps (``image_wire.py``,
``video_wire.py``) and result types.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypedDict, TypeVar

from alltoken_agent.errors import MediaJobError, UserError
from alltoken_agent.media._journal import Journal
from alltoken_agent.media._wire import Route
from alltoken_agent.media.files import check_target, is_folder, output_target
from alltoken_agent.media.policy import DownloadLimits, PollPolicy
from alltoken_agent.media.runner import ProgressCallback, Run
from alltoken_agent.store.media import MediaJobRecord, MediaKind

if TYPE_CHECKING:
    import os

    from alltoken_agent.gateway import Gateway

R = TypeVar("R")
ResultT = TypeVar("ResultT")
"""What a finished job of the API's kind returns (``ImageResult``, ``VideoResult``)."""


def check_prompt(prompt: str) -> None:
    """Refuse an empty prompt before anything is journaled or sent."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError("the prompt is empty: say what to generate")


def idempotency_key() -> str:
    """A fresh ``Idempotency-Key``: 32 hex digits, reused on every retry of one submit."""
    return f"ata-{secrets.token_hex(16)}"


async def run_many(
    work: Callable[[str], Awaitable[R]],
    prompts: Iterable[str],
    concurrency: int,
    save_to: str | os.PathLike[str] | None,
) -> list[R | Exception]:
    """Run ``work(prompt)`` for each prompt, ``concurrency`` at a time.

    One failure does not stop the others: each slot of the returned list, in input
    order, holds that prompt's result or the exception it raised. Cancellation
    (Ctrl-C) still stops everything, leaving unfinished jobs resumable.

    Raises:
        UserError: A bad ``concurrency``, or ``save_to`` names one file for many jobs or
            a folder that cannot be written.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise UserError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
    if save_to is not None and not is_folder(output_target(save_to)):
        raise UserError(f"a batch saves many files: save_to must be a folder, not {save_to}")
    check_target(output_target(save_to))  # once for all, rather than in every slot
    gate = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> R | Exception:
        async with gate:
            try:
                return await work(prompt)
            except Exception as error:  # returned in its slot, by design
                return error

    return list(await asyncio.gather(*(one(prompt) for prompt in prompts)))


class ResumeOptions(TypedDict, total=False):
    """How ``resume`` finishes a journaled job (see ``JobsAPI.resume``)."""

    on_progress: ProgressCallback | None
    poll: PollPolicy | None
    owner: str | None
    resubmit: bool
    limits: DownloadLimits | None
    holder: str | None


class JobsAPI(Generic[ResultT]):
    """Jobs of one kind on one gateway, journaled in one store; built by ``Media``."""

    kind: ClassVar[MediaKind]
    concurrency: ClassVar[int]
    """Jobs at once in ``generate_many`` when the call names no number."""

    def __init__(self, gateway: Gateway, journal: Journal) -> None:
        self.gateway = gateway
        self.journal = journal
        """Where the jobs are journaled (``Media``'s store)."""

    if TYPE_CHECKING:  # each kind has its own typed request fields

        async def generate(self, prompt: str, **options: Any) -> ResultT:
            """Run one job to the end (see the subclass)."""

    def default_policy(self) -> PollPolicy:
        """The poll policy used when a call passes none."""
        return PollPolicy.for_images() if self.kind == "image" else PollPolicy.for_videos()

    @property
    def dialect(self) -> str:
        """The gateway's media dialect: ``alltoken``, ``tokenhub`` or ``openai``."""
        return self.gateway.provider.dialect

    async def pending(self, *, owner: str | None = None) -> list[MediaJobRecord]:
        """``owner``'s jobs of this kind not finished yet, oldest first.

        Args:
            owner: Whose jobs: None is the local owner (the CLI's), a server passes its
                caller's id.
        """
        return await self.journal.unfinished(self.kind, owner=owner)

    async def generate_many(
        self, prompts: Iterable[str], *, concurrency: int | None = None, **options: Any
    ) -> list[ResultT | Exception]:
        """Run ``generate`` for each prompt, ``concurrency`` at a time.

        Returns, in input order, each prompt's result or the error it raised: one
        failing prompt does not sink the rest. ``save_to`` must be a folder.
        ``concurrency`` defaults to 4 image jobs or 2 video jobs at once.
        """
        save_to = options.pop("save_to", None)
        return await run_many(
            lambda p: self.generate(p, save_to=save_to, **options),
            prompts,
            self.concurrency if concurrency is None else concurrency,
            save_to,
        )

    async def resume(
        self,
        job_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        poll: PollPolicy | None = None,
        owner: str | None = None,
        resubmit: bool = False,
        limits: DownloadLimits | None = None,
        holder: str | None = None,
    ) -> ResultT:
        """Finish a journaled job of this kind: poll its task (never submitting it twice).

        A job the gateway never got is submitted now (a video's local frames are
        uploaded first). One whose submit was sent but whose answer was lost (a
        timeout, a dropped connection, a crash) may have been taken and billed: it is
        sent again only while the gateway dedupes it by the job's ``Idempotency-Key``
        (AllToken, 60 s), else refused unless ``resubmit``. A finished job returns its
        result; missing image files are fetched again from the durable copy. ``owner``
        is the job's owner (None: local), as given to ``generate``. ``holder`` is the
        lease holder to run as: a worker that leased the job when it took it from the
        queue passes its holder.

        Raises:
            UserError: No such job of this kind and owner in the journal.
            MediaJobError: As for ``generate``; or the job had already failed; or
                (code ``submit_unconfirmed``) its lost submit was not sent again.
        """
        record = await self._load(job_id, owner)
        run = self._run(record, poll, on_progress, resubmit=resubmit, limits=limits, holder=holder)
        return await self._drive(run, fresh=False)

    async def _start(
        self,
        record: MediaJobRecord,
        poll: PollPolicy | None,
        on_progress: ProgressCallback | None,
        limits: DownloadLimits | None,
    ) -> ResultT:
        """Run a job ``create_job`` just journaled to its end."""
        return await self._drive(self._run(record, poll, on_progress, limits=limits), fresh=True)

    async def _drive(self, run: Run, *, fresh: bool) -> ResultT:
        # One process at a time claims a job's one-time bytes, polls and downloads it.
        async with run.leased():
            return await self._steps(run, fresh=fresh)

    async def _submit(self, run: Run, route: Route, *, fresh: bool) -> float:
        """Submit the job unless the gateway has its task; return the first poll's delay.

        A fresh job waits about its model's median time before the first poll; a
        resumed one polls at once.
        """
        record = run.record
        if record.status != "submitting" and record.task_id:
            return 0.0
        if record.request is None:  # a video's local frames are not uploaded yet
            await self._prepare(run)
        await run.submit(route)
        if not fresh:
            return 0.0
        return run.policy.first_delay(await run.journal.median_seconds(self.kind, record.model))

    async def _prepare(self, run: Run) -> None:
        """Build the request body a job was journaled without (nothing to do by default)."""

    async def _steps(self, run: Run, *, fresh: bool) -> ResultT:
        """The kind's own wire steps, from wherever the journal says the job is."""
        raise NotImplementedError

    async def _create(
        self,
        prompt: str,
        model: str | None,
        options: Mapping[str, Any],
        *,
        save_to: str | os.PathLike[str] | None,
        owner: str | None,
        overwrite: bool,
        job_id: str | None,
    ) -> MediaJobRecord:
        """``create_job`` of either kind: check the job, journal it before anything is sent.

        The kind checks its options and builds what is journaled (``_request``). A job
        gets an ``Idempotency-Key`` where the gateway dedupes submits by one (AllToken).
        ``job_id`` is for a caller that recorded the id before journaling the job (a
        batch line), so a crash between the two cannot lose track of it.

        Raises:
            UserError: A bad prompt or option, or no file can be saved at ``save_to``
                (nothing is journaled).
        """
        check_prompt(prompt)
        model, params, request = self._request(prompt, model, options)
        target = output_target(save_to)
        check_target(target)
        # An offline simulator keeps its tasks in memory: marked so that a later run
        # neither resumes the job elsewhere nor sends a real key to its dead port.
        offline = self.gateway.offline_simulator is not None
        flags = {"offline": True} if offline else {}
        if overwrite:  # kept for a resume: the caller allowed replacing a file at the target
            flags["overwrite"] = True
        return await self.journal.create(
            owner=owner,
            kind=self.kind,
            provider=self.gateway.provider.name,
            dialect=self.dialect,
            base_url=self.gateway.base_url,
            model=model,
            params=dict(params),
            request=None if request is None else dict(request),
            output_path=target,
            idempotency_key=idempotency_key() if self.dialect == "alltoken" else None,
            result=flags,
            job_id=job_id,
        )

    def _request(
        self, prompt: str, model: str | None, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        """Check the kind's options; return the model, the journaled params, the body.

        The body is None when it can only be built at submit time (a video's local
        frames are uploaded first, by ``_prepare``).
        """
        raise NotImplementedError

    async def _load(self, job_id: str, owner: str | None = None) -> MediaJobRecord:
        """``owner``'s journaled job ``job_id`` (or with that task id), checked for this API.

        Raises:
            UserError: No such job (of this owner), or it is of the other kind or another
                dialect.
            MediaJobError: An unfinished job of an offline simulator that is gone (the
                job is journaled ``failed``).
        """
        record = await self.journal.find(job_id, owner=owner)
        if record is None:
            raise UserError(
                f"no media job {job_id!r} in the journal; `alltoken-agent jobs list` shows them"
            )
        if record.kind != self.kind:
            raise UserError(f"{job_id} is a {record.kind} job; resume it with media.{record.kind}s")
        orphan = record.result.get("offline") and record.base_url != self.gateway.base_url
        if orphan and not record.finished:  # its simulator is not the one answering now
            gone = await self.journal.finish(
                record.id, "failed", error_code="simulator_gone", error=OFFLINE_GONE
            )
            raise recorded_failure(gone)
        if record.dialect != self.dialect:
            raise UserError(
                f"{record.kind} job {record.id} was submitted to a {record.dialect} gateway "
                f"({record.provider}); resume it through the same provider, not "
                f"{self.gateway.provider.name} ({self.dialect})"
            )
        return record

    def _run(
        self,
        record: MediaJobRecord,
        policy: PollPolicy | None,
        on_progress: ProgressCallback | None,
        *,
        resubmit: bool = False,
        limits: DownloadLimits | None = None,
        holder: str | None = None,
    ) -> Run:
        return Run(
            self.gateway,
            self.journal,
            record,
            policy=policy or self.default_policy(),
            on_progress=on_progress,
            resubmit=resubmit,
            limits=limits,
            holder=holder,
        )


OFFLINE_GONE = (
    "was made on the offline simulator (--offline), which kept its task in memory and has "
    "stopped since; nothing was paid for: run the prompt again"
)


def recorded_failure(record: MediaJobRecord) -> MediaJobError:
    """The error of a job the journal says ended without a result (no request is made)."""
    reason = record.error or f"ended {record.status}"
    task = f" (task {record.task_id})" if record.task_id else ""
    return MediaJobError(
        f"{record.kind} job {record.id}{task} {reason}",
        job_id=record.id,
        status=record.status,
        code=record.error_code,
    )
