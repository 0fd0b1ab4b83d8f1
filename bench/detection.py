"""``python -m bench.detection``: face detectors and alignment on FER faces pasted into 640x480 frames.

Four parts, each a plain dict in the JSON report:

- ``detection``: PublicTest faces pasted (upscaled) into grey 640x480 frames, zero to four per frame,
  at several sizes, head rolls (each face turned about its centre, alternately either way), brightness
  levels and blurs. Recall (a detection whose centre is within 0.3 face sizes of a face's centre and
  whose size is 0.4-1.6 times the face's), false positives per frame and ms per frame, per detector.
- ``alignment``: one face per frame, rolled; the classifier's accuracy on the shipped BlazeFace crops
  (:mod:`core.vision.faces`: levelled, framed by Haar in the upright region), on eye-only aligned crops,
  on Haar crops of the whole frame and on the original 48x48 faces.
- ``pipeline``: frames per second of detect, align, track and classify (one and three faces).
- ``targets``: the figures ``python -m bench`` checks (worst recall over rolls, accuracy drop at 30 degrees).
- ``framing`` (``--framing`` only): the search that chose :mod:`core.vision.align`'s constants.

Timings share the machine with whatever else runs on it; rerun on an idle machine for clean figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

import bench  # noqa: F401  (quiets TensorFlow's C++ logging before TensorFlow loads)
from bench.common import default_data_path, latency_stats, time_calls
from bench.frames import FRAME_HEIGHT, FRAME_WIDTH, THREE_FACE_SIZES, frame_with_faces
from core.vision.align import CROP_EYE_DISTANCES, EYE_LINE, aligned_face
from core.vision.blazeface import BlazeFace
from core.vision.crop import crop_face, to_gray
from core.vision.detect import Box, FaceDetector
from core.vision.faces import AlignedDetector

BACKGROUND = 128
ALIGN_NAMES = ("blazeface", "aligned", "haar")


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    rolls: tuple[int, ...]
    brightness: tuple[float, ...]
    blurs: tuple[float, ...]
    """Gaussian sigma in pixels; 0 for none."""
    frames_per_condition: int
    """Frames per (size, roll, brightness, blur); their face counts cycle 0, 1, 2, 3, 4."""
    alignment_faces: int
    alignment_size: int
    pipeline_repeats: int


FULL = Settings((96, 160, 240), (0, 15, 30, 45), (0.5, 1.0, 1.5), (0.0, 2.0), 10, 600, 160, 300)
QUICK = Settings((160,), (0, 30), (1.0,), (0.0,), 5, 40, 160, 30)


def detectors() -> dict[str, Callable[[np.ndarray], list[Box]]]:
    """Each detector as gray frame -> boxes: Haar (today's default) and BlazeFace variants."""
    haar = FaceDetector()
    blaze = {
        "blazeface": BlazeFace(),
        "blazeface-128": BlazeFace(input_shape=None),
        "blazeface-full": BlazeFace("full", input_shape=None),
    }
    found = {"haar": haar.detect}
    for name, detector in blaze.items():
        found[name] = lambda gray, detector=detector: [d.box for d in detector.detect(gray)]
    return found


def rolled_patch(face: np.ndarray, size: int, roll: float) -> np.ndarray:
    """The face upscaled to ``size`` on a grey square big enough to hold it turned by ``roll`` degrees."""
    side = math.ceil(size * math.sqrt(2)) + 2
    patch = np.full((side, side), BACKGROUND, np.uint8)
    start = (side - size) // 2
    patch[start : start + size, start : start + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), roll, 1.0)
    return cv2.warpAffine(patch, matrix, (side, side), flags=cv2.INTER_LINEAR, borderValue=BACKGROUND)


def cells(count: int) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the frame's cells for ``count`` faces: side by side for two, a 2x2 grid for three or four."""
    if count == 0:
        return []
    columns, rows = (count, 1) if count <= 2 else (2, 2)
    width, height = FRAME_WIDTH // columns, FRAME_HEIGHT // rows
    return [(c * width, r * height, width, height) for r in range(rows) for c in range(columns)][:count]


def synthetic_frame(
    faces: list[np.ndarray], size: int, roll: float, brightness: float, blur: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """A gray frame with the faces in their cells (rolled alternately either way), and each face's centre."""
    frame = np.full((FRAME_HEIGHT, FRAME_WIDTH), BACKGROUND, np.uint8)
    centres = []
    for index, (face, (x, y, w, h)) in enumerate(zip(faces, cells(len(faces)), strict=True)):
        patch = rolled_patch(face, size, roll if index % 2 == 0 else -roll)
        slack_x, slack_y = max(w - size, 0) // 2, max(h - size, 0) // 2
        cx = x + w / 2 + rng.integers(-slack_x, slack_x + 1)
        cy = y + h / 2 + rng.integers(-slack_y, slack_y + 1)
        left, top = round(cx - patch.shape[1] / 2), round(cy - patch.shape[0] / 2)
        x0, y0 = max(left, x), max(top, y)  # clip the patch's grey corners to the cell
        x1, y1 = min(left + patch.shape[1], x + w), min(top + patch.shape[0], y + h)
        frame[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
        centres.append((left + patch.shape[1] / 2, top + patch.shape[0] / 2))
    if brightness != 1.0:
        frame = np.clip(frame * brightness, 0, 255).astype(np.uint8)
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    return frame, centres


def _distance(box: Box, x: float, y: float) -> float:
    return math.hypot(box.x + box.w / 2 - x, box.y + box.h / 2 - y)


def matched(boxes: list[Box], centres: list[tuple[float, float]], size: int) -> int:
    """How many faces a box found (each box and face used once, nearest first)."""
    pairs = []
    for b, box in enumerate(boxes):
        side = math.sqrt(box.w * box.h)
        for f, (cx, cy) in enumerate(centres):
            distance = _distance(box, cx, cy)
            if distance <= 0.3 * size and 0.4 * size <= side <= 1.6 * size:
                pairs.append((distance, b, f))
    used_boxes, used_faces = set(), set()
    for _, b, f in sorted(pairs):
        if b not in used_boxes and f not in used_faces:
            used_boxes.add(b)
            used_faces.add(f)
    return len(used_faces)


def detection(faces: np.ndarray, found: dict, settings: Settings, log) -> dict:
    """Recall, false positives per frame and ms per frame for every detector and condition."""
    rng = np.random.default_rng(0)
    totals = {name: {"faces": 0, "found": 0, "false": 0, "frames": 0, "seconds": 0.0} for name in found}
    conditions = []
    next_face = 0
    for size in settings.sizes:
        for roll in settings.rolls:
            for brightness in settings.brightness:
                for blur in settings.blurs:
                    row = {"size": size, "roll": roll, "brightness": brightness, "blur": blur}
                    counts = {name: [0, 0, 0] for name in found}  # faces, found, false
                    for index in range(settings.frames_per_condition):
                        count = index % 5
                        chosen = [faces[(next_face + k) % len(faces)] for k in range(count)]
                        next_face += count
                        frame, centres = synthetic_frame(chosen, size, roll, brightness, blur, rng)
                        for name, detect in found.items():
                            start = time.perf_counter()
                            boxes = detect(frame)
                            totals[name]["seconds"] += time.perf_counter() - start
                            hits = matched(boxes, centres, size)
                            counts[name][0] += count
                            counts[name][1] += hits
                            counts[name][2] += len(boxes) - hits
                    for name, (total, hits, false) in counts.items():
                        row[name] = {
                            "recall": hits / max(total, 1),
                            "false_per_frame": false / settings.frames_per_condition,
                        }
                        for key, value in (("faces", total), ("found", hits), ("false", false)):
                            totals[name][key] += value
                        totals[name]["frames"] += settings.frames_per_condition
                    conditions.append(row)
        log(f"detection: size {size} done")
    summary = {
        name: {
            "recall": t["found"] / max(t["faces"], 1),
            "false_per_frame": t["false"] / max(t["frames"], 1),
            "ms_per_frame": 1e3 * t["seconds"] / max(t["frames"], 1),
            "faces": t["faces"],
            "frames": t["frames"],
        }
        for name, t in totals.items()
    }
    return {"summary": summary, "by_roll": _recall_by(conditions, found, "roll"), "conditions": conditions}


def _recall_by(conditions: list[dict], found: dict, key: str) -> dict:
    """Recall per value of one condition (roll, size...) per detector, pooled over the others."""
    report: dict = {}
    for row in conditions:
        for name in found:
            report.setdefault(str(row[key]), {}).setdefault(name, []).append(row[name]["recall"])
    return {value: {name: float(np.mean(r)) for name, r in names.items()} for value, names in report.items()}


def rolled_frame(face: np.ndarray, size: int, roll: float) -> tuple[np.ndarray, tuple[float, float]]:
    """One face in the middle of a 640x480 gray frame, the whole frame turned about the face's centre."""
    frame = np.full((FRAME_HEIGHT, FRAME_WIDTH), BACKGROUND, np.uint8)
    x, y = (FRAME_WIDTH - size) // 2, (FRAME_HEIGHT - size) // 2
    frame[y : y + size, x : x + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    centre = (x + size / 2, y + size / 2)
    matrix = cv2.getRotationMatrix2D(centre, roll, 1.0)
    return cv2.warpAffine(frame, matrix, (FRAME_WIDTH, FRAME_HEIGHT), borderValue=BACKGROUND), centre


def alignment(faces: np.ndarray, labels: np.ndarray, classifier, settings: Settings) -> dict:
    """Accuracy at each roll: BlazeFace + alignment, Haar + plain crop, and the original faces (no detector)."""
    faces, labels = faces[: settings.alignment_faces], labels[: settings.alignment_faces]
    blaze, haar = AlignedDetector(), FaceDetector()
    original = float((classifier.predict_faces(faces).argmax(1) == labels).mean())
    report = {"faces": len(faces), "size": settings.alignment_size, "original_accuracy": original, "by_roll": {}}
    for roll in FULL.rolls:
        crops = {"blazeface": [], "aligned": [], "haar": []}
        for face in faces:
            gray, (cx, cy) = rolled_frame(face, settings.alignment_size, roll)
            near = [d for d in blaze.blazeface.detect(gray) if _distance(d.box, cx, cy) < settings.alignment_size / 3]
            crops["blazeface"].append(blaze.framed(gray, near[0].eyes) if near else None)
            crops["aligned"].append(aligned_face(gray, near[0].eyes) if near else None)
            boxes = haar.detect(gray)
            crops["haar"].append(crop_face(gray, boxes[0]) if boxes else None)
        row = {}
        for name, found in crops.items():
            hit = np.array([crop is not None for crop in found])
            correct = np.zeros(len(faces), bool)
            if hit.any():
                stack = np.stack([crop for crop in found if crop is not None])
                correct[hit] = classifier.predict_faces(stack).argmax(1) == labels[hit]
            row[name] = {
                "found": float(hit.mean()),
                "accuracy_of_found": float(correct[hit].mean()) if hit.any() else None,
                "accuracy_missed_count_wrong": float(correct.mean()),
            }
        report["by_roll"][str(roll)] = row
    return report


def pipeline(faces: np.ndarray, classifier, repeats: int) -> dict:
    """Frames per second of the live path with BlazeFace: detect, track, level, frame, classify, smooth."""
    from core.analysis.live import LiveAnalyzer

    report = {}
    for name, chosen, sizes in (("one_face", faces[:1], None), ("three_faces", faces[:3], THREE_FACE_SIZES)):
        frame = frame_with_faces(list(chosen), sizes)
        analyzer, clock = LiveAnalyzer(classifier, AlignedDetector(), smoothing_s=0.3), [0.0]

        def run(frame=frame, analyzer=analyzer, clock=clock) -> None:
            clock[0] += 1 / 30
            analyzer.analyze(frame, clock[0])

        stats = latency_stats(time_calls(run, repeats))
        detector = analyzer.detector
        detect_only = latency_stats(time_calls(lambda frame=frame, d=detector: d.detect(to_gray(frame)), repeats))
        report[name] = {
            "faces_found": len(detector.detect(to_gray(frame))),
            "frames_per_s": stats["per_s"],
            "p50_ms": stats["p50_ms"],
            "detect_p50_ms": detect_only["p50_ms"],
        }
    return report


def targets(results: dict) -> dict:
    """BlazeFace's worst recall over the rolls, and how far the shipped crops' accuracy falls from upright to 30°."""
    by_roll = results["detection"]["by_roll"]
    rows = results["alignment"]["by_roll"]
    accuracy = {roll: row["blazeface"]["accuracy_missed_count_wrong"] for roll, row in rows.items()}
    return {
        "recall_worst_roll": min(recalls["blazeface"] for recalls in by_roll.values()),
        "accuracy_upright": accuracy["0"],
        "accuracy_30": accuracy["30"],
        "accuracy_drop_30_points": 100 * (accuracy["0"] - accuracy["30"]),
    }


def run(faces: np.ndarray, labels: np.ndarray, classifier, settings: Settings, log) -> dict:
    """Every part but the framing search: what ``python -m bench`` and ``python -m bench.detection`` run."""
    results = {"settings": settings.__dict__, "faces": len(faces)}
    results["detection"] = detection(faces, detectors(), settings, log)
    log("alignment")
    results["alignment"] = alignment(faces, labels, classifier, settings)
    results["pipeline"] = pipeline(faces, classifier, settings.pipeline_repeats)
    results["targets"] = targets(results)
    return results


def framing(faces: np.ndarray, sizes=(160, 240), rolls=(0, 15, 30, 45)) -> dict:
    """The crop side (in eye distances) and eye line that best reproduce FER's own framing.

    Mean pixel correlation between the aligned 48x48 crop and the original face, over faces pasted
    at ``sizes`` and rolled by ``rolls``, on a grid of both constants.
    """
    detector = BlazeFace()
    sides, lines = np.round(np.arange(1.8, 3.41, 0.1), 2), np.round(np.arange(0.24, 0.50, 0.02), 2)
    total, count = np.zeros((len(sides), len(lines))), 0
    for size in sizes:
        for roll in rolls:
            for face in faces:
                gray, _ = rolled_frame(face, size, roll)
                found = detector.detect(gray)
                if not found:
                    continue
                crops = [aligned_face(gray, found[0].eyes, 48, side, line) for side in sides for line in lines]
                total += (_standardised(np.stack(crops)) @ _standardised(face[None])[0]).reshape(total.shape)
                count += 1
    mean = total / max(count, 1)
    best = np.unravel_index(mean.argmax(), mean.shape)
    current = (np.abs(sides - CROP_EYE_DISTANCES).argmin(), np.abs(lines - EYE_LINE).argmin())
    return {
        "crops": count,
        "best_crop_eye_distances": float(sides[best[0]]),
        "best_eye_line": float(lines[best[1]]),
        "best_mean_correlation": float(mean[best]),
        "shipped_mean_correlation": float(mean[current]),
    }


def _standardised(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1).astype(np.float32)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-6)


def format_table(results: dict) -> str:
    lines = []
    summary = results["detection"]["summary"]
    names = list(summary)
    lines.append(f"{'Detection (all conditions pooled)':40}" + "".join(f"{n:>16}" for n in names))
    for key, label, digits in (
        ("recall", "recall", 3),
        ("false_per_frame", "false positives / frame", 3),
        ("ms_per_frame", "ms / frame", 1),
    ):
        lines.append(f"{label:40}" + "".join(f"{summary[n][key]:>16.{digits}f}" for n in names))
    for axis in ("roll", "size", "brightness", "blur"):
        for value, recalls in _recall_by(results["detection"]["conditions"], summary, axis).items():
            lines.append(f"{'  recall at ' + axis + ' ' + value:40}" + "".join(f"{recalls[n]:>16.3f}" for n in names))
    align = results.get("alignment")
    if align:
        lines.append("")
        lines.append(
            f"Classifier accuracy, {align['faces']} faces at {align['size']} px "
            f"(original 48x48 faces: {align['original_accuracy']:.3f})"
        )
        lines.append("accuracy counts a missed face as wrong; found = share of faces detected")
        lines.append(f"{'roll':10}" + "".join(f"{name + ' found':>18}{name + ' acc':>16}" for name in ALIGN_NAMES))
        for roll, row in align["by_roll"].items():
            lines.append(f"{roll:10}" + "".join(
                f"{row[name]['found']:>18.3f}{row[name]['accuracy_missed_count_wrong']:>16.3f}" for name in ALIGN_NAMES
            ))
    for name, row in (results.get("pipeline") or {}).items():
        lines.append(
            f"pipeline {name}: {row['frames_per_s']:.0f} frames/s (p50 {row['p50_ms']:.1f} ms, "
            f"detect p50 {row['detect_p50_ms']:.1f} ms, {row['faces_found']} faces found)"
        )
    if results.get("targets"):
        lines.append(f"targets: {results['targets']}")
    if results.get("framing"):
        lines.append(f"framing: {results['framing']}")
    return "\n".join(lines)


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.detection", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few conditions and faces (seconds)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--data", help="FER-2013 CSV (default: $FER2013_PATH or ../shared/fer2013/fer2013.csv.gz)")
    parser.add_argument("--model", help="a shipped model's name or a .keras file "
                                        "(default: $FER_MODEL_PATH, else the default shipped model)")
    parser.add_argument("--framing", action="store_true", help="also rerun the search for the alignment constants")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    from core.data import load_dataset
    from core.model.classifier import EmotionClassifier

    public = load_dataset(args.data or default_data_path(), use_cache=True).split("PublicTest")
    classifier = EmotionClassifier.load(args.model)
    results = run(public.images, public.labels, classifier, settings, log)
    if args.framing:
        log("framing")
        results["framing"] = framing(public.images[: settings.alignment_faces])
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    from bench.common import run_quietly

    run_quietly(main)
