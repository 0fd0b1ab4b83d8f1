"""Metrics: scikit-learn's numbers in this project's shape, checked against a hand count."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.metrics import classification_metrics, per_class_table
from core.labels import EMOTIONS


def test_metrics_match_a_hand_count():
    labels = np.array([0, 0, 0, 3, 3, 4])
    predictions = np.array([0, 0, 3, 3, 4, 4])
    metrics = classification_metrics(labels, predictions)
    assert metrics["accuracy"] == pytest.approx(4 / 6) and metrics["samples"] == 6
    angry, happy, sad = (metrics["per_class"][name] for name in ("Angry", "Happy", "Sad"))
    assert (angry["precision"], angry["recall"], angry["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert (happy["precision"], happy["recall"]) == (0.5, 0.5)
    assert sad["f1"] == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert metrics["per_class"]["Disgust"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (7, 7) and matrix.sum() == 6 and matrix[0, 3] == 1 and matrix[3, 4] == 1
    assert list(metrics["per_class"]) == list(EMOTIONS)


def test_no_faces_give_zeros_not_errors():
    metrics = classification_metrics(np.zeros(0, int), np.zeros(0, int))
    assert metrics["accuracy"] == 0.0 and metrics["samples"] == 0
    assert np.array(metrics["confusion_matrix"]).sum() == 0


def test_the_per_class_table_has_a_row_per_emotion():
    metrics = classification_metrics(np.arange(7), np.arange(7))
    table = per_class_table(metrics)
    assert len(table.splitlines()) == 8 and "Neutral" in table
