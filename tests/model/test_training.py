"""The training input pipeline: augmentation keeps varying under the default bf16 policy and after a resume."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from core.data import load_dataset
from core.evaluation.report import write_training_artifacts
from core.model.training import TrainConfig, epoch_seed, make_dataset, train


@pytest.fixture(autouse=True)
def _float32_policy_after():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("single_warp", [False, True])
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "float32"])
def test_every_batch_gets_new_random_transforms(public_faces, policy, single_warp):
    keras.mixed_precision.set_global_policy(policy)  # training sets mixed_bfloat16 before it builds the pipeline
    faces = np.repeat(public_faces[0][:1], 16, axis=0)  # one face, so only the augmentation differs
    targets = np.eye(7, dtype=np.float32)[np.zeros(16, dtype=np.int64)]
    config = TrainConfig(batch_size=16, single_warp=single_warp)

    batches = [x.numpy() for x, _ in make_dataset(faces, targets, config, training=True).repeat(3)]

    assert batches[0].dtype == np.float32
    original = faces[0] / 255.0
    assert np.abs(batches[0][:, :, :, 0] - original).mean() > 0.02  # the faces are transformed
    for later in batches[1:]:
        # Identical inputs: a batch matching the first one means the random draws did not advance.
        assert np.abs(later - batches[0]).mean() > 0.02


def _training_accuracy(data, out, epochs: int, resume: bool = False) -> list[float]:
    config = TrainConfig(epochs=epochs, batch_size=32, patience=100, filters=(8, 16, 16, 32))
    train(data, "small.csv", out, config, resume=resume, log=lambda *_: None, write_artifacts=write_training_artifacts)
    return pd.read_csv(out / "history.csv")["accuracy"].tolist()


def test_a_resumed_run_trains_like_an_uninterrupted_one(small_csv, tmp_path):
    """Resuming used to replay epoch 1's shuffles and transforms, which the model had already fitted:
    training accuracy jumped from about 0.22 to 0.5 on this file in the first epoch after ``--resume``."""
    data = load_dataset(small_csv)
    uninterrupted = _training_accuracy(data, tmp_path / "uninterrupted", epochs=6)
    _training_accuracy(data, tmp_path / "resumed", epochs=3)
    resumed = _training_accuracy(data, tmp_path / "resumed", epochs=6, resume=True)

    assert len(resumed) == 6
    for epoch in (3, 4):  # the first epochs after the resume (0-based)
        assert abs(resumed[epoch] - uninterrupted[epoch]) < 0.1, (resumed, uninterrupted)


def test_a_resumed_run_draws_new_random_transforms():
    assert epoch_seed(42, 0) == 42
    assert len({epoch_seed(42, epoch) for epoch in range(50)}) == 50
