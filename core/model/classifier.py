"""The one predict path: from faces and frames to calibrated emotion probabilities with a trained model.
Owns EmotionClassifier, FacePrediction, load_keras_model, ModelLoadError and where the model file lives.

Every probability a prediction returns has the model's calibration temperature applied (the sidecar
beside the model file, :mod:`core.model.calibration`); ``probabilities``, what attacks differentiate,
stays uncalibrated: a temperature never changes the top label.

TensorFlow is imported only when it is needed: a model with its conversion shipped beside it (or a ``.tflite``
file itself, see :mod:`core.model.lite`) predicts on ``ai-edge-litert`` alone, and the Keras model is loaded on
first use of ``model`` or ``probabilities`` (attacks, saliency).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.labels import FER2013, IMAGE_SIZE, LabelSet
from core.model.calibration import apply_temperature, display_label, load_calibration, serves_flip_tta
from core.model.lite import (
    SHIPPED_SUFFIX,
    LiteRunner,
    cached_tflite,
    ship_tflite,
    shipped_flip_tta,
    shipped_labels,
    shipped_tflite,
    to_tflite,
)
from core.model.registry import DEFAULT_MODEL_NAME, SHIPPED_MODELS, resolve_model_path
from core.vision.crop import FaceCrop, to_model_input
from core.vision.detect import Box
from core.vision.faces import Detector, extract_faces

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

MODEL_FILE = "emotion_cnn.keras"
"""The model's file name, in models/ and in every training run's folder."""
DEFAULT_MODEL_PATH = SHIPPED_MODELS[DEFAULT_MODEL_NAME].path
MODEL_ENV_VAR = "FER_MODEL_PATH"
BACKENDS = ("lite", "keras")


class ModelLoadError(RuntimeError):
    """The model file is missing or is not a readable Keras model."""


class EmotionReading:
    """What a face record's ``probabilities`` say: the top emotion, its confidence and the label shown.

    Shared by :class:`FacePrediction` and the video path's tracked faces; ``uncertain_below`` is the
    model's uncertain threshold (:func:`core.model.calibration.display_label`), ``emotions`` the names of the
    model's outputs, in order.
    """

    probabilities: np.ndarray
    uncertain_below: float
    emotions: tuple[str, ...]

    @property
    def label_index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def label(self) -> str:
        return self.emotions[self.label_index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.label_index])

    @property
    def display_label(self) -> str:
        """``Happy 91%``, or ``Neutral? 38%`` below the uncertain threshold."""
        return display_label(self.label, self.confidence, self.uncertain_below)


@dataclass(frozen=True)
class FacePrediction(EmotionReading):
    box: Box
    face: np.ndarray
    """The 48x48 uint8 crop the model saw."""
    probabilities: np.ndarray
    """Calibrated probabilities, one per emotion of the model."""
    uncertain_below: float = 0.0
    """The model's uncertain threshold: a lower confidence is shown as ``Neutral? 38%``."""
    person: int | None = None
    """Stable id of the person across a video's frames; None for a still image."""
    emotions: tuple[str, ...] = FER2013.emotions
    """The model's emotions, in the order of ``probabilities``."""

    def to_dict(self) -> dict:
        """JSON-ready: box, emotion, its probability, whether it is uncertain, every class's probability (and the
        person in a video)."""
        return {
            **({} if self.person is None else {"person": self.person}),
            "box": {"x": self.box.x, "y": self.box.y, "w": self.box.w, "h": self.box.h},
            "emotion": self.label,
            "probability": round(self.confidence, 4),
            "uncertain": self.confidence < self.uncertain_below,
            "probabilities": {
                name: round(float(p), 4) for name, p in zip(self.emotions, self.probabilities, strict=True)
            },
        }


def default_model_path() -> Path:
    """``FER_MODEL_PATH`` (a shipped name or a path) if set, else the default shipped model."""
    chosen = os.environ.get(MODEL_ENV_VAR)
    return resolve_model_path(chosen) if chosen else DEFAULT_MODEL_PATH


def check_model_shape(model: keras.Model, path: str | os.PathLike) -> None:
    """Refuse a model that does not take (None, 48, 48, 1) faces or does not give one probability per emotion
    of its label set."""
    from core.model.emotion_output import model_labels

    expected_input = (None, IMAGE_SIZE, IMAGE_SIZE, 1)
    found_input, found_output = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(model.inputs) != 1 or found_input != expected_input:
        raise ModelLoadError(
            f"{path}: the model takes input {found_input}; expected {expected_input} (48x48 grey faces)"
        )
    try:
        labels = model_labels(model)
    except ValueError as error:
        raise ModelLoadError(f"{path}: {error}") from error
    if len(model.outputs) != 1 or found_output != (None, len(labels)):
        raise ModelLoadError(
            f"{path}: the model gives output {found_output}; expected (None, {len(labels)}) ({len(labels)} emotions)"
        )


def load_keras_model(path: str | os.PathLike | None = None) -> keras.Model:
    """The float32 Keras model of a ``.keras`` file (default: :func:`default_model_path`), checked; imports
    TensorFlow. :class:`ModelLoadError` if it is missing, unreadable or of the wrong shape."""
    import keras

    from core.model.architecture import float32_copy, single_input
    from core.model.emotion_output import EmotionOutput
    from core.model.smoothing import InputSmoothing

    path = resolve_model_path(path) if path is not None else default_model_path()
    if not path.is_file():
        raise ModelLoadError(f"model file not found: {path}")
    try:
        custom = {"InputSmoothing": InputSmoothing, "EmotionOutput": EmotionOutput}
        model = keras.models.load_model(path, compile=False, custom_objects=custom)
    except Exception as error:  # Keras raises many types for a broken archive
        raise ModelLoadError(f"{path} is not a readable Keras model: {error}") from error
    check_model_shape(model, path)
    if any(layer.dtype_policy.name != "float32" for layer in model.layers):
        model = float32_copy(model)  # a training checkpoint (best.keras, checkpoint.keras)
    return single_input(model)


class EmotionClassifier:
    """A Keras model for gradients, and a fast runner for predictions; thread-safe, so a video thread can share it.

    With ``flip_tta`` the probabilities are the mean over the face and its mirror image. Predictions
    run on LiteRT (see :mod:`core.model.lite`) when the classifier was loaded with ``backend="lite"``, else
    on one compiled call of the Keras model. Either way ``temperature`` is applied after the backend, so
    the LiteRT conversion (and its cache) is the uncalibrated model's. ``model`` may be ``None`` with ``lite``
    and ``model_file``: the Keras model is then loaded from that file on first use.
    """

    def __init__(
        self,
        model: keras.Model | None,
        flip_tta: bool = True,
        batch_size: int = 256,
        lite: bytes | None = None,
        temperature: float = 1.0,
        uncertain_below: float = 0.0,
        model_file: str | os.PathLike | None = None,
        labels: LabelSet | None = None,
    ):
        self._model = model
        self._model_file = model_file
        self._model_lock = threading.Lock()
        self.flip_tta = flip_tta
        self.batch_size = batch_size
        self.temperature = temperature
        self.uncertain_below = uncertain_below
        if labels is None:
            if model is None:
                raise ValueError("a classifier without its Keras model must be told its labels")
            from core.model.emotion_output import model_labels

            labels = model_labels(model)
        self.labels = labels
        """The emotions the model predicts, in the order of its probabilities."""
        self.backend = "lite" if lite is not None else "keras"
        self._lock = threading.Lock()
        self._call = LiteRunner(lite) if lite is not None else self._keras_call()

    @property
    def model(self) -> keras.Model:
        """The Keras model (gradients: attacks, saliency); loaded from the model file on first use."""
        with self._model_lock:
            if self._model is None:
                if self._model_file is None:
                    raise ModelLoadError("this classifier has neither a Keras model nor a model file to load it from")
                import tensorflow as tf

                # First use may come while a tf.function traces (an attack's gradient): build the model eagerly,
                # outside that graph, or its weights would belong to the trace.
                with tf.init_scope():
                    self._model = load_keras_model(self._model_file)
            return self._model

    @classmethod
    def load(
        cls, path: str | os.PathLike | None = None, flip_tta: bool | None = None, backend: str = "lite"
    ) -> EmotionClassifier:
        """The model file at ``path`` (default: :func:`default_model_path`) on the ``lite`` or ``keras`` backend.

        The temperature, the uncertain threshold and, unless ``flip_tta`` is given, whether to average flips
        come from the model's calibration sidecar (none: 1.0, 0 and flips averaged): a model is served the way
        its temperature was fitted. On ``lite``, a conversion shipped beside the file, or ``path`` being a
        ``.tflite`` file (served with or without flips as it was converted), predicts without TensorFlow; the Keras
        model (the ``.keras`` of the same name) loads when first needed.
        """
        path = resolve_model_path(path) if path is not None else default_model_path()
        record = load_calibration(path)
        calibration = {"temperature": float(record.get("temperature", 1.0)),
                       "uncertain_below": float(record.get("uncertain_below", 0.0))}
        if path.suffix == SHIPPED_SUFFIX:  # the file decides: flip TTA is inside it or not
            if not path.is_file():
                raise ModelLoadError(f"model file not found: {path}")
            inside = shipped_flip_tta(path)
            if backend != "lite" or flip_tta not in (None, inside):
                raise ValueError(f"{path} is a LiteRT file with{'' if inside else 'out'} flip TTA inside: "
                                 f"it runs on the lite backend only, {'with' if inside else 'without'} flip TTA")
            keras_file = path.with_suffix(Path(MODEL_FILE).suffix)
            return cls(None, inside, lite=path.read_bytes(), model_file=keras_file, labels=shipped_labels(path),
                       **calibration)
        if flip_tta is None:
            flip_tta = serves_flip_tta(record)
        lite = shipped_tflite(path, flip_tta) if backend == "lite" and path.is_file() else None
        if lite is not None:
            return cls(None, flip_tta, lite=lite, model_file=path, labels=shipped_labels(path), **calibration)
        return cls.from_model(load_keras_model(path), flip_tta, backend, model_file=path, **calibration)

    @classmethod
    def from_model(
        cls,
        model: keras.Model,
        flip_tta: bool = True,
        backend: str = "lite",
        model_file: str | os.PathLike | None = None,
        temperature: float = 1.0,
        uncertain_below: float = 0.0,
        ship: bool = False,
    ) -> EmotionClassifier:
        """A classifier of an in-memory model; with ``model_file`` (its file) the LiteRT conversion is cached.

        ``ship`` also writes the conversion beside ``model_file`` (:func:`core.model.lite.ship_tflite`), as
        training and ``ensemble`` do, so the file predicts without TensorFlow wherever the pair is copied.
        """
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        calibration = {"temperature": temperature, "uncertain_below": uncertain_below}
        exact = cls(model, flip_tta=flip_tta, **calibration)
        if backend == "keras":
            return exact
        if model_file is None:
            return cls(model, flip_tta=flip_tta, lite=to_tflite(exact.probabilities), **calibration)
        lite = cached_tflite(model_file, flip_tta, lambda: to_tflite(exact.probabilities))
        if ship:
            ship_tflite(model_file, lite, flip_tta, exact.labels)
        return cls(model, flip_tta=flip_tta, lite=lite, **calibration)

    def _keras_call(self):
        import tensorflow as tf

        compiled = tf.function(self.probabilities, reduce_retracing=True)

        def call(x: np.ndarray) -> np.ndarray:
            return np.concatenate(
                [
                    compiled(tf.convert_to_tensor(x[start : start + self.batch_size])).numpy()
                    for start in range(0, len(x), self.batch_size)
                ]
            )

        return call

    def probabilities(self, x: tf.Tensor) -> tf.Tensor:
        """Differentiable, uncalibrated probabilities (N, emotions) of model inputs: what attacks differentiate.

        Predictions are these with the temperature applied; a temperature never changes the argmax, so an
        attack that flips this top label flips the calibrated one too.
        """
        import tensorflow as tf

        probabilities = self.model(x, training=False)
        if self.flip_tta:
            probabilities = (probabilities + self.model(tf.reverse(x, axis=[2]), training=False)) / 2.0
        return probabilities

    def predict_inputs(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, emotions) for model inputs already scaled to [0, 1], shape (N, 48, 48, 1)."""
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        with self._lock:
            probabilities = self._call(x)
        return apply_temperature(probabilities, self.temperature).astype(np.float32)

    def predict_faces(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities (N, emotions) for uint8 48x48 faces (N, 48, 48) or one face (48, 48)."""
        return self.predict_inputs(to_model_input(faces))

    def analyze_frame(self, frame: np.ndarray, detector: Detector) -> list[FacePrediction]:
        """Detect every face in a gray/BGR/BGRA frame and classify it."""
        return self.classify_crops(extract_faces(frame, detector))

    def classify_crops(self, crops: list[FaceCrop]) -> list[FacePrediction]:
        """Classify detected faces (one batch), in their order."""
        if not crops:
            return []
        probabilities = self.predict_faces(np.stack([crop.pixels for crop in crops]))
        return [
            FacePrediction(crop.box, crop.pixels, p, self.uncertain_below, emotions=self.labels.emotions)
            for crop, p in zip(crops, probabilities, strict=True)
        ]
