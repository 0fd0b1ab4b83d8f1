"""The exported LiteRT file runs on ai_edge_litert alone and answers like the Keras model it came from."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import train_cli
from core.data import FerDataset
from core.labels import EMOTIONS, PUBLIC_TEST
from core.model.architecture import build_model
from core.model.calibration import calibration_path
from core.model.classifier import EmotionClassifier
from core.model.export import CONTRACT_FILE, LABELS_FILE, PARITY_FILE, TFLITE_FILE, export_model
from core.model.smoothing import with_input_smoothing

TEMPERATURE = 1.7


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """An untrained small CNN behind an input blur, as shipped, saved with a calibration sidecar (T = 1.7)."""
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "emotion_cnn.keras"
    model = with_input_smoothing(build_model(filters=(4, 8), convs_per_block=1, dense_units=16), 0.6)
    model.save(path)
    calibration_path(path).write_text(json.dumps({"temperature": TEMPERATURE, "uncertain_below": 0.4}))
    return path


def run_alone(path, faces: np.ndarray) -> np.ndarray:
    """The file on a bare LiteRT interpreter, one batch, scaled as the contract says."""
    interpreter = Interpreter(model_path=str(path))
    model_input, model_output = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(model_input["index"], (len(faces), 48, 48, 1))
    interpreter.allocate_tensors()
    interpreter.set_tensor(model_input["index"], (faces.astype(np.float32) / 255.0)[..., None])
    interpreter.invoke()
    return interpreter.get_tensor(model_output["index"])


def keras_reference(model_path, faces: np.ndarray) -> np.ndarray:
    classifier = EmotionClassifier.load(model_path, backend="keras")  # flip TTA, the sidecar's temperature
    assert classifier.temperature == TEMPERATURE
    return classifier.predict_faces(faces)


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_exported_file_matches_keras(tiny_model, public_faces, tmp_path, int8):
    faces = public_faces[0]
    contract = export_model(tiny_model, tmp_path, int8=int8)
    assert (tmp_path / LABELS_FILE).read_text().split() == list(EMOTIONS)
    assert json.loads((tmp_path / CONTRACT_FILE).read_text()) == json.loads(json.dumps(contract))
    assert contract["input"]["shape_signature"] == [-1, 48, 48, 1] and contract["input"]["dtype"] == "float32"
    assert contract["temperature"] == TEMPERATURE and contract["uncertain_below"] == 0.4
    assert "sigma 0.6 px" in contract["input_smoothing"]  # inside the file: a user must not blur again
    assert not (tmp_path / PARITY_FILE).exists()  # no data given

    exported, reference = run_alone(tmp_path / TFLITE_FILE, faces), keras_reference(tiny_model, faces)
    assert exported.shape == (len(faces), len(EMOTIONS))
    np.testing.assert_allclose(exported.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(exported, reference, atol=0.02 if int8 else 1e-4)
    assert (exported.argmax(axis=1) == reference.argmax(axis=1)).mean() >= (0.9 if int8 else 0.99)


def test_export_command_measures_parity_on_public_test(tiny_model, small_csv, tmp_path, capsys):
    out = tmp_path / "export"
    code = train_cli.main(["export", "--out", str(out), "--model", str(tiny_model), "--data", str(small_csv)])
    assert code == 0
    parity = json.loads((out / PARITY_FILE).read_text())
    assert parity["split"] == PUBLIC_TEST and parity["faces"] == 150  # the fixture's PublicTest rows
    assert parity["top1_agreement"] >= 0.99
    assert parity["max_probability_difference"] < 1e-4
    assert abs(parity["accuracy_export"] - parity["accuracy_keras"]) <= 0.01
    assert "top1_agreement" in capsys.readouterr().out


def test_parity_needs_public_test_rows(tiny_model, public_faces, tmp_path):
    faces, labels = public_faces
    training_only = FerDataset(faces, labels, np.full(len(labels), "Training", dtype=object), "slice")
    with pytest.raises(ValueError, match="no PublicTest rows"):
        export_model(tiny_model, tmp_path, data=training_only)
