"""The training input pipeline: augmentation must keep varying under the default bf16 policy."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.data import FerDataset
from core.labels import TRAINING
from core.training import TrainConfig, make_dataset


@pytest.fixture(autouse=True)
def _float32_policy_after():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "float32"])
def test_every_batch_gets_new_random_transforms(public_faces, policy):
    keras.mixed_precision.set_global_policy(policy)  # training sets mixed_bfloat16 before it builds the pipeline
    faces = np.repeat(public_faces[0][:1], 16, axis=0)  # one face, so only the augmentation differs
    data = FerDataset(faces, np.zeros(16, dtype=np.int64), np.full(16, TRAINING), "one face")
    config = TrainConfig(batch_size=16)

    batches = [x.numpy() for x, _ in make_dataset(data, config, training=True).repeat(3)]

    assert batches[0].dtype == np.float32
    original = faces[0] / 255.0
    assert np.abs(batches[0][:, :, :, 0] - original).mean() > 0.02  # the faces are transformed
    for later in batches[1:]:
        # Identical inputs: a batch matching the first one means the random draws did not advance.
        assert np.abs(later - batches[0]).mean() > 0.02
