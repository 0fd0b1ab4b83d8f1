"""The hack: the smallest budget that flips a face, and the files that prove it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.adversarial.attacks import pgd, to_uint8
from core.adversarial.hack import run_attack, smallest_budget
from core.labels import EMOTIONS, PUBLIC_TEST, emotion_index
from core.model.classifier import EmotionClassifier
from core.vision.crop import to_model_input

SAD = emotion_index("sad")
SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "emotion_cnn.keras"


def test_smallest_budget_is_the_first_that_succeeds(classifier, data):
    face = data.split(PUBLIC_TEST).images[0]
    grey, adversarial, probabilities = smallest_budget(classifier, face, "sad", steps=10, max_grey=16)
    assert 1 <= grey <= 16
    assert probabilities.argmax() == SAD
    assert np.abs(adversarial.astype(int) - face.astype(int)).max() <= grey
    np.testing.assert_allclose(classifier.predict_faces(adversarial)[0], probabilities, atol=1e-6)
    if grey > 1:  # one grey level less is not enough (same attack, alone this time)
        eps = (grey - 1) / 255
        weaker = to_uint8(pgd(classifier, to_model_input(face), eps, "sad", steps=10), face[None], eps)
        assert classifier.predict_faces(weaker)[0].argmax() != SAD


def test_attack_json_holds_what_the_images_show(classifier, data, tmp_path):
    messages = []
    result = run_attack(classifier, data, tmp_path, source="happy", target="sad", steps=10, min_confidence=0.3,
                        progress=messages.append)
    record = json.loads((tmp_path / "attack.json").read_text())
    original = cv2.imread(str(tmp_path / "original.png"), cv2.IMREAD_UNCHANGED)
    adversarial = cv2.imread(str(tmp_path / "adversarial.png"), cv2.IMREAD_UNCHANGED)
    assert original.shape == adversarial.shape == (48, 48) and adversarial.dtype == np.uint8
    public = data.split(PUBLIC_TEST)
    np.testing.assert_array_equal(original, public.images[record["index"]])
    assert record["split"] == PUBLIC_TEST and record["true_label"] == "Happy"

    shown = classifier.predict_faces(np.stack([original, adversarial]))
    assert record["source_label"] == EMOTIONS[shown[0].argmax()] == "Happy"
    assert record["source_confidence"] == pytest.approx(float(shown[0].max()), abs=1e-6) and shown[0].max() >= 0.3
    assert record["adversarial_label"] == EMOTIONS[shown[1].argmax()] == "Sad"
    assert record["adversarial_confidence"] == pytest.approx(float(shown[1].max()), abs=1e-6)
    assert record["original_probabilities"]["Sad"] == pytest.approx(float(shown[0][SAD]), abs=1e-6)
    assert record["success"] is True and result.success and result.adversarial_label == "Sad"

    delta = adversarial.astype(int) - original.astype(int)
    assert record["linf_grey_levels"] == np.abs(delta).max() <= record["epsilon_grey_levels"] <= 16
    assert record["epsilon"] == pytest.approx(record["epsilon_grey_levels"] / 255)
    assert record["l2"] == pytest.approx(np.linalg.norm(delta / 255), rel=1e-9)
    figure = cv2.imread(str(tmp_path / "adversarial_attack.png"))
    assert figure is not None and figure.shape[1] > 3 * figure.shape[0] / 2
    assert any("success" in message for message in messages)


def test_a_fixed_budget_and_fgsm_are_honoured(classifier, data, tmp_path):
    result = run_attack(classifier, data, tmp_path, method="fgsm", epsilon=3.5 / 255, min_confidence=0.3,
                        max_candidates=1, progress=None)
    assert result.epsilon_grey_levels == 3 and result.linf_grey_levels <= 3 and result.steps == 1
    assert json.loads((tmp_path / "attack.json").read_text())["method"] == "fgsm"


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason=f"{SHIPPED_MODEL} not trained yet")
def test_the_shipped_model_flips_happy_to_sad_within_4_grey_levels(data, tmp_path):
    """The first PublicTest face in the file that is Happy and called Happy with >= 90% confidence."""
    shipped = EmotionClassifier.load(SHIPPED_MODEL, backend="keras")
    result = run_attack(shipped, data, tmp_path, split=PUBLIC_TEST, max_grey=4, max_candidates=1, progress=None)
    assert result.source_label == "Happy" and result.source_confidence >= 0.9
    assert result.success and result.adversarial_label == "Sad" and result.linf_grey_levels <= 4
    saved = cv2.imread(str(tmp_path / "adversarial.png"), cv2.IMREAD_GRAYSCALE)
    assert shipped.predict_faces(saved)[0].argmax() == SAD
