"""Hostile inputs at the front ends: bad CLI arguments, wrong-shaped models, broken checkpoints, LiteRT attacks.

Each is refused with a clear message naming what is wrong, never a traceback or a silently wrong result.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import keras
import numpy as np
import pytest

import train_cli
from core.adversarial.hack import run_attack
from core.model.checkpoints import CHECKPOINT, PREVIOUS_CHECKPOINT, load_checkpoint, save_atomically
from core.model.classifier import ModelLoadError, load_keras_model

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--batch-size", "0"], "--batch-size: 0 must be at least 1"),
        (["train", "--learning-rate", "nan"], "--learning-rate: nan must be a finite number above 0"),
        (["attack", "--epsilon", "5"], r"--epsilon: 5 is outside \[0, 1\]"),
        (["rebalance", "ferplus", "--rare-below", "0"], "--rare-below: a share of 0 names no face"),
    ],
)
def test_out_of_range_numbers_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_output_paths_of_the_wrong_kind_are_refused(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for argv, message in [
        (["train", "--out", str(a_file)], f"--out: {a_file} is a file, not a folder"),
        (["stream", "--save-faces", str(a_file)], f"--save-faces: {a_file} is a file, not a folder"),
        (["evaluate", "--json", str(tmp_path)], f"--json: {tmp_path} is a folder, not a file name"),
    ]:
        with pytest.raises(SystemExit):
            train_cli.main(argv)
        assert message in capsys.readouterr().err
    assert a_file.read_text() == "x"


def _tiny_model(side: int, classes: int) -> keras.Model:
    inputs = keras.Input((side, side, 1))
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(keras.layers.Flatten()(inputs)))


@pytest.mark.parametrize(
    ("side", "classes", "message"),
    [(64, 7, r"takes input \(None, 64, 64, 1\); expected \(None, 48, 48, 1\)"),
     (48, 5, r"gives 5 outputs but does not name its emotions")],
)
def test_a_model_of_the_wrong_shape_is_refused_on_loading(tmp_path, side, classes, message):
    path = tmp_path / "wrong.keras"
    _tiny_model(side, classes).save(path)
    with pytest.raises(ModelLoadError, match=message):
        load_keras_model(path)


def test_a_truncated_checkpoint_falls_back_to_the_previous_one(tmp_path):
    model = _tiny_model(48, 7)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)  # as after a training epoch: its state is saved and loaded
    save_atomically(model, tmp_path / CHECKPOINT, tmp_path / PREVIOUS_CHECKPOINT)  # epoch 1
    save_atomically(model, tmp_path / CHECKPOINT, tmp_path / PREVIOUS_CHECKPOINT)  # epoch 2
    data = (tmp_path / CHECKPOINT).read_bytes()
    (tmp_path / CHECKPOINT).write_bytes(data[: len(data) // 2])  # a crash mid-save with the old writer
    messages: list[str] = []
    loaded, epochs = load_checkpoint(tmp_path, 2, messages.append)
    assert epochs == 1
    assert "cannot be read" in messages[0] and PREVIOUS_CHECKPOINT in messages[1]
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    assert sorted(path.name for path in tmp_path.iterdir()) == [CHECKPOINT, PREVIOUS_CHECKPOINT]


def test_no_readable_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / CHECKPOINT).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="no readable checkpoint"):
        load_checkpoint(tmp_path, 3, lambda _message: None)


def test_an_attack_is_never_judged_on_a_lite_classifier():
    with pytest.raises(ValueError, match="judged on the Keras model"):
        run_attack(SimpleNamespace(backend="lite"), None, None)


def test_tensorflow_says_nothing_about_cuda_on_start(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "train_cli.py", "evaluate", "--backend", "keras", "--data", str(tmp_path / "none.csv")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 2
    assert "no such file or folder" in done.stderr
    assert "cuInit" not in done.stderr and "CUDA error" not in done.stderr


def test_predict_refuses_a_huge_image_and_goes_on(tmp_path, capsys):
    """An 18000x18000 PNG (a header claiming it; no 1 GB of pixels needed) is refused before the detector sees it."""
    from test_hostile_inputs import _png_header_bomb  # pytest puts this folder on sys.path

    huge, large = tmp_path / "huge.png", tmp_path / "large.png"
    huge.write_bytes(_png_header_bomb(18000, 18000))
    assert cv2.imwrite(str(large), np.full((3000, 4000, 3), 128, np.uint8))  # 12 MP: allowed, detection shrunk
    model = str(REPO / "models" / "emotion_cnn.keras")
    assert train_cli.main(["predict", str(huge), str(large), "--model", model]) == 1
    captured = capsys.readouterr()
    assert f"{huge}: error: image too large" in captured.err and "the limit is 50 megapixels" in captured.err
    assert f"{large}: 0 faces found" in captured.out
