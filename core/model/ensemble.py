"""Ensembles: several trained emotion CNNs averaged into one Keras model.
Owns build_ensemble and ensemble_members.

An ensemble is a first-class model: one ``.keras`` file whose output is the mean of its members'
probabilities, so every path that takes a model (evaluate, predict, stream, analyze, the pages, the
LiteRT conversion with flip TTA around the whole) serves it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from core.labels import IMAGE_SIZE

ENSEMBLE_NAME = "emotion_ensemble"


def build_ensemble(members: Sequence[keras.Model]) -> keras.Model:
    """One model averaging the members' probabilities; each member keeps its weights under the name ``member_i``.

    Members are rebuilt from their configs under new names (two trained models share the name
    ``emotion_cnn``, which Keras refuses inside one model); their weights are copied over.
    """
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least two members, got {len(members)}")
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    outputs = []
    for number, member in enumerate(members, start=1):
        config = member.get_config()
        config["name"] = f"member_{number}"
        renamed = keras.Model.from_config(config)
        renamed.set_weights(member.get_weights())
        outputs.append(renamed(inputs))
    averaged = layers.Average(name="mean_probabilities")(outputs)
    return keras.Model(inputs, averaged, name=ENSEMBLE_NAME)


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The member models of an ensemble from :func:`build_ensemble`; ``[model]`` for a single model."""
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return members or [model]
