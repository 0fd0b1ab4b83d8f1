"""Analyse a video file in one streamed pass: frames.csv, summary.json, annotated.mp4 and timeline.png.
Owns analyze_recording, RecordingSummary and the output files' names and CSV columns.

Each frame is decoded, analysed (every ``every``-th one), drawn on and encoded, in order, on three
threads: the reader decodes ahead and, for an analyser that has a detection step (``find``), detects
there too; tracking, classification, drawing and the rows of frames.csv run here; the writer encodes.
annotated.mp4 holds every decoded frame: with ``every`` > 1 the frames between two analysed ones show
the last analysed boxes.
Nothing grows with the video's length but the per-person totals. A file that breaks mid-way
keeps everything analysed up to the break, and summary.json says ``complete: false`` with the reason.

Geometry: frames above :data:`~core.analysis.video_reader.MAX_SIDE` px are shrunk for the
analysis, and annotated.mp4 is written at that analysed size (encoding 4K would cost more than
the whole analysis); frames.csv's boxes are in pixels of the upright source video.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.analysis.annotate import draw_people
from core.analysis.progress import Progress
from core.analysis.timeline import EmotionTimeline, PersonSummary
from core.analysis.tracked import FrameAnalyzer, TrackedFace
from core.analysis.video_reader import MAX_SIDE, DecodedFrame, VideoAnalysisError, VideoInfo, VideoReader
from core.analysis.video_writer import H264Writer
from core.labels import FER2013

FACE_COLUMNS = ("frame", "time_s", "person", "x", "y", "w", "h", "emotion", "confidence")
"""frames.csv's columns before one probability column per emotion of the model."""
FRAMES_CSV, SUMMARY_JSON, ANNOTATED_MP4, TIMELINE_PNG = "frames.csv", "summary.json", "annotated.mp4", "timeline.png"


@dataclass(frozen=True)
class RecordingSummary:
    source: str
    video: VideoInfo
    every: int
    frames_decoded: int
    frames_analysed: int
    video_seconds: float
    """Seconds of video decoded (to the end of the last frame)."""
    wall_seconds: float
    complete: bool
    """False where the file broke off before its end; the results cover what came before."""
    error: str | None
    people: list[PersonSummary]

    @property
    def speed(self) -> float:
        """Seconds of video per wall-clock second (x real time)."""
        return self.video_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict:
        video = self.video
        return {
            "source": self.source,
            "complete": self.complete,
            "error": self.error,
            "video": {
                "codec": video.codec,
                "width": video.width,
                "height": video.height,
                "rotation": video.rotation,
                "fps": video.fps,
                "duration_s": video.duration_s,
                "frames_in_header": video.frames,
            },
            "analysis": {
                "width": video.analysis_width,
                "height": video.analysis_height,
                "every": self.every,
                "frames_decoded": self.frames_decoded,
                "frames_analysed": self.frames_analysed,
                "video_seconds": round(self.video_seconds, 3),
                "wall_seconds": round(self.wall_seconds, 3),
                "speed_x_real_time": round(self.speed, 2),
                "boxes": "frames.csv: pixels of the upright source video; annotated.mp4: the analysed size",
            },
            "people": [person.to_dict() for person in self.people],
        }


def csv_columns(emotions: tuple[str, ...]) -> tuple[str, ...]:
    """frames.csv's header for a model predicting ``emotions``."""
    return (*FACE_COLUMNS, *emotions)


def analyze_recording(
    source_path: str | Path,
    out_dir: str | Path,
    analyze_frame: FrameAnalyzer,
    every: int = 1,
    progress: Callable[[Progress], None] | None = None,
    max_side: int = MAX_SIDE,
) -> RecordingSummary:
    """Analyse every ``every``-th frame of the video with ``analyze_frame``; write the four outputs into ``out_dir``.

    Raises :class:`VideoAnalysisError` when the file has no readable video at all (nothing is
    written then); a file that breaks mid-way returns a summary with ``complete`` False.
    """
    if every < 1:
        raise ValueError(f"every must be 1 or more, got {every}")
    out_dir = Path(out_dir)
    started = time.perf_counter()
    with VideoReader(source_path, max_side) as reader:
        info = reader.info
        out_dir.mkdir(parents=True, exist_ok=True)
        scale_x, scale_y = _source_scale(info)
        emotions = getattr(analyze_frame, "emotions", FER2013.emotions)
        timeline = EmotionTimeline(info.duration_s, emotions)
        frame_s = 1.0 / (info.fps or 30.0)
        decoded = analysed = 0
        first_s = end_s = 0.0
        faces: list[TrackedFace] = []
        pending: tuple[float, list[TrackedFace]] | None = None  # the last analysed frame, until its span is known
        complete, error = True, None
        with (
            open(out_dir / FRAMES_CSV, "w", newline="") as handle,
            H264Writer(out_dir / ANNOTATED_MP4, info.analysis_width, info.analysis_height, info.fps) as writer,
        ):
            rows = csv.writer(handle)
            rows.writerow(csv_columns(emotions))
            try:
                for frame in reader.frames(_detect_ahead(analyze_frame, every)):
                    if decoded == 0:
                        first_s = frame.time_s
                    if frame.index % every == 0:
                        extra = () if frame.ahead is None else (frame.ahead,)
                        faces = analyze_frame(frame.image, frame.time_s, *extra)
                        rows.writerows(_rows(frame.index, frame.time_s, faces, scale_x, scale_y))
                        handle.flush()
                        if pending is not None:
                            timeline.add(pending[1], pending[0], frame.time_s - pending[0])
                        pending = (frame.time_s, faces)
                        analysed += 1
                    writer.write(draw_people(frame.image, faces), frame.time_s)
                    decoded += 1
                    end_s = frame.time_s + frame_s
                    if progress is not None:
                        progress(
                            Progress(decoded, analysed, end_s - first_s, info.duration_s, time.perf_counter() - started)
                        )
            except VideoAnalysisError as broken:
                complete, error = False, str(broken)
        if pending is not None:
            timeline.add(pending[1], pending[0], end_s - pending[0])
    timeline.plot(out_dir / TIMELINE_PNG, title=f"{Path(source_path).name}: dominant emotion per person")
    summary = RecordingSummary(
        source=str(source_path),
        video=info,
        every=every,
        frames_decoded=decoded,
        frames_analysed=analysed,
        video_seconds=end_s - first_s,
        wall_seconds=time.perf_counter() - started,
        complete=complete,
        error=error,
        people=timeline.people(),
    )
    (out_dir / SUMMARY_JSON).write_text(json.dumps(summary.to_dict(), indent=2))
    return summary


def _detect_ahead(analyze_frame: FrameAnalyzer, every: int) -> Callable[[DecodedFrame], object] | None:
    """The analyser's detection step for the decoding thread, on the frames it will analyse (None: it has none)."""
    find = getattr(analyze_frame, "find", None)
    if find is None:
        return None
    return lambda frame: find(frame.image) if frame.index % every == 0 else None


def _source_scale(info: VideoInfo) -> tuple[float, float]:
    """Factors from analysed pixels to pixels of the upright source."""
    width, height = (info.height, info.width) if info.rotation % 180 else (info.width, info.height)
    return width / info.analysis_width, height / info.analysis_height


def _rows(index: int, time_s: float, faces: list[TrackedFace], scale_x: float, scale_y: float) -> list[list]:
    rows = []
    for face in faces:
        x, y, w, h = face.box
        box = [round(x * scale_x), round(y * scale_y), round(w * scale_x), round(h * scale_y)]
        probabilities = [f"{p:.4f}" for p in face.probabilities.tolist()]
        rows.append([index, f"{time_s:.3f}", face.person, *box, face.label, f"{face.confidence:.4f}", *probabilities])
    return rows
