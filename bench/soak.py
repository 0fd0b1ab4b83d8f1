"""Soak: thousands of frames of every awkward kind through ``LiveAnalyzer.annotate``.

Checks that no frame raises, that each output is a BGR frame of the input's size, and that
resident memory grows by less than ``MAX_GROWTH_MB`` from frame ``N / 10`` (1,000 of 10,000)
to the last one.
"""

from __future__ import annotations

import time
import traceback

import cv2
import numpy as np

from bench.common import current_rss_mb, huge_pages_mb
from bench.frames import THREE_FACE_SIZES, frame_with_faces

MAX_GROWTH_MB = 50.0


def soak_frames(faces: list[np.ndarray], seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """The cycle of frames fed in turn: noise, blank, faces, odd sizes, gray, BGRA."""
    rng = np.random.default_rng(seed)
    frames = [
        ("noise_640x480", rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)),
        ("noise_320x240", rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)),
        ("blank_640x480", frame_with_faces([])),
        ("black_100x100", np.zeros((100, 100, 3), dtype=np.uint8)),
        ("bgr_1x1", np.zeros((1, 1, 3), dtype=np.uint8)),
        ("bgr_17x923", rng.integers(0, 256, (17, 923, 3), dtype=np.uint8)),
        ("bgr_923x17", rng.integers(0, 256, (923, 17, 3), dtype=np.uint8)),
        ("gray_1x1", np.zeros((1, 1), dtype=np.uint8)),
        ("gray_240x320_noise", rng.integers(0, 256, (240, 320), dtype=np.uint8)),
        ("bgra_noise_200x300", rng.integers(0, 256, (200, 300, 4), dtype=np.uint8)),
    ]
    if faces:
        one = frame_with_faces(faces[:1])
        frames += [
            ("one_face_640x480", one),
            ("one_face_gray", cv2.cvtColor(one, cv2.COLOR_BGR2GRAY)),
            ("one_face_bgra", cv2.cvtColor(one, cv2.COLOR_BGR2BGRA)),
            ("one_face_half_size", cv2.resize(one, (320, 240), interpolation=cv2.INTER_AREA)),
        ]
    if len(faces) >= 3:
        frames.append(("three_faces_640x480", frame_with_faces(faces[:3], THREE_FACE_SIZES)))
    return frames


def run_soak(analyzer, frames: int, faces: list[np.ndarray], log=None) -> dict:
    """Feed ``frames`` frames; a report with the exceptions, bad outputs and memory growth."""
    cycle = soak_frames(faces)
    checkpoint = max(1, frames // 10)
    errors: list[str] = []
    bad_outputs: list[str] = []
    faces_found = error_count = bad_count = 0
    rss_checkpoint = rss_start = current_rss_mb()
    huge_checkpoint = huge_pages_mb()
    start = time.perf_counter()
    for index in range(frames):
        name, frame = cycle[index % len(cycle)]
        try:
            annotated, result = analyzer.annotate(frame)
        except Exception as error:  # the point of a soak: count every failure, keep going
            error_count += 1
            if len(errors) < 10:
                errors.append(f"frame {index + 1} ({name}): {type(error).__name__}: {error}\n{traceback.format_exc()}")
            continue
        faces_found += len(result.faces)
        if annotated.shape != (*frame.shape[:2], 3) or annotated.dtype != np.uint8:
            bad_count += 1
            if len(bad_outputs) < 10:
                bad_outputs.append(f"frame {index + 1} ({name}): in {frame.shape}, out {annotated.shape}")
        if index + 1 == checkpoint:
            rss_checkpoint, huge_checkpoint = current_rss_mb(), huge_pages_mb()
        if log and (index + 1) % 1000 == 0:
            huge = huge_pages_mb()
            of_it = "" if huge is None else f" ({huge:.0f} MB of it in huge pages)"
            log(f"  soak {index + 1}/{frames} frames, rss {current_rss_mb():.0f} MB{of_it}")
    took = time.perf_counter() - start
    rss_end, huge_end = current_rss_mb(), huge_pages_mb()
    growth = rss_end - rss_checkpoint
    return {
        "frames": frames,
        "kinds": [name for name, _ in cycle],
        "seconds": took,
        "frames_per_s": frames / took,
        "faces_found": faces_found,
        "exceptions": error_count,
        "exception_samples": errors,
        "bad_outputs": bad_count,
        "bad_output_samples": bad_outputs,
        "rss_start_mb": rss_start,
        "rss_checkpoint_frame": checkpoint,
        "rss_checkpoint_mb": rss_checkpoint,
        "rss_end_mb": rss_end,
        "growth_mb": growth,
        "huge_pages_growth_mb": None if huge_end is None else huge_end - huge_checkpoint,
        "max_growth_mb": MAX_GROWTH_MB,
        "ok": error_count == 0 and bad_count == 0 and growth < MAX_GROWTH_MB,
    }
