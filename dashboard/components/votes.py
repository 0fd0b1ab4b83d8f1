"""FER+ votes for the pages: ten annotators per FER-2013 face, found beside the data file and drawn.
Owns with_votes (attach the votes file beside the chosen data set), VOTE_NAMES, votes_figure, majority_name and
the explorer's agreement filter (AGREEMENT_FILTERS, agreement_mask).

The votes are :mod:`core.ferplus`'s; here they are only found, kept per data-set version and shown.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from components.charts import OTHER_COLOUR, emotion_colour
from components.data_picker import LoadedData
from components.model import mtime_ns
from components.text import escape_markdown
from core.data import FerDataset
from core.fer_csv import DataFormatError
from core.ferplus import NO_LABEL, VOTE_COLUMNS, attach_votes, emotion_votes, find_votes_file, majority_labels
from core.labels import FERPLUS

_EMOTION_OF_COLUMN = emotion_votes(np.eye(len(VOTE_COLUMNS), dtype=np.int16)).argmax(axis=1)
"""For each vote column, the FER+ index of its emotion (meaningful for the eight emotion columns only)."""
VOTE_NAMES: tuple[str, ...] = (
    *(FERPLUS.emotions[index] for index in _EMOTION_OF_COLUMN[:8]), "unknown", "not a face",
)
"""The ten vote columns as the pages name them, in the votes file's order."""

ALL_FACES, DISAGREE, AGREE, NO_MAJORITY = (
    "All faces", "FER-2013 label ≠ FER+ majority", "FER-2013 label = FER+ majority", "No FER+ majority",
)
AGREEMENT_FILTERS = (ALL_FACES, DISAGREE, AGREE, NO_MAJORITY)


@st.cache_resource(show_spinner="Reading the FER+ votes…", max_entries=3)
def _read_votes(data_key: str, votes_path: str, votes_mtime: int, _dataset: FerDataset
                ) -> tuple[np.ndarray | None, str | None]:
    try:
        return attach_votes(_dataset, votes_path).votes, None
    except DataFormatError as error:
        return None, str(error)


def with_votes(loaded: LoadedData | None) -> LoadedData | None:
    """The chosen data set with its FER+ votes attached when ``fer2013new.csv(.gz)`` lies beside the data file;
    says in the sidebar which votes file is used, or why one found is not."""
    if loaded is None or loaded.path is None or loaded.dataset.votes is not None:
        return loaded
    votes_path = find_votes_file(loaded.path)
    if votes_path is None:
        return loaded
    votes, error = _read_votes(loaded.key, str(votes_path), mtime_ns(votes_path), loaded.dataset)
    with st.sidebar:
        if votes is None:
            st.warning(f"**FER+ votes not used.** {escape_markdown(error)}", icon=":material/how_to_vote:")
            return loaded
        st.caption(f":material/how_to_vote: FER+ votes: `{votes_path.name}` (ten annotators per face)")
    return dataclasses.replace(loaded, dataset=dataclasses.replace(loaded.dataset, votes=votes))


def majority_name(votes: np.ndarray) -> str | None:
    """One face's FER+ majority emotion (FER+'s official rule), or None when the annotators have none."""
    label = int(majority_labels(np.asarray(votes)[None])[0])
    return None if label == NO_LABEL else FERPLUS.emotions[label]


def agreement_mask(dataset: FerDataset, choice: str) -> np.ndarray:
    """The faces that a choice of :data:`AGREEMENT_FILTERS` keeps (all of them for a data set without votes)."""
    if dataset.votes is None or choice == ALL_FACES:
        return np.ones(len(dataset), dtype=bool)
    majority = majority_labels(dataset.votes)
    if choice == NO_MAJORITY:
        return majority == NO_LABEL
    both = (majority != NO_LABEL) & (dataset.labels >= 0)
    same = majority == dataset.labels
    return both & (same if choice == AGREE else ~same)


def votes_figure(votes: np.ndarray, height: int = 300) -> go.Figure:
    """One face's ten vote counts as horizontal bars, emotions coloured as everywhere else."""
    counts = np.asarray(votes, dtype=int)
    colours = [emotion_colour(name) for name in VOTE_NAMES[:8]] + [OTHER_COLOUR, "#c7c7c7"]
    figure = go.Figure(go.Bar(
        x=counts, y=list(VOTE_NAMES), orientation="h", marker_color=colours,
        text=[str(count) if count else "" for count in counts], textposition="outside", textangle=0, cliponaxis=False,
        customdata=list(VOTE_COLUMNS), hovertemplate="%{y} (FER+ column %{customdata}): %{x} votes<extra></extra>",
    ))
    figure.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
        xaxis=dict(title="annotators", range=[0, max(10, int(counts.max(initial=0))) + 0.8], dtick=2),
        yaxis=dict(autorange="reversed"),
    )
    return figure
