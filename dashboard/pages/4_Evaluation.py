"""Evaluation: confusion matrix with the faces behind each cell, calibration, per-class metrics, learning curves,
and how the model agrees with people: the ten FER+ annotators per face, overall and for any one face.
The page holds the layout; metrics are :mod:`core.evaluation.metrics` and :mod:`core.evaluation.agreement`,
figures :mod:`components.charts`. Emotions are the model's (its report's, or the loaded classifier's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from components.charts import (
    confusion_figure,
    distributions_figure,
    learning_curves_figure,
    probability_figure,
    reliability_figure,
)
from components.data_picker import LoadedData, data_picker, labelled_splits
from components.images import enlarge
from components.model import get_classifier, load_report, model_path, model_version, predict_in_batches
from components.model_card import second_accuracy_label
from components.page import page_header
from components.saliency import SALIENCY_HELP, saliency_images
from components.text import escape_markdown
from components.votes import majority_name, with_votes

from core.data import DataFormatError, require_labels
from core.evaluation.agreement import ferplus_metrics, in_ferplus_order
from core.evaluation.metrics import classification_metrics
from core.ferplus import vote_distribution
from core.labels import FERPLUS, PRIVATE_TEST, PUBLIC_TEST
from core.model.calibration import ece_sampling_noise, expected_calibration_error, reliability_bins

MAX_CELL_FACES = 48
CELL_COLUMNS = 5  # faces per row of a cell's grid: about 60 px each in its column at 1400 px, captions on one line

page_header(
    "Evaluation", ":material/analytics:",
    "How well the model does, class by class. Shows the shipped training report; choose a data set and split "
    "in the sidebar to recompute and see the faces behind each cell.",
)

classifier = get_classifier()
report, report_error = load_report()
model_key = f"{model_path()}:{model_version()}"


def evaluate_split(loaded: LoadedData, split: str) -> dict:
    """Predict every labelled face of a split in batches, with a progress bar; with FER+ votes, measure the
    agreement with the annotators too."""
    data = loaded.dataset.split(split)
    emotions = classifier.labels.emotions
    keep = (data.labels >= 0) & (data.labels < len(emotions))  # a Contempt face, for a seven-emotion model: left out
    images, labels = data.images[keep], data.labels[keep].astype(int)
    votes = data.votes[keep] if data.votes is not None else None
    bar = st.progress(0.0, text=f"Evaluating {split}…")
    probabilities = predict_in_batches(
        classifier, images, lambda done, total: bar.progress(done / total, text=f"Evaluating {split}: "
                                                             f"{done:,} / {total:,} faces"))
    bar.empty()
    metrics = classification_metrics(labels, probabilities.argmax(axis=1), emotions)
    ferplus = ferplus_metrics(probabilities, emotions, votes, labels) if votes is not None and len(labels) else None
    return {"model_key": model_key, "data_key": loaded.key, "source": loaded.label, "split": split,
            "metrics": metrics, "probabilities": probabilities, "labels": labels, "images": images,
            "ece_if_perfect": ece_sampling_noise(probabilities), "emotions": emotions, "votes": votes,
            "ferplus": ferplus, "left_out": int(((data.labels >= len(emotions))).sum())}


def _curves(history: dict, best_epoch: int | None, exported: int | None, key: str) -> None:
    """One network's training against PublicTest per epoch, and which epoch's weights it holds."""
    st.plotly_chart(learning_curves_figure(pd.DataFrame(history), best_epoch), key=key)
    kept = (f"the network holds epoch {exported}'s weights" + (" (`--export last`)" if exported != best_epoch
            else "") if exported else "which epoch's weights the network holds is not recorded")
    st.caption(f"Training vs PublicTest per epoch. PublicTest is the selection split (early stopping and the best "
               f"epoch are judged on it), not a held-out test. Dotted line: the best PublicTest epoch "
               f"({best_epoch or '?'}); {kept}.")


# ---------------------------------------------------------------- sidebar: recompute on a data set
loaded = with_votes(data_picker("evaluation"))
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
    left_out = (f"; {result['left_out']:,} faces labelled with an emotion this model does not predict were left out"
                if result.get("left_out") else "")
    st.success(f"Recomputed on **{result['split']}** of `{result['source']}` ({metrics['samples']:,} faces{left_out}).",
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
emotions = tuple(result["emotions"]) if result is not None else tuple(report.emotions)
per_class = pd.DataFrame(metrics["per_class"]).T.reindex(list(emotions))
top[2].metric("Macro F1", f"{per_class['f1'].mean():.3f}")
if result is None and report.accuracy_without_tta is not None:
    top[3].metric(second_accuracy_label(report), f"{report.accuracy_without_tta:.1%}")

# ---------------------------------------------------------------- agreement with people (FER+)
ferplus = result["ferplus"] if result is not None else report.ferplus
if ferplus:
    evaluated = result["split"] if result is not None else PUBLIC_TEST
    st.subheader("Against people: ten FER+ annotators per face")
    row = st.columns(4)
    row[0].metric("FER+ accuracy", f"{ferplus['accuracy']:.1%}",
                  help="FER+'s official majority protocol: single votes dropped; a face counts when one emotion "
                       "holds more than half of the rest; the model's answer is its top emotion.")
    row[1].metric("Cross-entropy to the votes", f"{ferplus['cross_entropy']:.3f} nats",
                  help=f"The annotators' own entropy, the floor: {ferplus['annotator_entropy']:.3f} nats.")
    row[2].metric("Total variation to the votes", f"{ferplus['total_variation']:.3f}",
                  help="Half the summed difference between the model's probabilities and the annotators' shares.")
    row[3].metric("Mean per-class recall (FER+)", f"{ferplus['mean_recall']:.1%}")
    agree = ferplus.get("where_labels_agree")
    fer2013 = (f" On FER-2013's own labels: {report.fer2013_accuracy:.1%}."
               if result is None and report.fer2013_accuracy is not None else "")
    st.caption(
        f"Measured on the {ferplus['faces']:,} {evaluated} faces with a FER+ majority; {ferplus['faces_left_out']:,} "
        "without one (no emotion above half the votes, or a majority for unknown or not a face) are left out."
        + (f" Where FER-2013's label equals the majority ({agree['faces']:,} faces): accuracy {agree['accuracy']:.1%}, "
           f"mean per-class recall {agree['mean_recall']:.1%}." if agree else "") + fer2013
    )
    with st.expander("Recall per emotion against the FER+ majority"):
        recall = pd.DataFrame({"recall": [ferplus["per_class"].get(name) for name in FERPLUS.emotions]},
                              index=list(FERPLUS.emotions))
        if agree:
            recall["recall where the labels agree"] = [agree["per_class"].get(name) for name in FERPLUS.emotions]
        st.dataframe(recall, column_config={column: st.column_config.ProgressColumn(
            column, format="%.3f", min_value=0, max_value=1) for column in recall.columns})
        if len(emotions) < len(FERPLUS):
            st.caption(f"This model predicts {len(emotions)} emotions, so its recall of "
                       + ", ".join(name for name in FERPLUS.emotions if name not in emotions) + " is 0.")


# ---------------------------------------------------------------- confusion matrix
matrix = np.array(metrics["confusion_matrix"], dtype=np.int64)
st.subheader("Confusion matrix")
matrix_column, cell_column = st.columns([3, 2], gap="large")
with matrix_column:
    normalised = st.radio("Show", ["Counts", "Row-normalised"], horizontal=True, key="evaluation_norm",
                          index=1) == "Row-normalised"
    event = st.plotly_chart(confusion_figure(matrix, normalised, emotions), key="evaluation_matrix", on_select="rerun",
                            selection_mode="points", config={"displayModeBar": False})
    points = event.selection.points if event is not None else []
    if points:
        chosen = (points[0].get("y"), points[0].get("x"))
        if chosen != st.session_state.get("evaluation_last_click") and all(name in emotions for name in chosen):
            st.session_state["evaluation_last_click"] = chosen
            st.session_state["evaluation_true"], st.session_state["evaluation_predicted"] = chosen
    st.caption("Rows: the true emotion; columns: the model's prediction. Hover for counts and percentages; "
               "click a cell (or use the boxes on the right) to see its faces.")

rows = np.zeros(0, dtype=int)  # the faces of the chosen cell, when there are faces to show
for name in ("evaluation_true", "evaluation_predicted"):
    if st.session_state.get(name) not in (None, *emotions):  # chosen for a model with other emotions
        del st.session_state[name]
with cell_column:
    st.markdown("**Faces in one cell**")
    pick = st.columns(2)
    true_name = pick[0].selectbox("True", emotions, key="evaluation_true")
    predicted_name = pick[1].selectbox("Predicted", emotions, key="evaluation_predicted")
    i, j = emotions.index(true_name), emotions.index(predicted_name)
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
                columns = st.columns(CELL_COLUMNS, gap="xsmall")
                for offset, row in enumerate(rows[start : start + CELL_COLUMNS]):
                    columns[offset].image(enlarge(shown[start + offset], 96),
                                          caption=f"{result['probabilities'][row, j]:.0%}", width="stretch")

# ---------------------------------------------------------------- one face: the model beside the annotators
if len(rows):
    st.subheader("One face: the model beside the annotators")
    votes = result.get("votes")
    if st.session_state.get("evaluation_face") not in rows.tolist():  # another cell was chosen
        st.session_state.pop("evaluation_face", None)
    face_row = st.selectbox(
        f"Face of the cell {true_name} → {predicted_name}", rows.tolist(), key="evaluation_face",
        format_func=lambda row: f"#{row} · {predicted_name} {result['probabilities'][row, j]:.0%}"
                                + (f" · FER+ {majority_name(votes[row]) or 'none'}" if votes is not None else ""))
    probabilities = result["probabilities"][face_row]
    face_column, chart_column = st.columns([1, 3], gap="large")
    face_column.image(enlarge(result["images"][face_row], 192),
                      caption=f"The model says {emotions[int(np.argmax(probabilities))]} {probabilities.max():.0%}; "
                              f"labelled {emotions[result['labels'][face_row]]} in the data set")
    with chart_column, st.container(key="evaluation_face_distributions"):
        if votes is None:
            st.plotly_chart(probability_figure(probabilities, emotions), key="evaluation_face_chart",
                            config={"displayModeBar": False})
            st.caption("Evaluate on a data set with FER+ votes beside it (`fer2013new.csv`) to see the ten "
                       "annotators' votes beside the model's probabilities.")
        else:
            people = vote_distribution(votes[face_row][None])[0]
            model = in_ferplus_order(probabilities[None], emotions)[0]
            st.markdown(f"FER+ majority: **{majority_name(votes[face_row]) or 'none'}**")
            st.plotly_chart(distributions_figure({"model": model, "annotators": people}, FERPLUS.emotions),
                            key="evaluation_face_chart", config={"displayModeBar": False})
            st.caption("The model's probabilities beside the share of the ten FER+ annotators' emotion votes "
                       "(votes for unknown or not a face left out)"
                       + (f"; this model never says {', '.join(n for n in FERPLUS.emotions if n not in emotions)}"
                          if len(emotions) < len(FERPLUS) else "") + ".")

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
