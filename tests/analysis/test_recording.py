"""analyze_recording: the four outputs, --every, durations, broken files; with a stub analysis and the real one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import numpy as np
import pytest

from core.analysis.recording import analyze_recording, csv_columns
from core.analysis.tracked import TrackedFace, frame_analyzer
from core.analysis.video_reader import VideoAnalysisError
from core.labels import EMOTIONS
from tests.clips import CLIP_FPS, CLIP_FRAMES, cut_in_half, write_audio_only, write_clip

HAPPY, SAD = EMOTIONS.index("Happy"), EMOTIONS.index("Sad")


def one_hot(index: int, confidence: float = 0.9) -> np.ndarray:
    probabilities = np.full(len(EMOTIONS), (1 - confidence) / (len(EMOTIONS) - 1))
    probabilities[index] = confidence
    return probabilities


def two_people(frame: np.ndarray, t: float) -> list[TrackedFace]:
    """Person 1 Happy throughout; person 2 in the first second only, Sad."""
    faces = [TrackedFace(1, (10, 20, 60, 60), one_hot(HAPPY))]
    if t < 1.0:
        faces.append(TrackedFace(2, (200, 20, 60, 60), one_hot(SAD, 0.6)))
    return faces


class LeftToRight:
    """A deterministic stand-in tracker: ids 1, 2, ... by the boxes' left edges."""

    def update(self, boxes, t):
        order = sorted(range(len(boxes)), key=lambda index: boxes[index].x)
        return [order.index(index) + 1 for index in range(len(boxes))]


def read_rows(out: Path) -> tuple[list[str], list[dict]]:
    with open(out / "frames.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_outputs_of_a_stub_analysis(plain_clip, tmp_path):
    reports = []
    summary = analyze_recording(plain_clip, tmp_path, two_people, progress=reports.append)
    assert [report.frames_decoded for report in reports] == list(range(1, CLIP_FRAMES + 1))
    assert reports[-1].video_s == pytest.approx(summary.video_seconds)
    header, rows = read_rows(tmp_path)
    assert header == ["frame", "time_s", "person", "x", "y", "w", "h", "emotion", "confidence", *EMOTIONS]
    assert tuple(header) == csv_columns(EMOTIONS)
    assert len(rows) == CLIP_FRAMES + CLIP_FPS  # person 2 in the frames before t = 1 s
    assert [int(row["frame"]) for row in rows if row["person"] == "1"] == list(range(CLIP_FRAMES))
    assert float(rows[2]["time_s"]) == pytest.approx(1 / CLIP_FPS, abs=1e-3)
    assert rows[0]["emotion"] == "Happy" and float(rows[0]["Happy"]) == pytest.approx(0.9)

    report = json.loads((tmp_path / "summary.json").read_text())
    assert report["complete"] is True and report["error"] is None
    assert report["video"]["codec"] == "h264"
    assert (report["video"]["width"], report["video"]["height"], report["video"]["fps"]) == (320, 240, CLIP_FPS)
    assert report["video"]["duration_s"] == pytest.approx(CLIP_FRAMES / CLIP_FPS, abs=0.01)
    assert report["analysis"]["frames_decoded"] == report["analysis"]["frames_analysed"] == CLIP_FRAMES
    first, second = report["people"]
    assert first["seconds_on_screen"] == pytest.approx(CLIP_FRAMES / CLIP_FPS, abs=0.01)
    assert first["dominant_emotion"] == "Happy" and first["emotion_share"]["Happy"] == pytest.approx(1.0)
    assert second["seconds_on_screen"] == pytest.approx(1.0, abs=0.01)
    assert second["dominant_emotion"] == "Sad"
    assert summary.people[1].last_seen_s == pytest.approx(1.0, abs=0.01)
    assert (tmp_path / "timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_annotated_video_is_browser_ready_h264_with_every_frame(plain_clip, tmp_path):
    analyze_recording(plain_clip, tmp_path, two_people)
    data = (tmp_path / "annotated.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: the index comes first
    with av.open(str(tmp_path / "annotated.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        frames = [frame.to_ndarray(format="bgr24") for frame in container.decode(stream)]
    assert len(frames) == CLIP_FRAMES
    box_edge = frames[0][50, 10]  # left edge of person 1's box, drawn in Happy's yellow (BGR 40, 200, 250)
    assert box_edge[2] > 200 and box_edge[0] < 100


def test_every_second_frame_is_analysed_and_still_covers_the_video(plain_clip, tmp_path):
    seen = []
    summary = analyze_recording(plain_clip, tmp_path, lambda frame, t: seen.append(t) or two_people(frame, t), every=2)
    assert len(seen) == summary.frames_analysed == CLIP_FRAMES // 2
    assert summary.frames_decoded == CLIP_FRAMES
    _, rows = read_rows(tmp_path)
    assert sorted({int(row["frame"]) for row in rows}) == list(range(0, CLIP_FRAMES, 2))
    assert summary.people[0].seconds_on_screen == pytest.approx(CLIP_FRAMES / CLIP_FPS, abs=0.01)
    with av.open(str(tmp_path / "annotated.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == CLIP_FRAMES


def test_variable_frame_rate_times_come_from_timestamps(tmp_path):
    times_ms = [0, 40, 50, 200, 210, 700, 1000, 1010]
    frames = [np.full((240, 320, 3), 100, np.uint8)] * len(times_ms)
    clip = write_clip(tmp_path / "vfr.mp4", frames, times_ms=times_ms)
    seen = []
    summary = analyze_recording(clip, tmp_path / "out", lambda frame, t: seen.append(t) or [])
    assert seen == pytest.approx([ms / 1000 for ms in times_ms], abs=1e-3)
    assert summary.frames_decoded == len(times_ms)


def test_truncated_file_keeps_partial_results(plain_clip, tmp_path):
    broken = cut_in_half(plain_clip, tmp_path / "half.mp4")
    summary = analyze_recording(broken, tmp_path / "out", two_people)
    assert not summary.complete
    assert "breaks off after" in summary.error
    assert 0 < summary.frames_analysed < CLIP_FRAMES
    report = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert report["complete"] is False and "breaks off" in report["error"]
    _, rows = read_rows(tmp_path / "out")
    assert len({row["frame"] for row in rows}) == summary.frames_analysed
    with av.open(str(tmp_path / "out" / "annotated.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == summary.frames_decoded


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "missing.mp4", "no such file"),
        (lambda folder: (folder / "notes.mp4").write_text("not a video") and folder / "notes.mp4", "not a video"),
        (lambda folder: write_audio_only(folder / "sound.wav"), r"no video stream \(it holds audio\)"),
        (lambda folder: write_clip(folder / "empty.mp4", []), "no video stream|no frames"),
    ],
    ids=["missing", "not-a-video", "audio-only", "zero-frames"],
)
def test_unreadable_inputs_raise_a_clear_error_and_write_nothing(tmp_path, make, message):
    source = make(tmp_path)
    with pytest.raises(VideoAnalysisError, match=message):
        analyze_recording(source, tmp_path / "out", two_people)
    assert not (tmp_path / "out").exists()


def test_real_classifier_and_detector_follow_a_moving_face(face_clip, tmp_path):
    from core.model.classifier import EmotionClassifier
    from core.vision.detect import FaceDetector

    classifier = EmotionClassifier.load()
    analyze = frame_analyzer(classifier, FaceDetector(downscale=2), LeftToRight())
    summary = analyze_recording(face_clip, tmp_path, analyze)
    _, rows = read_rows(tmp_path)
    assert len(rows) >= CLIP_FRAMES - 2  # one face per frame (the cascade may miss a frame or two)
    assert {row["person"] for row in rows} == {"1"}
    xs = [int(row["x"]) for row in rows]
    assert xs[-1] - xs[0] > 100  # the box follows the face across the frame
    emotions = classifier.labels.emotions  # the table's columns are the model's own emotions
    for row in rows[:5]:
        probabilities = [float(row[name]) for name in emotions]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-3)
        assert row["emotion"] == emotions[int(np.argmax(probabilities))]
    assert len(summary.people) == 1 and summary.people[0].seconds_on_screen > 2.0
