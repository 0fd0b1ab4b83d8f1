"""Video analyses run in the background, one at a time: a bounded queue, progress, and results that expire.
Owns VideoJobs, VideoJob, JobCounts, probe_video, VideoLimitError, QueueFullError and the job statuses.

Each job has a folder of its own under the jobs' root, holding the uploaded file and the analysis's outputs
(what ``train_cli.py analyze`` writes). One worker thread runs the jobs in order: an analysis already uses a
thread to decode and one to encode beside its own, so two at once would only share the same cores. A finished
job and its files are removed ``keep_s`` seconds after it ends, or when it is deleted; deleting a running job
stops its analysis at the next frame.
"""

from __future__ import annotations

import collections
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import av

from core.analysis.progress import Progress
from core.analysis.video_reader import VideoAnalysisError, VideoInfo, VideoReader

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
SOURCE_FOLDER, OUTPUT_FOLDER = "input", "out"
logger = logging.getLogger(__name__)

Analyze = Callable[[Path, Path, Callable[[Progress], None]], None]
"""``analyze(video, out_dir, progress)``: one file's analysis, writing its outputs into ``out_dir``."""


class QueueFullError(RuntimeError):
    """As many jobs are waiting as the queue holds."""


class VideoLimitError(ValueError):
    """A video longer, or with larger frames, than the limits allow."""


class _Stopped(Exception):
    """Raised inside an analysis whose job was deleted, or when the server stops."""


@dataclass
class VideoJob:
    id: str
    owner: str | None
    """Who submitted it (an API key's id); only the same caller sees it. None: no keys in use."""
    name: str
    folder: Path
    created: float
    """Seconds since the epoch."""
    status: str = QUEUED
    progress: Progress | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def source(self) -> Path:
        return self.folder / SOURCE_FOLDER / self.name

    @property
    def out_dir(self) -> Path:
        return self.folder / OUTPUT_FOLDER


class JobCounts(NamedTuple):
    queued: int
    running: int
    done: int
    failed: int


def probe_video(path: str | Path, max_seconds: float, max_pixels: int) -> VideoInfo:
    """The video's metadata once it is known to be readable and within the limits.

    The frame size and duration come from the header before any frame is decoded; then the first frame is
    decoded (:class:`VideoReader`). :class:`VideoAnalysisError` for a file that is no readable video,
    :class:`VideoLimitError` for one over the limits.
    """
    try:
        with av.open(str(path)) as container:
            if container.format.name == "image2" or container.format.name.endswith("_pipe"):
                raise VideoAnalysisError(f"an image ({container.format.long_name}), not a video")
            streams = container.streams.video
            if streams:
                width, height = streams[0].codec_context.width, streams[0].codec_context.height
                if width * height > max_pixels:
                    raise VideoLimitError(f"video frames too large: {width} x {height} pixels, the limit is "
                                          f"{max_pixels / 1e6:g} megapixels")
    except av.FFmpegError:
        pass  # the reader below names what is wrong
    with VideoReader(path) as reader:
        info = reader.info
    if info.duration_s is not None and info.duration_s > max_seconds:
        raise VideoLimitError(f"video too long: {info.duration_s:.1f} s, the limit is {max_seconds:g} s")
    return info


class VideoJobs:
    """The jobs: submit, look up, delete; a worker thread runs them (:meth:`start`, :meth:`close`)."""

    def __init__(self, root: str | Path, analyze: Analyze, max_queued: int = 8, keep_s: float = 3600.0,
                 max_seconds: float = float("inf"), clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.analyze = analyze
        self.max_queued = max_queued
        self.keep_s = keep_s
        self.max_seconds = max_seconds
        """Also checked while a job runs: a file whose header gives no duration is stopped when it passes it."""
        self._clock = clock
        self._lock = threading.Condition()
        self._jobs: dict[str, VideoJob] = {}
        self._waiting: collections.deque[VideoJob] = collections.deque()
        self._closing = False
        self._worker: threading.Thread | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._worker = threading.Thread(target=self._work, name="video-jobs", daemon=True)
        self._worker.start()

    def submit(self, upload: Path, name: str, owner: str | None = None) -> VideoJob:
        """Queue the analysis of ``upload`` (a file, moved into the job's folder as ``name``).

        :class:`QueueFullError` when ``max_queued`` jobs are waiting; the upload is then left where it is.
        """
        with self._lock:
            if len(self._waiting) >= self.max_queued:
                raise QueueFullError(f"{len(self._waiting)} videos are waiting, as many as the queue holds; "
                                     "try again later")
            job = VideoJob(secrets.token_urlsafe(12), owner, name, Path(), self._clock())
            job.folder = self.root / job.id
            job.source.parent.mkdir(parents=True)
            shutil.move(upload, job.source)
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._lock.notify_all()
        return job

    def get(self, job_id: str, owner: str | None = None) -> VideoJob | None:
        """The caller's job of that id; None if there is none (or it is another caller's)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job if job is not None and job.owner == owner else None

    def delete(self, job_id: str, owner: str | None = None) -> bool:
        """Remove the caller's job and its files (a running one stops first); False if there is no such job."""
        with self._lock:
            job = self.get(job_id, owner)
            if job is None:
                return False
            del self._jobs[job_id]
            if job in self._waiting:
                self._waiting.remove(job)
            job.stop.set()
            if job.status != RUNNING:  # the worker removes a running job's folder once its analysis stops
                shutil.rmtree(job.folder, ignore_errors=True)
            return True

    def counts(self) -> JobCounts:
        with self._lock:
            statuses = collections.Counter(job.status for job in self._jobs.values())
        return JobCounts(*(statuses[status] for status in STATUSES))

    def expire(self) -> int:
        """Remove finished jobs older than ``keep_s``; how many went."""
        now = self._clock()
        with self._lock:
            old = [job_id for job_id, job in self._jobs.items()
                   if job.finished is not None and now - job.finished > self.keep_s]
            for job_id in old:
                shutil.rmtree(self._jobs.pop(job_id).folder, ignore_errors=True)
        return len(old)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the worker: the running analysis stops at its next frame, queued jobs never start."""
        with self._lock:
            self._closing = True
            for job in self._jobs.values():
                job.stop.set()
            self._lock.notify_all()
        if self._worker is not None:
            self._worker.join(timeout)

    def _work(self) -> None:
        sweep_s = min(60.0, max(self.keep_s / 4, 0.05))
        while True:
            with self._lock:
                if not self._waiting and not self._closing:
                    self._lock.wait(sweep_s)
                if self._closing:
                    return
                job = self._waiting.popleft() if self._waiting else None
                if job is not None:
                    job.status, job.started = RUNNING, self._clock()
            if job is not None:
                self._run(job)
            self.expire()

    def _run(self, job: VideoJob) -> None:
        def progress(update: Progress) -> None:
            if job.stop.is_set():
                raise _Stopped
            if update.video_s > self.max_seconds:
                raise VideoLimitError(f"video too long: over the limit of {self.max_seconds:g} s")
            job.progress = update

        status, error = DONE, None
        try:
            self.analyze(job.source, job.out_dir, progress)
        except _Stopped:
            status, error = FAILED, "stopped: the job was deleted or the server stopped"
        except (VideoAnalysisError, VideoLimitError) as problem:
            status, error = FAILED, str(problem)
        except Exception as problem:  # a job's failure must not end the worker; the caller sees no traceback
            logger.exception("video job %s failed", job.id)
            status, error = FAILED, f"the analysis failed ({type(problem).__name__})"
        with self._lock:
            job.status, job.error, job.finished = status, error, self._clock()
            shutil.rmtree(job.folder / SOURCE_FOLDER, ignore_errors=True)  # the upload is no longer needed
            if job.id not in self._jobs:  # deleted while it ran
                shutil.rmtree(job.folder, ignore_errors=True)
