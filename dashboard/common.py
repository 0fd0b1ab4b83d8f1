"""UI glue shared by every dashboard page: cached loaders, the model card, data pickers, charts.

No model or preprocessing logic lives here: everything that touches faces goes through ``core``.
Streamlit puts this folder (the main script's) on ``sys.path``, so pages ``import common``; the
repository root is added below so that ``core`` imports when run as ``streamlit run dashboard/Home.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# aiortc's SRTP binding (pylibsrtp, used by the live page) crashes the process when it is loaded after
# TensorFlow, so load it first. A process that imported TensorFlow already cannot load it safely at all.
if "tensorflow" not in sys.modules:
    try:
        import pylibsrtp  # noqa: F401
    except ImportError:  # webrtc_problem() explains; the other pages work without it
        pass

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from core.analysis.annotate import EMOTION_COLOURS_BGR  # noqa: E402
from core.data import DATA_ENV_VAR, DataFormatError, FerDataset, load_dataset  # noqa: E402
from core.evaluation.report import REPORT_FILE, ReportError, TrainingReport, read_report  # noqa: E402
from core.labels import EMOTIONS  # noqa: E402
from core.model.classifier import MODEL_ENV_VAR, EmotionClassifier, ModelLoadError, default_model_path  # noqa: E402

APP_NAME = "Facial emotion recognition"
PAGES_DIR = Path(__file__).resolve().parent / "pages"
EMOTION_COLOURS = tuple(f"#{r:02x}{g:02x}{b:02x}" for b, g, r in EMOTION_COLOURS_BGR)
"""One CSS colour per emotion (label order), the same as the boxes drawn on frames."""
UPLOAD_TYPES = ["csv", "gz"]
PREDICT_BATCH = 256
TRAIN_HINT = (
    "Train one with `python train_cli.py train --data PATH/fer2013.csv --out runs/latest`, then start the app with "
    f"`{MODEL_ENV_VAR}=runs/latest/emotion_cnn.keras` (any `.keras` model file works) and reload this page."
)


# --------------------------------------------------------------------------- page frame


def page_header(title: str, icon: str, intro: str | None = None) -> None:
    """Page config, title and intro line shared by every page, plus the sidebar status."""
    st.set_page_config(page_title=f"{title} · {APP_NAME}", page_icon=icon, layout="wide")
    st.title(f"{icon} {title}")
    if intro:
        st.caption(intro)
    with st.sidebar:
        path = model_path()
        state = "found" if path.is_file() else "missing"
        st.caption(f"Model: `{path.name}` ({state})  \nData: {data_env_status()[1]}")


def webrtc_problem() -> str | None:
    """Why the live page cannot stream here, or ``None`` when it can."""
    if importlib.util.find_spec("streamlit_webrtc") is None or importlib.util.find_spec("aiortc") is None:
        return "The live page needs streamlit-webrtc and aiortc: `pip install streamlit-webrtc aiortc av`."
    if "pylibsrtp" not in sys.modules:
        if "tensorflow" in sys.modules:
            return ("aiortc's SRTP library must be loaded before TensorFlow in this process, and TensorFlow came "
                    "first. Start the app with `streamlit run dashboard/Home.py`.")
        import pylibsrtp  # noqa: F401
    return None


def data_env_status() -> tuple[Path | None, str]:
    """The ``FER2013_PATH`` data set if it exists, and a one-line description."""
    value = os.environ.get(DATA_ENV_VAR, "").strip()
    if not value:
        return None, f"`{DATA_ENV_VAR}` not set"
    path = Path(value).expanduser()
    if not path.exists():
        return None, f"`{DATA_ENV_VAR}` = `{value}` does not exist"
    return path, f"`{path}`"


# --------------------------------------------------------------------------- model


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
    return _mtime_ns(model_path())


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


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
        return _load_classifier(str(path), _mtime_ns(path), backend)
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
    return _read_report(str(path), _mtime_ns(path))


def _format_when(stamp: str | None) -> str:
    if not stamp:
        return "an unknown date"
    try:
        return datetime.fromisoformat(stamp.replace("+0000", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return stamp


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "an unknown time"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def model_card(report: TrainingReport | None, error: str | None = None) -> None:
    """Parameters, PublicTest accuracy and how the model in use was trained, from its report."""
    path = model_path()
    with st.container(border=True):
        st.subheader(":material/memory: Model card")
        st.caption(f"`{display_path(path)}`")
        if report is None:
            st.warning(f"No training report to show: {error}")
            return
        config = report.config
        columns = st.columns(2) + st.columns(2)
        split = report.evaluated_on
        tta = " (flip TTA)" if report.flip_tta else ""
        columns[0].metric(f"{split} accuracy{tta}", f"{report.accuracy:.1%}")
        if report.accuracy_without_tta is not None:
            columns[1].metric("Accuracy without TTA", f"{report.accuracy_without_tta:.1%}")
        columns[2].metric("Parameters", f"{report.parameters:,}")
        epochs = report.epochs_run if report.epochs_run is not None else len(report.history.get("epoch", []))
        best = f" (best {report.best_epoch})" if report.best_epoch is not None else ""
        columns[3].metric("Epochs", f"{epochs}{best}")
        trained_on = report.split_sizes.get(report.training_split)
        data = Path(report.data_file or "").name or "FER-2013"
        sha = report.data_sha256 or ""
        text = (f"Trained **{_format_when(report.finished)}** in "
                f"{_format_duration(report.training_seconds)} on `{data}`")
        if sha:
            text += f" (sha256 `{sha[:12]}…`)"
        if isinstance(trained_on, int):
            text += f": {trained_on:,} training faces"
        text += f"; accuracy measured on {report.samples:,} {split} faces"
        st.markdown(text + ".")
        exported = report.exported_epoch
        if exported and exported != report.best_epoch:
            st.caption(
                f"The model is the last epoch ({exported}, `--export last`), where the learning-rate schedule "
                f"ends; epoch {report.best_epoch} had the best PublicTest accuracy without TTA."
            )
        if report.accuracy_lite is not None:
            st.caption(
                f"This app runs the model converted to LiteRT with int8 weights: {report.accuracy_lite:.2%} on "
                f"{split} with flip TTA, against {report.accuracy:.2%} for the float32 model."
            )
        if config:
            augment = ", ".join(
                f"{name} {config[name]}" for name in ("flip", "shift", "rotation_degrees", "zoom") if name in config
            )
            st.caption(
                f"CNN filters {config.get('filters', '?')}, batch {config.get('batch_size', '?')}, "
                f"learning rate {config.get('learning_rate', '?')} (warm-up {config.get('warmup_epochs', 0)} epochs), "
                f"label smoothing {config.get('label_smoothing', 0)}, early-stopping patience "
                f"{config.get('patience', '?')}, mixed precision {config.get('mixed_precision', False)}; "
                f"augmentation: {augment or 'none'}."
            )
            with st.expander("Full training configuration"):
                st.json(config, expanded=True)


# --------------------------------------------------------------------------- data sets


@dataclass(frozen=True)
class LoadedData:
    dataset: FerDataset
    key: str
    """Identifies the file version and options, for caches downstream."""
    label: str


@st.cache_resource(show_spinner="Parsing FER-2013…", max_entries=3)
def _load_path(path: str, mtime_ns: int, skip_bad_rows: bool) -> tuple[FerDataset | None, str | None]:
    try:
        return load_dataset(path, skip_bad_rows=skip_bad_rows), None
    except DataFormatError as error:
        return None, str(error)


def _upload_suffix(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        return ".csv.gz"
    return ".csv"


@st.cache_resource(show_spinner="Parsing the uploaded file…", max_entries=2)
def _load_upload(digest: str, name: str, skip_bad_rows: bool, _data: bytes) -> tuple[FerDataset | None, str | None]:
    with tempfile.TemporaryDirectory(prefix="fer-upload-") as folder:
        path = Path(folder) / f"upload{_upload_suffix(name)}"
        path.write_bytes(_data)
        try:
            dataset = load_dataset(path, skip_bad_rows=skip_bad_rows)
        except DataFormatError as error:
            return None, str(error).replace(str(path), name).replace(path.name, name)
    dataset.source = name
    dataset.skipped = [reason.replace(path.name, name) for reason in dataset.skipped]
    return dataset, None


def load_data_from_path(path: str, skip_bad_rows: bool = False) -> tuple[LoadedData | None, str | None]:
    """A data set from a path, parsed once per file version (shared by all sessions)."""
    resolved = Path(path).expanduser()
    if not resolved.exists():
        return None, f"{resolved}: no such file or folder"
    mtime = _mtime_ns(resolved)
    dataset, error = _load_path(str(resolved), mtime, skip_bad_rows)
    if dataset is None:
        return None, error
    return LoadedData(dataset, f"path:{resolved}:{mtime}:{skip_bad_rows}", str(resolved)), None


def load_data_from_upload(name: str, data: bytes, skip_bad_rows: bool = False) -> tuple[LoadedData | None, str | None]:
    """A data set from uploaded bytes, parsed once per content (keyed by its SHA-256)."""
    digest = hashlib.sha256(data).hexdigest()
    dataset, error = _load_upload(digest, name, skip_bad_rows, data)
    if dataset is None:
        return None, error
    return LoadedData(dataset, f"upload:{digest}:{skip_bad_rows}", f"{name} (uploaded)"), None


def data_picker(key: str) -> LoadedData | None:
    """Sidebar widgets to choose FER-2013 by path (default ``FER2013_PATH``) or upload; shows any error."""
    with st.sidebar:
        st.header("Data set")
        source = st.radio("Source", ["Path", "Upload"], horizontal=True, key=f"{key}_source")
        skip = st.checkbox("Skip bad rows", key=f"{key}_skip", help="Drop unreadable rows instead of stopping.")
        if source == "Path":
            default = os.environ.get(DATA_ENV_VAR, "")
            path = st.text_input(
                "FER-2013 path", value=default, key=f"{key}_path",
                help="fer2013.csv or .csv.gz, the seed's CSV folder, or an image folder ROOT/<split>/<emotion>/.",
            ).strip()
            if not path:
                st.info(f"No data set given. Set `{DATA_ENV_VAR}` before starting the app, type a path, or upload.")
                return None
            loaded, error = load_data_from_path(path, skip)
        else:
            uploaded = st.file_uploader("FER-2013 CSV (.csv or .csv.gz)", type=UPLOAD_TYPES, key=f"{key}_upload")
            if uploaded is None:
                st.info("Upload fer2013.csv or fer2013.csv.gz.")
                return None
            loaded, error = load_data_from_upload(uploaded.name, uploaded.getvalue(), skip)
        if loaded is None:
            st.error(f"**Could not read the data set.** {error}", icon=":material/warning:")
            return None
        dataset = loaded.dataset
        st.success(f"{len(dataset):,} faces: " + ", ".join(
            f"{name} {int((dataset.usage == name).sum()):,}" for name in dataset.splits))
        if dataset.skipped:
            st.warning(f"Skipped {len(dataset.skipped):,} bad rows; first: {dataset.skipped[0]}")
        return loaded


def labelled_splits(dataset: FerDataset) -> list[str]:
    """Splits that have at least one labelled face (the unsplit test file has none)."""
    return [name for name in dataset.splits if ((dataset.usage == name) & (dataset.labels >= 0)).any()]


# --------------------------------------------------------------------------- predictions and charts


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


def probability_figure(probabilities: np.ndarray, height: int = 260, title: str | None = None) -> go.Figure:
    """Horizontal bars, one per emotion in label order, coloured like the boxes on the video."""
    values = np.asarray(probabilities, dtype=float)
    figure = go.Figure(
        go.Bar(
            x=values, y=list(EMOTIONS), orientation="h", marker_color=list(EMOTION_COLOURS),
            text=[f"{value:.0%}" for value in values], textposition="auto",
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=30 if title else 10, b=10), title=title,
        xaxis=dict(range=[0, 1.04], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%"),
        yaxis=dict(autorange="reversed"), showlegend=False,
    )
    return figure


def probability_table(probabilities: np.ndarray) -> dict[str, str]:
    return {emotion: f"{value:.1%}" for emotion, value in zip(EMOTIONS, probabilities, strict=True)}


def enlarge(face: np.ndarray, size: int = 192) -> np.ndarray:
    """A 48x48 face scaled up for display (smooth, not blocky)."""
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)


def bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


MAX_PHOTO_SIDE = 1600
"""Larger uploads are scaled down first: Haar detection time grows with the pixel count."""


def decode_image(data: bytes) -> np.ndarray | None:
    """A BGR image from encoded bytes, or ``None`` when they are not an image OpenCV can read."""
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None or image.size == 0:
        return None
    scale = MAX_PHOTO_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return image
