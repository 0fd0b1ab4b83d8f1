"""Train the emotion CNN: tf.data with augmentation, Adam with cosine decay, checkpoints, resume.
Owns TrainConfig, the input pipeline, the schedule and train(); the artifacts are written by the caller's writer.

Fit on Training, select on PublicTest (early stopping keeps the best epoch); PrivateTest rows,
when a file has them, are never touched here. What the faces' targets are (FER-2013's labels, FER+'s votes,
an image folder's labels) is :mod:`core.model.targets`; a run may start from a trained network
(:mod:`core.model.transfer`), mix a teacher's probabilities into its targets and weigh rare emotions up
(:mod:`core.model.distillation`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from core.data import FerDataset, file_sha256, require_labels
from core.labels import FER2013, FERPLUS, LabelSet, label_set_of
from core.model.architecture import DEFAULT_FILTERS, build_model, float32_copy, policy_copy
from core.model.checkpoints import (
    BEST_CHECKPOINT,
    CHECKPOINT,
    HISTORY_CSV,
    PREVIOUS_CHECKPOINT,
    AtomicCheckpoint,
    load_checkpoint,
)
from core.model.classifier import MODEL_FILE
from core.model.distillation import balanced_weights, teacher_distributions, with_teacher
from core.model.random_affine import RandomAffine
from core.model.smoothing import InputSmoothing  # noqa: F401  (registers the layer: checkpoints of started networks)
from core.model.targets import TrainingSets, training_sets
from core.vision.crop import to_model_input

STATE_FILE = "train_state.json"

Report = TypeVar("Report")
ArtifactWriter = Callable[[keras.Model, FerDataset, FerDataset, Path, dict], Report]
"""Writes a finished run's artifacts next to the model:
``(float32 model, data, selection faces, out folder, training info) -> report``.

Training sits below evaluation, so the caller passes the writer in (``train_cli.py`` passes
:func:`core.evaluation.report.write_training_artifacts`)."""


@dataclass
class TrainConfig:
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    patience: int = 10
    seed: int = 42
    mixed_precision: bool = True
    flip: bool = True
    shift: float = 0.1
    rotation_degrees: float = 10.0
    zoom: float = 0.1
    filters: tuple[int, ...] = DEFAULT_FILTERS
    attention: bool = False
    single_warp: bool = False
    """Rotate, shift and zoom each face in one resampling (:class:`RandomAffine`) instead of three chained layers."""
    export: str = "best"
    """Which weights become the model: ``best`` PublicTest epoch, or the ``last`` (where the cosine schedule ends)."""
    labels: str = "fer2013"
    """What to learn: ``fer2013`` (each face's FER-2013 label) or ``ferplus`` (the ten annotators' votes)."""
    fer2013_weight: float = 0.0
    """With ``ferplus``: the share of each face's target given to its FER-2013 label (see core.model.targets)."""
    init: str | None = None
    """A trained model to start from instead of random weights: a shipped model's name or a file."""
    label_set: tuple[str, ...] = ()
    """The emotions the model predicts, in order; empty: those of ``labels`` (or of ``init``'s network)."""
    serve_flip_tta: bool = True
    """Whether the finished model is served (measured, calibrated) averaging each face with its mirror image."""
    teacher: tuple[str, ...] = ()
    """Trained models (names or files) whose served probabilities, averaged, are mixed into the fit targets."""
    teacher_weight: float = 0.0
    """With ``teacher``: the share of each fit target given to the teacher's distribution."""
    class_balance: float = 0.0
    """Weights faces by the rarity of their target's top emotion to this power (0: every face alike)."""

    @property
    def emotions(self) -> LabelSet:
        if self.label_set:
            return label_set_of(self.label_set)
        return FERPLUS if self.labels == "ferplus" else FER2013


def distribution_strategy() -> tf.distribute.Strategy:
    """MirroredStrategy over several GPUs, else the default (one GPU or the CPU)."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def epoch_seed(seed: int, first_epoch: int) -> int:
    """The seed of a run's randomness (shuffling, augmentation, dropout) from ``first_epoch`` on.

    A resumed run must not start its random streams afresh from ``seed``: it would replay the first
    epoch's shuffles and transforms, which the model has already fitted, and training accuracy
    jumped for several epochs after every ``--resume`` (0.71 to 0.76 at epoch 38). Fresh streams
    for each starting epoch keep a resumed run statistically the same as an uninterrupted one.
    """
    if first_epoch == 0:
        return seed
    return int(np.random.SeedSequence([seed, first_epoch]).generate_state(1)[0] % 2**31)


def augmentation(config: TrainConfig, seed: int) -> keras.Sequential:
    """Random flips, shifts, rotations and zoom, applied to whole batches in the input pipeline.

    Chained Keras layers by default (as the shipped model was trained), one warp with ``single_warp``.

    The layers run in float32 whatever the global policy: under ``mixed_bfloat16`` Keras' random
    layers draw the same transform for every batch, so augmentation would silently stop varying.
    """
    steps = []
    random = {"seed": seed, "dtype": "float32"}
    if config.flip:
        steps.append(keras.layers.RandomFlip("horizontal", **random))
    if config.single_warp:
        steps.append(RandomAffine(config.rotation_degrees, config.shift, config.zoom, **random))
        return keras.Sequential(steps, name="augmentation")
    if config.rotation_degrees:
        turn = config.rotation_degrees / 360.0
        steps.append(keras.layers.RandomRotation(turn, fill_mode="nearest", **random))
    if config.shift:
        shift = config.shift
        steps.append(keras.layers.RandomTranslation(shift, shift, fill_mode="nearest", **random))
    if config.zoom:
        steps.append(keras.layers.RandomZoom(config.zoom, fill_mode="nearest", **random))
    return keras.Sequential(steps, name="augmentation")


def make_dataset(
    faces: np.ndarray, targets: np.ndarray, config: TrainConfig, training: bool, seed: int | None = None,
    weights: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches of (faces scaled to [0, 1], target distributions[, loss weights]), shuffled and augmented for training.

    ``seed`` (default ``config.seed``) drives the shuffling and the augmentation.
    """
    seed = config.seed if seed is None else seed
    columns = (to_model_input(faces), targets, *(() if weights is None else (weights,)))
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    if training:
        dataset = dataset.shuffle(len(faces), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(config.batch_size)
    if training:
        augment = augmentation(config, seed)
        dataset = dataset.map(lambda x, *rest: (augment(x, training=True), *rest), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def learning_rate_schedule(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.schedules.CosineDecay:
    """Linear warm-up, then cosine decay to zero at the last of ``config.epochs``."""
    total = max(config.epochs * steps_per_epoch, 1)
    warmup = min(config.warmup_epochs * steps_per_epoch, total - 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10 if warmup else config.learning_rate,
        decay_steps=total - warmup,
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def compile_model(model: keras.Model, config: TrainConfig, steps_per_epoch: int) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_schedule(config, steps_per_epoch)),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )


class EpochProgress(keras.callbacks.Callback):
    """One line per epoch: metrics, images/s and the time left for the whole run."""

    def __init__(self, total_epochs: int, train_size: int, log=print) -> None:
        super().__init__()
        self.total_epochs = total_epochs
        self.train_size = train_size
        self.log = log
        self.durations: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        took = time.perf_counter() - self._start
        self.durations.append(took)
        left = (self.total_epochs - epoch - 1) * float(np.mean(self.durations[-3:]))
        logs = logs or {}
        self.log(
            f"epoch {epoch + 1}/{self.total_epochs}  loss {logs.get('loss', float('nan')):.4f}  "
            f"acc {logs.get('accuracy', float('nan')):.4f}  val_loss {logs.get('val_loss', float('nan')):.4f}  "
            f"val_acc {logs.get('val_accuracy', float('nan')):.4f}  {took:.0f}s "
            f"({self.train_size / took:.0f} img/s)  ETA {_format_duration(left)}",
        )


class SaveState(keras.callbacks.Callback):
    """Writes the last finished epoch and the time spent, so ``--resume`` can continue."""

    def __init__(self, path: Path, started: float, previous_seconds: float) -> None:
        super().__init__()
        self.path, self.started, self.previous_seconds = path, started, previous_seconds

    def on_epoch_end(self, epoch, logs=None):
        state = {"epoch": epoch + 1, "seconds": self.previous_seconds + time.perf_counter() - self.started}
        partial = self.path.with_name(f".{self.path.name}.partial")
        partial.write_text(json.dumps(state))
        os.replace(partial, self.path)


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def train(
    data: FerDataset,
    data_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: TrainConfig,
    resume: bool = False,
    log=print,
    *,
    write_artifacts: ArtifactWriter[Report],
) -> Report:
    """Fit, keep the best PublicTest epoch, save the model into ``out_dir`` and hand it to ``write_artifacts``.

    Returns what ``write_artifacts`` returns (the report).
    """
    require_labels(data, "train")
    sets = training_sets(data, config.emotions, config.labels, config.fer2013_weight, config.seed)
    if config.teacher:
        log(f"teacher {', '.join(config.teacher)}: predicting the {len(sets.train_faces):,} fit faces")
        teacher = teacher_distributions(config.teacher, sets.train_faces, config.emotions)
        sets = with_teacher(sets, teacher, config.teacher_weight)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    initial_epoch, previous_seconds = 0, 0.0
    resuming = resume and (out / CHECKPOINT).exists() and state_path.exists()
    if resuming:
        state = json.loads(state_path.read_text())
        initial_epoch, previous_seconds = state["epoch"], state["seconds"]
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        weights, seconds = _fit(sets, out, config, resuming, initial_epoch, previous_seconds, log)
    finally:  # a failed run must not leave the process computing in bfloat16
        keras.mixed_precision.set_global_policy("float32")
    final = float32_copy(weights)
    final.save(out / MODEL_FILE)
    training_info = {
        "config": {**asdict(config), "filters": list(config.filters), "label_set": list(config.emotions.emotions)},
        "validation": sets.validation,
        "training_seconds": round(seconds, 1),
        "data_file": str(data_path),
        "data_sha256": file_sha256(data_path) if Path(data_path).is_file() else None,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_artifacts(final, data, sets.selection, out, training_info)


def _fit(
    sets: TrainingSets,
    out: Path,
    config: TrainConfig,
    resuming: bool,
    initial_epoch: int,
    previous_seconds: float,
    log,
) -> tuple[keras.Model, float]:
    """Build or resume the model, fit it with the checkpoint callbacks; the chosen weights and the seconds spent."""
    seed = epoch_seed(config.seed, initial_epoch)
    keras.utils.set_random_seed(seed)

    weights = balanced_weights(sets.train_targets, config.class_balance) if config.class_balance else None
    train_ds = make_dataset(sets.train_faces, sets.train_targets, config, training=True, seed=seed, weights=weights)
    val_ds = make_dataset(sets.val_faces, sets.val_targets, config, training=False)
    steps = int(np.ceil(len(sets.train_faces) / config.batch_size))
    with distribution_strategy().scope():
        if resuming:
            model, initial_epoch = load_checkpoint(out, initial_epoch, log)
            # The schedule follows --epochs, so a resumed run can be lengthened or shortened.
            model.optimizer.learning_rate = learning_rate_schedule(config, steps)
            log(f"resuming after epoch {initial_epoch}")
        else:
            model = _initial_model(config)
            compile_model(model, config, steps)

    started = time.perf_counter()
    keep_best = AtomicCheckpoint(out / BEST_CHECKPOINT, monitor="val_accuracy")
    if initial_epoch and (out / HISTORY_CSV).exists():
        # A resumed run keeps best.keras unless it beats every earlier epoch.
        history = pd.read_csv(out / HISTORY_CSV)
        keep_best.best = float(history["val_accuracy"].max())
        # After a fallback to an earlier checkpoint, the epochs it lacks are trained (and logged) again.
        history[history["epoch"] < initial_epoch].to_csv(out / HISTORY_CSV, index=False)
    callbacks = [
        AtomicCheckpoint(out / CHECKPOINT, previous=out / PREVIOUS_CHECKPOINT),
        keep_best,
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config.patience, restore_best_weights=True),
        keras.callbacks.CSVLogger(out / HISTORY_CSV, append=resuming),
        keras.callbacks.TensorBoard(log_dir=str(out / "tensorboard")),
        SaveState(out / STATE_FILE, started, previous_seconds),
        EpochProgress(config.epochs, len(sets.train_faces), log),
    ]
    log(f"training on {len(sets.train_faces):,} faces, selecting on {sets.validation}, {steps} steps/epoch")
    if initial_epoch < config.epochs:
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself
            verbose=1 if sys.stdout.isatty() else 0,  # the batch progress bar only on a terminal, not in logs
        )
    seconds = previous_seconds + time.perf_counter() - started

    # Re-read from disk, so that a resumed run picks the best epoch of all its runs.
    chosen = out / (BEST_CHECKPOINT if config.export == "best" else CHECKPOINT)
    return (keras.models.load_model(chosen) if chosen.exists() else model), seconds


def _initial_model(config: TrainConfig) -> keras.Model:
    """A fresh network, or ``config.init``'s first network with an output layer for the run's emotions."""
    if config.init is None:
        return build_model(filters=tuple(config.filters), attention=config.attention, labels=config.emotions)
    from core.model.transfer import load_starting_network

    network = load_starting_network(config.init, config.emotions)
    policy = keras.mixed_precision.global_policy().name
    return network if policy == "float32" else policy_copy(network, policy)
