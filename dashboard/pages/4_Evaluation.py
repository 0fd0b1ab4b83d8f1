"""Evaluation: confusion matrix with the faces behind each cell, calibration, per-class metrics, learning curves.
The page holds the layout; metrics are :mod:`core.evaluation.metrics`, figures :mod:`components.charts`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from components.charts import confusion_figure, learning_curves_figure, reliability_figure
from components.data_picker import LoadedData, data_picker, labelled_splits
from components.images import enlarge
from components.model import get_classifier, load_report, model_path, model_version, predict_in_batches
from components.model_card import second_accuracy_label
from components.page import page_header
from components.saliency import SALIENCY_HELP, saliency_images
from components.text import escape_markdown

from core.data import DataFormatError, require_labels
from core.evaluation.metrics import classification_metrics
from core.labels import EMOTIONS, PRIVATE_TEST, PUBLIC_TEST
from core.model.calibration import ece_sampling_noise, expected_calibration_error, reliability_bins

MAX_CELL_FACES = 48
CELL_COLUMNS = 8

page_header(
    "Evaluation", ":material/analytics:",
    "How well the model does, class by class. Shows the shipped training report; choose a data set and split "
    "in the sidebar to recompute and see the faces behind each cell.",
)

classifier = get_classifier()
report, report_error = load_report()
model_key = f"{model_path()}:{model_version()}"


def evaluate_split(loaded: LoadedData, split: str) -> dict:
    """Predict every labelled face of a split in batches, with a progress bar."""
    data = loaded.dataset.split(split)
    keep = data.labels >= 0
    images, labels = data.images[keep], data.labels[keep].astype(int)
    bar = st.progress(0.0, text=f"Evaluating {split}…")
    probabilities = predict_in_batches(
        classifier, images, lambda done, total: bar.progress(done / total, text=f"Evaluating {split}: "
                                                             f"{done:,} / {total:,} faces"))
    bar.empty()
    metrics = classification_metrics(labels, probabilities.argmax(axis=1))
    return {"model_key": model_key, "data_key": loaded.key, "source": loaded.label, "split": split,
            "metrics": metrics, "probabilities": probabilities, "labels": labels, "images": images,
            "ece_if_perfect": ece_sampling_noise(probabilities)}


def _curves(history: dict, best_epoch: int | None, exported: int | None, key: str) -> None:
    """One network's training against PublicTest per epoch, and which epoch's weights it holds."""
    st.plotly_chart(learning_curves_figure(pd.DataFrame(history), best_epoch), key=key)
    kept = (f"the network holds epoch {exported}'s weights" + (" (`--export last`)" if exported != best_epoch
            else "") if exported else "which epoch's weights the network holds is not recorded")
    st.caption(f"Training vs PublicTest per epoch. PublicTest is the selection split (early stopping and the best "
               f"epoch are judged on it), not a held-out test. Dotted line: the best PublicTest epoch "
               f"({best_epoch or '?'}); {kept}.")


# ---------------------------------------------------------------- sidebar: recompute on a data set
loaded = data_picker("evaluation")
with st.sidebar:
    if loaded is not None:
        splits = labelled_splits(loaded.dataset)
        try:
            require_labels(loaded.dataset, "evaluate")
        except DataFormatError as error:
            splits = []
            st.warning(escape_markdown(str(error)))
        if splits:
            preferred = [name for name in (PRIVATE_TEST, PUBLIC_TEST) if name in splits]
            split = st.selectbox("Split to evaluate", splits, key="evaluation_split",
                                 index=splits.index(preferred[0]) if preferred else 0)
            if st.button("Evaluate", type="primary", key="evaluation_run", disabled=classifier is None,
                         width="stretch"):
                with st.spinner("Evaluating…"):
                    st.session_state["eval_result"] = evaluate_split(loaded, split)
    result = st.session_state.get("eval_result")
    if result is not None and result["model_key"] == model_key:
        if st.button("Back to the shipped report", key="evaluation_reset", width="stretch"):
            del st.session_state["eval_result"]
            st.rerun()

result = st.session_state.get("eval_result")
if result is not None and result["model_key"] != model_key:  # the model file changed since
    result = None

if result is not None:
    metrics = result["metrics"]
    st.success(f"Recomputed on **{result['split']}** of `{result['source']}` ({metrics['samples']:,} faces).",
               icon=":material/refresh:")
elif report is not None:
    metrics = report.metrics
    note = " with flip test-time augmentation" if report.flip_tta else ""
    selection = " (the selection split, not a held-out test)" if report.evaluated_on == PUBLIC_TEST else ""
    st.info(f"Shipped training report: **{report.evaluated_on}**{selection}, "
            f"{report.samples:,} faces{note}. Choose a data set and split in the sidebar and press "
            "**Evaluate** to recompute and see the faces behind each cell.", icon=":material/description:")
else:
    st.warning(f"No training report to show ({report_error}). Choose a data set in the sidebar and press "
               "**Evaluate**.", icon=":material/description:")
    st.stop()

top = st.columns(4)
top[0].metric("Accuracy", f"{metrics['accuracy']:.1%}")
top[1].metric("Faces", f"{metrics.get('samples', int(np.sum(metrics['confusion_matrix']))):,}")
per_class = pd.DataFrame(metrics["per_class"]).T.reindex(list(EMOTIONS))
top[2].metric("Macro F1", f"{per_class['f1'].mean():.3f}")
if result is None and report.accuracy_without_tta is not None:
    top[3].metric(second_accuracy_label(report), f"{report.accuracy_without_tta:.1%}")


# ---------------------------------------------------------------- confusion matrix
matrix = np.array(metrics["confusion_matrix"], dtype=np.int64)
st.subheader("Confusion matrix")
matrix_column, cell_column = st.columns([3, 2], gap="large")
with matrix_column:
    normalised = st.radio("Show", ["Counts", "Row-normalised"], horizontal=True, key="evaluation_norm",
                          index=1) == "Row-normalised"
    event = st.plotly_chart(confusion_figure(matrix, normalised), key="evaluation_matrix", on_select="rerun",
                            selection_mode="points", config={"displayModeBar": False})
    points = event.selection.points if event is not None else []
    if points:
        chosen = (points[0].get("y"), points[0].get("x"))
        if chosen != st.session_state.get("evaluation_last_click") and all(name in EMOTIONS for name in chosen):
            st.session_state["evaluation_last_click"] = chosen
            st.session_state["evaluation_true"], st.session_state["evaluation_predicted"] = chosen
    st.caption("Rows: the true emotion; columns: the model's prediction. Hover for counts and percentages; "
               "click a cell (or use the boxes on the right) to see its faces.")

with cell_column:
    st.markdown("**Faces in one cell**")
    pick = st.columns(2)
    true_name = pick[0].selectbox("True", EMOTIONS, key="evaluation_true")
    predicted_name = pick[1].selectbox("Predicted", EMOTIONS, key="evaluation_predicted")
    i, j = EMOTIONS.index(true_name), EMOTIONS.index(predicted_name)
    total = int(matrix[i].sum())
    st.markdown(f"{matrix[i, j]:,} of {total:,} **{true_name}** faces predicted **{predicted_name}** "
                f"({matrix[i, j] / max(total, 1):.1%}).")
    if result is None:
        st.caption("The report holds counts only: evaluate on a data set (sidebar) to see the faces themselves.")
    else:
        predictions = result["probabilities"].argmax(axis=1)
        rows = np.flatnonzero((result["labels"] == i) & (predictions == j))
        confidence = result["probabilities"][rows, j]
        rows = rows[np.argsort(-confidence)][:MAX_CELL_FACES]
        if len(rows) == 0:
            st.caption("No faces in this cell.")
        else:
            limit = f" (the first {MAX_CELL_FACES})" if matrix[i, j] > len(rows) else ""
            st.caption(f"Most confident first{limit}; caption: confidence in {predicted_name}.")
        shown = result["images"][rows]
        if len(rows) and st.toggle(f"Show saliency (Grad-CAM for {predicted_name})", key="evaluation_saliency",
                                   help=SALIENCY_HELP):
            shown = saliency_images(classifier, model_key, shown, [j] * len(rows), size=96)
        with st.container(key="evaluation_cell_faces"):
            for start in range(0, len(rows), CELL_COLUMNS):
                columns = st.columns(CELL_COLUMNS)
                for offset, row in enumerate(rows[start : start + CELL_COLUMNS]):
                    columns[offset].image(enlarge(shown[start + offset], 96),
                                          caption=f"{result['probabilities'][row, j]:.0%}", width="stretch")

# ---------------------------------------------------------------- calibration
st.subheader("Calibration")
if result is not None:
    bins = reliability_bins(result["probabilities"], result["labels"]).to_dict()
    ece = expected_calibration_error(result["probabilities"], result["labels"])
    noise = result["ece_if_perfect"]
    temperature, threshold = classifier.temperature, classifier.uncertain_below
    held_out = {}  # the cross-fit is the report's, of the faces it was fitted on
elif report.calibration:
    bins, ece = report.calibration["reliability"], report.calibration["ece_after"]
    noise = report.calibration.get("ece_if_perfect")
    temperature, threshold = report.calibration["temperature"], report.calibration["uncertain_below"]
    held_out = report.calibration.get("cross_fit", {})
else:
    bins = None
    st.caption("The report has no calibration figures: evaluate on a data set (sidebar) to draw the diagram.")
if bins is not None:
    st.plotly_chart(reliability_figure(bins, threshold), key="evaluation_reliability",
                    config={"displayModeBar": False})
    st.caption(f"Calibrated probabilities (temperature {temperature:.3f}), 15 equal-width bins: "
               f"bar height is the accuracy of the faces whose top confidence falls in the bin, the number above "
               f"it their count. ECE {ece:.2%}"
               + (f" on the faces the temperature was fitted on; {held_out['ece_held_out']:.2%} held out, fitted on "
                  f"one half and measured on the other over {held_out['repeats']} random halvings"
                  if "repeats" in held_out else "")
               + (f". Sampling noise: a perfectly calibrated model would measure {noise['mean']:.2%} on as many "
                  f"faces ({noise['p5']:.2%}-{noise['p95']:.2%})" if noise else "")
               + f". Labels below the dashed line ({threshold:.0%}) are shown as "
               "uncertain, e.g. `Neutral? 38%`: below it the top label is wrong more often than right.")

# ---------------------------------------------------------------- per-class metrics
st.subheader("Per-class precision, recall and F1")
table = per_class[["precision", "recall", "f1", "support"]].astype({"support": int})
table.loc["macro average"] = [*table[["precision", "recall", "f1"]].mean().tolist(), int(table["support"].sum())]
table["support"] = table["support"].astype(int)
st.dataframe(table, column_config={
    "precision": st.column_config.ProgressColumn("precision", format="%.3f", min_value=0, max_value=1),
    "recall": st.column_config.ProgressColumn("recall", format="%.3f", min_value=0, max_value=1),
    "f1": st.column_config.ProgressColumn("F1", format="%.3f", min_value=0, max_value=1),
    "support": st.column_config.NumberColumn("support (true faces)"),
})

# ---------------------------------------------------------------- learning curves
st.subheader("Learning curves")
members = [(Path(member["file"]).stem, member["training"]) for member in (report.config.get("ensemble") or [])
           if member.get("training", {}).get("history", {}).get("epoch")] if report is not None else []
names = [name for name, _ in members]
if len(set(names)) < len(names):  # networks from different folders, each saved as emotion_cnn.keras
    names = [f"{number}. {name}" for number, name in enumerate(names, start=1)]
if report is not None and report.history.get("epoch"):
    _curves(report.history, report.best_epoch, report.exported_epoch, "evaluation_curves")
elif members:
    st.caption(f"An ensemble has no training of its own: each of its {len(members)} networks with a training record "
               "was trained alone, as below.")
    for number, (tab, (_, training)) in enumerate(zip(st.tabs(names), members, strict=True), start=1):
        with tab:
            _curves(training["history"], training.get("best_epoch"), training.get("exported_epoch"),
                    f"evaluation_curves_{number}")
else:
    st.caption("The report has no training history.")
