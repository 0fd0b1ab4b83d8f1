"""Prior correction: how much a trained network's answers lean towards the emotions people name most often.
Owns people_prior and with_prior_correction.

A network fitted to FER+'s votes learns that annotators call many faint faces Neutral, and it answers Neutral
for faces with a clear but rarer expression (Fear, Sad, Disgust). Dividing its probabilities by the prior it
learned, raised to a ``strength`` between 0 (unchanged) and 1 (every emotion equally likely before the face is
seen), undoes that pull: logit adjustment (Menon et al., "Long-tail learning via logit adjustment", 2021). The
prior is how often people name each emotion on the Training faces: the mean of the FER+ vote distributions where
the data has votes, else the share of each label. Since the output layer is a softmax, dividing by
``prior ** strength`` is subtracting ``strength * log(prior)`` from its bias, so the corrected network is an
ordinary model file: every path (LiteRT, calibration, attacks, saliency) runs it unchanged and at the same cost.

Dividing by the whole prior also reshuffles the common emotions among themselves (Neutral gives way to Sad),
which costs much of the agreement with people that the network learned. ``rare_below`` limits the correction to
the rare emotions: each share is capped at ``rare_below`` before the division, so every emotion people name more
often than that is divided by the same number, which cancels, and only the rarer ones (Fear, Disgust, Contempt at
0.04, the shipped ``ferplus``'s share) are lifted towards it.
"""

from __future__ import annotations

import keras
import numpy as np

from core.data import FerDataset
from core.ferplus import training_rows, vote_distribution
from core.labels import FERPLUS, TRAINING, LabelSet
from core.model.emotion_output import model_labels
from core.model.ensemble import ensemble_members

PRIOR_FLOOR = 1e-4
"""An emotion nobody named on Training counts as this share, so its correction stays finite."""


def people_prior(data: FerDataset, label_set: LabelSet) -> np.ndarray:
    """How often people name each of ``label_set``'s emotions on ``data``'s Training faces, summing to 1.

    From the FER+ vote distributions where ``data`` has votes, else from its labels (indices of
    :data:`core.labels.FERPLUS`); emotions are matched by name."""
    train = data.split(TRAINING)
    if train.votes is not None and len(train):
        shares = vote_distribution(train.votes[training_rows(train.votes)]).mean(axis=0)
    else:
        labelled = train.labels[train.labels >= 0]
        if len(labelled) == 0:
            raise ValueError(f"{data.source}: the prior needs labelled Training faces; found none")
        shares = np.bincount(labelled, minlength=len(FERPLUS)) / len(labelled)
    prior = np.array([shares[FERPLUS.index(name)] for name in label_set.emotions], dtype=np.float64)
    prior = np.maximum(prior, PRIOR_FLOOR)
    return prior / prior.sum()


def with_prior_correction(
    model: keras.Model, prior: np.ndarray, strength: float, rare_below: float = 1.0
) -> keras.Model:
    """A copy of ``model`` (one network or an ensemble) whose probabilities are divided by
    ``min(prior, rare_below) ** strength`` and renormalised: every output layer's bias lowered by
    ``strength * log(min(prior, rare_below))``. ``rare_below`` 1 corrects every emotion."""
    if not 0 <= strength <= 1:
        raise ValueError(f"the correction's strength must lie in [0, 1], got {strength}")
    if not 0 < rare_below <= 1:
        raise ValueError(f"the share below which an emotion counts as rare must lie in (0, 1], got {rare_below}")
    labels = model_labels(model)
    prior = np.asarray(prior, dtype=np.float64)
    if prior.shape != (len(labels),) or (prior <= 0).any():
        raise ValueError(f"the prior needs one positive share per emotion ({len(labels)}), got shape {prior.shape}")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    shift = (strength * np.log(np.minimum(prior, rare_below))).astype(np.float32)
    for network in ensemble_members(copy):
        kernel, bias = network.layers[-1].get_weights()  # a softmax Dense: see core.model.emotion_output
        network.layers[-1].set_weights([kernel, bias - shift])
    return copy
