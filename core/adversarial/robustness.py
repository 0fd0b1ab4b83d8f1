"""How the classifier holds up under attack: accuracy against the budget, as curves, a table and a figure.
Owns robust_accuracy, robustness_curve, run_robustness (robustness.csv, robustness.png) and subset.

Accuracy under attack is measured as the product sees faces: untargeted attacks against the true label through the
classifier's own probabilities (flip TTA included), each adversarial face rounded to 8 bits within its budget
(:func:`core.adversarial.attacks.to_uint8`) before it is classified. Adversarial fine-tuning is
:mod:`core.adversarial.harden`.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from core.adversarial.attacks import DEFAULT_MAX_GREY, DEFAULT_PGD_STEPS, GREY_LEVELS, Method, attack, to_uint8
from core.data import FerDataset
from core.model.classifier import EmotionClassifier
from core.vision.crop import to_model_input

ROBUSTNESS_CSV = "robustness.csv"
ROBUSTNESS_PNG = "robustness.png"

Progress = Callable[[str], None] | None


def _quiet(_message: str) -> None:
    pass


def subset(data: FerDataset, limit: int | None, seed: int = 0) -> FerDataset:
    """At most ``limit`` rows drawn at random without replacement (fixed seed), in their original order."""
    if limit is None or limit >= len(data):
        return data
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    rows = np.sort(np.random.default_rng(seed).choice(len(data), size=limit, replace=False))
    return FerDataset(data.images[rows], data.labels[rows], data.usage[rows], data.source)


def robust_accuracy(
    classifier: EmotionClassifier,
    faces: np.ndarray,
    labels: np.ndarray,
    grey_levels: Sequence[int],
    method: Method = "pgd",
    steps: int = DEFAULT_PGD_STEPS,
    batch_size: int = 256,
    progress: Progress = None,
) -> dict[int, float]:
    """Accuracy of uint8 faces (N, 48, 48) under an untargeted attack at each budget (whole grey levels).

    Budgets are taken in increasing order and a face counts as correct at ``k`` only if it is classified correctly
    clean and no attack at any budget <= ``k`` broke it (an adversarial face within a smaller budget lies within
    ``k`` too). So the accuracy cannot rise with the budget, and broken faces are not attacked again.
    """
    say = progress or _quiet
    labels = np.asarray(labels, dtype=np.int32)
    correct = classifier.predict_faces(faces).argmax(axis=1) == labels if len(faces) else np.zeros(0, bool)
    accuracy: dict[int, float] = {}
    for grey in sorted(set(int(k) for k in grey_levels)):
        if grey < 0:
            raise ValueError(f"budgets must be >= 0 grey levels, got {grey}")
        started = time.perf_counter()
        rows = np.flatnonzero(correct)
        if grey > 0 and len(rows):
            epsilon = grey / GREY_LEVELS
            adversarial01 = attack(classifier, to_model_input(faces[rows]), epsilon, None, method=method, steps=steps,
                                   labels=labels[rows], batch_size=batch_size)
            adversarial = to_uint8(adversarial01, faces[rows], epsilon)
            correct[rows] = classifier.predict_faces(adversarial).argmax(axis=1) == labels[rows]
        accuracy[grey] = float(correct.mean()) if len(correct) else float("nan")
        done = f"{len(rows)} faces attacked, {time.perf_counter() - started:.1f}s" if grey else "clean"
        say(f"{method.upper()} {grey:>2}/255: accuracy {accuracy[grey]:.2%} ({done})")
    return accuracy


def robustness_curve(
    classifier: EmotionClassifier,
    data: FerDataset,
    max_grey: int = DEFAULT_MAX_GREY,
    methods: Sequence[Method] = ("fgsm", "pgd"),
    steps: int = DEFAULT_PGD_STEPS,
    batch_size: int = 256,
    progress: Progress = None,
) -> pd.DataFrame:
    """Accuracy at 0..``max_grey`` grey levels for each method: columns method, steps, grey_levels, epsilon,
    accuracy, faces."""
    rows = []
    for method in methods:
        curve = robust_accuracy(classifier, data.images, data.labels, range(max_grey + 1), method, steps,
                                batch_size, progress)
        for grey, accuracy in curve.items():
            rows.append({
                "method": method, "steps": steps if method == "pgd" else 1, "grey_levels": grey,
                "epsilon": grey / GREY_LEVELS, "accuracy": accuracy, "faces": len(data),
            })
    return pd.DataFrame(rows)


def plot_robustness(curve: pd.DataFrame, path: str | os.PathLike, title: str) -> None:
    """Accuracy against the budget, one line per method, grey levels below and [0, 1] above."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for method, part in curve.groupby("method", sort=False):
        steps = int(part["steps"].iloc[0])
        name = "FGSM" if method == "fgsm" else f"PGD-{steps}"
        axes.plot(part["grey_levels"], part["accuracy"], marker="o", label=name)
    axes.set_xlabel("L-inf budget (grey levels out of 255)")
    axes.set_ylabel("accuracy")
    axes.set_ylim(0, 1)
    axes.set_xlim(left=0)
    axes.grid(alpha=0.3)
    axes.legend()
    top = axes.secondary_xaxis("top", functions=(lambda g: g / GREY_LEVELS, lambda e: e * GREY_LEVELS))
    top.set_xlabel("epsilon (model input in [0, 1])")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run_robustness(
    classifier: EmotionClassifier,
    dataset: FerDataset,
    out_dir: str | os.PathLike,
    max_grey: int = DEFAULT_MAX_GREY,
    limit: int | None = None,
    progress: Progress = print,
    *,
    methods: Sequence[Method] = ("fgsm", "pgd"),
    steps: int = DEFAULT_PGD_STEPS,
    split: str | None = None,
    seed: int = 0,
    batch_size: int = 256,
) -> pd.DataFrame:
    """The robustness curve on ``split`` (default: the evaluation split), at most ``limit`` faces drawn at random:
    writes robustness.csv and robustness.png into ``out_dir`` and returns the table."""
    say = progress or _quiet
    data = dataset.split(split) if split is not None else dataset.evaluation_split()
    data = subset(data, limit, seed)
    if len(data) == 0:
        raise ValueError(f"{dataset.source}: no labelled faces to attack")
    split_name = str(data.usage[0])
    say(f"attacking {len(data)} {split_name} faces at 0..{max_grey} grey levels "
        f"({', '.join(methods)}; flip TTA {'on' if classifier.flip_tta else 'off'})")
    curve = robustness_curve(classifier, data, max_grey, methods, steps, batch_size, say)
    curve.insert(0, "split", split_name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curve.to_csv(out / ROBUSTNESS_CSV, index=False)
    tta = ", flip TTA" if classifier.flip_tta else ""
    plot_robustness(curve, out / ROBUSTNESS_PNG,
                    f"accuracy under untargeted attack: {len(data)} {split_name} faces{tta}, 8-bit adversarial faces")
    return curve
