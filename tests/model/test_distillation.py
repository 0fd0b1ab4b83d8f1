"""Distillation and class balance: a teacher's probabilities mixed into the targets, rare emotions weighed up."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import load_dataset
from core.evaluation.report import read_report
from core.labels import FER2013, FERPLUS, TRAINING
from core.model.classifier import EmotionClassifier
from core.model.distillation import balanced_weights, teacher_distributions, with_teacher
from core.model.targets import training_sets


def test_a_seven_emotion_teacher_gives_contempt_nothing(small_csv):
    faces = load_dataset(small_csv).split(TRAINING).images[:20]
    eight = teacher_distributions(["fer2013"], faces, FERPLUS)
    served = EmotionClassifier.load("fer2013").predict_faces(faces)
    np.testing.assert_allclose(eight[:, :7], served, atol=1e-6)  # the same emotions, matched by name
    assert (eight[:, FERPLUS.index("Contempt")] == 0).all()
    np.testing.assert_allclose(eight.sum(axis=1), 1.0, atol=1e-5)


def test_several_teachers_are_averaged_each_by_its_own_emotions(small_csv):
    faces = load_dataset(small_csv).split(TRAINING).images[:20]
    both = teacher_distributions(["fer2013", "ferplus"], faces, FERPLUS)
    seven = EmotionClassifier.load("fer2013").predict_faces(faces)
    eight = EmotionClassifier.load("ferplus").predict_faces(faces)
    contempt = FERPLUS.index("Contempt")
    np.testing.assert_allclose(both[:, :7], (seven + eight[:, :7]) / 2, atol=1e-5)
    np.testing.assert_allclose(both[:, contempt], eight[:, contempt] / 2, atol=1e-5)  # only one teacher knows it
    with pytest.raises(ValueError, match="at least one teacher"):
        teacher_distributions([], faces, FERPLUS)


def test_the_teacher_takes_its_share_of_each_target(small_csv):
    sets = training_sets(load_dataset(small_csv), FER2013)
    teacher = np.full_like(sets.train_targets, 1 / 7)
    mixed = with_teacher(sets, teacher, 0.4)
    np.testing.assert_allclose(mixed.train_targets, 0.6 * sets.train_targets + 0.4 / 7, atol=1e-6)
    np.testing.assert_array_equal(mixed.val_targets, sets.val_targets)  # selection stays on the data's own labels
    with pytest.raises(ValueError, match="weight"):
        with_teacher(sets, teacher, 1.5)
    with pytest.raises(ValueError, match="do not match"):
        with_teacher(sets, teacher[:3], 0.4)


def test_balanced_weights_lift_rare_emotions():
    targets = np.eye(3, dtype=np.float32)[[0] * 8 + [1, 1]]  # no face of the third emotion
    plain = balanced_weights(targets, 0.0)
    np.testing.assert_allclose(plain, 1.0)
    full = balanced_weights(targets, 1.0)
    assert full.mean() == pytest.approx(1.0)
    assert full[8] == pytest.approx(4 * full[0])  # a quarter as many faces, four times the weight
    half = balanced_weights(targets, 0.5)
    assert half[8] == pytest.approx(2 * half[0])
    assert full[:8].sum() == pytest.approx(full[8:].sum())  # each present emotion weighs alike


def test_train_distils_a_teacher_with_balanced_classes(small_csv, tmp_path):
    import train_cli

    out = tmp_path / "student"
    assert train_cli.main(["train", "--data", str(small_csv), "--init", "fer2013", "--teacher", "fer2013",
                           "--teacher-weight", "0.5", "--class-balance", "0.5", "--epochs", "1",
                           "--out", str(out)]) == 0
    config = read_report(out / "report.json").config
    assert (config["teacher"], config["teacher_weight"], config["class_balance"]) == (["fer2013"], 0.5, 0.5)
