"""Input smoothing: a fixed Gaussian blur in front of a trained network, matching what it saw in training.
Owns InputSmoothing, with_input_smoothing, input_smoothing_sigmas and SMOOTHING_LAYER.

Training shows the network only resampled faces: the random translation, rotation and zoom layers
each interpolate bilinearly, which blurs every training face a little. Test faces come unresampled,
so they are sharper than anything the network fitted. A 3x3 Gaussian of the right width in front of
the network undoes that mismatch: on PublicTest the shipped model gains about a point with flip TTA
(see ``models/experiments.md``). The width ``sigma`` is chosen after training on PublicTest, like the
temperature, by :func:`core.evaluation.smoothing_fit.fit_input_smoothing`.

The blur is a layer of the model itself, so every path that runs the model (Keras, the LiteRT
conversion, the exported ``.tflite``, attacks and saliency, which differentiate raw pixels) applies it
once and alike. Borders are reflected, not zero-padded: zeros would darken the face's edge.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np
from keras import layers

from core.labels import IMAGE_SIZE

SMOOTHING_LAYER = "input_smoothing"
KERNEL_SIZE = 3


@keras.saving.register_keras_serializable(package="emotion_cnn")
class InputSmoothing(layers.Layer):
    """A fixed ``KERNEL_SIZE``-square Gaussian blur of standard deviation ``sigma`` pixels, borders reflected."""

    def __init__(self, sigma: float, **kwargs) -> None:
        super().__init__(**kwargs)
        if sigma <= 0:
            raise ValueError(f"input smoothing needs a positive sigma, got {sigma}")
        self.sigma = float(sigma)
        line = cv2.getGaussianKernel(KERNEL_SIZE, self.sigma).ravel()
        self.kernel = np.outer(line, line).astype(np.float32)[:, :, None, None]

    def call(self, inputs):
        half = KERNEL_SIZE // 2
        padded = keras.ops.pad(inputs, [[0, 0], [half, half], [half, half], [0, 0]], mode="reflect")
        return keras.ops.depthwise_conv(padded, keras.ops.cast(self.kernel, inputs.dtype), padding="valid")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "sigma": self.sigma}


def input_smoothing_sigmas(model: keras.Model) -> list[float]:
    """The width of each network's input smoothing, 0 for a network without one: one entry for a single
    network, one per member, in order, for an ensemble (``ensemble`` fits each member's width alone)."""
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if members:
        return [sigma for member in members for sigma in input_smoothing_sigmas(member)]
    return [next((layer.sigma for layer in model.layers if isinstance(layer, InputSmoothing)), 0.0)]


def with_input_smoothing(model: keras.Model, sigma: float) -> keras.Model:
    """A copy of a single network (not an ensemble) with its input blurred by ``sigma``; the same model at 0.

    The copy is flat (the blur is the layer after the input, the network's own layers follow), so
    Grad-CAM finds the network's feature layers as before. A model that already has a blur gets the new
    width instead of a second blur.
    """
    if any(isinstance(layer, keras.Model) for layer in model.layers):
        raise ValueError(f"{model.name} is an ensemble: fit the smoothing on its member networks with `ensemble`")
    config = model.get_config()
    kept = [layer for layer in config["layers"] if layer["name"] != SMOOTHING_LAYER]
    inputs = config["input_layers"]
    if not isinstance(inputs[0], str):
        if len(inputs) != 1:
            raise ValueError(f"{model.name} has {len(inputs)} inputs; input smoothing needs a single-input network")
        inputs = inputs[0]
    input_name = inputs[0]
    feeds = SMOOTHING_LAYER if sigma > 0 else input_name
    for layer in kept:
        _rewire(layer.get("inbound_nodes", []), {input_name, SMOOTHING_LAYER}, feeds)
    if sigma > 0:
        blur = {"module": None, "class_name": "InputSmoothing", "registered_name": "emotion_cnn>InputSmoothing",
                "name": SMOOTHING_LAYER, "config": {"name": SMOOTHING_LAYER, "sigma": float(sigma)},
                "inbound_nodes": [_call_on(input_name)]}
        position = next(index for index, layer in enumerate(kept) if layer["name"] == input_name) + 1
        kept.insert(position, blur)
    config["layers"] = kept
    copy = keras.Model.from_config(config)
    for layer in model.layers:
        if layer.weights and layer.name != SMOOTHING_LAYER:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def _call_on(layer_name: str) -> dict:
    """An inbound node calling a layer on the output of ``layer_name`` (a 48x48x1 face batch)."""
    tensor = {"class_name": "__keras_tensor__", "config": {"shape": [None, IMAGE_SIZE, IMAGE_SIZE, 1],
                                                          "dtype": "float32", "keras_history": [layer_name, 0, 0]}}
    return {"args": [tensor], "kwargs": {}}


def _rewire(node: object, sources: set[str], target: str) -> None:
    """Point every tensor reference to a layer in ``sources`` at ``target``, in place."""
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__" and node["config"]["keras_history"][0] in sources:
            node["config"]["keras_history"] = [target, 0, 0]
        for value in node.values():
            _rewire(value, sources, target)
    elif isinstance(node, list | tuple):
        for value in node:
            _rewire(value, sources, target)
