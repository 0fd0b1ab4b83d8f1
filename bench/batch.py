"""Many video files: ``run_batch`` on eight clips in this process and on a Ray started here, video-s per wall-s.

The clips are made as the ``video`` section makes its own (640x480, 30 fps, H.264, real PublicTest faces
swaying on a grey background), one or two faces each, so each file costs about the same. The same folder is
analysed twice, into two output folders: first one file after another in this process (what
``train_cli.py analyze DIR`` does), then on a local Ray (``--ray``), whose time includes starting Ray and its
workers (each loads the model) and stopping them. Both runs must give the same rows.

``python -m bench.batch [--clips 8] [--seconds 20]`` runs it alone and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.video import FPS, make_clip

CLIPS = 8
MIN_RAY_RATIO = 0.85
"""The bar: batch throughput on a local Ray, start-up included, at least this share of the in-process run's."""


def batch_benchmark(faces: list[np.ndarray], model: str | None, clips: int = CLIPS, seconds: float = 20.0,
                    log=print) -> dict:
    """Throughput of one folder of ``clips`` clips of ``seconds``, in process and on a local Ray."""
    import pyarrow.parquet as pq

    from core.analysis.batch import RAY_LOCAL, run_batch
    from core.analysis.batch_worker import BatchSettings

    settings = BatchSettings.make(model)
    report: dict = {"clips": f"{clips} x {seconds:g} s, 640x480, {FPS} fps, H.264, one or two faces",
                    "model": settings.model, "bar_ray_vs_in_process": MIN_RAY_RATIO}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        log(f"batch: making {clips} clips of {seconds:g} s")
        (folder / "in").mkdir()
        for index in range(clips):
            chosen = [faces[(index + offset) % len(faces)] for offset in range(1 + index % 2)]
            make_clip(folder / "in" / f"clip{index}.mp4", chosen, seconds)
        runs = {}
        for name, address in (("in_process", None), ("ray_local", RAY_LOCAL)):
            log(f"batch: {name.replace('_', ' ')}")
            started = time.perf_counter()
            result = run_batch([str(folder / "in")], folder / name, settings, address)
            wall = time.perf_counter() - started
            record = result.record
            video_s = sum(entry.get("video_seconds") or 0.0 for entry in result.entries)
            failed = [entry["name"] for entry in result.entries if entry["status"] != "done"]
            engine = record["engine"]
            runs[name] = {
                "wall_s": round(wall, 2),
                "video_s": round(video_s, 2),
                "video_s_per_wall_s": round(video_s / wall, 2),
                "startup_s": engine["startup_s"],
                "workers": engine["workers"],
                "worker_peak_rss_mb": engine["worker_peak_rss_mb"],
                "faces": record["table"]["rows"],
                "not_done": failed,
            }
            if name == "ray_local":
                runs[name]["cpus_per_worker"] = engine["cpus_per_worker"]
                runs[name]["tensorflow_on_workers"] = engine["tensorflow_on_workers"]
            else:
                runs[name]["note"] = "worker_peak_rss_mb here is the whole bench process (TensorFlow, data set)"
        report.update(runs)
        same = pq.read_table(folder / "in_process" / "frames.parquet").equals(
            pq.read_table(folder / "ray_local" / "frames.parquet"))
    ratio = runs["ray_local"]["video_s_per_wall_s"] / runs["in_process"]["video_s_per_wall_s"]
    report.update({"ray_vs_in_process": round(ratio, 3), "meets_bar": ratio >= MIN_RAY_RATIO, "same_rows": same})
    return report


def main(argv: list[str] | None = None) -> int:
    from bench.common import default_data_path
    from bench.frames import detectable_faces
    from bench.video import _public_faces
    from core.vision.faces import make_detector

    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__)
    parser.add_argument("--clips", type=int, default=CLIPS, help=f"clips in the batch (default {CLIPS})")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each clip (default 20)")
    parser.add_argument("--model", help="a model name or file (default: the product's)")
    args = parser.parse_args(argv)
    faces, _ = detectable_faces(_public_faces(default_data_path()), make_detector(video=True), 3)
    report = batch_benchmark(faces, args.model, args.clips, args.seconds,
                             log=lambda message: print(message, file=sys.stderr, flush=True))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    from bench.common import run_quietly

    run_quietly(main)
