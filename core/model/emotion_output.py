"""The model's output layer, which carries the model's label set in the model file itself.
Owns EmotionOutput, emotion_output and model_labels.

A network's last layer is a softmax Dense; :class:`EmotionOutput` is that layer with the emotions of its
outputs, in order, in its config, so a ``.keras`` file says what it predicts and every path (CLI, pages,
tables, export contract, attacks) reads the names from the model. Models saved before the layer existed end
in a plain Dense of seven outputs: FER-2013's label order.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from core.labels import FER2013, LabelSet, label_set_of

OUTPUT_LAYER = "emotion"


@keras.saving.register_keras_serializable(package="emotion_cnn")
class EmotionOutput(layers.Dense):
    """A softmax Dense layer whose outputs are ``emotions``, in order."""

    def __init__(self, emotions: Sequence[str], **kwargs) -> None:
        kwargs.pop("units", None)
        kwargs.setdefault("activation", "softmax")
        super().__init__(units=len(emotions), **kwargs)
        self.emotions = tuple(emotions)

    def get_config(self) -> dict:
        return {**super().get_config(), "emotions": list(self.emotions)}


def emotion_output(labels: LabelSet, name: str = OUTPUT_LAYER) -> EmotionOutput:
    """A new float32 softmax output layer for ``labels``."""
    return EmotionOutput(labels.emotions, dtype="float32", name=name)


def model_labels(model: keras.Model) -> LabelSet:
    """The label set a model predicts: its output layer's, an ensemble's members', FER-2013's for seven plain outputs.

    ValueError for a model whose outputs carry no names and are not seven.
    """
    head = model.layers[-1]
    if isinstance(head, EmotionOutput):
        return label_set_of(head.emotions)
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if members:
        sets = {model_labels(member) for member in members}
        if len(sets) > 1:
            raise ValueError(f"{model.name}: its networks predict different emotions")
        return sets.pop()
    width = model.outputs[0].shape[-1]
    if width == len(FER2013):
        return FER2013
    raise ValueError(f"{model.name} gives {width} outputs but does not name its emotions")
