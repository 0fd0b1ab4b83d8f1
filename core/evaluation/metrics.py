"""How good a classifier is on labelled faces: accuracy, per-class precision/recall/F1 and the confusion matrix.
Owns Metrics (the dict both report.json and a fresh evaluation hold), classification_metrics and evaluate.

The numbers come from scikit-learn; the shape of the result is this project's, so a report on disk and a
recomputed evaluation read the same way.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from core.data import FerDataset
from core.labels import FER2013
from core.model.classifier import EmotionClassifier


class ClassMetrics(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int
    """True faces of the class."""


class Metrics(TypedDict):
    accuracy: float
    samples: int
    per_class: dict[str, ClassMetrics]
    """One entry per emotion of the model, in its order."""
    confusion_matrix: list[list[int]]
    """Counts (emotions x emotions): row = true emotion, column = predicted emotion."""


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = len(FER2013)) -> np.ndarray:
    """Counts (classes, classes): row = true emotion, column = predicted emotion."""
    if len(labels) == 0:  # scikit-learn refuses empty input
        return np.zeros((classes, classes), dtype=np.int64)
    from sklearn import metrics as sk_metrics  # here, not above: the Home page reads reports without it (~1 s)

    matrix = sk_metrics.confusion_matrix(
        np.asarray(labels, int), np.asarray(predictions, int), labels=list(range(classes))
    )
    return matrix.astype(np.int64)


def classification_metrics(
    labels: np.ndarray, predictions: np.ndarray, emotions: tuple[str, ...] = FER2013.emotions
) -> Metrics:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix over ``emotions`` (a class never
    predicted or never present scores 0, not NaN). Labels and predictions index ``emotions``."""
    labels, predictions = np.asarray(labels, int), np.asarray(predictions, int)
    classes = list(range(len(emotions)))
    if len(labels):
        from sklearn import metrics as sk_metrics

        precision, recall, f1, support = sk_metrics.precision_recall_fscore_support(
            labels, predictions, labels=classes, zero_division=0
        )
        accuracy = float(sk_metrics.accuracy_score(labels, predictions))
    else:  # scikit-learn refuses empty input
        precision = recall = f1 = support = np.zeros(len(emotions))
        accuracy = 0.0
    return {
        "accuracy": accuracy,
        "samples": len(labels),
        "per_class": {
            emotion: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, emotion in enumerate(emotions)
        },
        "confusion_matrix": confusion_matrix(labels, predictions, len(emotions)).tolist(),
    }


def evaluate(classifier: EmotionClassifier, data: FerDataset) -> tuple[Metrics, np.ndarray]:
    """Metrics of a classifier on labelled faces, over the classifier's emotions, and its probabilities for each face.

    The data's labels index FER+'s order, of which every model's label set is a prefix (FER-2013's seven, FER+'s
    eight); a face whose label the model cannot predict (Contempt, for a seven-emotion model) is refused.
    """
    emotions = classifier.labels.emotions
    if len(data) and int(data.labels.max()) >= len(emotions):
        raise ValueError(f"{data.source} has faces labelled with emotions this model does not predict "
                         f"({', '.join(emotions)})")
    probabilities = classifier.predict_faces(data.images)
    return classification_metrics(data.labels, probabilities.argmax(axis=1), emotions), probabilities


def per_class_table(metrics: Metrics) -> str:
    """The per-class metrics as a fixed-width text table."""
    lines = [f"{'emotion':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for emotion, row in metrics["per_class"].items():
        lines.append(
            f"{emotion:<10}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>10d}"
        )
    return "\n".join(lines)
