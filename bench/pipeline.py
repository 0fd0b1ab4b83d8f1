"""The live frame pipeline: a 640x480 BGR frame through detection, crop, classification and drawing."""

from __future__ import annotations

import numpy as np

from bench.common import latency_stats, time_calls
from bench.frames import THREE_FACE_SIZES, frame_with_faces


def scenario_frames(faces: list[np.ndarray]) -> dict[str, tuple[np.ndarray, int]]:
    """Frames by name, with how many faces were pasted into each."""
    frames = {"no_face": (frame_with_faces([]), 0)}
    if faces:
        frames["one_face"] = (frame_with_faces(faces[:1]), 1)
    if len(faces) >= 3:
        frames["three_faces"] = (frame_with_faces(faces[:3], THREE_FACE_SIZES), 3)
    return frames


def frame_pipeline(analyzer, faces: list[np.ndarray], repeats: int) -> dict:
    """frames/s and p50/p95 of ``LiveAnalyzer.annotate`` per scenario, and detection alone."""
    from core.vision.faces import extract_faces

    results = {}
    for name, (frame, placed) in scenario_frames(faces).items():
        annotated, result = analyzer.annotate(frame)
        stats = latency_stats(time_calls(lambda frame=frame: analyzer.annotate(frame), repeats))
        detect = latency_stats(time_calls(lambda frame=frame: extract_faces(frame, analyzer.detector), repeats))
        results[name] = {
            "faces_placed": placed,
            "faces_found": len(result.faces),
            "frames_per_s": stats["per_s"],
            "p50_ms": stats["p50_ms"],
            "p95_ms": stats["p95_ms"],
            "mean_ms": stats["mean_ms"],
            "n": stats["n"],
            "detect_and_crop_p50_ms": detect["p50_ms"],
            "output_shape": list(annotated.shape),
        }
    return results
