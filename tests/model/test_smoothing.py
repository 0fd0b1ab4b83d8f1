"""Input smoothing: a fixed blur inside the model, equal to OpenCV's, fitted on PublicTest, kept by every path."""

from __future__ import annotations

import json

import cv2
import keras
import numpy as np
import pytest

from core.model.architecture import build_model
from core.model.classifier import EmotionClassifier, default_model_path, load_keras_model
from core.model.smoothing import SMOOTHING_LAYER, InputSmoothing, input_smoothing_sigmas, with_input_smoothing


def _network(seed: int, attention: bool = False) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model(filters=(4, 8), attention=attention)


def _blurred(faces: np.ndarray, sigma: float) -> np.ndarray:
    line = cv2.getGaussianKernel(3, sigma).ravel()
    kernel = np.outer(line, line).astype(np.float32)
    return np.stack([cv2.filter2D(face[:, :, 0], -1, kernel, borderType=cv2.BORDER_REFLECT_101)
                     for face in faces])[..., None]


@pytest.mark.parametrize("attention", [False, True])
def test_the_smoothed_model_is_the_network_on_opencv_blurred_faces(public_faces, attention):
    network = _network(1, attention)
    faces = public_faces[0][:8, :, :, None].astype(np.float32) / 255.0

    smoothed = with_input_smoothing(network, 0.6)

    assert [layer.name for layer in smoothed.layers[:2]] == ["face", SMOOTHING_LAYER]
    assert input_smoothing_sigmas(smoothed) == [0.6] and input_smoothing_sigmas(network) == [0.0]
    expected = network.predict(_blurred(faces, 0.6), verbose=0)
    np.testing.assert_allclose(smoothed.predict(faces, verbose=0), expected, atol=1e-5)
    assert np.abs(network.predict(faces, verbose=0) - expected).max() > 1e-4  # the blur changes the output


def test_a_new_width_replaces_the_blur_and_zero_removes_it(public_faces):
    network = _network(2)
    faces = public_faces[0][:8, :, :, None].astype(np.float32) / 255.0
    smoothed = with_input_smoothing(network, 0.6)

    wider = with_input_smoothing(smoothed, 0.9)
    plain = with_input_smoothing(smoothed, 0.0)

    assert input_smoothing_sigmas(wider) == [0.9] and len(wider.layers) == len(smoothed.layers)
    np.testing.assert_allclose(wider.predict(faces, verbose=0), network.predict(_blurred(faces, 0.9), verbose=0),
                               atol=1e-5)
    assert [layer.name for layer in plain.layers] == [layer.name for layer in network.layers]
    np.testing.assert_allclose(plain.predict(faces, verbose=0), network.predict(faces, verbose=0), atol=1e-6)


def test_the_blur_survives_saving_and_the_litert_conversion(tmp_path, public_faces):
    smoothed = with_input_smoothing(_network(3), 0.7)
    path = tmp_path / "smoothed.keras"
    smoothed.save(path)
    faces = public_faces[0][:32, :, :, None].astype(np.float32) / 255.0

    loaded = load_keras_model(path)
    lite = EmotionClassifier.from_model(loaded, flip_tta=False, model_file=path).predict_inputs(faces)

    assert input_smoothing_sigmas(loaded) == [0.7]
    expected = smoothed.predict(faces, verbose=0)
    np.testing.assert_allclose(loaded.predict(faces, verbose=0), expected, atol=1e-6)
    assert np.abs(lite - expected).max() < 0.02  # int8 weights, the same blur


def test_grad_cam_explains_a_smoothed_model(public_faces):
    from core.model.saliency import grad_cam

    maps = grad_cam(with_input_smoothing(build_model(filters=(4, 8, 8)), 0.6), public_faces[0][:2], [3, 4])

    assert maps.shape == (2, 48, 48) and maps.min() >= 0 and maps.max() <= 1


def test_an_ensemble_is_smoothed_through_its_members_not_as_a_whole():
    from core.model.ensemble import build_ensemble

    with pytest.raises(ValueError, match="is an ensemble"):
        with_input_smoothing(build_ensemble([_network(5), _network(6)]), 0.6)


def test_the_width_must_be_positive():
    with pytest.raises(ValueError, match="positive sigma"):
        InputSmoothing(0.0)


def test_the_fit_finds_that_the_shipped_network_wants_its_faces_blurred(fer_frame):
    """The finding itself: trained on resampled faces, the shipped network does better on blurred test faces."""
    from core.data import FerDataset
    from core.evaluation.smoothing_fit import fit_input_smoothing
    from core.model.ensemble import ensemble_members

    first = ensemble_members(load_keras_model(default_model_path()))[0]
    network = with_input_smoothing(first, 0.0)  # the shipped model's first network as trained
    public = fer_frame[fer_frame["Usage"] == "PublicTest"].head(1500)
    faces = np.stack([np.array(row.split(), dtype=np.uint8).reshape(48, 48) for row in public["pixels"]])
    validation = FerDataset(faces, public["emotion"].to_numpy(), public["Usage"].to_numpy(), "PublicTest")

    [sigma], [grid] = fit_input_smoothing([network], validation, sigmas=(0.0, 0.6))

    assert sigma == 0.6
    assert grid[1]["log_loss"] < grid[0]["log_loss"] - 0.02 and grid[1]["accuracy"] > grid[0]["accuracy"]


def test_the_smooth_command_keeps_the_training_record_and_ships_the_fitted_model(tmp_path, small_csv, smoke_run):
    import train_cli

    out = tmp_path / "smoothed"
    assert train_cli.main(["smooth", str(smoke_run / "emotion_cnn.keras"), "--data", str(small_csv),
                           "--out", str(out)]) == 0

    report = json.loads((out / "report.json").read_text())
    source = json.loads((smoke_run / "report.json").read_text())
    smoothing = report["config"]["input_smoothing"]
    assert report["config"]["filters"] == source["config"]["filters"] and report["history"] == source["history"]
    assert smoothing["sigma"] == min(smoothing["grid"], key=lambda row: row["log_loss"])["sigma"]
    assert input_smoothing_sigmas(load_keras_model(out / "emotion_cnn.keras")) == [smoothing["sigma"]]
    assert report["accuracy_lite"] == report["accuracy"] and report["calibration"]["temperature"] > 0
    from core.model.lite import shipped_tflite

    assert shipped_tflite(out / "emotion_cnn.keras", flip_tta=True) is not None


def test_a_network_of_the_votes_is_smoothed_to_the_votes_and_can_then_be_rebalanced(
    tmp_path, voted_small_csv, ferplus_smoke_run
):
    import train_cli
    from core.data import load_dataset
    from core.evaluation.metrics import evaluate
    from core.evaluation.report import read_report
    from core.ferplus import attach_votes, find_votes_file, vote_distribution
    from core.labels import FERPLUS, PUBLIC_TEST
    from core.model.calibration import cross_entropy
    from core.model.targets import vote_selection

    source, out = ferplus_smoke_run / "emotion_cnn.keras", tmp_path / "smoothed"
    assert train_cli.main(["smooth", str(source), "--data", str(voted_small_csv), "--no-tta", "--out", str(out)]) == 0

    report = read_report(out / "report.json")
    smoothing = report.config["input_smoothing"]
    assert "FER+ majority" in report.evaluated_on and smoothing["fitted_on"] == report.evaluated_on
    assert smoothing["criterion"].startswith("cross-entropy to the votes")
    chosen = min(smoothing["grid"], key=lambda row: row["cross_entropy"])
    assert smoothing["sigma"] == chosen["sigma"]
    data = load_dataset(voted_small_csv)
    selection, _ = vote_selection(attach_votes(data, find_votes_file(voted_small_csv)).split(PUBLIC_TEST))
    smoothed = EmotionClassifier(with_input_smoothing(load_keras_model(source), chosen["sigma"]), flip_tta=False)
    probabilities = evaluate(smoothed, selection)[1]
    assert cross_entropy(probabilities, vote_distribution(selection.votes)) == pytest.approx(chosen["cross_entropy"])
    assert report.emotions == list(FERPLUS.emotions) and report.ferplus is not None
    assert report.calibration["fitted_to"] == "cross-entropy to the vote distributions"
    assert report.serves_flip_tta is False  # as fitted, though the network was trained to be served with flips

    rebalanced = tmp_path / "rebalanced"
    assert train_cli.main(["rebalance", str(out / "emotion_cnn.keras"), "--data", str(voted_small_csv),
                           "--out", str(rebalanced)]) == 0
    corrected = read_report(rebalanced / "report.json")
    assert corrected.smoothing_widths == [smoothing["sigma"]] and corrected.serves_flip_tta is False
    assert input_smoothing_sigmas(load_keras_model(rebalanced / "emotion_cnn.keras")) == [smoothing["sigma"]]


def test_the_ensemble_command_refuses_one_model(tmp_path, small_csv, capsys):
    import train_cli

    path = tmp_path / "one.keras"
    _network(4).save(path)

    assert train_cli.main(["ensemble", str(path), "--data", str(small_csv), "--out", str(tmp_path / "out")]) == 2
    assert "for one model use `smooth`" in capsys.readouterr().err
