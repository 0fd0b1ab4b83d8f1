"""Adversarial fine-tuning ("hardening"): a second training loop in which part of every batch is attacked.
Owns harden, copy_model and its files (emotion_cnn_hardened.keras, harden_report.json).

Made against the model being tuned with :mod:`core.adversarial.attacks`; both models are then measured with
:func:`core.adversarial.robustness.robust_accuracy`, as the product serves them (with flips or without, as the
standard model is), and the hardened copy gets a calibration sidecar fitted the same way, so that it is served
like the standard one. The report names the model it hardened (file and SHA-256): the page compares it with the
model loaded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from core.adversarial.attacks import DEFAULT_PGD_STEPS, GREY_LEVELS, Method, attack, pgd
from core.adversarial.robustness import Progress, robust_accuracy, subset
from core.data import FerDataset
from core.labels import PUBLIC_TEST, TRAINING
from core.model.calibration import calibrate
from core.model.classifier import EmotionClassifier
from core.model.training import TrainConfig, augmentation
from core.vision.crop import to_model_input

HARDENED_MODEL = "emotion_cnn_hardened.keras"
HARDEN_REPORT = "harden_report.json"


def copy_model(model: keras.Model) -> keras.Model:
    """A new model with the same architecture and weights (the original is left untouched)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def harden(
    model: keras.Model,
    dataset: FerDataset,
    out_dir: str | os.PathLike,
    epochs: int = 3,
    *,
    flip_tta: bool = True,
    source: dict | None = None,
    method: Method = "pgd",
    max_grey: int = 4,
    train_steps: int = 3,
    adversarial_fraction: float = 0.5,
    batch_size: int = 64,
    learning_rate: float = 1e-4,
    label_smoothing: float = 0.1,
    augment: bool = True,
    train_limit: int | None = None,
    eval_limit: int | None = None,
    eval_grey_levels: Sequence[int] = (2, 4),
    eval_steps: int = DEFAULT_PGD_STEPS,
    seed: int = 42,
    progress: Progress = print,
) -> dict:
    """Fine-tune a copy of ``model`` on Training faces, ``adversarial_fraction`` of each batch attacked.

    Each batch is augmented as in training; its first part is replaced by untargeted adversarial faces (PGD with
    ``train_steps`` steps and a random start, or FGSM) at a random budget of 1..``max_grey`` grey levels per face,
    made against the model being tuned (no flip TTA). Afterwards the standard and the hardened model are evaluated
    as the product serves them (``flip_tta``: the standard model's setting) on PublicTest (at most ``eval_limit``
    faces): clean accuracy and accuracy under untargeted PGD-``eval_steps`` at ``eval_grey_levels``. Writes
    emotion_cnn_hardened.keras with its calibration sidecar (fitted on all of PublicTest, served with
    ``flip_tta``) and harden_report.json into ``out_dir`` and returns the report; ``source`` (the standard
    model's ``file`` and ``sha256``) goes into the report as it is.
    """
    say = progress or (lambda _message: None)
    if method not in ("fgsm", "pgd"):
        raise ValueError(f"unknown attack method {method!r}; expected 'fgsm' or 'pgd'")
    if not 0.0 <= adversarial_fraction <= 1.0:
        raise ValueError(f"adversarial_fraction must lie in [0, 1], got {adversarial_fraction}")
    train_data = subset(dataset.split(TRAINING), train_limit, seed)
    eval_data = subset(dataset.split(PUBLIC_TEST), eval_limit, seed)
    if len(train_data) == 0 or len(eval_data) == 0:
        raise ValueError(f"{dataset.source}: hardening needs Training and PublicTest rows; found {dataset.splits}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()

    tuned = copy_model(model)
    attacker = EmotionClassifier(tuned, flip_tta=False)
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(tuned.trainable_variables)
    loss_function = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    augmenter = augmentation(TrainConfig(seed=seed), seed) if augment else None

    @tf.function(reduce_retracing=True)
    def train_step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            probabilities = tuned(x, training=True)
            loss = loss_function(tf.one_hot(y, tf.shape(probabilities)[1]), probabilities)
        gradients = tape.gradient(loss, tuned.trainable_variables)
        optimizer.apply_gradients(zip(gradients, tuned.trainable_variables, strict=True))
        return loss, tf.cast(tf.argmax(probabilities, axis=1, output_type=tf.int32) == y, tf.float32)

    say(f"hardening on {len(train_data)} Training faces for {epochs} epochs: {method.upper()} "
        f"up to {max_grey}/255 on {adversarial_fraction:.0%} of each batch")
    history = []
    labels_all = train_data.labels.astype(np.int32)
    for epoch in range(epochs):
        epoch_start = time.perf_counter()
        order = rng.permutation(len(train_data))
        losses, clean_hits, adversarial_hits = [], [], []
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            x, y = to_model_input(train_data.images[rows]), labels_all[rows]
            if augmenter is not None:
                x = np.clip(np.asarray(augmenter(x, training=True), dtype=np.float32), 0.0, 1.0)
            attacked = round(len(rows) * adversarial_fraction)
            if attacked:
                epsilon = rng.integers(1, max_grey + 1, size=attacked) / GREY_LEVELS
                if method == "pgd":
                    x[:attacked] = pgd(attacker, x[:attacked], epsilon, steps=train_steps, random_start=True,
                                       labels=y[:attacked], seed=int(rng.integers(2**31)))
                else:
                    x[:attacked] = attack(attacker, x[:attacked], epsilon, method="fgsm", labels=y[:attacked])
            loss, hits = train_step(tf.convert_to_tensor(x), tf.convert_to_tensor(y))
            hits = hits.numpy()
            losses.append(float(loss) * len(rows))
            adversarial_hits.extend(hits[:attacked])
            clean_hits.extend(hits[attacked:])
        record = {
            "epoch": epoch + 1,
            "loss": sum(losses) / len(order),
            "clean_accuracy": float(np.mean(clean_hits)) if clean_hits else None,
            "adversarial_accuracy": float(np.mean(adversarial_hits)) if adversarial_hits else None,
            "seconds": round(time.perf_counter() - epoch_start, 1),
        }
        history.append(record)
        say(f"harden epoch {epoch + 1}/{epochs}: loss {record['loss']:.4f}, "
            f"train accuracy clean {_percent(record['clean_accuracy'])} / adversarial "
            f"{_percent(record['adversarial_accuracy'])}, {record['seconds']:.0f}s")
    training_seconds = time.perf_counter() - started
    tuned.save(out / HARDENED_MODEL)
    public = dataset.split(PUBLIC_TEST)
    calibrate(EmotionClassifier(tuned, flip_tta).predict_faces(public.images), public.labels, out / HARDENED_MODEL,
              flip_tta=flip_tta)

    grey_levels = sorted({0, *(int(k) for k in eval_grey_levels)})
    results = {}
    for name, candidate in (("standard", model), ("hardened", tuned)):
        say(f"evaluating the {name} model on {len(eval_data)} PublicTest faces")
        accuracy = robust_accuracy(EmotionClassifier(candidate, flip_tta), eval_data.images, eval_data.labels,
                                   grey_levels, "pgd", eval_steps, progress=say)
        results[name] = {
            "clean_accuracy": accuracy[0],
            "robust_accuracy": {f"pgd_{k}": accuracy[k] for k in grey_levels if k > 0},
        }
    report = {
        "model_file": HARDENED_MODEL,
        **({} if source is None else {"source_model": source}),
        "evaluated_on": PUBLIC_TEST,
        "eval_faces": len(eval_data),
        "evaluation": (f"{'flip TTA' if flip_tta else 'no flip TTA'}; untargeted PGD-{eval_steps} (no random start) "
                       "against the true label, adversarial faces rounded to 8 bits within budget; a face broken at a "
                       "smaller budget counts as broken at larger ones"),
        "budgets_grey_levels": [k for k in grey_levels if k > 0],
        "standard": results["standard"],
        "hardened": results["hardened"],
        "training": {
            "faces": len(train_data), "epochs": epochs, "method": method, "train_steps": train_steps,
            "max_grey": max_grey, "adversarial_fraction": adversarial_fraction, "batch_size": batch_size,
            "learning_rate": learning_rate, "label_smoothing": label_smoothing, "augment": augment, "seed": seed,
            "seconds": round(training_seconds, 1),
        },
        "history": history,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / HARDEN_REPORT).write_text(json.dumps(report, indent=2))
    for name in ("standard", "hardened"):
        robust = ", ".join(f"{k} {v:.2%}" for k, v in results[name]["robust_accuracy"].items())
        say(f"{name}: clean {results[name]['clean_accuracy']:.2%}, {robust}")
    return report


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"
