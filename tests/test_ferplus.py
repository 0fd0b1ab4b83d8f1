"""FER+ votes: the official majority protocol, the eight-emotion order and matching votes to faces row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data import FerDataset, load_dataset
from core.fer_csv import DataFormatError
from core.ferplus import (
    VOTE_COLUMNS,
    attach_votes,
    find_votes_file,
    majority_labels,
    training_rows,
    vote_distribution,
)
from core.labels import FERPLUS, TRAINING


def votes(**counts: int) -> np.ndarray:
    """One row of FER+ votes from column names (``NF`` as ``nf``)."""
    row = np.zeros((1, len(VOTE_COLUMNS)), dtype=np.int16)
    for name, count in counts.items():
        row[0, VOTE_COLUMNS.index("NF" if name == "nf" else name)] = count
    return row


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (votes(neutral=6, happiness=4), "Neutral"),
        (votes(neutral=5, happiness=4, surprise=1), "Neutral"),  # the single Surprise vote is dropped: 5 of 9
        (votes(anger=4, sadness=3, fear=2, disgust=1), None),  # 4 of 9: no majority
        (votes(neutral=5, happiness=5), None),  # exactly half is not more than half
        (votes(contempt=7, happiness=3), "Contempt"),
        (votes(unknown=6, happiness=4), None),
        (votes(nf=10), None),
        (votes(), None),  # a face FER+ did not label
    ],
)
def test_the_official_majority_protocol(row, expected):
    label = majority_labels(row)[0]
    assert (FERPLUS.emotions[label] if label >= 0 else None) == expected


def test_votes_are_reordered_by_name_into_ferplus_order():
    distribution = vote_distribution(votes(anger=8, contempt=2))[0]
    assert distribution[FERPLUS.index("Angry")] == pytest.approx(0.8)
    assert distribution[FERPLUS.index("Contempt")] == pytest.approx(0.2)
    assert distribution.sum() == pytest.approx(1.0)
    assert vote_distribution(votes(nf=10))[0].sum() == 0  # no emotion vote: nothing to learn


def test_faces_whose_top_vote_is_not_an_emotion_are_not_trained_on():
    rows = np.concatenate([votes(happiness=6, unknown=4), votes(unknown=6, happiness=4), votes(nf=9, anger=1),
                           votes()])
    assert training_rows(rows).tolist() == [True, False, False, False]


def _write_votes(path, rows: np.ndarray) -> None:
    frame = pd.DataFrame(rows, columns=list(VOTE_COLUMNS))
    frame.insert(0, "Image name", [f"fer{i:07d}.png" for i in range(len(rows))])
    frame.insert(0, "Usage", TRAINING)
    frame.to_csv(path, index=False)


def test_votes_are_found_beside_the_data_and_matched_row_by_row(tmp_path):
    data = FerDataset(np.zeros((2, 48, 48), np.uint8), np.array([3, 6]), np.array([TRAINING] * 2, dtype=object), "x")
    _write_votes(tmp_path / "fer2013new.csv", np.concatenate([votes(happiness=10), votes(neutral=10)]))
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n")
    found = find_votes_file(tmp_path / "fer2013.csv")
    assert found == tmp_path / "fer2013new.csv"
    attached = attach_votes(data, found)
    assert majority_labels(attached.votes).tolist() == [3, 6]
    assert majority_labels(attached.split(TRAINING).rows(np.array([False, True])).votes).tolist() == [6]


def test_votes_that_do_not_match_the_faces_are_refused(tmp_path):
    data = FerDataset(np.zeros((3, 48, 48), np.uint8), np.zeros(3), np.array([TRAINING] * 3, dtype=object), "faces")
    _write_votes(tmp_path / "fer2013new.csv", votes(happiness=10))
    with pytest.raises(DataFormatError, match="1 rows but faces has 3"):
        attach_votes(data, tmp_path / "fer2013new.csv")
    (tmp_path / "other.csv").write_text("Usage,happiness\nTraining,3\n")
    with pytest.raises(DataFormatError, match="missing column"):
        attach_votes(data, tmp_path / "other.csv")
    assert find_votes_file(tmp_path / "nothing" / "fer2013.csv") is None


def votes_beside(fer_csv):
    """The FER+ votes beside the FER-2013 file the tests use; the test is skipped without them."""
    found = find_votes_file(fer_csv)
    if found is None:
        pytest.skip(f"no FER+ votes (fer2013new.csv) beside {fer_csv}")
    return found


def test_the_shared_votes_match_the_shared_faces(fer_csv):
    data = attach_votes(load_dataset(fer_csv, use_cache=True), votes_beside(fer_csv))
    public = data.split("PublicTest")
    majority = majority_labels(public.votes)
    assert (majority >= 0).sum() == 3199  # PublicTest faces FER+'s protocol counts
    agree = (majority == public.labels).sum() / (majority >= 0).sum()
    assert 0.6 < agree < 0.72  # FER-2013's label is what people see on only about two faces in three
