"""The Adversarial page's attack panel: attack one face at a chosen budget, and show what changed.
Owns attack_panel (pickers, images, saliency, charts, metrics, download) and attack_face (one cached attack).

Attacks are :mod:`core.adversarial.attacks`; every adversarial face is rounded to 8 bits within its budget.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.data_picker import LoadedData
from components.face_picker import pick_face
from components.model import display_path, mtime_ns
from components.saliency import SALIENCY_HELP, saliency_images
from core.adversarial.attacks import DEFAULT_MAX_GREY, GREY_LEVELS, attack, grey_to_epsilon, to_uint8
from core.adversarial.harden import HARDENED_MODEL
from core.labels import IMAGE_SIZE, NUM_PIXELS
from core.model.classifier import EmotionClassifier, ModelLoadError
from core.vision.crop import to_model_input

UNTARGETED = "Untargeted (any other class)"
METHODS = {"PGD": "pgd", "FGSM": "fgsm"}
PGD_STEPS = [5, 10, 20, 50]
SHOWN = 192
STANDARD, HARDENED = "Standard", "Hardened"


@st.cache_resource(show_spinner="Loading the hardened model…", max_entries=1)
def load_hardened(path: str, mtime_ns: int) -> EmotionClassifier:
    hardened = EmotionClassifier.load(path, backend="keras")
    hardened.predict_faces(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8))
    return hardened


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


def before_after_figure(before: np.ndarray, after: np.ndarray, target: int | None, emotions: tuple[str, ...]
                        ) -> go.Figure:
    """Probabilities before and after the attack, side by side per emotion of the attacked model."""
    names = [f"<b>{name}</b> (target)" if index == target else name for index, name in enumerate(emotions)]
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


def verdict(before: np.ndarray, after: np.ndarray, target: int | None, emotions: tuple[str, ...]) -> str:
    source, now = int(np.argmax(before)), int(np.argmax(after))
    change = f"**{emotions[source]}** {before[source]:.0%} → **{emotions[now]}** {after[now]:.0%}"
    if now == source:
        return f":green[**Not fooled**]: {change}; the label held."
    if target is None or now == target:
        return f":red[**Fooled**]: {change}; the model now says {emotions[now]}."
    return f":orange[**Label changed**]: {change}, but not to {emotions[target]} yet."


def attack_panel(
    standard: EmotionClassifier, loaded: LoadedData | None, model_file: Path, hardened_dir: Path
) -> int | None:
    """Face, method, target and budget pickers, and the attack's result. Returns the budget shown.

    ``loaded``: the sidebar's data set; ``hardened_dir``: where a hardened model beside ``model_file`` would be.
    """
    st.subheader(":material/tune: Attack one face")
    pick_column, settings_column = st.columns([1, 1], gap="large")
    with pick_column:
        picked = pick_face(loaded)
    with settings_column:
        model, model_name = standard, STANDARD
        hardened_file = hardened_dir / HARDENED_MODEL
        if hardened_file.is_file():
            model_name = st.radio("Model under attack", [STANDARD, HARDENED], horizontal=True,
                                  key="adversarial_model", help=f"Hardened: `{display_path(hardened_file)}`")
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
        emotions = model.labels.emotions
        if st.session_state.get("adversarial_target") not in (None, UNTARGETED, *emotions):  # another model's
            del st.session_state["adversarial_target"]
        target_name = st.selectbox("Target class", [UNTARGETED, *emotions], key="adversarial_target",
                                   help="Targeted: push the face toward this class. Untargeted: away from the "
                                        "class the model gives it now.")
        grey = st.slider("Budget ε (L-inf, grey levels out of 255)", 0, DEFAULT_MAX_GREY, 4, key="adversarial_grey",
                         help="No pixel may change by more than this many grey levels (ε = grey levels / 255 in "
                              "the model's [0, 1] input).")
    if picked is None:
        return grey
    face, description = picked
    target = None if target_name == UNTARGETED else emotions.index(target_name)
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

    st.markdown(verdict(before, after, target, emotions))
    if target is not None and int(np.argmax(before)) == target:
        st.caption(f"The model already says {emotions[target]}: a targeted attack toward it only makes it surer.")
    images = st.columns([1, 1, 1, 1.8], gap="medium")
    source_index, now = int(np.argmax(before)), int(np.argmax(after))
    images[0].image(show(face), caption=f"Original: {emotions[source_index]} {before[source_index]:.0%}")
    with images[1]:
        st.plotly_chart(perturbation_figure(result["delta"], linf), key="adversarial_perturbation",
                        config={"displayModeBar": False})
        st.caption(f"Perturbation, amplified: ±{max(linf, 1)} grey levels fill the colour scale "
                   "(red brighter, blue darker)")
    images[2].image(show(result["adversarial"]),
                    caption=f"Adversarial ({method_name}, ε {grey}/255): {emotions[now]} {after[now]:.0%}")
    images[3].plotly_chart(before_after_figure(before, after, target, emotions), key="adversarial_probabilities",
                           config={"displayModeBar": False})
    saliency = saliency_images(model, model_key, np.stack([face, result["adversarial"]]), [source_index, now], SHOWN)
    with st.container(key="adversarial_saliency"):
        st.markdown("**Saliency before and after the attack** (Grad-CAM of each face's top label)", help=SALIENCY_HELP)
        columns = st.columns([1, 1, 2.8], gap="medium")
        columns[0].image(saliency[0], caption=f"Original: where {emotions[source_index]} comes from")
        columns[1].image(saliency[1], caption=f"Adversarial: where {emotions[now]} comes from")

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
    target_part = "untargeted" if target is None else emotions[target].lower()
    st.download_button(
        "Download the adversarial PNG (48x48, 8-bit)", data=result["png"], mime="image/png", on_click="ignore",
        file_name=f"adversarial_{method}_{target_part}_{grey}grey.png", key="adversarial_download",
        icon=":material/download:",
    )
    return grey
