"""When to poll a media job: a first delay sized from history, then backoff with jitter.

docs/wire-format.md §1.12: gpt-image-2 takes 15-60 s, seedance videos 30 s to 5 min, and the
recommended poll interval is 2 s for images (or the server's ``next_poll_after_ms`` /
``Retry-After``) and 3 s for videos. Polling at once and then every 2 s wastes most of
the first polls, so the first one waits for a fraction of the median time this model's
earlier jobs took (from the journal); after that the delay grows by ``backoff`` up to
``interval``, with jitter so a batch of jobs does not poll in lockstep. A server hint
always wins over our own guess (moved only later, by the same jitter).

Tests inject a fast policy: ``PollPolicy(initial=0.01, interval=0.05)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# A generator of our own: jitter must not move the global ``random`` state, which the
# application (or a test framework in another thread, such as Hypothesis) may rely on.
_random = random.Random()


@dataclass(frozen=True)
class PollPolicy:
    """How often and how long to poll one media job.

    Example:
        ```python
        fast = PollPolicy(initial=0.05, interval=0.5, deadline=60)
        result = await Media(gateway).images.generate("a fox", poll=fast)
        ```
    """

    interval: float = 2.0
    """Longest wait between two polls, in seconds (the cap of the backoff)."""
    initial: float = 0.5
    """Wait before the first poll when this model has no completed job in the journal."""
    history_scale: float = 0.8
    """The first poll waits this fraction of the model's median completion time."""
    max_first_delay: float = 120.0
    """Upper bound of a first delay taken from history."""
    backoff: float = 1.5
    """Each wait is this many times the previous one, up to ``interval``."""
    jitter: float = 0.1
    """Each wait is moved by up to this fraction, up or down, at random."""
    min_delay: float = 0.01
    """Shortest wait, whatever a hint or the history says."""
    max_hint: float = 300.0
    """A server hint longer than this is capped (a broken header must not hang a job)."""
    deadline: float | None = 600.0
    """Seconds after which waiting stops and the job stays pending; None waits forever."""

    @classmethod
    def for_images(cls) -> PollPolicy:
        """Defaults for images: 2 s between polls at most, 10 minutes in all."""
        return cls(interval=2.0, initial=0.5, deadline=600.0)

    @classmethod
    def for_videos(cls) -> PollPolicy:
        """Defaults for videos: 3 s between polls at most, 30 minutes in all."""
        return cls(interval=3.0, initial=1.0, deadline=1800.0)

    def first_delay(self, median_seconds: float | None) -> float:
        """The wait before the first poll, from the model's median completion time."""
        if median_seconds is None:
            return self._bounded(self._jittered(self.initial))
        guess = min(median_seconds * self.history_scale, self.max_first_delay)
        return self._bounded(self._jittered(guess))

    def next_delay(self, previous: float, hint: float | None = None) -> float:
        """The wait before the next poll, given the last wait and the server's hint."""
        if hint is not None:
            # Jitter only upwards: never earlier than asked, yet a batch whose jobs all
            # got the same hint does not come back in one burst.
            spread = _random.uniform(1, 1 + self.jitter) if self.jitter > 0 else 1.0
            return self._bounded(min(hint, self.max_hint) * spread)
        grown = max(previous, self.min_delay) * self.backoff
        return self._bounded(self._jittered(min(grown, self.interval)))

    def _jittered(self, seconds: float) -> float:
        if self.jitter <= 0:
            return seconds
        return seconds * _random.uniform(1 - self.jitter, 1 + self.jitter)

    def _bounded(self, seconds: float) -> float:
        return max(self.min_delay, seconds)


MIB = 1024 * 1024


@dataclass(frozen=True)
class DownloadLimits:
    """The largest result file a job downloads, per kind (config ``[media]``).

    A result link is the gateway's to choose, so its size is too: a download stops as
    soon as it passes the cap (before reading, when ``Content-Length`` already says so).

    Example:
        ```python
        small = DownloadLimits(image_bytes=8 * MIB, video_bytes=256 * MIB)
        result = await Media(gateway).videos.generate("a fox", limits=small)
        ```
    """

    image_bytes: int = 64 * MIB
    """Largest image (and a video's last frame)."""
    video_bytes: int = 2048 * MIB
    """Largest video file."""

    @classmethod
    def from_megabytes(cls, image_mb: float, video_mb: float) -> DownloadLimits:
        """Limits from the config's ``max_image_mb`` and ``max_video_mb`` (MiB)."""
        return cls(image_bytes=int(image_mb * MIB), video_bytes=int(video_mb * MIB))

    def for_mime(self, mime_type: str) -> int:
        """The cap for a file of this MIME type (a video's, or else an image's)."""
        return self.video_bytes if mime_type.startswith("video/") else self.image_bytes
