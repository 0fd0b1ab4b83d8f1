"""The command line end to end: smoke training, evaluate, predict and stream on generated media."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

import train_cli
from core.evaluation.report import REPORT_VERSION, read_report
from core.labels import EMOTIONS
from tests.conftest import REPO, detectable_faces, paste_face

EMOTION_RE = "|".join(EMOTIONS)
ARTIFACTS = [
    "emotion_cnn.keras", "model_summary.txt", "history.csv", "learning_curves.png",
    "confusion_matrix.png", "report.json", "checkpoint.keras", "best.keras",
]


def test_smoke_training_writes_every_artifact(smoke_run, small_csv):
    for name in ARTIFACTS:
        assert (smoke_run / name).is_file(), name
    assert any((smoke_run / "tensorboard").rglob("events.out.tfevents.*"))
    report = read_report(smoke_run / "report.json")
    assert report.version == REPORT_VERSION
    assert report.split_sizes == {"Training": 400, "PublicTest": 150}
    assert report.samples == 150 and 0 <= report.accuracy <= 1
    assert abs(report.accuracy_lite - report.accuracy) <= 0.02  # the LiteRT model the product runs
    assert set(report.per_class) == set(EMOTIONS)
    assert np.array(report.confusion_matrix).sum() == 150
    assert report.parameters > 1_000_000 and report.training_seconds > 0
    assert len(report.data_sha256) == 64 and report.epochs_run == 1
    assert "block4_conv2" in (smoke_run / "model_summary.txt").read_text()
    sidecar = json.loads((smoke_run / "emotion_cnn.calibration.json").read_text())  # fitted for every run
    assert report.calibration["temperature"] == sidecar["temperature"] > 0
    assert 0 <= report.calibration["ece_after"] <= 1 and report.calibration["log_loss_before"] > 0
    assert sum(report.calibration["reliability"]["count"]) == 150
    # the LiteRT conversion ships beside the model: copied together, they predict without TensorFlow
    from core.model.lite import shipped_tflite

    assert shipped_tflite(smoke_run / "emotion_cnn.keras", flip_tta=True) is not None


def test_resume_continues_after_the_last_epoch(smoke_run, small_csv, tmp_path, capsys):
    import shutil

    out = tmp_path / "resumed"
    shutil.copytree(smoke_run, out)
    command = ["train", "--data", str(small_csv), "--out", str(out), "--epochs", "2", "--resume", "--export", "last"]
    assert train_cli.main(command) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [0, 1]
    report = read_report(out / "report.json")
    assert report.exported_epoch == 2 and report.config["export"] == "last"
    assert report.epochs_run == 2 and report.best_epoch in (1, 2)


def test_evaluate_prints_the_exact_summary_line(smoke_run, small_csv, tmp_path, capsys):
    metrics_file = tmp_path / "metrics.json"
    code = train_cli.main(["evaluate", "--data", str(small_csv), "--model", str(smoke_run / "emotion_cnn.keras"),
                           "--json", str(metrics_file)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert "evaluated on PublicTest: 150 faces" in lines[0]
    assert re.fullmatch(r"Accuracy on test set: \d{1,3}\.\d{2}%", lines[-1])
    metrics = json.loads(metrics_file.read_text())
    assert lines[-1] == f"Accuracy on test set: {metrics['accuracy'] * 100:.2f}%"
    assert metrics["split"] == "PublicTest" and metrics["samples"] == 150
    calibration = metrics["calibration"]
    assert {"temperature", "ece_before", "ece_after", "log_loss_before", "log_loss_after", "uncertain_below"} <= set(
        calibration
    )
    assert len(calibration["reliability"]["count"]) == calibration["bins"] == 15
    assert metrics["ece"] == calibration["ece_after"] and metrics["log_loss"] == calibration["log_loss_after"]


def test_evaluate_against_another_model_counts_the_faces_only_one_gets_right(smoke_run, small_csv, tmp_path, capsys):
    from core.model.classifier import default_model_path

    metrics_file = tmp_path / "metrics.json"
    assert train_cli.main(["evaluate", "--data", str(small_csv), "--model", str(smoke_run / "emotion_cnn.keras"),
                           "--against", str(default_model_path()), "--json", str(metrics_file)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    metrics = json.loads(metrics_file.read_text())
    against = metrics["against"]
    # the faces only one model gets right are the whole difference between the two accuracies
    assert against["only_this"] - against["only_other"] == round((metrics["accuracy"] - against["accuracy"]) * 150)
    assert against["only_other"] > against["only_this"]  # one epoch on a few hundred faces against the shipped model
    assert 0 <= against["p_value"] < 0.05
    assert f"only with the other on {against['only_other']} (exact McNemar test" in lines[-2]


def test_paired_comparison_is_the_exact_mcnemar_test():
    from math import comb

    from core.evaluation.paired import paired_comparison

    labels = np.zeros(20, dtype=int)
    this = np.array([0] * 12 + [1] * 8)  # right on the first 12
    other = np.array([0] * 3 + [1] * 9 + [0] + [1] * 7)  # right on 3 of those and on the 13th
    paired = paired_comparison(labels, this, other)
    assert (paired["only_this"], paired["only_other"]) == (9, 1)
    assert paired["p_value"] == pytest.approx(2 * (comb(10, 0) + comb(10, 1)) / 2**10)  # 1 or fewer of 10, both tails
    assert paired_comparison(labels, this, this) == {"only_this": 0, "only_other": 0, "p_value": 1.0}


def test_evaluate_names_its_backend_and_both_agree(smoke_run, small_csv, capsys):
    model = str(smoke_run / "emotion_cnn.keras")
    accuracies = {}
    for backend in ("lite", "keras"):
        assert train_cli.main(["evaluate", "--data", str(small_csv), "--model", model, "--backend", backend]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert f"({backend} backend, flip TTA)" in lines[0]
        accuracies[backend] = float(lines[-1].split()[-1].rstrip("%"))
    assert abs(accuracies["lite"] - accuracies["keras"]) <= 2.0  # 3 of 150 faces at most


def test_evaluate_takes_a_training_checkpoint(smoke_run, small_csv, capsys):
    """best.keras keeps training's mixed-bfloat16 layers; it scores as the float32 model exported from it."""
    summaries = []
    for name in ("best.keras", "emotion_cnn.keras"):
        assert train_cli.main(["evaluate", "--data", str(small_csv), "--model", str(smoke_run / name)]) == 0
        summaries.append(capsys.readouterr().out.strip().splitlines()[-1])
    assert summaries[0] == summaries[1]


def test_evaluate_uses_private_test_rows_when_present(smoke_run, fer_frame, tmp_path, capsys):
    frame = fer_frame.head(30).copy()
    frame.loc[frame.index[:12], "Usage"] = "PrivateTest"
    frame.to_csv(tmp_path / "all_three.csv", index=False)
    assert train_cli.main(["evaluate", "--data", str(tmp_path / "all_three.csv"),
                           "--model", str(smoke_run / "emotion_cnn.keras")]) == 0
    assert "evaluated on PrivateTest: 12 faces" in capsys.readouterr().out


def test_missing_model_and_bad_data_give_clear_errors(smoke_run, small_csv, tmp_path, capsys):
    assert train_cli.main(["evaluate", "--data", str(small_csv), "--model", str(tmp_path / "none.keras")]) == 2
    assert "model file not found" in capsys.readouterr().err
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    assert train_cli.main(["evaluate", "--data", str(small_csv), "--model", str(tmp_path / "broken.keras")]) == 2
    assert "not a readable Keras model" in capsys.readouterr().err
    assert train_cli.main(["evaluate", "--data", str(small_csv), "--model", str(smoke_run / "emotion_cnn.keras"),
                           "--against", str(tmp_path / "none.keras")]) == 2
    failed = capsys.readouterr()
    assert "model file not found" in failed.err and "evaluated on" not in failed.out  # before any work
    (tmp_path / "bad.csv").write_text("emotion,pixels\n9,1 2 3\n")
    assert train_cli.main(["evaluate", "--data", str(tmp_path / "bad.csv"),
                           "--model", str(smoke_run / "emotion_cnn.keras")]) == 2
    assert "bad.csv row 2:" in capsys.readouterr().err


@pytest.fixture(scope="module")
def face_photo(public_faces, tmp_path_factory):
    first, second = detectable_faces(public_faces[0], 2)
    frame = paste_face(first, size=180, frame_shape=(400, 900), at=(40, 100))
    frame[100:280, 600:780] = cv2.resize(second, (180, 180), interpolation=cv2.INTER_CUBIC)[..., None]
    path = tmp_path_factory.mktemp("photos") / "two_faces.png"
    cv2.imwrite(str(path), frame)
    return path


def test_predict_lists_every_face(smoke_run, face_photo, tmp_path, capsys):
    empty = tmp_path / "empty.jpg"
    cv2.imwrite(str(empty), np.full((120, 160, 3), 90, np.uint8))
    model = str(smoke_run / "emotion_cnn.keras")
    assert train_cli.main(["predict", str(face_photo), str(empty), "--model", model]) == 0
    out = capsys.readouterr().out
    assert f"{face_photo}: 2 faces" in out and f"{empty}: 0 faces found" in out
    assert len(re.findall(rf"face \d at x=\d+ y=\d+ w=\d+ h=\d+: ({EMOTION_RE})\?? \d+%", out)) == 2

    assert train_cli.main(["predict", str(face_photo), "--model", model, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    faces = result[0]["faces"]
    assert len(faces) == 2 and faces[0]["emotion"] in EMOTIONS
    assert abs(sum(faces[0]["probabilities"].values()) - 1) < 1e-3
    assert isinstance(faces[0]["uncertain"], bool)


def test_predict_runs_without_tensorflow(face_photo):
    """The shipped model's conversion is beside it: predicting needs ai-edge-litert, not TensorFlow."""
    script = ("import sys, train_cli; code = train_cli.main(['predict', sys.argv[1]]); "
              "assert not {'tensorflow', 'keras'} & set(sys.modules), 'imported TensorFlow'; sys.exit(code)")
    env = {key: value for key, value in os.environ.items() if key != "FER_MODEL_PATH"}
    result = subprocess.run([sys.executable, "-c", script, str(face_photo)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{face_photo}: 2 faces" in result.stdout


def test_predict_writes_one_saliency_overlay_per_face(smoke_run, face_photo, tmp_path, capsys):
    out = tmp_path / "saliency"
    assert train_cli.main(["predict", str(face_photo), "--model", str(smoke_run / "emotion_cnn.keras"),
                           "--saliency", str(out)]) == 0
    written = sorted(out.glob("two_faces_face*.png"))
    assert len(written) == 2
    assert cv2.imread(str(written[0])).shape == (192, 192, 3)


def test_predict_reports_a_non_image_and_goes_on(smoke_run, face_photo, tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    assert train_cli.main(["predict", str(text), str(face_photo), "--model", str(smoke_run / "emotion_cnn.keras")]) == 1
    captured = capsys.readouterr()
    assert f"{text}: error: not an image file" in captured.err
    assert f"{face_photo}: 2 faces" in captured.out


def _write_video(path, frames: list[np.ndarray], fps: int = 10) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_stream_prints_once_a_second_and_saves_faces(smoke_run, public_faces, tmp_path, capsys):
    face = detectable_faces(public_faces[0], 1)[0]
    with_face, blank = paste_face(face), np.full((480, 640, 3), 128, np.uint8)
    video = tmp_path / "clip.avi"
    _write_video(video, [with_face] * 30 + [blank] * 10)  # 3 s with a face, then 1 s without
    crops = tmp_path / "crops"
    assert train_cli.main(["stream", "--source", str(video), "--model", str(smoke_run / "emotion_cnn.keras"),
                           "--save-faces", str(crops)]) == 0
    lines = capsys.readouterr().out.splitlines()
    readings = [line for line in lines if re.fullmatch(rf"\d\d:\d\d:\d\ds : #1 ({EMOTION_RE})\?? \d+%", line)]
    assert lines[0] == "Preprocessing ..." and lines.count("Preprocessing ...") == 4
    assert [line[:9] for line in readings] == ["00:00:00s", "00:00:01s", "00:00:02s"]
    assert lines[-2] == "00:00:03s : no face in view"
    saved = sorted(crops.glob("image*.png"))
    assert [p.name for p in saved] == ["image0.png", "image1.png", "image2.png"]
    assert cv2.imread(str(saved[0]), cv2.IMREAD_UNCHANGED).shape == (48, 48)


def test_stream_names_a_source_it_cannot_open(smoke_run, tmp_path, capsys):
    missing = tmp_path / "missing.mp4"
    assert train_cli.main(["stream", "--source", str(missing), "--model", str(smoke_run / "emotion_cnn.keras")]) == 2
    assert f"could not open video file {missing}" in capsys.readouterr().err


def test_robustness_and_attack_commands_write_their_files(smoke_run, small_csv, tmp_path, capsys):
    model = str(smoke_run / "emotion_cnn.keras")
    out = tmp_path / "robust"
    assert train_cli.main(["robustness", "--data", str(small_csv), "--model", model, "--out", str(out),
                           "--limit", "16", "--max-grey", "2", "--steps", "2"]) == 0
    curve = pd.read_csv(out / "robustness.csv")
    assert set(curve["grey_levels"]) == {0, 1, 2} and (out / "robustness.png").is_file()

    attack_dir = tmp_path / "attack"
    code = train_cli.main(["attack", "--data", str(small_csv), "--model", model, "--out", str(attack_dir),
                           "--index", "0", "--min-confidence", "0", "--grey", "2", "--steps", "3"])
    summary = capsys.readouterr().out
    report = json.loads((attack_dir / "attack.json").read_text())
    assert code == (0 if report["success"] else 1)
    assert f"face 0 {report['source_label']}" in summary and report["linf_grey_levels"] <= 2
    for name in ("original.png", "adversarial.png", "adversarial_attack.png"):
        assert (attack_dir / name).is_file()
