"""``rebalance``: a trained network, prior-corrected, written and measured as a run of its own."""

from __future__ import annotations

import pytest

import train_cli
from core.data import file_sha256, load_dataset
from core.evaluation.report import read_report
from core.labels import FERPLUS, PUBLIC_TEST
from core.model.classifier import EmotionClassifier


@pytest.fixture(scope="module")
def rebalanced(ferplus_smoke_run, voted_small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("rebalanced")
    code = train_cli.main(["rebalance", str(ferplus_smoke_run / "emotion_cnn.keras"), "--data", str(voted_small_csv),
                           "--strength", "0.6", "--rare-below", "1", "--no-tta", "--out", str(out)])
    assert code == 0
    return out


def test_the_corrected_network_gives_the_commonest_emotion_less_and_the_rarest_more(
    rebalanced, ferplus_smoke_run, voted_small_csv
):
    faces = load_dataset(voted_small_csv).split(PUBLIC_TEST).images
    before = EmotionClassifier.load(ferplus_smoke_run / "emotion_cnn.keras", flip_tta=False).predict_faces(faces)
    after = EmotionClassifier.load(rebalanced / "emotion_cnn.keras").predict_faces(faces)
    prior = read_report(rebalanced / "report.json").config["prior_correction"]["prior"]
    commonest, rarest = (FERPLUS.index(pick(prior, key=prior.get)) for pick in (max, min))
    assert after[:, commonest].mean() < before[:, commonest].mean()
    assert after[:, rarest].mean() > before[:, rarest].mean()


def test_the_run_records_what_was_done_and_is_measured_as_served(rebalanced, ferplus_smoke_run):
    report = read_report(rebalanced / "report.json")
    correction = report.config["prior_correction"]
    assert correction["strength"] == 0.6 and correction["rare_below"] == 1.0
    assert correction["prior_from"] == "Training's FER+ votes"
    assert list(correction["prior"]) == list(FERPLUS.emotions)
    assert correction["prior"]["Neutral"] > correction["prior"]["Disgust"]  # what the annotators said on Training
    assert correction["source"]["sha256"] == file_sha256(ferplus_smoke_run / "emotion_cnn.keras")
    assert report.config["serve_flip_tta"] is False  # served as asked, not as the source was
    assert report.ferplus is not None and "FER+ majority" in report.evaluated_on
    source = read_report(ferplus_smoke_run / "report.json")
    assert (report.history, report.finished) == (source.history, source.finished)  # the network's training record


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
