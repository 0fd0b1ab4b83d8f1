"""Two models on the same faces, face by face: which faces only one of them gets right, and how likely that split
is by chance. Owns PairedComparison and paired_comparison.

Two accuracies on the same 3,589 faces differ by less than either's own sampling error suggests, because most
faces are right or wrong for both; only the faces where the models disagree on correctness carry the difference.
The exact McNemar test asks how likely a split at least as uneven is if each model were as likely as the other to
be the one that is right (a two-sided binomial test on the discordant faces).
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
from scipy.stats import binomtest


class PairedComparison(TypedDict):
    only_this: int
    """Faces this model gets right and the other gets wrong."""
    only_other: int
    """Faces the other model gets right and this one gets wrong."""
    p_value: float
    """Exact McNemar test (two-sided); 1.0 when the models are never right on different faces."""


def paired_comparison(labels: np.ndarray, predictions: np.ndarray, other_predictions: np.ndarray) -> PairedComparison:
    """How two models' top labels for the same faces differ in correctness."""
    labels = np.asarray(labels)
    right, other_right = np.asarray(predictions) == labels, np.asarray(other_predictions) == labels
    only_this, only_other = int((right & ~other_right).sum()), int((other_right & ~right).sum())
    discordant = only_this + only_other
    p_value = float(binomtest(only_this, discordant).pvalue) if discordant else 1.0
    return {"only_this": only_this, "only_other": only_other, "p_value": p_value}
