"""The LiteRT backend: the same answers as the Keras model, converted once per model file or shipped beside it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.model.classifier import DEFAULT_MODEL_PATH, EmotionClassifier, ModelLoadError
from core.model.lite import SINGLE_FACE_LIMIT, shipped_tflite


@pytest.fixture(scope="module")
def shipped_pair() -> tuple[EmotionClassifier, EmotionClassifier]:
    return EmotionClassifier.load(DEFAULT_MODEL_PATH), EmotionClassifier.load(DEFAULT_MODEL_PATH, backend="keras")


def test_lite_backend_agrees_with_the_keras_model(shipped_pair, public_faces):
    lite, keras_model = shipped_pair
    assert (lite.backend, keras_model.backend) == ("lite", "keras")
    faces = public_faces[0]
    fast, exact = lite.predict_faces(faces), keras_model.predict_faces(faces)
    assert fast.shape == exact.shape == (len(faces), len(lite.labels))
    np.testing.assert_allclose(fast.sum(axis=1), 1.0, atol=1e-3)
    assert np.abs(fast - exact).max() < 0.05  # int8 weights move probabilities a little...
    assert (fast.argmax(axis=1) == exact.argmax(axis=1)).mean() >= 0.97  # ...and rarely the answer


def test_one_face_at_a_time_matches_batches(shipped_pair, public_faces):
    lite, _ = shipped_pair
    faces = public_faces[0][: 3 * SINGLE_FACE_LIMIT]
    batched = lite.predict_faces(faces)  # more than SINGLE_FACE_LIMIT: the padded batch interpreter
    one_by_one = np.concatenate([lite.predict_faces(face) for face in faces])
    np.testing.assert_allclose(one_by_one, batched, atol=1e-5)
    assert lite.predict_faces(faces[:0]).shape == (0, len(lite.labels))


def test_conversion_is_cached_per_model_file(smoke_run, tmp_path, monkeypatch):
    model = smoke_run / "emotion_cnn.keras"
    first = EmotionClassifier.load(model)

    def no_conversion(*_):
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr("core.model.classifier.to_tflite", no_conversion)
    again = EmotionClassifier.load(model)
    face = np.full((48, 48), 128, np.uint8)
    np.testing.assert_array_equal(again.predict_faces(face), first.predict_faces(face))

    changed = tmp_path / "changed.keras"
    changed.write_bytes(model.read_bytes() + b"\0")  # another file: must not reuse the conversion
    with pytest.raises(AssertionError, match="converted again"):
        EmotionClassifier.load(changed)


def test_an_unknown_backend_is_named(smoke_run):
    with pytest.raises(ValueError, match="unknown backend 'onnx'"):
        EmotionClassifier.load(smoke_run / "emotion_cnn.keras", backend="onnx")


def test_the_shipped_conversion_is_of_the_shipped_model_and_is_used(shipped_pair, public_faces):
    served = shipped_pair[0].flip_tta  # as the shipped model's calibration says
    assert shipped_tflite(DEFAULT_MODEL_PATH, flip_tta=served) is not None  # its record names the .keras's SHA-256
    lite, keras_model = shipped_pair
    assert lite._model is None  # the Keras model is not loaded to predict...
    faces = public_faces[0][:4]
    np.testing.assert_allclose(lite.predict_faces(faces), keras_model.predict_faces(faces), atol=0.05)
    assert lite.model.count_params() == keras_model.model.count_params()  # ...only when first asked for


def test_a_stale_or_lone_conversion(tmp_path, public_faces):
    for suffix in (".keras", ".tflite", ".tflite.json", ".calibration.json"):
        shutil.copy(DEFAULT_MODEL_PATH.with_name(f"emotion_cnn{suffix}"), tmp_path / f"emotion_cnn{suffix}")
    model, lone = tmp_path / "emotion_cnn.keras", tmp_path / "emotion_cnn.tflite"
    model.write_bytes(model.read_bytes() + b"\0")  # retrained: the shipped conversion no longer matches
    served = EmotionClassifier.load(DEFAULT_MODEL_PATH).flip_tta
    assert shipped_tflite(model, flip_tta=served) is None
    assert shipped_tflite(DEFAULT_MODEL_PATH, flip_tta=not served) is None  # the file has the other setting inside
    model.unlink()
    alone = EmotionClassifier.load(lone)  # a .tflite alone predicts, calibrated by its sidecar
    assert alone.temperature != 1.0
    np.testing.assert_allclose(alone.predict_faces(public_faces[0][:3]).sum(axis=1), 1.0, atol=1e-4)
    with pytest.raises(ModelLoadError, match="not found"):
        alone.model  # noqa: B018  (no .keras beside it: attacks and saliency cannot run)
    with pytest.raises(ValueError, match="lite backend only"):
        EmotionClassifier.load(lone, backend="keras")


def test_a_keras_model_first_loaded_by_an_attack_is_the_real_one(shipped_pair, public_faces):
    from core.adversarial.attacks import loss_gradient
    from core.vision.crop import to_model_input

    fresh = EmotionClassifier.load(DEFAULT_MODEL_PATH)  # its Keras model is first needed inside a tf.function trace
    x, labels = to_model_input(public_faces[0][:2]), np.array([3, 4])
    np.testing.assert_allclose(loss_gradient(fresh, x, labels), loss_gradient(shipped_pair[1], x, labels), atol=1e-4)
