"""Fixtures for the adversarial tests: an untrained and a quickly trained tiny CNN, and 550 FER-2013 rows."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.data import load_dataset
from core.labels import EMOTIONS, TRAINING
from core.model.classifier import EmotionClassifier
from core.vision.crop import to_model_input


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

