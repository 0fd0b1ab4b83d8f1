"""The model and report in use, loaded once and shared: the classifier, its training report, batch predictions.
Owns the model picker (model_choices, model_choice, model_picker, model_path), get_classifier, get_detector,
load_report, predict_in_batches and the file helpers (display_path, mtime_ns).

The model in use is chosen in the sidebar of every page, by name (the shipped models) or as ``FER_MODEL_PATH``
gives it; the choice is kept in ``st.session_state`` and so follows the user from page to page.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from components import ROOT
from core.evaluation.report import REPORT_FILE, ReportError, TrainingReport, read_report
from core.model.classifier import MODEL_ENV_VAR, EmotionClassifier, ModelLoadError
from core.model.registry import DEFAULT_MODEL_NAME, SHIPPED_MODELS, resolve_model_path
from core.vision.faces import Detector, make_detector

PREDICT_BATCH = 256
TRAIN_HINT = (
    "Train one with `python train_cli.py train --data PATH/fer2013.csv --out runs/latest`, then start the app with "
    f"`{MODEL_ENV_VAR}=runs/latest/emotion_cnn.keras` (any `.keras` model file works) and reload this page."
)


CHOICE_KEY = "model_choice"
"""Where the chosen model's name is kept: not a widget's key, so it outlives pages without the picker."""
PICKER_KEY = "model_picker"


def model_choices() -> dict[str, Path]:
    """The models a page can use, by name: the shipped ones, then ``FER_MODEL_PATH``'s file when it names another."""
    choices = {name: shipped.path for name, shipped in SHIPPED_MODELS.items()}
    chosen = os.environ.get(MODEL_ENV_VAR, "").strip()
    if chosen and chosen not in choices:
        choices[chosen] = resolve_model_path(chosen)
    return choices


def default_model_choice(choices: dict[str, Path]) -> str:
    """``FER_MODEL_PATH``'s model when set; else the default shipped model, or the first shipped one on disk."""
    chosen = os.environ.get(MODEL_ENV_VAR, "").strip()
    if chosen:
        return chosen
    if choices[DEFAULT_MODEL_NAME].is_file():
        return DEFAULT_MODEL_NAME
    return next((name for name in SHIPPED_MODELS if choices[name].is_file()), DEFAULT_MODEL_NAME)


def model_choice() -> str:
    """The name of the model in use: the one picked in this browser session, else the default."""
    choices = model_choices()
    picked = st.session_state.get(CHOICE_KEY)
    return picked if picked in choices else default_model_choice(choices)


def model_path() -> Path:
    """The file of the model in use (:func:`model_choice`)."""
    return model_choices()[model_choice()]


def describe_choice(name: str) -> str:
    """How the picker lists a model: a shipped one by name, ``FER_MODEL_PATH``'s by its file."""
    path = model_choices().get(name)
    if name in SHIPPED_MODELS:
        return name if path is not None and path.is_file() else f"{name} (not available yet)"
    return f"{display_path(path) if path is not None else name} ({MODEL_ENV_VAR})"


def _keep_choice() -> None:
    st.session_state[CHOICE_KEY] = st.session_state[PICKER_KEY]


def model_picker() -> Path:
    """The sidebar's model picker, shared by every page: the shipped models and ``FER_MODEL_PATH``'s.

    The choice is kept across pages; returns the chosen model's file.
    """
    choices = model_choices()
    chosen = model_choice()
    st.session_state[PICKER_KEY] = chosen  # the kept choice, also on a page that just opened
    shipped = [f"**{name}**: {model.description}." for name, model in SHIPPED_MODELS.items()]
    own = (f"The last one is `{MODEL_ENV_VAR}`'s." if len(choices) > len(SHIPPED_MODELS)
           else f"Set `{MODEL_ENV_VAR}` before starting the app to add a model of your own.")
    st.selectbox("Model", list(choices), key=PICKER_KEY, format_func=describe_choice, on_change=_keep_choice,
                 help="\n\n".join(["The emotion model this page uses; the choice stays as you move between pages.",
                                    *shipped, own]))
    return choices[chosen]


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


@st.cache_resource(show_spinner="Loading the emotion model…", max_entries=4)
def _load_classifier(path: str, mtime_ns: int, backend: str) -> EmotionClassifier:
    classifier = EmotionClassifier.load(path, backend=backend)
    classifier.predict_faces(np.zeros((1, 48, 48), dtype=np.uint8))  # trace once, so the first frame is quick
    return classifier


def get_classifier(show_error: bool = True, backend: str = "lite") -> EmotionClassifier | None:
    """The chosen model, loaded once per file version and shared by every session and the video threads.

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
    name = model_choice()
    if name in SHIPPED_MODELS and not model_path().is_file():
        hint = (f"The shipped model **{name}** is not on this machine yet (it may still be training). Choose "
                "another model in the sidebar.")
    else:
        hint = f"Choose another model in the sidebar. {TRAIN_HINT}"
    st.error(f"**The emotion model could not be loaded.** {error}\n\n{hint}", icon=":material/error:")


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
    """Probabilities (N, the model's emotions) for uint8 faces, batch by batch, reporting (done, total) after each."""
    total = len(faces)
    out = [np.zeros((0, len(classifier.labels)), dtype=np.float32)]
    for start in range(0, total, PREDICT_BATCH):
        out.append(classifier.predict_faces(faces[start : start + PREDICT_BATCH]))
        if on_progress:
            on_progress(min(start + PREDICT_BATCH, total), total)
    return np.concatenate(out)
