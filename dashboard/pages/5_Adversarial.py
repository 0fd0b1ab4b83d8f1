"""Adversarial: how small pixel changes fool the model, and how robust it is against them.

Pick a face (data set, uploaded photo or the Live page's snapshot), a method and a target; the budget slider
(grey levels) shows original, perturbation, adversarial face and the probabilities before and after. Below, the
model's robustness curves and, when it exists, the adversarially fine-tuned ("hardened") model beside it.
Attacks are :mod:`core.adversarial.attacks`; every adversarial face is rounded to 8 bits within its budget.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import common
import cv2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.adversarial.attacks import DEFAULT_MAX_GREY, GREY_LEVELS, attack, grey_to_epsilon, to_uint8
from core.adversarial.harden import HARDEN_REPORT, HARDENED_MODEL
from core.adversarial.robustness import ROBUSTNESS_CSV, ROBUSTNESS_PNG, robustness_curve, subset
from core.data import DATA_ENV_VAR, FerDataset
from core.labels import EMOTIONS, IMAGE_SIZE, NUM_PIXELS, PUBLIC_TEST
from core.model.classifier import EmotionClassifier, ModelLoadError
from core.vision.crop import extract_faces, to_gray, to_model_input
from core.vision.detect import FaceDetector

SNAPSHOT_KEY = "snapshot_face"  # where the Live webcam page leaves its snapshot: a 48x48 uint8 face
FROM_DATA, FROM_UPLOAD, FROM_SNAPSHOT = "Data set", "Upload a photo", "Live snapshot"
UNTARGETED = "Untargeted (any other class)"
METHODS = {"PGD": "pgd", "FGSM": "fgsm"}
PGD_STEPS = [5, 10, 20, 50]
IMAGE_TYPES = ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"]
SHOWN = 192
STANDARD, HARDENED = "Standard", "Hardened"
CURVE_STATE = "adversarial_curve"

common.page_header(
    "Adversarial", ":material/gpp_maybe:",
    "Small, deliberate pixel changes that fool the model: pick a face, a method and a target, and move the budget. "
    "Below, how accuracy falls as the budget grows.",
)

classifier = common.get_classifier(backend="keras")  # attacks need the Keras model's gradients
loaded = common.data_picker("adversarial_data")  # its widget keys start with adversarial_data_
model_file = common.model_path()
robustness_dir = model_file.parent / "robustness"
hardened_dir = model_file.parent / "hardened"


# ---------------------------------------------------------------- helpers


@st.cache_resource(show_spinner=False)
def face_detector() -> FaceDetector:
    return FaceDetector()


@st.cache_resource(show_spinner="Loading the hardened model…", max_entries=1)
def load_hardened(path: str, mtime_ns: int) -> EmotionClassifier:
    hardened = EmotionClassifier.load(path, backend="keras")
    hardened.predict_faces(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8))
    return hardened


def mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


@st.cache_data(max_entries=8, show_spinner="Finding faces…")
def faces_in_upload(data: bytes) -> tuple[str, list[np.ndarray]]:
    """("unreadable" | "face" | "photo", 48x48 faces): a 48x48 image is taken as a face crop as it is."""
    image = common.decode_image(data)
    if image is None:
        return "unreadable", []
    if image.shape[:2] == (IMAGE_SIZE, IMAGE_SIZE):
        return "face", [to_gray(image)]
    return "photo", [crop.pixels for crop in extract_faces(image, face_detector())]


def show(face: np.ndarray) -> np.ndarray:
    """A 48x48 face enlarged with square pixels, so every changed pixel stays visible."""
    return cv2.resize(face, (SHOWN, SHOWN), interpolation=cv2.INTER_NEAREST)


@st.cache_data(max_entries=512, show_spinner=False)
def attack_face(model_key: str, face: np.ndarray, method: str, target: int | None, grey: int, steps: int,
                _model: EmotionClassifier) -> dict:
    """One attack, 8-bit result and the probabilities before and after; cached per face, method, target, budget."""
    started = time.perf_counter()
    faces = face[None]
    epsilon = grey_to_epsilon(grey)
    adversarial01 = attack(_model, to_model_input(faces), epsilon, target, method=method, steps=steps)
    adversarial = to_uint8(adversarial01, faces, epsilon)[0]
    before, after = _model.predict_faces(np.stack([face, adversarial]))
    delta = adversarial.astype(np.int64) - face.astype(np.int64)
    ok, png = cv2.imencode(".png", adversarial)
    if not ok:
        raise RuntimeError("could not encode the adversarial face as PNG")
    return {
        "adversarial": adversarial, "delta": delta, "before": before, "after": after, "png": png.tobytes(),
        "linf": int(np.abs(delta).max()), "l2": float(np.sqrt(np.sum((delta / GREY_LEVELS) ** 2))),
        "changed": int(np.count_nonzero(delta)), "seconds": time.perf_counter() - started,
    }


def perturbation_figure(delta: np.ndarray, linf: int) -> go.Figure:
    """The change in grey levels, diverging colours on a symmetric range amplified to the largest change."""
    scale = max(linf, 1)
    figure = go.Figure(go.Heatmap(
        z=delta, colorscale="RdBu_r", zmin=-scale, zmax=scale, zmid=0,
        colorbar=dict(orientation="h", thickness=10, y=-0.04, yanchor="top", len=1.0,
                      title=dict(text="grey levels", side="bottom")),
        hovertemplate="x %{x}, y %{y}: %{z:+d}<extra></extra>",
    ))
    figure.update_layout(
        height=SHOWN + 70, margin=dict(l=0, r=0, t=0, b=0),
        xaxis=dict(visible=False, constrain="domain"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    return figure


def before_after_figure(before: np.ndarray, after: np.ndarray, target: int | None) -> go.Figure:
    """Probabilities before and after the attack, side by side per emotion."""
    names = [f"<b>{name}</b> (target)" if index == target else name for index, name in enumerate(EMOTIONS)]
    figure = go.Figure([
        go.Bar(name="before", x=before, y=names, orientation="h", marker_color="#a0a4ab",
               text=[f"{value:.0%}" for value in before], textposition="outside",
               hovertemplate="%{y} before: %{x:.1%}<extra></extra>"),
        go.Bar(name="after", x=after, y=names, orientation="h", marker_color="#d1495b",
               text=[f"{value:.0%}" for value in after], textposition="outside",
               hovertemplate="%{y} after: %{x:.1%}<extra></extra>"),
    ])
    figure.update_layout(
        barmode="group", height=330, margin=dict(l=10, r=10, t=10, b=10), bargap=0.25,
        xaxis=dict(range=[0, 1.12], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%"),
        yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.08, x=0),
    )
    return figure


def verdict(before: np.ndarray, after: np.ndarray, target: int | None) -> str:
    source, now = int(np.argmax(before)), int(np.argmax(after))
    change = f"**{EMOTIONS[source]}** {before[source]:.0%} → **{EMOTIONS[now]}** {after[now]:.0%}"
    if now == source:
        return f":green[**Not fooled**]: {change}; the label held."
    if target is None or now == target:
        return f":red[**Fooled**]: {change}; the model now says {EMOTIONS[now]}."
    return f":orange[**Label changed**]: {change}, but not to {EMOTIONS[target]} yet."


# ---------------------------------------------------------------- choosing a face


def face_from_data() -> tuple[np.ndarray, str] | None:
    if loaded is None:
        st.info(f"No data set loaded. Set `{DATA_ENV_VAR}=/path/to/fer2013.csv` before `streamlit run "
                "dashboard/Home.py`, give a path or an upload in the sidebar, or pick **Upload a photo**.",
                icon=":material/database:")
        return None
    dataset = loaded.dataset
    splits = common.labelled_splits(dataset) or dataset.splits
    split = st.selectbox("Split", splits, key="adversarial_split",
                         index=splits.index(PUBLIC_TEST) if PUBLIC_TEST in splits else 0)
    data = dataset.split(split)
    labelled = bool((data.labels >= 0).any())
    classes = ["Any", *EMOTIONS] if labelled else ["Any"]
    emotion = st.selectbox("Class", classes, key="adversarial_class",
                           index=classes.index("Happy") if "Happy" in classes else 0)
    rows = np.arange(len(data)) if emotion == "Any" else np.flatnonzero(data.labels == EMOTIONS.index(emotion))
    if not len(rows):
        st.warning(f"No {emotion} face in {split}.")
        return None
    if st.session_state.get("adversarial_index", 0) >= len(rows):  # a smaller class than the last one
        st.session_state["adversarial_index"] = 0
    number = st.number_input(f"Index among the {len(rows):,} {'' if emotion == 'Any' else emotion + ' '}faces",
                             0, len(rows) - 1, 0, key="adversarial_index")
    row = int(rows[number])
    label = int(data.labels[row])
    return data.images[row], f"{split} row {row}" + (f", labelled {EMOTIONS[label]}" if label >= 0 else "")


def face_from_upload() -> tuple[np.ndarray, str] | None:
    uploaded = st.file_uploader("A photo with a face", type=IMAGE_TYPES, key="adversarial_upload",
                                help="The largest face found is cropped as the model sees it. A 48x48 image "
                                     "(such as a downloaded adversarial PNG) is used as it is.")
    if uploaded is None:
        st.info("Upload a JPEG, PNG, BMP, WebP or TIFF picture with a frontal face.", icon=":material/upload:")
        if loaded is None:
            st.caption(f"To pick faces from FER-2013 instead, set `{DATA_ENV_VAR}` to fer2013.csv(.gz) before "
                       "starting the app, or choose the data set in the sidebar.")
        return None
    kind, faces = faces_in_upload(uploaded.getvalue())
    if kind == "unreadable":
        st.error(f"**{uploaded.name} is not an image that can be read.** Upload a JPEG, PNG, BMP, WebP or TIFF "
                 "picture.", icon=":material/warning:")
        return None
    if not faces:
        st.warning(f"**No face found in {uploaded.name}.** The detector looks for frontal faces at least 24 pixels "
                   "wide: try a closer, well-lit, front-facing picture.", icon=":material/search:")
        return None
    if kind == "face":
        return faces[0], f"{uploaded.name} (48x48, used as it is)"
    chosen = 0
    if len(faces) > 1:
        chosen = st.selectbox(f"Face ({len(faces)} found, largest first)", range(len(faces)),
                              format_func=lambda number: f"Face {number + 1}", key="adversarial_face")
    return faces[chosen], f"{uploaded.name}, face {chosen + 1} of {len(faces)}"


def face_from_snapshot() -> tuple[np.ndarray, str] | None:
    face = np.asarray(st.session_state.get(SNAPSHOT_KEY))
    if face.dtype != np.uint8 or face.shape != (IMAGE_SIZE, IMAGE_SIZE):
        st.error(f"The live snapshot is not a 48x48 8-bit face (got {face.dtype} {face.shape}); take a new one.")
        return None
    return face, "the Live webcam snapshot"


# ---------------------------------------------------------------- the attack panel


def attack_panel(standard: EmotionClassifier) -> int | None:
    """Face, method, target and budget pickers, and the attack's result. Returns the budget shown."""
    st.subheader(":material/tune: Attack one face")
    pick_column, settings_column = st.columns([1, 1], gap="large")
    with pick_column:
        sources = [FROM_DATA, FROM_UPLOAD]
        if st.session_state.get(SNAPSHOT_KEY) is not None:
            sources.append(FROM_SNAPSHOT)
        default = FROM_SNAPSHOT if FROM_SNAPSHOT in sources else (FROM_DATA if loaded is not None else FROM_UPLOAD)
        source = st.radio("Face from", sources, index=sources.index(default), horizontal=True,
                          key="adversarial_source")
        picked = {FROM_DATA: face_from_data, FROM_UPLOAD: face_from_upload, FROM_SNAPSHOT: face_from_snapshot}[source]()
    with settings_column:
        model, model_name = standard, STANDARD
        hardened_file = hardened_dir / HARDENED_MODEL
        if hardened_file.is_file():
            model_name = st.radio("Model under attack", [STANDARD, HARDENED], horizontal=True,
                                  key="adversarial_model", help=f"Hardened: `{common.display_path(hardened_file)}`")
            if model_name == HARDENED:
                try:
                    model = load_hardened(str(hardened_file), mtime_ns(hardened_file))
                except ModelLoadError as error:
                    st.warning(f"The hardened model could not be loaded ({error}); attacking the standard one.")
                    model, model_name = standard, STANDARD
        method_name = st.radio("Method", list(METHODS), horizontal=True, key="adversarial_method",
                               help="PGD: several signed-gradient steps, each projected back into the budget. "
                                    "FGSM: one step of the full budget.")
        method = METHODS[method_name]
        steps = st.select_slider("PGD steps", PGD_STEPS, value=10, key="adversarial_steps") if method == "pgd" else 1
        target_name = st.selectbox("Target class", [UNTARGETED, *EMOTIONS], key="adversarial_target",
                                   help="Targeted: push the face toward this class. Untargeted: away from the "
                                        "class the model gives it now.")
        grey = st.slider("Budget ε (L-inf, grey levels out of 255)", 0, DEFAULT_MAX_GREY, 4, key="adversarial_grey",
                         help="No pixel may change by more than this many grey levels (ε = grey levels / 255 in "
                              "the model's [0, 1] input).")
    if picked is None:
        return grey
    face, description = picked
    target = None if target_name == UNTARGETED else EMOTIONS.index(target_name)
    path = hardened_file if model_name == HARDENED else model_file
    model_key = f"{path}:{mtime_ns(path)}:{model.flip_tta}"
    try:
        result = attack_face(model_key, np.ascontiguousarray(face, dtype=np.uint8), method, target, int(grey),
                             int(steps), model)
    except Exception as error:  # a model that loads but cannot be attacked: explain, no traceback
        st.error(f"**The attack failed.** {type(error).__name__}: {error}", icon=":material/error:")
        return grey
    before, after = result["before"], result["after"]
    linf, l2 = result["linf"], result["l2"]

    st.markdown(verdict(before, after, target))
    if target is not None and int(np.argmax(before)) == target:
        st.caption(f"The model already says {EMOTIONS[target]}: a targeted attack toward it only makes it surer.")
    images = st.columns([1, 1, 1, 1.8], gap="medium")
    source_index, now = int(np.argmax(before)), int(np.argmax(after))
    images[0].image(show(face), caption=f"Original: {EMOTIONS[source_index]} {before[source_index]:.0%}")
    with images[1]:
        st.plotly_chart(perturbation_figure(result["delta"], linf), key="adversarial_perturbation",
                        config={"displayModeBar": False})
        st.caption(f"Perturbation, amplified: ±{max(linf, 1)} grey levels fill the colour scale "
                   "(red brighter, blue darker)")
    images[2].image(show(result["adversarial"]),
                    caption=f"Adversarial ({method_name}, ε {grey}/255): {EMOTIONS[now]} {after[now]:.0%}")
    images[3].plotly_chart(before_after_figure(before, after, target), key="adversarial_probabilities",
                           config={"displayModeBar": False})

    metrics = st.columns(4)
    metrics[0].metric("Budget ε", f"{grey}/255", help=f"= {grey_to_epsilon(grey):.4f} in [0, 1]",
                      border=True)
    metrics[1].metric("L-inf change (grey levels)", f"{linf}", help=f"= {linf / GREY_LEVELS:.4f} in [0, 1]",
                      border=True)
    metrics[2].metric("L2 change (grey levels)", f"{l2 * GREY_LEVELS:.1f}", help=f"= {l2:.4f} in [0, 1]",
                      border=True)
    metrics[3].metric(f"Pixels changed (of {NUM_PIXELS:,})", f"{result['changed']:,}", border=True)
    st.container(key="adversarial_summary").markdown(
        f"Budget **{grey}** grey levels (ε = {grey_to_epsilon(grey):.4f}) · L-inf **{linf}** grey levels "
        f"({linf / GREY_LEVELS:.4f} in [0, 1]) · L2 **{l2 * GREY_LEVELS:.2f}** grey levels ({l2:.4f} in [0, 1])"
    )
    steps_text = f"PGD-{steps}" if method == "pgd" else "FGSM"
    st.caption(f"Face: {description}. {steps_text} against the {model_name.lower()} model "
               f"(flip TTA {'on' if model.flip_tta else 'off'}), rounded to 8 bits within the budget; "
               f"computed in {result['seconds']:.2f} s, then cached.")
    target_part = "untargeted" if target is None else EMOTIONS[target].lower()
    st.download_button(
        "Download the adversarial PNG (48x48, 8-bit)", data=result["png"], mime="image/png", on_click="ignore",
        file_name=f"adversarial_{method}_{target_part}_{grey}grey.png", key="adversarial_download",
        icon=":material/download:",
    )
    return grey


# ---------------------------------------------------------------- robustness: curves and hardening


@st.cache_data(max_entries=4, show_spinner=False)
def read_curve(path: str, mtime: int) -> tuple[pd.DataFrame | None, str | None]:
    try:
        curve = pd.read_csv(path)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as error:
        return None, f"{path} is not a readable CSV: {error}"
    missing = {"method", "grey_levels", "accuracy"} - set(curve.columns)
    if missing:
        return None, f"{path} lacks the column(s) {', '.join(sorted(missing))}"
    return curve, None


@st.cache_data(max_entries=4, show_spinner=False)
def read_harden_report(path: str, mtime: int) -> tuple[dict | None, str | None]:
    try:
        report = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as error:
        return None, f"{path} is not readable JSON: {error}"
    if not all(isinstance(report.get(name), dict) and "clean_accuracy" in report[name]
               for name in ("standard", "hardened")):
        return None, f"{path} lacks the standard/hardened clean_accuracy entries"
    return report, None


def curve_figure(curve: pd.DataFrame, budget: int | None) -> go.Figure:
    figure = go.Figure()
    for method, part in curve.groupby("method", sort=False):
        steps = int(part["steps"].iloc[0]) if "steps" in part else None
        name = "FGSM" if method == "fgsm" else (f"PGD-{steps}" if steps else str(method).upper())
        figure.add_trace(go.Scatter(
            x=part["grey_levels"], y=part["accuracy"], mode="lines+markers", name=name,
            hovertemplate=f"{name}, %{{x}} grey levels: %{{y:.1%}}<extra></extra>",
        ))
    if budget is not None:
        figure.add_vline(x=budget, line_dash="dash", line_color="#888",
                         annotation_text=f"slider: {budget}/255", annotation_position="top right")
    figure.update_layout(
        height=340, margin=dict(l=10, r=10, t=20, b=10),
        legend=dict(x=0.98, xanchor="right", y=0.9, yanchor="top", bgcolor="rgba(255,255,255,0.7)"),
        xaxis=dict(title="L-inf budget (grey levels out of 255)", dtick=2, rangemode="tozero"),
        yaxis=dict(title="accuracy", range=[0, 1], tickformat=".0%"),
    )
    return figure


def describe_curve(curve: pd.DataFrame) -> str:
    faces = f"{int(curve['faces'].iloc[0]):,} " if "faces" in curve else ""
    split = f"{curve['split'].iloc[0]} " if "split" in curve else ""
    return f"{faces}{split}faces, untargeted attacks, 8-bit adversarial faces"


def compute_curve(standard: EmotionClassifier | None, budget: int | None) -> None:
    """A small curve computed here, on the data set chosen in the sidebar, kept for this session."""
    if standard is None:
        return
    if loaded is None:
        st.caption(f"With a data set (`{DATA_ENV_VAR}` or the sidebar), a small curve can be computed here.")
        return
    data = loaded.dataset.evaluation_split()
    keep = data.labels >= 0
    data = FerDataset(data.images[keep], data.labels[keep], data.usage[keep], data.source)
    if not len(data):
        st.caption("The chosen data set has no labelled faces to compute a curve on.")
        return
    size_column, grey_column = st.columns(2)
    faces = size_column.number_input("Faces", min(10, len(data)), min(2000, len(data)), min(100, len(data)),
                                     step=10, key="adversarial_curve_faces")
    max_grey = grey_column.number_input("Largest budget (grey levels)", 1, DEFAULT_MAX_GREY, 8,
                                        key="adversarial_curve_grey")
    split = str(data.usage[0]) if len(set(data.usage)) == 1 else "labelled"
    if st.button(f"Compute a curve on {faces} {split} faces", key="adversarial_curve_run", type="primary"):
        chosen = subset(data, int(faces), seed=0)
        total = 2 * (int(max_grey) + 1)  # FGSM and PGD, each budget 0..max_grey
        bar = st.progress(0.0, text="Attacking…")
        done = [0]

        def progress(message: str) -> None:
            done[0] += 1
            bar.progress(min(done[0] / total, 1.0), text=message)

        curve = robustness_curve(standard, chosen, int(max_grey), progress=progress)
        curve.insert(0, "split", split)
        bar.empty()
        st.session_state[CURVE_STATE] = {"model": f"{model_file}:{mtime_ns(model_file)}", "curve": curve}
    computed = st.session_state.get(CURVE_STATE)
    if computed is not None and computed["model"] == f"{model_file}:{mtime_ns(model_file)}":
        curve = computed["curve"]
        st.plotly_chart(curve_figure(curve, budget), key="adversarial_computed_curve")
        st.caption(f"Computed here: {describe_curve(curve)} (FGSM and PGD-10).")
        st.download_button("Download this curve (CSV)", curve.to_csv(index=False), file_name=ROBUSTNESS_CSV,
                           mime="text/csv", on_click="ignore", key="adversarial_curve_download")


def robustness_panel(standard: EmotionClassifier | None, budget: int | None) -> None:
    st.divider()
    curve_column, harden_column = st.columns([3, 2], gap="large")
    with curve_column:
        st.subheader(":material/show_chart: Robustness curves")
        csv_path, png_path = robustness_dir / ROBUSTNESS_CSV, robustness_dir / ROBUSTNESS_PNG
        curve, error = read_curve(str(csv_path), mtime_ns(csv_path))
        if error:
            st.warning(error, icon=":material/warning:")
        if curve is not None:
            st.plotly_chart(curve_figure(curve, budget), key="adversarial_curve_chart")
            st.caption(f"`{common.display_path(csv_path)}`: {describe_curve(curve)}.")
        if png_path.is_file():
            with st.expander("Static figure (robustness.png)", expanded=curve is None):
                st.image(str(png_path), width="stretch")
        found = curve is not None or png_path.is_file()
        if not found:
            st.info(
                f"No robustness curve next to the model (looked for `{common.display_path(csv_path)}`). "
                "Produce it with\n\n```bash\npython train_cli.py robustness --data /path/to/fer2013.csv \\\n"
                f"    --model {common.display_path(model_file)} \\\n"
                f"    --out {common.display_path(robustness_dir)}\n```\n"
                "(`--limit 500` for a quicker one), or compute a small one below.", icon=":material/info:")
        with st.expander("Compute a small curve here", expanded=not found):
            compute_curve(standard, budget)
    with harden_column:
        st.subheader(":material/shield: Hardened model")
        report_path = hardened_dir / HARDEN_REPORT
        report, error = read_harden_report(str(report_path), mtime_ns(report_path))
        if error:
            st.warning(error, icon=":material/warning:")
        if report is None:
            st.info(
                f"No hardened model yet (looked for `{common.display_path(report_path)}`). Adversarial fine-tuning "
                "writes it:\n\n```bash\npython train_cli.py harden --data /path/to/fer2013.csv \\\n"
                f"    --model {common.display_path(model_file)} \\\n"
                f"    --out {common.display_path(hardened_dir)}\n```",
                icon=":material/info:")
            return
        harden_comparison(report, report_path)


def harden_comparison(report: dict, path: Path) -> None:
    standard, hardened = report["standard"], report["hardened"]
    keys = sorted(set(standard.get("robust_accuracy", {})) & set(hardened.get("robust_accuracy", {})),
                  key=lambda name: int(name.rsplit("_", 1)[-1]) if name.rsplit("_", 1)[-1].isdigit() else 0)
    rows = [("Clean", standard["clean_accuracy"], hardened["clean_accuracy"])]
    for key in keys:
        method, _, grey = key.partition("_")
        rows.append((f"{method.upper()} {grey}/255", standard["robust_accuracy"][key],
                     hardened["robust_accuracy"][key]))
    st.caption("The hardened model's accuracy, and its change from the standard model's:")
    columns = st.columns(len(rows))
    for column, (name, before, after) in zip(columns, rows, strict=True):
        column.metric(name, f"{after:.1%}", delta=f"{(after - before) * 100:+.1f} pts",
                      help=f"hardened {after:.1%}, standard {before:.1%}")
    figure = go.Figure([
        go.Bar(name="standard", x=[row[0] for row in rows], y=[row[1] for row in rows], marker_color="#a0a4ab",
               text=[f"{row[1]:.1%}" for row in rows], textposition="outside"),
        go.Bar(name="hardened", x=[row[0] for row in rows], y=[row[2] for row in rows], marker_color="#2e86ab",
               text=[f"{row[2]:.1%}" for row in rows], textposition="outside"),
    ])
    figure.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=30, b=10),
                         yaxis=dict(title="accuracy", range=[0, 1.1], tickformat=".0%"),
                         legend=dict(orientation="h", y=1.15, x=0))
    st.plotly_chart(figure, key="adversarial_harden_chart", config={"displayModeBar": False})
    training = report.get("training", {})
    faces = report.get("eval_faces")
    st.caption(
        f"`{common.display_path(path)}`: {faces:,} {report.get('evaluated_on', 'PublicTest')} faces; "
        f"{report.get('evaluation', '')}. Fine-tuned {training.get('epochs', '?')} epochs on "
        f"{training.get('faces', 0):,} Training faces with {str(training.get('method', '?')).upper()} up to "
        f"{training.get('max_grey', '?')}/255."
        if isinstance(faces, int) else f"`{common.display_path(path)}`"
    )


# ---------------------------------------------------------------- page

if classifier is None:
    st.info("The attacks need the model; the robustness files below are still shown when they exist.",
            icon=":material/info:")
    shown_budget = None
else:
    shown_budget = attack_panel(classifier)
robustness_panel(classifier, shown_budget)
