"""Robustness curves and adversarial fine-tuning ("hardening")."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest

from core.adversarial.harden import HARDEN_REPORT, HARDENED_MODEL, harden
from core.adversarial.robustness import run_robustness
from core.labels import PUBLIC_TEST
from core.model.calibration import load_calibration
from core.model.classifier import EmotionClassifier


def test_robustness_curve_falls_from_clean_accuracy(classifier, data, tmp_path):
    messages = []
    curve = run_robustness(classifier, data, tmp_path, max_grey=3, limit=40, steps=3, progress=messages.append)
    assert list(curve.columns) == ["split", "method", "steps", "grey_levels", "epsilon", "accuracy", "faces"]
    assert len(curve) == 8 and set(curve["method"]) == {"fgsm", "pgd"} and (curve["faces"] == 40).all()
    saved = pd.read_csv(tmp_path / "robustness.csv")
    np.testing.assert_allclose(saved["accuracy"], curve["accuracy"])
    public = data.split(PUBLIC_TEST)
    rows = np.sort(np.random.default_rng(0).choice(len(public), size=40, replace=False))
    clean = (classifier.predict_faces(public.images[rows]).argmax(axis=1) == public.labels[rows]).mean()
    for _, part in curve.groupby("method"):
        accuracy = part.sort_values("grey_levels")["accuracy"].to_numpy()
        assert accuracy[0] == pytest.approx(clean)
        assert (np.diff(accuracy) <= 0).all() and accuracy[-1] < accuracy[0]
    assert (tmp_path / "robustness.png").stat().st_size > 10_000
    assert len(messages) >= 8


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside keras Model.save
def test_harden_fine_tunes_a_copy_and_reports_both_models(trained_model, data, tmp_path):
    before = [weights.copy() for weights in trained_model.get_weights()]
    source = {"file": "emotion_cnn.keras", "sha256": "ab" * 32}
    report = harden(trained_model, data, tmp_path, epochs=1, flip_tta=False, source=source, train_limit=128,
                    eval_limit=24, eval_steps=2, batch_size=64, progress=None)
    for weights, kept in zip(trained_model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(weights, kept)
    saved = json.loads((tmp_path / HARDEN_REPORT).read_text())
    assert saved == json.loads(json.dumps(report))
    for name in ("standard", "hardened"):
        assert set(report[name]) == {"clean_accuracy", "robust_accuracy"}
        assert set(report[name]["robust_accuracy"]) == {"pgd_2", "pgd_4"}
        accuracies = [report[name]["clean_accuracy"], *report[name]["robust_accuracy"].values()]
        assert all(0 <= value <= 1 for value in accuracies) and accuracies == sorted(accuracies, reverse=True)
    assert report["eval_faces"] == 24 and report["training"]["faces"] == 128 and len(report["history"]) == 1
    assert report["history"][0]["adversarial_accuracy"] is not None
    assert report["source_model"] == source and report["evaluation"].startswith("no flip TTA")
    # Served as the standard model was evaluated: without flips, calibrated on PublicTest.
    served = EmotionClassifier.load(tmp_path / HARDENED_MODEL, backend="keras")
    assert served.flip_tta is False and load_calibration(tmp_path / HARDENED_MODEL)["fitted_on"] == "PublicTest"
    hardened = keras.models.load_model(tmp_path / HARDENED_MODEL, compile=False)
    changed = [not np.array_equal(a, b) for a, b in zip(hardened.get_weights(), before, strict=True)]
    assert any(changed)
