"""Temperature scaling, ECE, reliability bins, the uncertain threshold and the model's sidecar."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.calibration import (
    apply_temperature,
    calibrate,
    calibration_path,
    display_label,
    ece_sampling_noise,
    expected_calibration_error,
    fit_temperature,
    load_calibration,
    load_temperature,
    log_loss,
    reliability_bins,
    serves_flip_tta,
    uncertain_threshold,
)
from core.model.classifier import DEFAULT_MODEL_PATH


def softmax(logits: np.ndarray) -> np.ndarray:
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def overconfident() -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z), and a model that reports softmax(2.5 z): over-confident by T = 2.5."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, (6000, 7))
    truth = softmax(logits)
    labels = np.array([rng.choice(7, p=p) for p in truth])
    return softmax(2.5 * logits), labels


def test_temperature_divides_the_logits():
    logits = np.array([[2.0, 0.5, -1.0, 0, 0, 0, 0.3]])
    np.testing.assert_allclose(apply_temperature(softmax(logits), 2.0), softmax(logits / 2.0), atol=1e-9)
    np.testing.assert_allclose(apply_temperature(softmax(logits), 1.0), softmax(logits), atol=1e-9)


def test_fit_recovers_a_known_temperature_and_fixes_the_ece(overconfident):
    probabilities, labels = overconfident
    temperature = fit_temperature(probabilities, labels)
    assert temperature == pytest.approx(2.5, rel=0.08)
    calibrated = apply_temperature(probabilities, temperature)
    assert (calibrated.argmax(axis=1) == probabilities.argmax(axis=1)).all()  # accuracy unchanged
    assert expected_calibration_error(probabilities, labels) > 0.1
    assert expected_calibration_error(calibrated, labels) < 0.03
    assert log_loss(calibrated, labels) < log_loss(probabilities, labels)


def test_reliability_bins_and_ece_by_hand():
    # Confidences 0.9, 0.9 (one right, one wrong) and 0.3 (right), with 2 bins: (0, .5] and (.5, 1].
    sure = [0.9, 0.1, 0, 0, 0, 0, 0]
    probabilities = np.array([sure, sure, [0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]])
    labels = np.array([0, 1, 0])
    table = reliability_bins(probabilities, labels, bins=2)
    np.testing.assert_array_equal(table.count, [1, 2])
    np.testing.assert_allclose(table.confidence, [0.3, 0.9])
    np.testing.assert_allclose(table.accuracy, [1.0, 0.5])
    np.testing.assert_allclose(table.edges, [0, 0.5, 1])
    # |1 - 0.3| * 1/3 + |0.5 - 0.9| * 2/3
    assert expected_calibration_error(probabilities, labels, bins=2) == pytest.approx(0.7 / 3 + 0.8 / 3)


def test_a_perfect_models_ece_is_the_sampling_noise_and_shrinks_with_more_faces(overconfident):
    true_probabilities = apply_temperature(overconfident[0], 2.5)  # the labels' own distribution
    rng = np.random.default_rng(5)
    measured = []
    for _ in range(40):  # perfectly calibrated models: labels drawn from the probabilities they report
        labels = (rng.random(len(true_probabilities))[:, None] > true_probabilities.cumsum(axis=1)).sum(axis=1)
        measured.append(expected_calibration_error(true_probabilities, np.minimum(labels, 6)))

    noise = ece_sampling_noise(true_probabilities)
    quarter = ece_sampling_noise(true_probabilities[:1500])

    assert noise["p5"] < noise["mean"] < noise["p95"] and noise["draws"] == 1000
    assert noise["mean"] == pytest.approx(np.mean(measured), rel=0.15)  # what perfect models really measure
    assert np.mean((np.array(measured) < noise["p5"]) | (np.array(measured) > noise["p95"])) <= 0.25
    assert quarter["mean"] == pytest.approx(2 * noise["mean"], rel=0.2)  # noise falls as 1 / sqrt(faces)


def test_uncertain_threshold_is_where_accuracy_drops_under_half():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(1 / 7, 1, 20000)
    probabilities = np.zeros((len(confidence), 7))
    probabilities[:, 0] = confidence
    probabilities[:, 1:] = ((1 - confidence) / 6)[:, None]
    labels = np.where(rng.uniform(size=len(confidence)) < confidence, 0, 1)  # perfectly calibrated
    assert uncertain_threshold(probabilities, labels, bins=10) == pytest.approx(0.5)
    assert uncertain_threshold(probabilities, np.zeros_like(labels), bins=10) == 0.0  # always right


def test_display_label_marks_uncertain_answers():
    assert display_label("Neutral", 0.38, 0.5) == "Neutral? 38%"
    assert display_label("Happy", 0.91, 0.5) == "Happy 91%"


def test_sidecar_round_trip(overconfident, tmp_path):
    model = tmp_path / "emotion_cnn.keras"
    assert load_temperature(model) == 1.0  # no sidecar: no change
    record = calibrate(*overconfident, model)
    assert calibration_path(model) == tmp_path / "emotion_cnn.calibration.json"
    assert load_temperature(model) == pytest.approx(record["temperature"]) == pytest.approx(2.5, rel=0.08)
    assert record["ece_after"] < record["ece_before"]
    held_out = record["cross_fit"]
    assert held_out["ece_held_out"] < record["ece_before"] and held_out["repeats"] == 20
    low, high = held_out["ece_held_out_range"]
    assert low <= held_out["ece_held_out"] <= high and low < high  # the splits differ, the mean lies among them
    assert all(temperature == pytest.approx(2.5, rel=0.25) for temperature in held_out["temperature_range"])


def test_the_shipped_model_has_a_sidecar():
    assert calibration_path(DEFAULT_MODEL_PATH).is_file()
    assert 0.2 < load_temperature(DEFAULT_MODEL_PATH) < 5


def test_the_classifier_applies_the_sidecar_temperature_after_the_backend(tmp_path):
    import shutil

    from core.model.classifier import EmotionClassifier, FacePrediction
    from core.vision.crop import to_model_input

    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    model_file = tmp_path / "emotion_cnn.keras"
    shutil.copy(DEFAULT_MODEL_PATH, model_file)
    served = serves_flip_tta(load_calibration(DEFAULT_MODEL_PATH))  # without the sidecar, flips are the default
    uncalibrated = EmotionClassifier.load(model_file, flip_tta=served, backend="keras")  # no sidecar beside it: T = 1
    assert uncalibrated.temperature == 1.0 and uncalibrated.uncertain_below == 0.0
    raw = uncalibrated.predict_faces(faces)
    shutil.copy(calibration_path(DEFAULT_MODEL_PATH), calibration_path(model_file))
    for backend in ("keras", "lite"):
        calibrated = EmotionClassifier.load(model_file, backend=backend)
        assert calibrated.temperature == load_temperature(DEFAULT_MODEL_PATH) != 1.0 and calibrated.flip_tta == served
        np.testing.assert_allclose(calibrated.predict_faces(faces), apply_temperature(raw, calibrated.temperature),
                                   atol=0.05 if backend == "lite" else 1e-5)  # int8 weights
    x = to_model_input(faces)  # what attacks differentiate stays uncalibrated
    np.testing.assert_allclose(calibrated.probabilities(x).numpy(), raw, atol=1e-5)
    assert calibrated.uncertain_below > 0.38
    face = FacePrediction(None, faces[0], np.array([0.12, 0, 0, 0.2, 0.3, 0, 0.38]), calibrated.uncertain_below)
    assert face.display_label == "Neutral? 38%"
