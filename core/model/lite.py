"""The fast inference path: the Keras model as a LiteRT (TensorFlow Lite) flatbuffer.
Owns the conversion (to_tflite), its cache (cached_tflite), the shipped copy (ship_tflite, shipped_tflite,
shipped_flip_tta, shipped_labels) and the interpreter runner (LiteRunner).

Dynamic-range quantisation stores the weights as int8 and quantises activations on the fly, which
lets XNNPACK use the CPU's int8 dot-product instructions (AVX-512 VNNI here): about 3x the
throughput of the float32 Keras model, within a few tenths of a point of its accuracy
(``python -m bench`` measures both).
Gradients still come from the Keras model, so attacks use that one.

A model file may ship its conversion beside it (``emotion_cnn.tflite`` and ``emotion_cnn.tflite.json``, which
records the SHA-256 of the ``.keras`` it came from): predictions then need ``ai-edge-litert`` only, and
TensorFlow is imported only to convert, train, attack or explain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.cache import cache_dir
from core.labels import FER2013, IMAGE_SIZE, LabelSet, label_set_of

if TYPE_CHECKING:
    import tensorflow as tf

INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)
SHIPPED_SUFFIX = ".tflite"
RECORD_SUFFIX = ".tflite.json"
SINGLE_FACE_LIMIT = 8
"""Up to this many faces run one by one on the batch-1 interpreter (the live path): resizing an
interpreter's input repacks its weights, which costs more than the faces themselves."""


def to_tflite(probabilities: Callable[[tf.Tensor], tf.Tensor], quantize: bool = True) -> bytes:
    """Convert a probabilities function of (N, 48, 48, 1) inputs, flip TTA included, to a flatbuffer.

    ``quantize``: int8 weights (dynamic-range quantisation, what the product runs), else float32.
    """
    import tensorflow as tf

    serve = tf.function(probabilities, input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)])
    # Without trackable_obj: given the Keras 3 model there, the converted graph outputs NaN. TensorFlow
    # warns that this path is deprecated; the warning is silenced as there is no working alternative.
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()])
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()
    finally:
        absl.setLevel(level)


def cached_tflite(model_path: str | os.PathLike, flip_tta: bool, convert: Callable[[], bytes]) -> bytes:
    """The flatbuffer of a model file, converted once and then read from :func:`core.cache.cache_dir`.

    Keyed by the model file's bytes, the TTA setting and TensorFlow's version, so a retrained model
    never meets a stale conversion.
    """
    import tensorflow as tf

    digest = hashlib.sha256(Path(model_path).read_bytes())
    digest.update(f"tta={flip_tta};tf={tf.__version__}".encode())
    cached = cache_dir() / "tflite" / f"{digest.hexdigest()}.tflite"
    if cached.is_file():
        return cached.read_bytes()
    content = convert()
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(content)
    partial.replace(cached)
    return content


def _record_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.stem + RECORD_SUFFIX)


def ship_tflite(model_path: str | os.PathLike, content: bytes, flip_tta: bool, labels: LabelSet) -> Path:
    """Write a conversion of ``model_path`` beside it, with the record of the ``.keras`` it came from, whether
    flip TTA is inside and the emotions of its outputs, in order."""
    model_path = Path(model_path)
    shipped = model_path.with_suffix(SHIPPED_SUFFIX)
    shipped.write_bytes(content)
    record = {"source": model_path.name, "source_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
              "flip_tta": flip_tta, "weights": "int8 (dynamic-range quantisation)", "emotions": list(labels.emotions)}
    _record_path(model_path).write_text(json.dumps(record, indent=2) + "\n")
    return shipped


def shipped_tflite(model_path: str | os.PathLike, flip_tta: bool) -> bytes | None:
    """The conversion shipped beside a ``.keras`` file, or ``None`` when there is none or it is stale.

    Stale: its record names another file's SHA-256 (the model was retrained). A conversion with the other flip
    TTA setting inside is not this one either.
    """
    model_path = Path(model_path)
    shipped, record = model_path.with_suffix(SHIPPED_SUFFIX), _read_record(model_path)
    if not shipped.is_file() or not record:
        return None
    if record.get("source_sha256") != hashlib.sha256(model_path.read_bytes()).hexdigest():
        return None
    return shipped.read_bytes() if _flip_tta_inside(record) == flip_tta else None


def shipped_flip_tta(model_path: str | os.PathLike) -> bool:
    """Whether the conversion shipped beside ``model_path`` (or the ``.tflite`` file itself) averages flips inside."""
    return _flip_tta_inside(_read_record(Path(model_path)))


def shipped_labels(model_path: str | os.PathLike) -> LabelSet:
    """The emotions of the conversion shipped beside ``model_path``; records that predate them hold FER-2013's."""
    emotions = _read_record(Path(model_path)).get("emotions")
    return label_set_of(emotions) if emotions else FER2013


def _read_record(model_path: Path) -> dict:
    record_path = _record_path(model_path)
    return json.loads(record_path.read_text()) if record_path.is_file() else {}


def _flip_tta_inside(record: dict) -> bool:
    """Records written before the setting was recorded held flip-TTA conversions only."""
    return bool(record.get("flip_tta", True))


class LiteRunner:
    """Runs a flatbuffer from :func:`to_tflite` on batches of any size; one call at a time."""

    def __init__(self, content: bytes, batch_size: int = 64, num_threads: int | None = None) -> None:
        self._content = content
        self.batch_size = batch_size
        self._threads = num_threads or os.cpu_count() or 1
        # One face runs on one thread: 1.2 ms instead of 0.7 ms (python -m bench), but it never waits
        # for a second worker, which on a busy machine (video threads, the browser) stalled two-thread
        # interpreters here by up to 10x.
        self._single = self._interpreter(1, threads=1)
        self._batched = None  # built on first use: the live path never needs its memory
        # Both interpreters share the graph, so the tensor indices are the same: look them up once.
        self._input = self._single.get_input_details()[0]["index"]
        self._output = self._single.get_output_details()[0]["index"]

    def _interpreter(self, batch: int, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=self._content, num_threads=threads or self._threads)
        interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], (batch, *INPUT_SHAPE))
        interpreter.allocate_tensors()
        return interpreter

    def _run(self, interpreter, x: np.ndarray) -> np.ndarray:
        """Write ``x`` (at most the interpreter's batch) straight into its input tensor, zero the rest, run.

        Writing in place allocates no input array per call.
        """
        view = interpreter.tensor(self._input)()
        view[: len(x)] = x
        view[len(x) :] = 0
        del view  # the interpreter refuses to run while a view of its buffers is alive
        interpreter.invoke()
        return interpreter.get_tensor(self._output)[: len(x)]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (N, emotions) of float32 inputs (N, 48, 48, 1) in [0, 1]."""
        x = np.asarray(x, dtype=np.float32)
        if len(x) == 0:
            width = self._single.get_output_details()[0]["shape"][-1]
            return np.zeros((0, width), dtype=np.float32)
        if len(x) <= SINGLE_FACE_LIMIT:
            return np.concatenate([self._run(self._single, x[i : i + 1]) for i in range(len(x))])
        if self._batched is None:
            self._batched = self._interpreter(self.batch_size)  # batches use every core
        starts = range(0, len(x), self.batch_size)
        return np.concatenate([self._run(self._batched, x[start : start + self.batch_size]) for start in starts])
