"""Video files: how many seconds of video ``analyze_recording`` gets through per wall-clock second, and its memory.

Clips are made here with PyAV: 640x480 at 30 fps, real PublicTest faces (those the detector
finds, as the other frame sections pick them) on a grey background, swaying sideways so every
frame differs. Each clip runs through the same path as ``train_cli.py analyze``: decoding,
detection, classification, tracking, drawing, H.264 encoding and the four output files.

``python -m bench.video [--seconds 10] [--soak-minutes 10]`` runs it alone and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from bench.common import current_rss_mb
from bench.frames import THREE_FACE_SIZES, frame_with_faces

FPS = 30
MIN_SPEED = 3.0
"""The bar: at least three seconds of video analysed per second (90 frames/s at 30 fps, every frame)."""
MAX_GROWTH_MB = 50.0
"""The long clip's resident memory may grow by less than this from its first minute to its end."""


def make_clip(path: Path, faces: list[np.ndarray], seconds: float, sizes: tuple[int, ...] | None = None) -> Path:
    """A 640x480, 30 fps H.264 clip of the faces side by side, swaying up to 40 px left and right."""
    still = frame_with_faces(faces, sizes)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = still.shape[1], still.shape[0], "yuv420p"
        for index in range(round(seconds * FPS)):
            shift = round(40 * np.sin(2 * np.pi * index / (4 * FPS)))  # one sway every four seconds
            frame = av.VideoFrame.from_ndarray(np.roll(still, shift, axis=1), format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def analyse(clip: Path, analyze_frame, out_dir: Path, every: int = 1, progress: Callable | None = None) -> dict:
    """Speed, CPU time, faces and resident-memory growth (sampled every 30 frames) of one ``analyze_recording``."""
    from core.analysis.recording import analyze_recording

    rss_before, rss_high = current_rss_mb(), [current_rss_mb()]

    def sample(report) -> None:
        if report.frames_decoded % 30 == 0:
            rss_high[0] = max(rss_high[0], current_rss_mb())
        if progress is not None:
            progress(report)

    cpu_before = _cpu_s()
    summary = analyze_recording(clip, out_dir, analyze_frame, every=every, progress=sample)
    cpu = _cpu_s() - cpu_before
    with open(out_dir / "frames.csv") as rows:
        faces = sum(1 for _ in rows) - 1
    return {
        "every": every,
        "video_s": round(summary.video_seconds, 2),
        "wall_s": round(summary.wall_seconds, 2),
        "speed_x_real_time": round(summary.speed, 2),
        "frames_per_s": round(summary.frames_decoded / summary.wall_seconds, 1),
        "cpu_ms_per_frame": round(1000 * cpu / summary.frames_decoded, 1),
        "speed_per_cpu_s": round(summary.video_seconds / cpu, 2),
        "faces_per_analysed_frame": round(faces / max(1, summary.frames_analysed), 2),
        "people": len(summary.people),
        "rss_growth_mb": round(rss_high[0] - rss_before, 1),
        "peak_rss_mb": round(rss_high[0], 1),  # the whole bench process: TensorFlow and the data set too
        "meets_bar": summary.speed >= MIN_SPEED,
    }


def _cpu_s() -> float:
    """CPU seconds of this process so far, all threads (decoder, encoder, LiteRT and OpenCV threads too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def long_clip_memory(
    analyze_frame, faces: list[np.ndarray], minutes: float, folder: Path, every: int, log=print
) -> dict:
    """Resident memory after the first minute of a ``minutes``-long clip and at its end."""
    log(f"video: making a {minutes:g}-minute clip")
    clip = make_clip(folder / "long.mp4", faces[:1], minutes * 60)
    marks: dict[str, float] = {}

    def sample(progress) -> None:
        if progress.frames_decoded == 60 * FPS:
            marks["first_minute_mb"] = current_rss_mb()

    log(f"video: analysing it (every {every})")
    report = analyse(clip, analyze_frame, folder / "long", every, progress=sample)
    marks["end_mb"] = current_rss_mb()
    growth = marks["end_mb"] - marks["first_minute_mb"]
    return {
        "minutes": minutes,
        **report,
        "rss_after_first_minute_mb": round(marks["first_minute_mb"], 1),
        "rss_at_end_mb": round(marks["end_mb"], 1),
        "rss_growth_first_minute_to_end_mb": round(growth, 1),
        "meets_memory_bar": growth < MAX_GROWTH_MB,
    }


def video_benchmark(
    analyze_frame_factory: Callable[[], Callable],
    faces: list[np.ndarray],
    seconds: float = 10.0,
    everies: tuple[int, ...] = (1, 3),
    soak_minutes: float | None = None,
    soak_every: int = 1,
    log=print,
) -> dict:
    """One- and three-face clips of ``seconds``, analysed by a fresh ``analyze_frame_factory()`` at each
    ``everies`` step; with ``soak_minutes`` also the long clip's memory."""
    report: dict = {"clip": f"640x480, {FPS} fps, {seconds:g} s, H.264", "bar_x_real_time": MIN_SPEED}
    scenes = {"one_face": (faces[:1], None), "three_faces": (faces[:3], THREE_FACE_SIZES)}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for name, (chosen, sizes) in scenes.items():
            if len(chosen) < (1 if name == "one_face" else 3):
                report[name] = {"status": "skipped", "reason": "not enough detectable faces"}
                continue
            clip = make_clip(folder / f"{name}.mp4", chosen, seconds, sizes)
            for every in everies:
                log(f"video: {name}, every {every}")
                report[f"{name}_every_{every}"] = analyse(clip, analyze_frame_factory(), folder / name, every)
        if soak_minutes:
            report["long_clip"] = long_clip_memory(
                analyze_frame_factory(), faces, soak_minutes, folder, soak_every, log
            )
    return report


def _public_faces(data: Path, count: int = 300) -> np.ndarray:
    import pandas as pd

    table = pd.read_csv(data, nrows=40000)
    public = table[table.Usage == "PublicTest"].head(count)
    return np.stack([np.array(pixels.split(), dtype=np.uint8).reshape(48, 48) for pixels in public.pixels])


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    from bench.common import default_data_path, load_model_under_test, product_classifier
    from bench.frames import detectable_faces
    from core.analysis.tracked import frame_analyzer
    from core.vision.faces import make_detector
    from core.vision.track import PersonTracker

    parser = argparse.ArgumentParser(prog="python -m bench.video", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the one- and three-face clips")
    parser.add_argument("--every", type=int, nargs="+", default=[1, 3], help="analyse every N-th frame (default 1 3)")
    parser.add_argument("--soak-minutes", type=float, help="also measure memory over a clip this long (e.g. 10)")
    parser.add_argument("--soak-every", type=int, default=1, help="every N-th frame in the long clip (default 1)")
    parser.add_argument("--model", help="Keras model (default: the shipped one)")
    args = parser.parse_args(argv)

    classifier = product_classifier(load_model_under_test(args.model, args.model is not None))
    detector = make_detector(video=True)  # as train_cli.py analyze runs it
    faces, _ = detectable_faces(_public_faces(default_data_path()), detector, 3)

    def factory():
        return frame_analyzer(classifier, detector, PersonTracker())

    started = time.perf_counter()
    report = video_benchmark(
        factory, faces, args.seconds, tuple(args.every), args.soak_minutes, args.soak_every, log=_log
    )
    report["bench_wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    from bench.common import run_quietly

    run_quietly(main)
