"""Export the model as one LiteRT file that runs anywhere with ``ai-edge-litert`` and ``numpy`` alone.
Owns export_model (the file, labels.txt, contract.json), the calibrated graph and the parity check.

The file holds the whole predict path after the crop: flip averaging (when the model is served with it) and the
calibration temperature are inside the graph, so its output is the product's calibrated probabilities.
``--int8`` is dynamic-range quantisation (int8 weights, float32 activations and float32 input and
output): the conversion the product itself runs (:func:`core.model.lite.to_tflite`), so the interface and
:data:`CONTRACT_FILE` do not change with it. Full-integer quantisation (int8 activations and input,
for accelerators such as the Edge TPU) is not offered.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from core.data import FerDataset, file_sha256
from core.labels import IMAGE_SIZE, PUBLIC_TEST
from core.model.calibration import PROBABILITY_FLOOR, apply_temperature, load_calibration, serves_flip_tta
from core.model.classifier import EmotionClassifier, load_keras_model
from core.model.lite import LiteRunner, to_tflite
from core.model.smoothing import input_smoothing_sigmas
from core.vision.crop import DEFAULT_MARGIN, to_model_input

TFLITE_FILE = "emotion_cnn.tflite"
LABELS_FILE = "labels.txt"
CONTRACT_FILE = "contract.json"
PARITY_FILE = "parity.json"


def calibrated_probabilities(classifier: EmotionClassifier, temperature: float) -> Callable[[tf.Tensor], tf.Tensor]:
    """The classifier's probabilities (flip-averaged if it averages) scaled by ``temperature``: the exported graph."""

    def probabilities(x: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(tf.math.log(tf.maximum(classifier.probabilities(x), PROBABILITY_FLOOR)) / temperature)

    return probabilities


def parity(content: bytes, classifier: EmotionClassifier, temperature: float, data: FerDataset) -> dict:
    """Top-1 agreement of the exported file (on LiteRT) with the Keras model, and both accuracies.

    ``classifier``: the Keras-backend classifier the file was converted from.
    """
    exported = LiteRunner(content)(to_model_input(data.images))
    reference = apply_temperature(classifier.predict_faces(data.images), temperature)
    return {
        "faces": len(data),
        "top1_agreement": float((exported.argmax(axis=1) == reference.argmax(axis=1)).mean()),
        "accuracy_export": float((exported.argmax(axis=1) == data.labels).mean()),
        "accuracy_keras": float((reference.argmax(axis=1) == data.labels).mean()),
        "max_probability_difference": float(np.abs(exported - reference).max()),
    }


def _interface(content: bytes) -> tuple[dict, dict]:
    """Name, shape, shape signature and dtype of the file's input and output, as LiteRT reports them."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)

    def describe(details: dict) -> dict:
        return {
            "name": details["name"],
            "shape": details["shape"].tolist(),
            "shape_signature": details["shape_signature"].tolist(),
            "dtype": np.dtype(details["dtype"]).name,
        }

    return describe(interpreter.get_input_details()[0]), describe(interpreter.get_output_details()[0])


def export_model(
    model_path: str | os.PathLike, out_dir: str | os.PathLike, int8: bool = False, data: FerDataset | None = None
) -> dict:
    """Write the LiteRT file, ``labels.txt``, ``contract.json`` and (with ``data``) ``parity.json`` on PublicTest.

    Returns the contract, with the parity figures under ``parity`` when measured.
    """
    model_path, out = Path(model_path), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    calibration = load_calibration(model_path)
    temperature = float(calibration.get("temperature", 1.0))
    model = load_keras_model(model_path)
    flip_tta = serves_flip_tta(calibration)
    classifier = EmotionClassifier(model, flip_tta=flip_tta)
    widths = input_smoothing_sigmas(model)
    graph = calibrated_probabilities(classifier, temperature)
    content = to_tflite(graph, quantize=int8)
    (out / TFLITE_FILE).write_bytes(content)
    emotions = list(classifier.labels.emotions)
    (out / LABELS_FILE).write_text("\n".join(emotions) + "\n")
    model_input, model_output = _interface(content)
    contract = {
        "file": TFLITE_FILE,
        "source_model": {"file": model_path.name, "sha256": file_sha256(model_path)},
        "weights": "int8 (dynamic-range quantisation; activations float32)" if int8 else "float32",
        "input": {
            **model_input,
            "layout": "NHWC: batch, 48 rows, 48 columns, 1 grey channel; resize the batch dimension for batches",
            "scaling": "grey pixel / 255, float32 in [0, 1]",
            "face": f"grey face crop resized to {IMAGE_SIZE}x{IMAGE_SIZE}: a Haar-cascade box grown by "
            f"{DEFAULT_MARGIN:.0%} per side, area interpolation when shrinking (core/vision/crop.py)",
        },
        "output": {**model_output, "meaning": "probabilities over labels, in labels.txt order", "labels": emotions},
        "input_smoothing": (_smoothing_contract(widths) if any(widths) else "none"),
        "flip_averaging": ("inside: the mean of the face's and its mirror image's probabilities" if flip_tta
                           else "none: the model is calibrated and served on the face alone"),
        "temperature": temperature,
        "temperature_applied": "inside: softmax(log(p) / temperature)",
        "calibration": calibration or None,
        "uncertain_below": calibration.get("uncertain_below"),
        "tensorflow": tf.__version__,
    }
    (out / CONTRACT_FILE).write_text(json.dumps(contract, indent=2) + "\n")
    if data is not None:
        public = data.split(PUBLIC_TEST)
        if len(public) == 0:
            raise ValueError(f"{data.source}: no {PUBLIC_TEST} rows to measure parity on")
        contract["parity"] = {"split": PUBLIC_TEST, **parity(content, classifier, temperature, public)}
        (out / PARITY_FILE).write_text(json.dumps(contract["parity"], indent=2) + "\n")
    return contract


def _smoothing_contract(widths: list[float]) -> str:
    """What the contract says about the blur inside the file, one width per network."""
    sigma = (f"sigma {widths[0]:g} px" if len(set(widths)) == 1
             else "sigma " + ", ".join(f"{width:g}" for width in widths) + " px, one per network")
    return f"inside: a 3x3 Gaussian blur of {sigma}, borders reflected; do not blur again"
