"""Prior correction: the prior people give each emotion, and a network's answers divided by it."""

from __future__ import annotations

import numpy as np
import pytest

from core.data import FerDataset
from core.labels import FER2013, FERPLUS, PUBLIC_TEST, TRAINING
from core.model.architecture import build_model
from core.model.ensemble import build_ensemble
from core.model.prior_correction import PRIOR_FLOOR, people_prior, with_prior_correction
from tests.test_ferplus import votes

SMALL = (4, 4, 8, 8)


def _data(labels: list[int], usage: list[str], vote_rows: np.ndarray | None = None) -> FerDataset:
    return FerDataset(np.zeros((len(labels), 48, 48), np.uint8), np.array(labels), np.array(usage, dtype=object),
                      "test", votes=vote_rows)


def test_the_prior_is_the_mean_of_trainings_vote_distributions():
    rows = np.concatenate([votes(happiness=10), votes(happiness=5, neutral=5), votes(neutral=10),
                           votes(unknown=10), votes(fear=10)])  # an unknown face is left out; PublicTest too
    data = _data([3, 3, 6, 6, 2], [TRAINING] * 4 + [PUBLIC_TEST], rows)
    prior = people_prior(data, FERPLUS)
    happy, neutral = FERPLUS.index("Happy"), FERPLUS.index("Neutral")
    assert prior[happy] == pytest.approx(0.5, abs=1e-3) and prior[neutral] == pytest.approx(0.5, abs=1e-3)
    assert prior[FERPLUS.index("Fear")] == pytest.approx(PRIOR_FLOOR, rel=0.01)  # nobody said Fear on Training
    assert prior.sum() == pytest.approx(1.0)


def test_without_votes_the_prior_is_each_labels_share_matched_by_name():
    data = _data([3, 3, 3, 0, -1], [TRAINING] * 5)  # an unlabelled face counts for nothing
    prior = people_prior(data, FER2013)
    assert prior[FER2013.index("Happy")] == pytest.approx(0.75, abs=1e-3)
    assert prior[FER2013.index("Angry")] == pytest.approx(0.25, abs=1e-3)
    with pytest.raises(ValueError, match="labelled Training faces"):
        people_prior(_data([-1], [TRAINING]), FER2013)


def test_the_correction_divides_the_probabilities_by_the_prior_to_the_strength():
    network = build_model(filters=SMALL, labels=FERPLUS)
    prior = np.array([0.08, 0.02, 0.04, 0.26, 0.14, 0.12, 0.32, 0.02])
    faces = np.random.default_rng(0).random((5, 48, 48, 1), dtype=np.float32)
    before = network.predict(faces, verbose=0)
    after = with_prior_correction(network, prior, 0.4).predict(faces, verbose=0)
    expected = before / prior**0.4
    np.testing.assert_allclose(after, expected / expected.sum(axis=1, keepdims=True), rtol=1e-4)
    np.testing.assert_allclose(network.predict(faces, verbose=0), before)  # the original is left alone
    unchanged = with_prior_correction(network, prior, 0.0).predict(faces, verbose=0)
    np.testing.assert_allclose(unchanged, before, rtol=1e-5)


def test_below_the_rare_share_only_the_rare_emotions_are_lifted():
    network = build_model(filters=SMALL, labels=FERPLUS)
    prior = np.array([0.08, 0.02, 0.04, 0.26, 0.14, 0.12, 0.32, 0.02])
    faces = np.random.default_rng(2).random((5, 48, 48, 1), dtype=np.float32)
    before = network.predict(faces, verbose=0)
    after = with_prior_correction(network, prior, 1.0, rare_below=0.05).predict(faces, verbose=0)
    common = prior >= 0.05
    ratio = after / before
    np.testing.assert_allclose(ratio[:, common], ratio[:, common][:, :1].repeat(common.sum(), axis=1), rtol=1e-4)
    lift = ratio[:, ~common] / ratio[:, common][:, :1]  # Disgust and Contempt 2.5 times, Fear 1.25 times
    np.testing.assert_allclose(lift, np.tile(0.05 / prior[~common], (len(faces), 1)), rtol=1e-4)
    everything = with_prior_correction(network, prior, 1.0, rare_below=1.0).predict(faces, verbose=0)
    expected = before / prior
    np.testing.assert_allclose(everything, expected / expected.sum(axis=1, keepdims=True), rtol=1e-4)


def test_an_ensemble_corrects_every_network():
    members = [build_model(filters=SMALL, labels=FER2013) for _ in range(2)]
    prior = np.full(7, 1 / 7)
    prior[FER2013.index("Neutral")] *= 4
    prior /= prior.sum()
    faces = np.random.default_rng(1).random((4, 48, 48, 1), dtype=np.float32)
    corrected = with_prior_correction(build_ensemble(members), prior, 1.0).predict(faces, verbose=0)
    one_by_one = [with_prior_correction(member, prior, 1.0).predict(faces, verbose=0) for member in members]
    np.testing.assert_allclose(corrected, np.mean(one_by_one, axis=0), rtol=1e-4)


def test_a_bad_strength_or_prior_is_refused():
    network = build_model(filters=SMALL, labels=FER2013)
    with pytest.raises(ValueError, match="strength"):
        with_prior_correction(network, np.full(7, 1 / 7), 1.5)
    with pytest.raises(ValueError, match="one positive share per emotion"):
        with_prior_correction(network, np.full(8, 1 / 8), 0.5)
    with pytest.raises(ValueError, match="counts as rare"):
        with_prior_correction(network, np.full(7, 1 / 7), 0.5, rare_below=0.0)
