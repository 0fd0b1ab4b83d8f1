"""Attack maths: the probabilities attacks differentiate, exact budgets, and attacks that work."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.adversarial import attacks
from core.adversarial.attacks import fgsm, linf_box, pgd, to_uint8, whole_grey_levels
from core.labels import PUBLIC_TEST, emotion_index
from core.model.classifier import EmotionClassifier
from core.vision.crop import to_model_input

SAD = emotion_index("sad")
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
