"""Starting from a trained network: the label set a run keeps, and the output layer it gets."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from core.data import load_dataset
from core.evaluation.report import read_report
from core.labels import FER2013, FERPLUS, PUBLIC_TEST, TRAINING
from core.model.architecture import build_model
from core.model.classifier import load_keras_model
from core.model.emotion_output import model_labels
from core.model.registry import SHIPPED_MODELS
from core.model.targets import VALIDATION_SHARE, training_sets
from core.model.transfer import label_set_for_data, starting_network

SMALL = (4, 4, 8, 8)


def test_a_folder_of_known_emotions_keeps_the_models_label_set():
    assert label_set_for_data(FERPLUS, ["Happy", "Sad"]) == FERPLUS  # a lab set without Neutral or Contempt
    assert label_set_for_data(FER2013, ["happy", "sad"]) == FER2013
    assert label_set_for_data(FER2013, ["Happy", "Contempt"]) == FERPLUS  # a new emotion widens it


def test_a_new_label_set_keeps_the_shared_outputs_weights():
    seven = build_model(filters=SMALL, labels=FER2013)
    eight = starting_network(seven, FERPLUS)
    assert model_labels(eight) == FERPLUS and eight.outputs[0].shape[-1] == 8
    old_kernel, _ = seven.layers[-1].get_weights()
    new_kernel, _ = eight.layers[-1].get_weights()
    np.testing.assert_array_equal(new_kernel[:, :7], old_kernel)
    np.testing.assert_allclose(eight.get_layer("dense").get_weights()[0], seven.get_layer("dense").get_weights()[0])
    faces = np.random.default_rng(0).random((4, 48, 48, 1), dtype=np.float32)
    seven_p, eight_p = seven.predict(faces, verbose=0), eight.predict(faces, verbose=0)
    # The seven shared logits are the old ones: their ratios survive the new softmax.
    np.testing.assert_allclose(eight_p[:, :7] / eight_p[:, :7].sum(1, keepdims=True), seven_p, rtol=1e-4)


def test_a_started_network_and_the_shipped_models_take_a_face_tensor_without_a_warning():
    faces = np.random.default_rng(2).random((2, 48, 48, 1), dtype=np.float32)
    started = starting_network(build_model(filters=SMALL, labels=FER2013), FERPLUS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when a model built on a list of one input gets a tensor
        assert started(faces, training=False).shape == (2, 8)
        for name in SHIPPED_MODELS:
            model = load_keras_model(name)
            assert model(faces, training=False).shape == (2, len(model_labels(model).emotions))


def test_the_same_label_set_keeps_the_whole_network():
    seven = build_model(filters=SMALL, labels=FER2013)
    again = starting_network(seven)
    faces = np.random.default_rng(1).random((3, 48, 48, 1), dtype=np.float32)
    np.testing.assert_allclose(again.predict(faces, verbose=0), seven.predict(faces, verbose=0), atol=1e-6)


def test_vote_targets_mix_in_fer2013_labels_and_select_on_the_majority(voted_small_csv):
    from core.ferplus import attach_votes, majority_labels

    data = attach_votes(load_dataset(voted_small_csv), voted_small_csv.parent / "fer2013new.csv")
    sets = training_sets(data, FERPLUS, "ferplus", fer2013_weight=0.25)
    train = data.split(TRAINING)
    assert len(sets.train_faces) < len(train)  # faces without an emotion as top vote are left out
    assert np.allclose(sets.train_targets.sum(axis=1), 1.0)
    assert (sets.train_targets.max(axis=1) >= 0.25).all()
    majority = majority_labels(data.split(PUBLIC_TEST).votes)
    assert len(sets.val_faces) == (majority >= 0).sum()
    np.testing.assert_array_equal(sets.val_targets.argmax(axis=1), majority[majority >= 0])
    np.testing.assert_array_equal(sets.selection.labels, majority[majority >= 0])
    with pytest.raises(ValueError, match="eight emotions"):
        training_sets(data, FER2013, "ferplus")


def test_without_a_test_split_a_stratified_share_of_training_is_held_out(small_csv):
    data = load_dataset(small_csv).split(TRAINING)
    sets = training_sets(data, FER2013)
    held = len(sets.val_faces)
    assert held == pytest.approx(len(data) * VALIDATION_SHARE, abs=1)
    assert held + len(sets.train_faces) == len(data)
    assert "held out" in sets.validation
    shares = np.bincount(sets.selection.labels, minlength=7) / held
    overall = np.bincount(data.labels, minlength=7) / len(data)
    assert np.abs(shares - overall).max() < 0.05  # stratified


def test_train_on_votes_from_a_shipped_network_reports_both_label_sets(ferplus_smoke_run):
    report = read_report(ferplus_smoke_run / "report.json")
    assert report.emotions == list(FERPLUS.emotions)
    assert report.ferplus is not None and 0 < report.ferplus["accuracy"] <= 1
    assert report.fer2013_accuracy is not None
    assert "FER+ majority" in report.evaluated_on
    assert list(report.per_class) == list(FERPLUS.emotions)


def test_fine_tuning_on_a_folder_with_a_new_emotion_widens_the_label_set(public_faces, tmp_path):
    import cv2

    import train_cli

    faces, labels = public_faces
    names = {3: "happy", 4: "sad", 6: "contempt"}  # Neutral faces stand in for Contempt: a name the model lacks
    for number, (face, label) in enumerate(zip(faces, labels, strict=True)):
        if label in names:
            folder = tmp_path / "faces" / "train" / names[label]
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{number}.png"), cv2.resize(face, (96, 96)))
    out = tmp_path / "mine"
    assert train_cli.main(["train", "--data", str(tmp_path / "faces"), "--init", "fer2013", "--epochs", "1",
                           "--out", str(out)]) == 0
    report = read_report(out / "report.json")
    assert report.emotions == list(FERPLUS.emotions)
    assert "held out of Training" in report.evaluated_on
    assert report.config["learning_rate"] == pytest.approx(3e-4)  # the fine-tuning default
