"""Helpers shared by the sections: paths, the model under test, faces, timing, memory."""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "fer2013" / "fer2013.csv.gz"
TRAINING_IMAGES = 28_709
"""Rows of FER-2013's Training split: one epoch."""


def run_quietly(main: Callable[[], int | None]) -> None:
    """Run a benchmark's ``main`` as its own command: without the libraries' start-up lines (unless
    ``FER_VERBOSE=1``), as ``python -m bench`` runs every section, and exit with its status."""
    from core.quiet import quiet_console

    with quiet_console():
        status = main()
    sys.exit(status)


def default_data_path() -> Path:
    """``$FER2013_PATH`` if set, else ``../shared/fer2013/fer2013.csv.gz`` beside the repository."""
    from core.data import DATA_ENV_VAR

    return Path(os.environ.get(DATA_ENV_VAR) or SHARED_DATA)


@dataclass
class ModelUnderTest:
    model: object
    """The Keras model."""
    source: str
    """Its file, or a note saying it is an untrained stand-in."""
    trained: bool
    flip_tta: bool = True
    """Whether the product serves it with flip TTA (its calibration sidecar says; the stand-in: yes)."""


def load_model_under_test(path: str | os.PathLike | None, explicit: bool) -> ModelUnderTest:
    """The model at ``path`` (default: the shipped model).

    If the default model file is missing (the shipped model is not trained yet), an untrained
    ``build_model()`` of the same architecture stands in: speed and memory depend on the
    architecture only. A missing file given explicitly is an error.
    """
    from core.model.calibration import load_calibration, serves_flip_tta
    from core.model.classifier import default_model_path, load_keras_model
    from core.model.registry import resolve_model_path

    chosen = resolve_model_path(path) if path is not None else default_model_path()
    if chosen.is_file() or explicit:
        return ModelUnderTest(load_keras_model(chosen), str(chosen), True, serves_flip_tta(load_calibration(chosen)))
    from core.model.architecture import build_model

    return ModelUnderTest(build_model(), f"untrained build_model() (no file at {chosen})", False)


def product_classifier(model: ModelUnderTest, flip_tta: bool | None = None):
    """The classifier the product's live path runs (LiteRT), for the model under test; flip TTA as served unless
    ``flip_tta`` says."""
    from core.model.classifier import EmotionClassifier

    flip_tta = model.flip_tta if flip_tta is None else flip_tta
    return EmotionClassifier.from_model(model.model, flip_tta, "lite", model.source if model.trained else None)


def synthetic_faces(count: int, seed: int = 0) -> np.ndarray:
    """Random uint8 48x48 faces, for timing when the data set is absent."""
    return np.random.default_rng(seed).integers(0, 256, size=(count, 48, 48), dtype=np.uint8)


def tile_to(faces: np.ndarray, count: int) -> np.ndarray:
    """``count`` faces, repeating ``faces`` as needed."""
    reps = -(-count // len(faces))
    return np.concatenate([faces] * reps)[:count]


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 3) -> np.ndarray:
    """Wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    gc.collect()
    samples = np.empty(repeats)
    for index in range(repeats):
        start = time.perf_counter()
        fn()
        samples[index] = time.perf_counter() - start
    return samples


def latency_stats(samples: np.ndarray) -> dict:
    """p50/p95/mean in ms, and the rate (1 / mean) per second."""
    return {
        "n": len(samples),
        "p50_ms": float(np.percentile(samples, 50) * 1e3),
        "p95_ms": float(np.percentile(samples, 95) * 1e3),
        "mean_ms": float(samples.mean() * 1e3),
        "per_s": float(1.0 / samples.mean()),
    }


def _proc_mib(path: str, field: str) -> float | None:
    """The ``field:  N kB`` line of a /proc file, in MiB; None where there is no such file or line."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mb() -> float:
    """Resident memory of this process now, in MiB (VmRSS; ru_maxrss where /proc is absent)."""
    rss = _proc_mib("/proc/self/status", "VmRSS")
    return peak_rss_mb() if rss is None else rss


def huge_pages_mb() -> float | None:
    """Resident memory of this process in transparent huge pages (AnonHugePages), MiB; None without /proc.

    Growth here without allocations is the kernel's khugepaged filling regions marked for huge pages.
    """
    return _proc_mib("/proc/self/smaps_rollup", "AnonHugePages")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def skipped(reason: str) -> dict:
    return {"status": "skipped", "reason": reason}
