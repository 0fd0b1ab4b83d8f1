"""How well a model agrees with people: FER+'s ten annotators per face.
Owns ferplus_metrics, ferplus_summary and in_ferplus_order.

- ``accuracy``: FER+'s official majority protocol (Microsoft's ``ferplus.py``): single votes dropped, a face
  counts only if one emotion holds more than half of the rest, unknown and not-a-face faces left out; the
  model's answer is its argmax over the eight emotions. A seven-emotion model never says Contempt.
- ``cross_entropy`` and ``total_variation``: against each counted face's raw vote distribution over the eight
  emotions (what the annotators said, before the outlier rule); ``annotator_entropy`` is that distribution's own
  entropy, the floor of the cross-entropy.
- ``per_class``: recall of each emotion among the counted faces.
- ``where_labels_agree``: on the faces whose FER-2013 label equals the FER+ majority, the accuracy and the mean
  per-class recall (what a model of people's votes must not lose on clear faces).
"""

from __future__ import annotations

import numpy as np

from core.evaluation.metrics import classification_metrics
from core.ferplus import majority_labels, vote_distribution
from core.labels import FERPLUS

PROBABILITY_FLOOR = 1e-7
"""A probability of zero (Contempt, for a seven-emotion model) counts as this in the cross-entropy."""


def in_ferplus_order(probabilities: np.ndarray, emotions: tuple[str, ...]) -> np.ndarray:
    """A model's probabilities (N, len(emotions)) as (N, 8) in FER+'s order, matched by name; missing ones are 0."""
    out = np.zeros((len(probabilities), len(FERPLUS)), dtype=np.float64)
    for column, name in enumerate(emotions):
        out[:, FERPLUS.index(name)] = probabilities[:, column]
    return out


def _recalls(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Recall per FER+ emotion; None for an emotion with no face."""
    per_class = classification_metrics(truth, predicted, FERPLUS.emotions)["per_class"]
    return {name: row["recall"] if row["support"] else None for name, row in per_class.items()}


def _mean_recall(recalls: dict[str, float | None]) -> float:
    present = [value for value in recalls.values() if value is not None]
    return float(np.mean(present)) if present else 0.0


def ferplus_metrics(
    probabilities: np.ndarray, emotions: tuple[str, ...], votes: np.ndarray, fer2013_labels: np.ndarray | None = None
) -> dict:
    """The module's figures for one model's probabilities on faces with FER+ ``votes`` (N, 10)."""
    majority = majority_labels(votes)
    counted = majority >= 0
    model = in_ferplus_order(np.asarray(probabilities)[counted], emotions)
    truth, predicted = majority[counted].astype(int), model.argmax(axis=1)
    people = vote_distribution(votes[counted]).astype(np.float64)
    log_model = np.log(np.clip(model, PROBABILITY_FLOOR, 1.0))
    log_people = np.log(np.where(people > 0, people, 1.0))
    recalls = _recalls(truth, predicted)
    result = {
        "faces": int(counted.sum()),
        "faces_left_out": int((~counted).sum()),
        "accuracy": float((predicted == truth).mean()) if len(truth) else 0.0,
        "cross_entropy": float(-(people * log_model).sum(axis=1).mean()) if len(truth) else 0.0,
        "annotator_entropy": float(-(people * log_people).sum(axis=1).mean()) if len(truth) else 0.0,
        "total_variation": float(0.5 * np.abs(model - people).sum(axis=1).mean()) if len(truth) else 0.0,
        "mean_recall": _mean_recall(recalls),
        "per_class": recalls,
    }
    if fer2013_labels is not None:
        agree = np.asarray(fer2013_labels)[counted] == truth
        agreeing = _recalls(truth[agree], predicted[agree])
        result["where_labels_agree"] = {
            "faces": int(agree.sum()),
            "accuracy": float((predicted[agree] == truth[agree]).mean()) if agree.any() else 0.0,
            "mean_recall": _mean_recall(agreeing),
            "per_class": agreeing,
        }
    return result


def ferplus_summary(figures: dict) -> str:
    """Two lines for a terminal."""
    line = (f"FER+ (ten annotators, official majority protocol, {figures['faces']:,} faces): accuracy "
            f"{figures['accuracy']:.2%}, cross-entropy {figures['cross_entropy']:.3f} nats (annotators' own "
            f"{figures['annotator_entropy']:.3f}), total variation {figures['total_variation']:.3f}")
    agree = figures.get("where_labels_agree")
    if agree:
        line += (f"\n  where FER-2013's label equals the majority ({agree['faces']:,} faces): accuracy "
                 f"{agree['accuracy']:.2%}, mean per-class recall {agree['mean_recall']:.2%}")
    return line
