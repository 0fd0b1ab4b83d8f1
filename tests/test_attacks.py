"""Adversarial examples: exact budgets, targeted attacks that work, the hack's files, robustness and hardening."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import keras
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import attacks
from core.attacks import fgsm, linf_box, pgd, run_attack, smallest_budget, to_uint8, whole_grey_levels
from core.data import load_dataset
from core.labels import EMOTIONS, PUBLIC_TEST, TRAINING, emotion_index
from core.model.classifier import EmotionClassifier
from core.robustness import HARDEN_REPORT, HARDENED_MODEL, harden, run_robustness
from core.vision.crop import to_model_input

SAD, HAPPY = emotion_index("sad"), emotion_index("happy")
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "models" / "emotion_cnn.keras"
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tiny_cnn(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(len(EMOTIONS), activation="softmax")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def random_classifier() -> EmotionClassifier:
    """An untrained tiny CNN: enough for properties that must hold for any model."""
    return EmotionClassifier(tiny_cnn(1), flip_tta=True)


@pytest.fixture(scope="module")
def data(small_csv):
    """400 Training and 150 PublicTest rows of FER-2013."""
    return load_dataset(small_csv)


@pytest.fixture(scope="module")
def trained_model(data) -> keras.Model:
    """A tiny CNN fitted on the 400 Training rows (a few seconds)."""
    train = data.split(TRAINING)
    model = tiny_cnn(0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(to_model_input(train.images), train.labels.astype(np.int32), epochs=8, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def classifier(trained_model) -> EmotionClassifier:
    return EmotionClassifier(trained_model, flip_tta=True)


def _faces(seed: int, count: int) -> np.ndarray:
    """Random uint8 faces, with some all-black and all-white pixels to hit the range limits."""
    rng = np.random.default_rng(seed)
    faces = rng.integers(0, 256, size=(count, 48, 48), dtype=np.uint8)
    faces[:, :8] = 0
    faces[:, -8:] = 255
    return faces


def _assert_within(adversarial: np.ndarray, x: np.ndarray, epsilon) -> None:
    eps = np.broadcast_to(np.asarray(epsilon, dtype=np.float64), (len(x),))[:, None, None, None]
    assert adversarial.dtype == np.float32 and adversarial.shape == x.shape
    assert (np.abs(adversarial.astype(np.float64) - x.astype(np.float64)) <= eps).all()
    assert adversarial.min() >= 0.0 and adversarial.max() <= 1.0


# ---------------------------------------------------------------------------- the classifier the attacks see


@pytest.mark.parametrize("flip_tta", [True, False])
def test_attacks_differentiate_the_probabilities_the_product_shows(random_classifier, flip_tta):
    classifier = EmotionClassifier(random_classifier.model, flip_tta=flip_tta)
    x = to_model_input(_faces(0, 6))
    shown = classifier.predict_inputs(x)
    np.testing.assert_allclose(attacks.classifier_probabilities(classifier, x).numpy(), shown, atol=1e-6)
    # A mirror-asymmetric face: with TTA the mirrored half must count, so the gradients differ.
    gradient = attacks.loss_gradient(classifier, x, np.full(6, SAD))
    plain = attacks.loss_gradient(EmotionClassifier(random_classifier.model, flip_tta=not flip_tta), x, np.full(6, SAD))
    assert np.abs(gradient).sum() > 0 and not np.allclose(gradient, plain)


# ---------------------------------------------------------------------------- exact budgets


@FAST
@given(
    seed=st.integers(0, 2**16),
    epsilon=st.one_of(
        st.floats(0.0, 1.0, allow_subnormal=True),
        st.integers(0, 16).map(lambda k: k / 255),
        st.sampled_from([1e-12, 1e-7, 0.1, 0.3, 1 / 3, 0.5, 0.999999, 1.0, 1.5]),
    ),
    target=st.one_of(st.none(), st.integers(0, 6), st.sampled_from(["sad", "Happy"])),
    steps=st.integers(1, 3),
    random_start=st.booleans(),
    grid=st.booleans(),
)
def test_every_attack_stays_within_budget_and_range_exactly(
    random_classifier, seed, epsilon, target, steps, random_start, grid
):
    faces = _faces(seed, 3)
    x = to_model_input(faces) if grid else np.random.default_rng(seed).random((3, 48, 48, 1), dtype=np.float32)
    _assert_within(fgsm(random_classifier, x, epsilon, target), x, epsilon)
    adversarial = pgd(random_classifier, x, epsilon, target, steps=steps, random_start=random_start, seed=seed)
    _assert_within(adversarial, x, epsilon)
    if grid:  # 8-bit: within the budget in whole grey levels, and exactly what the float attack gave where it can
        saved = to_uint8(adversarial, faces, epsilon)
        delta = np.abs(saved.astype(int) - faces.astype(int))
        assert delta.max() <= whole_grey_levels(epsilon)
        assert saved.dtype == np.uint8


@FAST
@given(seed=st.integers(0, 2**16), grey=st.lists(st.integers(0, 16), min_size=4, max_size=4))
def test_per_face_budgets_hold_face_by_face(random_classifier, seed, grey):
    faces = _faces(seed, 4)
    x, epsilon = to_model_input(faces), np.array(grey) / 255
    adversarial = pgd(random_classifier, x, epsilon, "sad", steps=2, random_start=True, seed=seed)
    _assert_within(adversarial, x, epsilon)
    delta = np.abs(to_uint8(adversarial, faces, epsilon).astype(int) - faces.astype(int)).reshape(4, -1).max(axis=1)
    assert (delta <= np.array(grey)).all()


@given(
    x=st.lists(st.floats(0.0, 1.0, width=32, allow_subnormal=True), min_size=1, max_size=64),
    epsilon=st.floats(0.0, 2.0, allow_subnormal=True),
)
def test_the_projection_box_holds_exactly_despite_float_rounding(x, epsilon):
    values = np.zeros((1, 48, 48, 1), dtype=np.float32)
    values.flat[: len(x)] = x
    low, high = linf_box(values, epsilon)
    x64 = values.astype(np.float64)
    assert (low <= values).all() and (values <= high).all()
    assert (low >= 0).all() and (high <= 1).all()
    assert (x64 - low <= epsilon).all() and (high - x64 <= epsilon).all()


@FAST
@given(
    faces=st.integers(0, 2**16).map(lambda seed: _faces(seed, 2)),
    offset=st.floats(-0.2, 0.2),
    grey=st.floats(0.0, 8.0),
)
def test_rounding_to_8_bits_never_leaves_the_budget(faces, offset, grey):
    epsilon = grey / 255
    adversarial = np.clip(to_model_input(faces) + np.float32(offset), 0, 1)  # may lie far outside the budget
    saved = to_uint8(adversarial, faces, epsilon)
    assert np.abs(saved.astype(int) - faces.astype(int)).max() <= np.floor(grey + 1e-6)


def test_budget_zero_changes_nothing(random_classifier):
    x = to_model_input(_faces(3, 4))
    np.testing.assert_array_equal(fgsm(random_classifier, x, 0.0), x)
    np.testing.assert_array_equal(pgd(random_classifier, x, 0.0, "sad", steps=3, random_start=True), x)
    mixed = pgd(random_classifier, x, np.array([0, 4, 0, 8]) / 255, "sad", steps=3, random_start=True)
    np.testing.assert_array_equal(mixed[[0, 2]], x[[0, 2]])
    assert not np.array_equal(mixed[[1, 3]], x[[1, 3]])


def test_inputs_off_the_preprocessing_path_are_refused(random_classifier):
    x = to_model_input(_faces(0, 1))
    with pytest.raises(TypeError, match="float32"):
        fgsm(random_classifier, x.astype(np.float64), 0.01)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fgsm(random_classifier, x * 255, 0.01)
    with pytest.raises(ValueError, match="shape"):
        fgsm(random_classifier, x[..., 0], 0.01)
    with pytest.raises(ValueError, match="epsilon"):
        pgd(random_classifier, x, -0.01)
    with pytest.raises(ValueError, match="unknown emotion"):
        pgd(random_classifier, x, 0.01, "bored")


# ---------------------------------------------------------------------------- attacks that work


def test_targeted_attacks_make_a_trained_model_say_sad(classifier, data):
    public = data.split(PUBLIC_TEST)
    faces = public.images[:64]
    x = to_model_input(faces)
    before = classifier.predict_inputs(x)
    not_sad = before.argmax(axis=1) != SAD
    eps = 16 / 255  # the tiny model is nearly linear and less fragile than the real CNN
    after_pgd = classifier.predict_faces(to_uint8(pgd(classifier, x, eps, "sad", steps=10), faces, eps))
    after_fgsm = classifier.predict_inputs(fgsm(classifier, x, eps, "sad"))
    assert (after_pgd.argmax(axis=1)[not_sad] == SAD).mean() >= 0.9
    assert after_fgsm[:, SAD].mean() > before[:, SAD].mean() + 0.1
    assert (after_pgd[:, SAD] >= after_fgsm[:, SAD] - 1e-6).mean() >= 0.9


def test_untargeted_attacks_break_correct_predictions(classifier, data):
    public = data.split(PUBLIC_TEST)
    x, labels = to_model_input(public.images[:64]), public.labels[:64].astype(np.int32)
    correct = classifier.predict_inputs(x).argmax(axis=1) == labels
    assert correct.sum() >= 5
    eps = 4 / 255
    after_fgsm = classifier.predict_inputs(fgsm(classifier, x, eps, labels=labels)).argmax(axis=1)
    after_pgd = classifier.predict_inputs(pgd(classifier, x, eps, labels=labels, steps=10)).argmax(axis=1)
    assert (after_fgsm[correct] == labels[correct]).mean() < 0.5
    assert (after_pgd[correct] == labels[correct]).mean() <= (after_fgsm[correct] == labels[correct]).mean()


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
    shipped = EmotionClassifier.load(SHIPPED_MODEL)
    result = run_attack(shipped, data, tmp_path, split=PUBLIC_TEST, max_grey=4, max_candidates=1, progress=None)
    assert result.source_label == "Happy" and result.source_confidence >= 0.9
    assert result.success and result.adversarial_label == "Sad" and result.linf_grey_levels <= 4
    saved = cv2.imread(str(tmp_path / "adversarial.png"), cv2.IMREAD_GRAYSCALE)
    assert shipped.predict_faces(saved)[0].argmax() == SAD


# ---------------------------------------------------------------------------- robustness and hardening


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
    report = harden(trained_model, data, tmp_path, epochs=1, train_limit=128, eval_limit=24, eval_steps=2,
                    batch_size=64, progress=None)
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
    hardened = keras.models.load_model(tmp_path / HARDENED_MODEL, compile=False)
    changed = [not np.array_equal(a, b) for a, b in zip(hardened.get_weights(), before, strict=True)]
    assert any(changed)
