"""Agreement with people: FER+ accuracy, cross-entropy and recall, for seven- and eight-emotion models alike."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.agreement import ferplus_metrics, in_ferplus_order
from core.ferplus import VOTE_COLUMNS, vote_distribution
from core.labels import FER2013, FERPLUS


def _votes(*rows: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(rows), len(VOTE_COLUMNS)), dtype=np.int16)
    for index, row in enumerate(rows):
        for name, count in row.items():
            out[index, VOTE_COLUMNS.index(name)] = count
    return out


VOTES = _votes({"happiness": 9, "neutral": 1}, {"neutral": 6, "sadness": 4}, {"contempt": 8, "anger": 2},
               {"unknown": 7, "fear": 3})


def test_a_model_that_says_what_people_said_scores_perfectly():
    people = vote_distribution(VOTES).astype(np.float32)
    figures = ferplus_metrics(people, FERPLUS.emotions, VOTES)
    assert figures["faces"] == 3 and figures["faces_left_out"] == 1  # the unknown face is not counted
    assert figures["accuracy"] == 1.0
    assert figures["total_variation"] == pytest.approx(0.0, abs=1e-6)
    assert figures["cross_entropy"] == pytest.approx(figures["annotator_entropy"], abs=1e-5)
    assert figures["per_class"]["Contempt"] == 1.0 and figures["per_class"]["Fear"] is None


def test_a_seven_emotion_model_is_measured_on_eight_and_never_says_contempt():
    sure = np.eye(len(FER2013))[[FER2013.index("Happy"), FER2013.index("Neutral"), FER2013.index("Angry"), 0]]
    figures = ferplus_metrics(sure, FER2013.emotions, VOTES, fer2013_labels=np.array([3, 6, 0, 2]))
    assert figures["accuracy"] == pytest.approx(2 / 3)  # the Contempt face is missed
    assert figures["per_class"]["Contempt"] == 0.0
    assert figures["cross_entropy"] > 5  # certain and wrong costs many nats
    agree = figures["where_labels_agree"]
    assert agree["faces"] == 2 and agree["accuracy"] == 1.0 and agree["mean_recall"] == 1.0


def test_probabilities_are_mapped_by_name_not_position():
    probabilities = np.array([[0.1, 0.9]])
    mapped = in_ferplus_order(probabilities, ("Contempt", "Happy"))
    assert mapped[0, FERPLUS.index("Contempt")] == pytest.approx(0.1)
    assert mapped[0, FERPLUS.index("Happy")] == pytest.approx(0.9)
    assert mapped.shape == (1, len(FERPLUS))
