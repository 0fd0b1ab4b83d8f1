"""What one batch worker does: load the model once, then analyse one video file per call into its folder.
Owns BatchSettings, VideoJob, VideoAnalyst and the outcome statuses (DONE, FAILED, SKIPPED, PENDING).

The same :class:`VideoAnalyst` runs in this process or as a Ray actor (:mod:`core.analysis.batch`), so both
give the same rows. It is built from a small, picklable :class:`BatchSettings` and builds the classifier
itself: model objects never travel between processes, and on a model with its LiteRT file shipped beside it
no TensorFlow is imported. A file that cannot be analysed comes back as a ``failed`` outcome with the
reason; only the death of the worker itself escapes a call.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from core.analysis.progress import Progress
from core.analysis.recording import RecordingSummary
from core.analysis.video_file import analyze_video_file, model_fingerprint
from core.analysis.video_reader import MAX_SIDE, VideoAnalysisError
from core.model.classifier import EmotionClassifier, ModelLoadError, default_model_path
from core.model.registry import resolve_model_path
from core.vision import DETECTORS

DONE, FAILED, SKIPPED, PENDING = "done", "failed", "skipped", "pending"
CONTENT, WORKER, ERROR = "content", "worker", "error"
"""Why a file failed: its content (a rerun skips it while it is unchanged), a worker that died, or anything else."""


@dataclass(frozen=True)
class BatchSettings:
    """Everything a worker needs to build its analysis: small, picklable, the same on every machine."""

    model: str
    """The model file; relative to the working folder when it lies inside it, so a copy on each machine serves."""
    model_sha256: str
    """:func:`core.analysis.video_file.model_fingerprint` of the model as the batch's driver sees it."""
    detector: str = DETECTORS[0]
    every: int = 1
    max_side: int = MAX_SIDE

    @classmethod
    def make(cls, model: str | None = None, detector: str = DETECTORS[0], every: int = 1,
             max_side: int = MAX_SIDE) -> BatchSettings:
        """Settings for a model name or path (default: the product's model); raises ModelLoadError if it is missing."""
        path = resolve_model_path(model) if model else default_model_path()
        if not path.is_file():
            raise ModelLoadError(f"model file not found: {path}")
        if detector not in DETECTORS:
            raise ValueError(f"unknown detector {detector!r}; choose one of {', '.join(DETECTORS)}")
        if every < 1:
            raise ValueError(f"every must be 1 or more, got {every}")
        path = path.resolve()
        shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
        return cls(str(shown), model_fingerprint(path), detector, every, max_side)

    def fingerprint(self) -> dict:
        """What the outputs depend on besides the video: a folder made with other settings is analysed again."""
        return {"model": Path(self.model).name, "model_sha256": self.model_sha256, "detector": self.detector,
                "every": self.every, "max_side": self.max_side}


@dataclass(frozen=True)
class VideoJob:
    source: str
    """Absolute path of the video file."""
    out_dir: str
    """The folder its outputs go to (replaced whole when they are done)."""
    name: str
    attempt: int = 1

    def again(self) -> VideoJob:
        return replace(self, attempt=self.attempt + 1)


class VideoAnalyst:
    """One worker: the model loaded once, then :meth:`analyze` per file, in order."""

    def __init__(self, settings: BatchSettings) -> None:
        self.settings = settings
        found = model_fingerprint(settings.model)
        if found != settings.model_sha256:
            raise ModelLoadError(f"{settings.model} on this machine ({os.uname().nodename}) is not the model the "
                                 f"batch was started with: every machine needs the same model file")
        self.classifier = EmotionClassifier.load(settings.model)

    def ready(self) -> dict:
        """The worker's process, once its model is loaded (Ray waits for this before handing out files)."""
        return {"pid": os.getpid(), "node": os.uname().nodename, "backend": self.classifier.backend,
                "tensorflow": "tensorflow" in sys.modules}

    def peak_rss_mb(self) -> float:
        """This worker process's peak resident memory so far, in MiB."""
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)

    def analyze(self, job: VideoJob, progress: Callable[[Progress], None] | None = None) -> dict:
        """The file's outcome: ``done`` with its figures, or ``failed`` with the reason."""
        started = time.perf_counter()
        settings = self.settings
        if not Path(job.source).is_file():  # listed by the driver, so on storage this machine does not share
            return failed(f"not found on {os.uname().nodename}: every machine must see the videos at the same path",
                          ERROR, time.perf_counter() - started, job.attempt)
        try:
            summary = analyze_video_file(job.source, job.out_dir, self.classifier, settings.detector, settings.every,
                                         settings.max_side, progress, settings.fingerprint())
        except VideoAnalysisError as error:
            return failed(str(error), CONTENT, time.perf_counter() - started, job.attempt)
        except Exception as error:  # one file's failure must not end the batch
            return failed(f"{type(error).__name__}: {error}", ERROR, time.perf_counter() - started, job.attempt)
        return done(summary, time.perf_counter() - started, job.attempt)


def done(summary: RecordingSummary, seconds: float, attempt: int = 1) -> dict:
    return {**figures(summary.to_dict()), "status": DONE, "seconds": round(seconds, 3), "attempts": attempt}


def figures(summary: dict) -> dict:
    """What batch.json lists of a finished video, from its summary.json."""
    analysis = summary["analysis"]
    return {
        "duration_s": summary["video"]["duration_s"],
        "video_seconds": analysis["video_seconds"],
        "frames": analysis["frames_decoded"],
        "frames_analysed": analysis["frames_analysed"],
        "people": len(summary["people"]),
    }


def failed(reason: str, kind: str, seconds: float = 0.0, attempt: int = 1) -> dict:
    return {"status": FAILED, "reason": reason, "kind": kind, "seconds": round(seconds, 3), "attempts": attempt}
