"""A video's analysis for the Video page: run analyze_recording in a temporary folder and keep only the bytes.
Owns VideoResult, analyse_video and progress_text (the progress bar's caption).

Nothing stays on the server's disk: the upload and the four outputs live in a
``tempfile.TemporaryDirectory`` that is deleted as soon as the files are read back.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from core.analysis.progress import Progress
from core.analysis.recording import ANNOTATED_MP4, FRAMES_CSV, SUMMARY_JSON, analyze_recording
from core.analysis.tracked import frame_analyzer
from core.model.classifier import EmotionClassifier
from core.vision.faces import make_detector
from core.vision.track import PersonTracker


class VideoResult(NamedTuple):
    """One analysis, held in memory: the summary and the three downloadable files."""

    name: str
    summary: dict
    """summary.json's content (see :meth:`core.analysis.recording.RecordingSummary.to_dict`)."""
    frames_csv: bytes
    summary_json: bytes
    annotated_mp4: bytes

    @property
    def stem(self) -> str:
        return Path(self.name).stem or "video"


def analyse_video(
    data: bytes,
    name: str,
    classifier: EmotionClassifier,
    every: int = 1,
    progress: Callable[[Progress], None] | None = None,
) -> VideoResult:
    """Analyse the video file ``data`` as ``train_cli.py analyze`` does; raises ``VideoAnalysisError`` for bad input."""
    safe_name = re.sub(r"[^\w.-]", "_", Path(name).name) or "video"
    analyze_frame = frame_analyzer(classifier, make_detector(video=True), PersonTracker())
    with tempfile.TemporaryDirectory(prefix="fer-video-") as folder:
        source, out = Path(folder) / safe_name, Path(folder) / "out"
        source.write_bytes(data)
        analyze_recording(source, out, analyze_frame, every=every, progress=progress)
        summary = {**json.loads((out / SUMMARY_JSON).read_text()), "source": safe_name}  # not the temporary path
        result = VideoResult(
            name=safe_name,
            summary=summary,
            frames_csv=(out / FRAMES_CSV).read_bytes(),
            summary_json=json.dumps(summary, indent=2).encode(),
            annotated_mp4=(out / ANNOTATED_MP4).read_bytes(),
        )
    return result


def progress_text(progress: Progress) -> str:
    """'42 frames · 3.1 s of 10.0 s · 2.4x real time · about 0:03 left'."""
    parts = [f"{progress.frames_decoded} frames", f"{progress.video_s:.1f} s"
             + (f" of {progress.duration_s:.1f} s" if progress.duration_s else "")]
    parts.append(f"{progress.speed:.1f}x real time")
    if progress.eta_s is not None:
        minutes, seconds = divmod(round(progress.eta_s), 60)
        parts.append(f"about {minutes}:{seconds:02d} left")
    return " · ".join(parts)
