"""Grad-CAM maps pass the sanity checks of Adebayo et al. (2018), and overlays are images."""

from __future__ import annotations

import cv2
import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from core.labels import EMOTIONS
from core.model.architecture import build_model
from core.model.classifier import DEFAULT_MODEL_PATH, EmotionClassifier, load_keras_model
from core.model.emotion_output import model_labels
from core.model.ensemble import ensemble_members
from core.model.saliency import OVERLAY_SIZE, feature_layer, grad_cam, overlay, save_saliency_overlays


@pytest.fixture(scope="module")
def shipped():
    """The shipped model's first network (an ensemble's maps are its members' mean: tests/model/test_ensemble.py)."""
    return ensemble_members(load_keras_model(DEFAULT_MODEL_PATH))[0]


@pytest.fixture(scope="module")
def faces(public_faces) -> np.ndarray:
    return public_faces[0][:32]


def rank_correlations(maps: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Spearman's rho per pair of maps; 0 where one map is constant (e.g. all zero)."""
    return np.array([np.nan_to_num(spearmanr(a.ravel(), b.ravel())[0]) for a, b in zip(maps, others, strict=True)])


def test_maps_are_48x48_in_unit_range_and_explain_the_prediction(shipped, faces):
    maps = grad_cam(shipped, faces)
    assert maps.shape == (len(faces), 48, 48) and maps.dtype == np.float32
    assert maps.min() >= 0
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0, rtol=1e-6)  # every face has positive evidence
    predicted = EmotionClassifier(shipped).predict_faces(faces).argmax(axis=1)  # flip TTA, like the maps
    np.testing.assert_allclose(maps, grad_cam(shipped, faces, target=list(predicted)), atol=1e-5)
    assert grad_cam(shipped, faces[0]).shape == (1, 48, 48)


def test_randomised_weights_change_the_map(shipped, faces):
    """Model-parameter randomisation: a map that survives random weights explains the image, not the model."""
    keras.utils.set_random_seed(0)
    untrained = build_model(labels=model_labels(shipped))
    assert [w.shape for w in untrained.weights] == [w.shape for w in shipped.weights]
    assert feature_layer(untrained).name == feature_layer(shipped).name
    rho = rank_correlations(grad_cam(shipped, faces), grad_cam(untrained, faces))
    assert np.median(rho) < 0.3


def test_different_target_classes_give_different_maps(shipped, faces):
    happy, angry = grad_cam(shipped, faces, target=EMOTIONS.index("Happy")), grad_cam(shipped, faces, target=0)
    assert np.median(rank_correlations(happy, angry)) < 0.3


def test_maps_are_not_the_image(shipped, faces):
    assert np.median(rank_correlations(grad_cam(shipped, faces), faces.astype(float))) < 0.3


def test_overlay_colours_hot_regions_red_on_any_crop_size():
    heatmap = np.zeros((48, 48), np.float32)
    heatmap[:, 24:] = 1.0
    grey = np.full((96, 80), 128, np.uint8)
    image = overlay(grey, heatmap)
    assert image.shape == (96, 80, 3) and image.dtype == np.uint8
    blue, _, red = image[48, 70].astype(int)  # hot: JET's red end
    assert red > blue + 50
    blue, _, red = image[48, 5].astype(int)  # cold: JET's blue end
    assert blue > red + 50
    assert overlay(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), heatmap).shape == (96, 80, 3)


def test_save_saliency_overlays_writes_one_png_per_face(shipped, faces, tmp_path):
    paths = save_saliency_overlays(shipped, faces[:2], [3, 6], tmp_path / "saliency", "photo", EMOTIONS)
    assert [p.name for p in paths] == ["photo_face1_Happy.png", "photo_face2_Neutral.png"]
    for path in paths:
        assert cv2.imread(str(path)).shape == (OVERLAY_SIZE, OVERLAY_SIZE, 3)
    assert save_saliency_overlays(shipped, faces[:0], [], tmp_path, "none", EMOTIONS) == []
