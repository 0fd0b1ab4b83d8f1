"""Transfer learning: start a training run from a trained network instead of random weights.
Owns starting_network and label_set_for_data.

An ensemble file starts from its first network (the ensemble command orders members as given; the shipped
``fer2013`` puts its strongest first). When the run's label set differs from the network's, the output layer is
replaced: outputs for emotions both sets share keep their trained weights, matched by name, and new emotions
start from fresh weights. Everything below the output layer keeps its weights.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import keras
import numpy as np

from core.labels import FERPLUS, LabelSet, label_set_of
from core.model.architecture import float32_copy
from core.model.emotion_output import emotion_output, model_labels
from core.model.ensemble import ensemble_members


def label_set_for_data(model_labels_: LabelSet, emotions: Iterable[str]) -> LabelSet:
    """The label set a model keeps when fine-tuned on faces of ``emotions``: its own when it knows them all
    (a lab set may lack Neutral or Contempt), else its own followed by the new names in FER+'s order."""
    known = {name.lower() for name in model_labels_.emotions}
    new = {name.lower() for name in emotions} - known
    if not new:
        return model_labels_
    added = tuple(name for name in FERPLUS.emotions if name.lower() in new)
    return label_set_of((*model_labels_.emotions, *added))


def starting_network(model: keras.Model, label_set: LabelSet | None = None) -> keras.Model:
    """A float32 copy of ``model``'s first network, with an output layer for ``label_set`` (default: its own)."""
    network = float32_copy(ensemble_members(model)[0])
    own = model_labels(network)
    if label_set is None or label_set == own:
        return _with_head(network, own, _head_weights(network, own, own))
    return _with_head(network, label_set, _head_weights(network, own, label_set))


def _head_weights(network: keras.Model, own: LabelSet, wanted: LabelSet) -> list[np.ndarray]:
    """The output layer's kernel and bias for ``wanted``: shared emotions' columns copied, new ones freshly drawn."""
    kernel, bias = network.layers[-1].get_weights()
    fresh = keras.initializers.GlorotUniform()((kernel.shape[0], len(wanted))).numpy()
    new_kernel, new_bias = fresh.astype(kernel.dtype), np.zeros(len(wanted), dtype=bias.dtype)
    lowered = [name.lower() for name in own.emotions]
    for column, name in enumerate(wanted.emotions):
        if name.lower() in lowered:
            source = lowered.index(name.lower())
            new_kernel[:, column], new_bias[column] = kernel[:, source], bias[source]
    return [new_kernel, new_bias]


def _with_head(network: keras.Model, label_set: LabelSet, weights: list[np.ndarray]) -> keras.Model:
    head = network.layers[-1]
    outputs = emotion_output(label_set, name=head.name)(head.input)
    model = keras.Model(network.inputs[0], outputs, name=network.name)  # one tensor in, not a list of one
    model.layers[-1].set_weights(weights)
    return model


def load_starting_network(path: str | os.PathLike, label_set: LabelSet | None = None) -> keras.Model:
    """:func:`starting_network` of a shipped model's name or a model file (checked as every model file is)."""
    from core.model.classifier import load_keras_model

    return starting_network(load_keras_model(path), label_set)
