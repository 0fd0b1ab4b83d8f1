"""The model and report in use, loaded once and shared: the classifier, its training report, batch predictions.
Owns model_path, get_classifier, get_detector, load_report, predict_in_batches and the file helpers
(display_path, mtime_ns).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from components import ROOT
from core.evaluation.report import REPORT_FILE, ReportError, TrainingReport, read_report
from core.labels import EMOTIONS
from core.model.classifier import MODEL_ENV_VAR, EmotionClassifier, ModelLoadError, default_model_path
from core.vision.faces import Detector, make_detector

PREDICT_BATCH = 256
TRAIN_HINT = (
    "Train one with `python train_cli.py train --data PATH/fer2013.csv --out runs/latest`, then start the app with "
    f"`{MODEL_ENV_VAR}=runs/latest/emotion_cnn.keras` (any `.keras` model file works) and reload this page."
)


def model_path() -> Path:
    """The model in use: ``FER_MODEL_PATH`` if set, else the shipped ``models/emotion_cnn.keras``."""
    return default_model_path()


def display_path(path: Path) -> str:
    """A path relative to the repository when it lies inside it, else as given."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def model_version() -> int:
    """Changes when the model file is replaced (its modification time in ns; -1 when missing)."""
    return mtime_ns(model_path())


def mtime_ns(path: Path) -> int:
    """A file's modification time in ns, -1 when it is missing: part of cache keys."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


_per_thread = threading.local()


def get_detector(name: str = "blazeface") -> Detector:
    """This thread's named face detector for still images, built once per thread.

    Not shared between sessions: OpenCV's Haar cascade (inside both detectors) is not thread-safe,
    and each session's script runs on its own thread.
    """
    detectors = _per_thread.__dict__.setdefault("detectors", {})
    if name not in detectors:
        detectors[name] = make_detector(name)
    return detectors[name]


@st.cache_resource(show_spinner="Loading the emotion model…", max_entries=2)
def _load_classifier(path: str, mtime_ns: int, backend: str) -> EmotionClassifier:
    classifier = EmotionClassifier.load(path, backend=backend)
    classifier.predict_faces(np.zeros((1, 48, 48), dtype=np.uint8))  # trace once, so the first frame is quick
    return classifier


def get_classifier(show_error: bool = True, backend: str = "lite") -> EmotionClassifier | None:
    """The model, loaded once per file version and shared by every session and the video threads.

    ``backend="keras"`` is for attacks, whose gradients come from the Keras model: it shows the
    probabilities of exactly the model that was attacked. A missing or broken file gives ``None``
    and (by default) a clear message on the page.
    """
    path = model_path()
    try:
        return _load_classifier(str(path), mtime_ns(path), backend)
    except ModelLoadError as error:
        if show_error:
            show_model_error(error)
        return None


def show_model_error(error: Exception) -> None:
    st.error(f"**The emotion model could not be loaded.** {error}\n\n{TRAIN_HINT}", icon=":material/error:")


@st.cache_data(max_entries=4, show_spinner=False)
def _read_report(path: str, mtime_ns: int) -> tuple[TrainingReport | None, str | None]:
    try:
        return read_report(path), None
    except FileNotFoundError:
        return None, f"no {REPORT_FILE} next to the model ({path})"
    except (OSError, ReportError) as error:
        return None, str(error)


def report_path() -> Path:
    return model_path().with_name(REPORT_FILE)


def load_report() -> tuple[TrainingReport | None, str | None]:
    """The training report next to the model in use, or ``None`` and why not."""
    path = report_path()
    return _read_report(str(path), mtime_ns(path))


def predict_in_batches(
    classifier: EmotionClassifier, faces: np.ndarray, on_progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Probabilities (N, 7) for uint8 faces, batch by batch, reporting (done, total) after each."""
    total = len(faces)
    out = [np.zeros((0, len(EMOTIONS)), dtype=np.float32)]
    for start in range(0, total, PREDICT_BATCH):
        out.append(classifier.predict_faces(faces[start : start + PREDICT_BATCH]))
        if on_progress:
            on_progress(min(start + PREDICT_BATCH, total), total)
    return np.concatenate(out)
