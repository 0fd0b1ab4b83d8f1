"""``rebalance``: a trained network, prior-corrected, written and measured as a run of its own."""

from __future__ import annotations

import pytest

import train_cli
from core.data import file_sha256, load_dataset
from core.evaluation.report import read_report
from core.labels import FERPLUS, PUBLIC_TEST
from core.model.classifier import EmotionClassifier
from core.model.registry import SHIPPED_MODELS


@pytest.fixture(scope="module")
def rebalanced(voted_small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("rebalanced")
    code = train_cli.main(["rebalance", "ferplus", "--data", str(voted_small_csv), "--strength", "0.6", "--no-tta",
                           "--out", str(out)])
    assert code == 0
    return out


def test_the_corrected_network_names_rarer_emotions_more_and_neutral_less(rebalanced, voted_small_csv):
    faces = load_dataset(voted_small_csv).split(PUBLIC_TEST).images
    before = EmotionClassifier.load("ferplus", flip_tta=False).predict_faces(faces).argmax(axis=1)
    after = EmotionClassifier.load(rebalanced / "emotion_cnn.keras").predict_faces(faces).argmax(axis=1)
    neutral = FERPLUS.index("Neutral")
    assert (after == neutral).sum() < (before == neutral).sum()
    assert (after != before).any()


def test_the_run_records_what_was_done_and_is_measured_as_served(rebalanced):
    report = read_report(rebalanced / "report.json")
    correction = report.config["prior_correction"]
    assert correction["strength"] == 0.6 and correction["prior_from"] == "Training's FER+ votes"
    assert list(correction["prior"]) == list(FERPLUS.emotions)
    assert correction["prior"]["Neutral"] > correction["prior"]["Disgust"]
    assert correction["source"]["sha256"] == file_sha256(SHIPPED_MODELS["ferplus"].path)
    assert report.config["serve_flip_tta"] is False  # served as asked, not as the source was
    assert report.ferplus is not None and "FER+ majority" in report.evaluated_on
    assert report.history == read_report(SHIPPED_MODELS["ferplus"].path.parent / "report.json").history


def test_what_cannot_be_rebalanced_is_refused_by_name(rebalanced, voted_small_csv, tmp_path, capsys):
    again = ["rebalance", str(rebalanced / "emotion_cnn.keras"), "--data", str(voted_small_csv),
             "--out", str(tmp_path / "twice")]
    assert train_cli.main(again) == 2
    assert "already prior-corrected" in capsys.readouterr().err
    ensemble = ["rebalance", "fer2013", "--data", str(voted_small_csv), "--out", str(tmp_path / "ensemble")]
    assert train_cli.main(ensemble) == 2
    assert "records no training run" in capsys.readouterr().err
    missing = ["rebalance", str(tmp_path / "nowhere.keras"), "--data", str(voted_small_csv), "--out", str(tmp_path)]
    assert train_cli.main(missing) == 2
    assert "no such model file" in capsys.readouterr().err
    assert not (tmp_path / "twice").exists() and not (tmp_path / "ensemble").exists()
