"""Calibration: one temperature that makes the model's confidence mean what it says.
Owns the temperature (fit, apply, sidecar), ECE and its sampling noise, log-loss, reliability bins, uncertainty.

Temperature scaling (Guo et al. 2017) divides the logits by a scalar ``T`` fitted by minimising
log-loss on held-out faces. The product's probabilities are flip-averaged (the mean of the face's
and its mirror's softmax), so there are no logits to divide; the standard form on probabilities is
used instead, ``softmax(log p / T)``, i.e. ``p ** (1 / T)`` renormalised. For a plain softmax output
this is exactly logit scaling (``log p`` is the logits up to a per-face constant); for the averaged
output it scales the log-probabilities. ``T > 1`` softens, ``T < 1`` sharpens; the top label never
changes, so accuracy does not either.

``T`` travels with the model as a JSON sidecar: ``emotion_cnn.calibration.json`` beside
``emotion_cnn.keras`` (see :func:`calibration_path`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.labels import PUBLIC_TEST

TEMPERATURE_BOUNDS = (0.05, 20.0)
"""The search range of ``T``; far wider than any sane model needs."""
DEFAULT_BINS = 15
UNSURE_ACCURACY = 0.5
"""Below the uncertain threshold, the top label is wrong more often than right."""
MIN_BIN_COUNT = 20
"""Bins with fewer faces are too noisy to set the uncertain threshold."""
NOISE_DRAWS_PER_BATCH = 50
"""Draws of :func:`ece_sampling_noise` held in memory at once: 50 x 35,887 faces is 14 MB."""
CROSS_FIT_REPEATS = 20
"""Random splits :func:`cross_fit` averages over."""
PROBABILITY_FLOOR = 1e-12
"""Probabilities are floored here before the log (the exported graph does the same)."""


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log p / T)`` of probabilities (N, 7): the calibrated probabilities."""
    scaled = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR, 1.0)) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels (natural log)."""
    from sklearn import metrics  # imported here: predictions need only apply_temperature, and stay light

    return float(metrics.log_loss(labels, probabilities, labels=list(range(probabilities.shape[1]))))


def cross_entropy(probabilities: np.ndarray, targets: np.ndarray) -> float:
    """Mean cross-entropy (natural log) of probabilities to target distributions, both (N, emotions)."""
    clipped = np.clip(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR, 1.0)
    return float(-(np.asarray(targets) * np.log(clipped)).sum(axis=1).mean())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray, targets: np.ndarray | None = None) -> float:
    """The ``T`` that minimises the log-loss of labelled faces, or with ``targets`` (N, emotions) the cross-entropy
    to those distributions (a model of people's votes: its confidence is the share of people who would agree),
    by a bounded search on ``log T``."""
    from scipy.optimize import minimize_scalar

    def loss(calibrated: np.ndarray) -> float:
        return log_loss(calibrated, labels) if targets is None else cross_entropy(calibrated, targets)

    low, high = np.log(TEMPERATURE_BOUNDS)
    result = minimize_scalar(
        lambda log_t: loss(apply_temperature(probabilities, float(np.exp(log_t)))),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width bins of top-label confidence: what a reliability diagram draws.

    ``confidence`` and ``accuracy`` are the means over a bin's faces (NaN for an empty bin).
    """

    edges: np.ndarray
    """(bins + 1,) from 0 to 1."""
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray

    def to_dict(self) -> dict[str, list]:
        """JSON-ready lists; an empty bin's confidence and accuracy are ``None``."""
        def plain(values: np.ndarray) -> list[float | None]:
            return [None if np.isnan(value) else float(value) for value in values]

        return {"edges": self.edges.tolist(), "confidence": plain(self.confidence), "accuracy": plain(self.accuracy),
                "count": self.count.astype(int).tolist()}


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS) -> ReliabilityBins:
    """Mean confidence, accuracy and face count per confidence bin (top label)."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == np.asarray(labels)).astype(float)
    edges, index = _bin_index(confidence, bins)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
    return ReliabilityBins(edges, mean_confidence, accuracy, count)


def _bin_index(confidence: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The bins' edges, and each confidence's bin: bin i holds (edges[i], edges[i + 1]]."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    # A confidence of exactly 0 cannot occur with 7 classes.
    return edges, np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS) -> float:
    """ECE: the face-weighted mean gap between accuracy and confidence over equal-width bins."""
    table = reliability_bins(probabilities, labels, bins)
    filled = table.count > 0
    gaps = np.abs(table.accuracy[filled] - table.confidence[filled])
    return float((gaps * table.count[filled]).sum() / table.count.sum())


def ece_sampling_noise(
    probabilities: np.ndarray, bins: int = DEFAULT_BINS, draws: int = 1000, seed: int = 0
) -> dict[str, float]:
    """The ECE that a perfectly calibrated model with these confidences would show on this many faces.

    ECE is measured on a finite sample, so even a perfect model scores above 0. Each draw marks every
    face right with a probability equal to its confidence (calibrated by construction) and measures the
    ECE; ``mean``, ``p5`` and ``p95`` summarise the ``draws``. A measured ECE inside that range is
    indistinguishable from sampling noise.
    """
    confidence = np.asarray(probabilities, dtype=np.float64).max(axis=1)
    _, index = _bin_index(confidence, bins)
    membership = np.eye(bins)[index]  # (faces, bins)
    rng = np.random.default_rng(seed)
    eces = []
    for start in range(0, draws, NOISE_DRAWS_PER_BATCH):  # bounded memory on a whole data set's faces
        correct = rng.random((min(NOISE_DRAWS_PER_BATCH, draws - start), len(confidence))) < confidence
        eces.append(np.abs((correct - confidence) @ membership).sum(axis=1) / len(confidence))
    eces = np.concatenate(eces)
    return {"mean": float(eces.mean()), "p5": float(np.percentile(eces, 5)), "p95": float(np.percentile(eces, 95)),
            "draws": draws}


def uncertain_threshold(probabilities: np.ndarray, labels: np.ndarray, bins: int = DEFAULT_BINS) -> float:
    """The confidence below which a label is shown as uncertain (``Neutral? 38%``).

    The rule: the upper edge of the most confident bin (of at least :data:`MIN_BIN_COUNT` faces)
    whose accuracy is under :data:`UNSURE_ACCURACY`, i.e. below it the top label is wrong more often
    than right; 0 when no such bin exists. Compute it on calibrated probabilities.
    """
    table = reliability_bins(probabilities, labels, bins)
    unsure = np.flatnonzero((table.count >= MIN_BIN_COUNT) & (table.accuracy < UNSURE_ACCURACY))
    return float(table.edges[unsure[-1] + 1]) if len(unsure) else 0.0


def display_label(label: str, confidence: float, threshold: float) -> str:
    """``Happy 91%``, or ``Neutral? 38%`` when the confidence is below the uncertain threshold."""
    return f"{label}{'?' if confidence < threshold else ''} {confidence:.0%}"


def calibration_report(
    probabilities: np.ndarray, labels: np.ndarray, temperature: float, uncertain_below: float | None = None
) -> dict:
    """ECE and log-loss before and after applying ``temperature``, the uncertain threshold and the reliability bins.

    ``probabilities``: uncalibrated. ``uncertain_below``: the model's threshold to report; ``None`` sets it
    from these faces (:func:`uncertain_threshold`). The bins are of the calibrated probabilities.
    """
    labels = np.asarray(labels)
    calibrated = apply_temperature(probabilities, temperature)
    if uncertain_below is None:
        uncertain_below = uncertain_threshold(calibrated, labels)
    return {
        "temperature": float(temperature),
        "faces": len(labels),
        "accuracy": float((np.asarray(probabilities).argmax(axis=1) == labels).mean()),
        "ece_before": expected_calibration_error(probabilities, labels),
        "ece_after": expected_calibration_error(calibrated, labels),
        "log_loss_before": log_loss(probabilities, labels),
        "log_loss_after": log_loss(calibrated, labels),
        "uncertain_below": float(uncertain_below),
        "ece_if_perfect": ece_sampling_noise(calibrated),
        "bins": DEFAULT_BINS,
        "reliability": reliability_bins(calibrated, labels).to_dict(),
    }


def cross_fit(
    probabilities: np.ndarray, labels: np.ndarray, folds: int = 2, repeats: int = CROSS_FIT_REPEATS, seed: int = 0
) -> dict:
    """Held-out figures: fit ``T`` on all folds but one, measure on that one, pool the held-out faces; averaged
    over ``repeats`` random splits.

    Fitting and measuring on the same faces flatters the ECE; this estimates it honestly. One split is itself
    noisy (for the shipped model on PublicTest, single halvings ranged 1.40-1.90%), hence the mean and the range.
    """
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels)
    rng = np.random.default_rng(seed)
    eces, losses, temperatures = [], [], []
    for _ in range(repeats):
        order = rng.permutation(len(labels))
        calibrated = np.empty_like(probabilities)
        for held_out in np.array_split(order, folds):
            fitted_on = np.setdiff1d(order, held_out)
            temperature = fit_temperature(probabilities[fitted_on], labels[fitted_on])
            calibrated[held_out] = apply_temperature(probabilities[held_out], temperature)
            temperatures.append(temperature)
        eces.append(expected_calibration_error(calibrated, labels))
        losses.append(log_loss(calibrated, labels))
    return {
        "folds": folds,
        "repeats": repeats,
        "temperature_range": [float(min(temperatures)), float(max(temperatures))],
        "ece_held_out": float(np.mean(eces)),
        "ece_held_out_range": [float(min(eces)), float(max(eces))],
        "log_loss_held_out": float(np.mean(losses)),
    }


def calibration_path(model_path: str | os.PathLike) -> Path:
    """The sidecar of a model file: ``emotion_cnn.keras`` -> ``emotion_cnn.calibration.json``."""
    return Path(model_path).with_suffix(".calibration.json")


def load_calibration(model_path: str | os.PathLike) -> dict:
    """The sidecar's contents, or ``{}`` when the model has none."""
    path = calibration_path(model_path)
    return json.loads(path.read_text()) if path.is_file() else {}


def serves_flip_tta(calibration: dict) -> bool:
    """Whether a model with this sidecar is served with flip TTA: as its temperature was fitted; sidecars written
    before the setting was recorded were all fitted with it."""
    return bool(calibration.get("flip_tta", True))


def load_temperature(model_path: str | os.PathLike) -> float:
    """The model's fitted temperature; 1.0 (no change) when it has no sidecar."""
    return float(load_calibration(model_path).get("temperature", 1.0))


def calibrate(
    probabilities: np.ndarray,
    labels: np.ndarray,
    model_path: str | os.PathLike,
    fitted_on: str = PUBLIC_TEST,
    flip_tta: bool = True,
    targets: np.ndarray | None = None,
) -> dict:
    """Fit ``T`` on a model's probabilities of labelled faces and write the sidecar beside the model file.

    The sidecar holds :func:`calibration_report`, the 2-fold :func:`cross_fit` figures (over
    :data:`CROSS_FIT_REPEATS` splits) and ``flip_tta``, whether the probabilities averaged flips: the model is
    served that way (``EmotionClassifier.load``). With ``targets`` (the faces' vote distributions) ``T`` is fitted
    to them (:func:`fit_temperature`), and the record says so and gives the cross-entropy before and after; the
    other figures stay those of the top labels, which the cross-fit keeps fitting to.
    """
    labels = np.asarray(labels)
    temperature = fit_temperature(probabilities, labels, targets)
    record = {
        "fitted_on": fitted_on,
        "fitted_to": "log-loss of the labels" if targets is None else "cross-entropy to the vote distributions",
        "flip_tta": flip_tta,
        **calibration_report(probabilities, labels, temperature),
        "cross_fit": cross_fit(probabilities, labels),
    }
    if targets is not None:
        record["cross_entropy_before"] = cross_entropy(probabilities, targets)
        record["cross_entropy_after"] = cross_entropy(apply_temperature(probabilities, temperature), targets)
    calibration_path(model_path).write_text(json.dumps(record, indent=2) + "\n")
    return record
