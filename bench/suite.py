"""Runs the sections in order and gathers their reports into one dict (the JSON document)."""

from __future__ import annotations

import os
import platform
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.common import default_data_path, load_model_under_test, product_classifier, skipped, synthetic_faces
from bench.report import served_key

SECTIONS = (
    "csv", "throughput", "latency", "fer", "flops", "pipeline", "detection", "memory", "startup", "live_page", "soak",
    "video", "batch", "training", "service",
)


@dataclass(frozen=True)
class Settings:
    throughput_batches: int
    latency_repeats: int
    pipeline_repeats: int
    memory_frames: int
    startup_runs: int
    live_page_seconds: float
    soak_frames: int
    train_warmup: int
    train_batches: int
    train_subset: int | None
    train_variants: tuple[tuple[str, bool, int], ...]
    """(precision, XLA, batch size)"""
    video_seconds: float
    video_everies: tuple[int, ...]
    video_soak_minutes: float | None
    """The long clip whose memory growth is measured; None leaves it out."""
    service_seconds: float = 30.0
    """Each locust run against ``serve`` (1, 8 and 32 users)."""
    service_batch_wait_ms: float | None = None
    """Also run 8 and 32 users on a server classifying in shared batches waiting this long; None leaves it out."""
    batch_clip_seconds: float = 30.0
    """Length of each of the batch section's eight clips (analysed in process, then on a local Ray)."""


FULL = Settings(
    throughput_batches=20,
    latency_repeats=300,
    pipeline_repeats=100,
    memory_frames=200,
    startup_runs=5,
    live_page_seconds=15.0,
    soak_frames=10_000,
    train_warmup=5,
    train_batches=40,
    train_subset=None,
    train_variants=(
        ("float32", False, 64),
        ("mixed_bfloat16", False, 64),
        ("float32", True, 64),
        ("mixed_bfloat16", True, 64),
        ("mixed_bfloat16", False, 128),
        ("mixed_bfloat16", False, 256),
    ),
    video_seconds=10.0,
    video_everies=(1, 3),
    video_soak_minutes=10.0,
    service_seconds=30.0,
    service_batch_wait_ms=5.0,
)
QUICK = Settings(
    throughput_batches=2,
    latency_repeats=30,
    pipeline_repeats=10,
    memory_frames=10,
    startup_runs=1,
    live_page_seconds=2.0,
    soak_frames=300,
    train_warmup=2,
    train_batches=4,
    train_subset=1024,
    train_variants=(("float32", False, 64), ("mixed_bfloat16", False, 64)),
    video_seconds=2.0,
    video_everies=(1,),
    video_soak_minutes=None,
    service_seconds=3.0,
    batch_clip_seconds=2.0,
)


@dataclass
class Context:
    """What the sections share: the data, the faces, the model and its classifiers."""

    args: object
    settings: Settings
    log: object
    dataset: object = None
    faces: np.ndarray | None = None
    labels: np.ndarray | None = None
    faces_source: str = ""
    model: object = None
    classifiers: dict = field(default_factory=dict)
    """``tta_on`` and ``tta_off`` (LiteRT) and ``keras_tta_on``."""
    detector: object = None
    frame_faces: list = field(default_factory=list)
    frame_faces_tried: int = 0
    fer: object = None
    fer_reason: str = ""

    @property
    def served(self):
        """The classifier the product serves the model with (flip TTA or not, as its calibration says)."""
        return self.classifiers[served_key(self.model.flip_tta)]


def run_suite(args, log=print) -> dict:
    settings = QUICK if args.quick else FULL
    if args.soak_frames:
        settings = Settings(**{**settings.__dict__, "soak_frames": args.soak_frames})
    chosen = [name for name in SECTIONS if name in args.sections]
    context = Context(args, settings, log)
    results: dict = {"meta": _meta(args, settings)}
    results["data"] = _guarded(lambda: _load_data(context, "csv" in chosen), log, "data")
    if "csv" in chosen:
        parsed = results["data"].pop("csv", None)
        results["csv"] = {**parsed, "status": "ok"} if parsed else skipped(results["data"].get("reason", "no data"))
    if results["data"].get("status") == "error":
        context.faces, context.labels, context.faces_source = synthetic_faces(512), None, "synthetic (data failed)"
    results["model"] = _guarded(lambda: _load_model(context), log, "model")
    if results["model"]["status"] != "ok":
        return results
    from bench import sections

    for name in chosen:
        if name == "csv":
            continue
        log(f"[{name}]")
        results[name] = _guarded(lambda name=name: getattr(sections, name)(context, results), log, name)
    results["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return results


def _guarded(fn, log, name: str) -> dict:
    """A section's report with ``status`` ok; its error instead of a crash."""
    start = time.perf_counter()
    try:
        report = fn()
    except Exception as error:  # one broken section must not hide the others
        log(f"  {name} failed: {type(error).__name__}: {error}")
        return {"status": "error", "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
    report.setdefault("status", "ok")
    report["section_seconds"] = time.perf_counter() - start
    return report


def _meta(args, settings: Settings) -> dict:
    import tensorflow as tf

    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quick": bool(args.quick),
        "settings": {key: value for key, value in settings.__dict__.items()},
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "niceness": os.nice(0) if hasattr(os, "nice") else None,
    }


def _load_data(context: Context, timed: bool) -> dict:
    from core.labels import PUBLIC_TEST

    args = context.args
    path = Path(args.data) if args.data else default_data_path()
    if not path.exists():
        context.faces, context.labels, context.faces_source = synthetic_faces(512), None, "synthetic (no data)"
        return {"path": str(path), "status": "skipped", "reason": f"no data at {path}", "faces": context.faces_source}
    report: dict = {"path": str(path)}
    if timed:
        from bench.csv_parse import parse_csv

        context.log(f"[csv] parsing {path}")
        context.dataset, report["csv"] = parse_csv(path, breakdown=not args.quick)
    else:
        from core.data import load_dataset

        context.dataset = load_dataset(path)
    split = context.dataset.split(PUBLIC_TEST)
    if len(split) == 0:
        split = context.dataset.evaluation_split()
    context.faces, context.labels = split.images, split.labels
    context.faces_source = f"{len(split)} {split.usage[0] if len(split) else ''} faces from {path.name}"
    report["faces"] = context.faces_source
    return report


def _load_model(context: Context) -> dict:
    from core.model.classifier import EmotionClassifier

    args = context.args
    context.model = load_model_under_test(args.model, explicit=args.model is not None)
    # tta_on/tta_off: the product's LiteRT path; keras_tta_on: the float32 Keras model it was converted from.
    context.classifiers = {
        "tta_on": product_classifier(context.model, flip_tta=True),
        "tta_off": product_classifier(context.model, flip_tta=False),
        "keras_tta_on": EmotionClassifier.from_model(context.model.model, True, "keras"),
    }
    if not context.model.trained:
        context.log(f"note: benchmarking an {context.model.source}")
    model = context.model
    return {"source": model.source, "trained": model.trained, "params": model.model.count_params(),
            "flip_tta": model.flip_tta}
