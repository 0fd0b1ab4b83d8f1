"""Dataset explorer: FER-2013 by split and class, image grid, mean faces, pixel intensities, and the ten FER+
annotators' votes of each face when they lie beside the data file.
The page holds the layout; the data set comes from :mod:`components.data_picker`, the votes :mod:`components.votes`.

Classes here are the data set's own labels (FER-2013's); the model's predictions name the chosen model's emotions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from components.charts import emotion_colour, probability_figure
from components.data_picker import data_picker, dataset_emotions
from components.images import enlarge
from components.model import get_classifier
from components.page import page_header
from components.votes import AGREEMENT_FILTERS, agreement_mask, majority_name, votes_figure, with_votes

from core.data import DATA_ENV_VAR, FerDataset
from core.ferplus import NO_LABEL, majority_labels

ALL = "All"
GRID_COLUMNS = 8
GRID_ROWS = 4
PAGE_SIZE = GRID_COLUMNS * GRID_ROWS

page_header(
    "Dataset explorer", ":material/dataset:",
    "FER-2013 as the model saw it: 48x48 grayscale faces in seven classes, and what ten FER+ annotators saw in each "
    "face when their votes (fer2013new.csv) lie beside the data file. Choose the data set in the sidebar.",
)

classifier = get_classifier()  # optional here: without it the explorer shows no predictions
loaded = with_votes(data_picker("explorer"))
if loaded is None:
    st.info(f"No data set loaded. Set `{DATA_ENV_VAR}` to fer2013.csv(.gz) before starting the app, or give a path "
            "or an upload in the sidebar.", icon=":material/database:")
    st.stop()
dataset: FerDataset = loaded.dataset
LABELS = dataset_emotions(dataset)  # the data set's own labels (FER-2013's), not the model's emotions


@st.cache_data(max_entries=4, show_spinner=False)
def class_counts(key: str, _dataset: FerDataset) -> pd.DataFrame:
    emotions = dataset_emotions(_dataset)
    rows = {}
    for split in _dataset.splits:
        labels = _dataset.labels[_dataset.usage == split]
        rows[split] = np.bincount(labels[labels >= 0], minlength=len(emotions))
    return pd.DataFrame(rows, index=list(emotions))


@st.cache_data(max_entries=8, show_spinner="Averaging faces…")
def mean_faces(key: str, split: str, _dataset: FerDataset) -> tuple[list[np.ndarray | None], list[int]]:
    mask = _split_mask(_dataset, split)
    faces, counts = [], []
    for index in range(len(dataset_emotions(_dataset))):
        chosen = _dataset.images[mask & (_dataset.labels == index)]
        counts.append(len(chosen))
        faces.append(np.add.reduce(chosen, axis=0, dtype=np.float64) / len(chosen) if len(chosen) else None)
    return [None if face is None else np.round(face).astype(np.uint8) for face in faces], counts


@st.cache_data(max_entries=8, show_spinner="Counting pixel intensities…")
def intensity_histograms(key: str, split: str, _dataset: FerDataset) -> np.ndarray:
    """(classes, 256) fraction of pixels at each intensity, per class."""
    mask = _split_mask(_dataset, split)
    classes = len(dataset_emotions(_dataset))
    out = np.zeros((classes, 256))
    for index in range(classes):
        counts = np.bincount(_dataset.images[mask & (_dataset.labels == index)].ravel(), minlength=256)
        out[index] = counts / max(counts.sum(), 1)
    return out


def _split_mask(data: FerDataset, split: str) -> np.ndarray:
    return np.ones(len(data), dtype=bool) if split == ALL else data.usage == split


def label_name(label: int) -> str:
    return LABELS[label] if label >= 0 else "unlabelled"


def votes_note(row: int) -> str:
    """" · FER+ Sad": the annotators' majority, for a data set with votes."""
    if dataset.votes is None:
        return ""
    return f" · FER+ {majority_name(dataset.votes[row]) or 'none'}"


# ---------------------------------------------------------------- summary and class distribution
summary = st.columns(4)
summary[0].metric("Faces", f"{len(dataset):,}")
summary[1].metric("Splits", len(dataset.splits))
summary[2].metric("Labelled", f"{int((dataset.labels >= 0).sum()):,}")
summary[3].metric("Bad rows skipped", f"{len(dataset.skipped):,}")
st.caption(f"Source: `{loaded.label}`")
if dataset.votes is not None:
    majority = majority_labels(dataset.votes)
    judged = (majority != NO_LABEL) & (dataset.labels >= 0)
    agree = float((majority[judged] == dataset.labels[judged]).mean()) if judged.any() else 0.0
    st.caption(f"FER+ votes found: ten annotators relabelled each face. FER-2013's label equals their majority on "
               f"{agree:.1%} of the {int(judged.sum()):,} faces that have one; browse the rest with the "
               "**FER-2013 vs FER+** filter below.")

st.subheader("Class distribution per split")
counts = class_counts(loaded.key, dataset)
chart_column, table_column = st.columns([1, 1], gap="large")
figure = go.Figure([go.Bar(name=split, x=counts.index, y=counts[split], text=counts[split],
                           hovertemplate=f"{split}<br>%{{x}}: %{{y:,}}<extra></extra>") for split in counts.columns])
figure.update_layout(barmode="group", height=340, margin=dict(l=10, r=10, t=10, b=10), yaxis_title="faces",
                     legend=dict(orientation="h", y=1.08))
chart_column.plotly_chart(figure, key="explorer_distribution")
share = pd.DataFrame({split: [f"{n:,} ({n / max(counts[split].sum(), 1):.1%})" for n in counts[split]]
                      for split in counts.columns}, index=counts.index)
share.loc["total"] = [f"{counts[split].sum():,}" for split in counts.columns]
table_column.dataframe(share)

# ---------------------------------------------------------------- image grid
st.subheader("Faces")
if dataset.votes is None:
    split_column, class_column, page_column, toggle_column = st.columns(4)
else:
    split_column, class_column, agreement_column, page_column, toggle_column = st.columns([1, 1, 1.4, 0.9, 1.2])
split = split_column.selectbox("Split", [ALL, *dataset.splits], key="explorer_split")
emotion = class_column.selectbox("Class", [ALL, *LABELS], key="explorer_class", help="The data set's label.")
mask = _split_mask(dataset, split)
if emotion != ALL:
    mask &= dataset.labels == LABELS.index(emotion)
if dataset.votes is not None:
    agreement = agreement_column.selectbox(
        "FER-2013 vs FER+", AGREEMENT_FILTERS, key="explorer_agreement",
        help="Compare each face's FER-2013 label with the majority of its ten FER+ annotators (a single vote is "
             "dropped; the majority needs more than half of the rest).")
    mask &= agreement_mask(dataset, agreement)
indices = np.flatnonzero(mask)
pages = max(1, -(-len(indices) // PAGE_SIZE))
if st.session_state.get("explorer_page", 1) > pages:  # a narrower filter has fewer pages
    st.session_state["explorer_page"] = pages
page = page_column.number_input(f"Page (of {pages:,})", 1, pages, 1, key="explorer_page")
show_predictions = toggle_column.toggle("Show predictions", key="explorer_predictions", disabled=classifier is None,
                                      help="Caption each face with the model's prediction.")
predicted_names = classifier.labels.emotions if classifier is not None else ()
shown = indices[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
st.caption(f"{len(indices):,} faces match; showing {len(shown)} (rows {shown[0] if len(shown) else '-'}…"
           f"{shown[-1] if len(shown) else '-'}).")
page_probabilities = classifier.predict_faces(dataset.images[shown]) if show_predictions and len(shown) else None
for start in range(0, len(shown), GRID_COLUMNS):
    columns = st.columns(GRID_COLUMNS)
    for offset, row in enumerate(shown[start : start + GRID_COLUMNS]):
        caption = f"#{row} {label_name(int(dataset.labels[row]))}{votes_note(row)}"
        if page_probabilities is not None:
            predicted = predicted_names[int(np.argmax(page_probabilities[start + offset]))]
            mark = "✓" if predicted == label_name(int(dataset.labels[row])) else "✗"
            caption += f" → {predicted} {mark}"
        columns[offset].image(enlarge(dataset.images[row], 96), caption=caption, width="stretch")

# ---------------------------------------------------------------- one face enlarged
if len(shown):
    st.subheader("Enlarge a face")
    chosen = st.selectbox("Face on this page", shown.tolist(), key="explorer_enlarge",
                          format_func=lambda row: f"#{row} · {label_name(int(dataset.labels[row]))}"
                                                  f"{votes_note(row)} · {dataset.usage[row]}")
    face = dataset.images[chosen]
    label = label_name(int(dataset.labels[chosen]))
    if dataset.votes is None:
        face_column, chart_column = st.columns([1, 2], gap="large")
    else:
        face_column, votes_column, chart_column = st.columns([1, 1.2, 1.4], gap="large")
    face_column.image(enlarge(face, 288), caption=f"#{chosen}: labelled {label} ({dataset.usage[chosen]})")
    if dataset.votes is not None:
        with votes_column, st.container(key="explorer_votes"):
            majority = majority_name(dataset.votes[chosen])
            st.markdown(f"FER-2013 label: **{label}** · FER+ majority: **{majority or 'none'}**"
                        + (" (they disagree)" if majority and label not in (majority, "unlabelled") else ""))
            st.plotly_chart(votes_figure(dataset.votes[chosen]), key="explorer_votes_chart",
                            config={"displayModeBar": False})
            st.caption("The ten FER+ annotators' votes for this face. The majority needs more than half of the "
                       "votes once single votes are dropped; otherwise the face has none.")
    with chart_column:
        if classifier is None:
            st.info("No model loaded, so no prediction.")
        else:
            probabilities = classifier.predict_faces(face)[0]
            predicted = predicted_names[int(np.argmax(probabilities))]
            verdict = "correct" if predicted == label else "wrong"
            st.markdown(f"Model's prediction: **{predicted}** {probabilities.max():.0%}"
                        + (f" ({verdict})" if dataset.labels[chosen] >= 0 else ""))
            st.plotly_chart(probability_figure(probabilities, predicted_names), key="explorer_enlarged_chart")

# ---------------------------------------------------------------- mean faces and intensities
st.subheader(f"Mean face per class ({split.lower() if split != ALL else 'all splits'})")
faces, face_counts = mean_faces(loaded.key, split, dataset)
columns = st.columns(len(LABELS))
for index, (mean_face, count) in enumerate(zip(faces, face_counts, strict=True)):
    if mean_face is None:
        columns[index].caption(f"{LABELS[index]}: no faces")
    else:
        columns[index].image(enlarge(mean_face, 144), caption=f"{LABELS[index]} (n={count:,})",
                             width="stretch")

st.subheader("Pixel intensity histogram")
histograms = intensity_histograms(loaded.key, split, dataset)
selected = [emotion] if emotion != ALL else list(LABELS)
figure = go.Figure()
for index, name in enumerate(LABELS):
    if name in selected and face_counts[index]:
        figure.add_trace(go.Scatter(x=np.arange(256), y=histograms[index], mode="lines", name=name,
                                    line=dict(color=emotion_colour(name), width=2),
                                    hovertemplate=f"{name}: intensity %{{x}}, %{{y:.2%}}<extra></extra>"))
figure.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="pixel intensity (0 = black)",
                     yaxis=dict(title="share of pixels", tickformat=".1%"), legend=dict(orientation="h", y=1.1))
st.plotly_chart(figure, key="explorer_histogram")
st.caption("Each class's pixels, normalised to sum to 1, for the split and class chosen above.")
