"""An ensemble is one model: the mean of its members, saved, loaded and served like any other."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from core.model.architecture import build_model
from core.model.classifier import EmotionClassifier, load_keras_model
from core.model.ensemble import build_ensemble, ensemble_members


def _member(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model(filters=(4, 8))


def test_the_ensemble_averages_its_members_and_survives_a_round_trip(tmp_path, public_faces):
    members = [_member(1), _member(2)]
    faces = public_faces[0][:16, :, :, None].astype(np.float32) / 255.0
    expected = np.mean([member.predict(faces, verbose=0) for member in members], axis=0)
    assert np.abs(members[0].predict(faces, verbose=0) - expected).max() > 1e-4  # the members differ

    path = tmp_path / "ensemble.keras"
    build_ensemble(members).save(path)
    loaded = load_keras_model(path)

    assert [member.name for member in ensemble_members(loaded)] == ["member_1", "member_2"]
    np.testing.assert_allclose(loaded.predict(faces, verbose=0), expected, atol=1e-5)
    lite = EmotionClassifier.from_model(loaded, flip_tta=False, model_file=path).predict_inputs(faces)
    assert (lite.argmax(axis=1) == expected.argmax(axis=1)).mean() >= 0.9


def test_a_single_model_is_its_own_only_member():
    model = _member(3)
    assert ensemble_members(model) == [model]
    with pytest.raises(ValueError, match="at least two"):
        build_ensemble([model])


def test_the_ensemble_command_writes_a_model_its_report_and_calibration(tmp_path, small_csv):
    import train_cli

    paths = []
    for seed in (1, 2):
        paths.append(tmp_path / f"member{seed}.keras")
        _member(seed).save(paths[-1])
    history = {"epoch": [0, 1], "loss": [1.9, 1.6], "accuracy": [0.3, 0.4], "val_loss": [1.8, 1.7],
               "val_accuracy": [0.3, 0.35]}
    trained = {"model_file": "emotion_cnn.keras", "parameters": 1, "evaluated_on": "PublicTest", "flip_tta": True,
               "accuracy": 0.35, "samples": 150, "per_class": {}, "confusion_matrix": [], "history": history,
               "epochs_run": 2, "best_epoch": 2, "exported_epoch": 2, "config": {"seed": 1}}
    (tmp_path / "member1.report.json").write_text(json.dumps(trained))  # the first member's own training report
    out = tmp_path / "ensemble"

    assert train_cli.main(["ensemble", *map(str, paths), "--data", str(small_csv), "--out", str(out)]) == 0

    report = json.loads((out / "report.json").read_text())
    assert [member["file"] for member in report["config"]["ensemble"]] == [str(path) for path in paths]
    first, second = report["config"]["ensemble"]
    assert first["training"]["history"] == history and first["training"]["config"] == {"seed": 1}
    assert "training" not in second  # no report at hand: nothing invented
    assert report["evaluated_on"] == "PublicTest" and report["samples"] == 150
    assert (out / "emotion_cnn.calibration.json").is_file() and (out / "confusion_matrix.png").is_file()
    assert report["calibration"]["temperature"] > 0  # the ensemble is calibrated as a whole, as training's models are
    ensemble = load_keras_model(out / "emotion_cnn.keras")
    members = ensemble_members(ensemble)
    assert len(members) == 2
    from core.evaluation.smoothing_fit import SIGMAS
    from core.model.smoothing import input_smoothing_sigmas

    widths = report["config"]["input_smoothing"]["sigmas"]  # each member's own, carried by that member
    for member, width in zip(report["config"]["ensemble"], widths, strict=True):
        assert member["input_smoothing"]["sigma"] == width
        assert [row["sigma"] for row in member["input_smoothing"]["grid"]] == list(SIGMAS)  # its curve alone
    assert [input_smoothing_sigmas(member) for member in members] == [[width] for width in widths]
    assert input_smoothing_sigmas(ensemble) == widths  # what export's contract states
    from core.model.lite import shipped_tflite

    assert shipped_tflite(out / "emotion_cnn.keras", flip_tta=True) is not None  # ready to copy to models/

    # a third network added to the shipped ensemble: its members come out of the file, with what its report knew
    third = tmp_path / "member3.keras"
    _member(3).save(third)
    bigger = tmp_path / "bigger"
    assert train_cli.main(["ensemble", str(out / "emotion_cnn.keras"), str(third), "--data", str(small_csv),
                           "--out", str(bigger)]) == 0
    grown = json.loads((bigger / "report.json").read_text())["config"]["ensemble"]
    assert [member["file"] for member in grown] == [str(path) for path in [*paths, third]]
    assert [member.get("taken_from") for member in grown] == [str(out / "emotion_cnn.keras")] * 2 + [None]
    assert grown[0]["training"]["history"] == history and "training" not in grown[1]
    assert grown[0]["sha256"] == first["sha256"]  # the network's own file, as first recorded
    assert len(ensemble_members(load_keras_model(bigger / "emotion_cnn.keras"))) == 3

    # the third network replaces the second: named as the model card lists it
    swapped = tmp_path / "swapped"
    assert train_cli.main(["ensemble", str(out / "emotion_cnn.keras"), str(third), "--drop", "member2.keras",
                           "--data", str(small_csv), "--out", str(swapped)]) == 0
    kept = json.loads((swapped / "report.json").read_text())["config"]["ensemble"]
    assert [member["file"] for member in kept] == [str(paths[0]), str(third)]
    assert len(ensemble_members(load_keras_model(swapped / "emotion_cnn.keras"))) == 2

    # one network taken out of the ensemble alone, as a model of its own (e.g. to start training from it)
    alone = tmp_path / "alone"
    assert train_cli.main(["ensemble", str(out / "emotion_cnn.keras"), "--drop", "member1.keras",
                           "--data", str(small_csv), "--out", str(alone)]) == 0
    single = json.loads((alone / "report.json").read_text())["config"]
    assert single["source"]["file"] == str(paths[1])
    assert single["source"]["taken_from"] == str(out / "emotion_cnn.keras")
    assert "ensemble" not in single and len(ensemble_members(load_keras_model(alone / "emotion_cnn.keras"))) == 1


@pytest.mark.parametrize(("drop", "said"), [
    (["member9.keras"],
     "cannot leave out member9.keras: no network has that name (the networks: member1.keras, member2.keras)"),
    (["member1.keras", "member2.keras"], "dropping member1.keras, member2.keras leaves no network"),
])
def test_dropping_a_network_that_is_not_there_or_one_too_many_is_refused(tmp_path, small_csv, capsys, drop, said):
    import train_cli

    paths = []
    for seed in (1, 2):
        paths.append(tmp_path / f"member{seed}.keras")
        _member(seed).save(paths[-1])
    arguments = [argument for name in drop for argument in ("--drop", name)]
    assert train_cli.main(["ensemble", *map(str, paths), *arguments, "--data", str(small_csv),
                           "--out", str(tmp_path / "out")]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "out").exists()  # refused before any work


def test_the_members_widths_are_the_combination_whose_average_fits_best(public_faces):
    """Each member may get its own width; they are chosen together, by the log-loss of the model's own output."""
    from itertools import product

    from core.data import FerDataset
    from core.evaluation.metrics import evaluate
    from core.evaluation.smoothing_fit import fit_input_smoothing, with_members_smoothed
    from core.model.calibration import log_loss

    faces, labels = public_faces[0][:64], public_faces[1][:64]
    validation = FerDataset(faces, labels, np.full(len(labels), "PublicTest"), "PublicTest")
    members = [_member(6), _member(7)]
    sigmas = (0.0, 0.5, 1.0)

    widths, grids = fit_input_smoothing(members, validation, sigmas=sigmas, flip_tta=False)

    def model_log_loss(combination: tuple[float, ...]) -> float:
        model = EmotionClassifier(with_members_smoothed(members, combination), flip_tta=False)
        return log_loss(evaluate(model, validation)[1], labels)

    scores = {combination: model_log_loss(combination) for combination in product(sigmas, repeat=2)}
    assert model_log_loss(tuple(widths)) == pytest.approx(min(scores.values()), abs=1e-6)
    assert len(set(scores.values())) > 1  # the widths matter, so the choice is a real one
    alone = fit_input_smoothing(members[:1], validation, sigmas=sigmas, flip_tta=False)[1][0]
    assert grids[0] == alone and grids[1] != grids[0]  # each member's own curve, for the report


def test_an_ensembles_saliency_is_the_mean_of_its_members_maps(public_faces):
    from core.model.saliency import grad_cam

    members = [build_model(filters=(4, 8, 8)) for _ in range(2)]
    faces = public_faces[0][:4]
    ensemble = build_ensemble(members)
    target = [3, 3, 4, 4]

    maps = grad_cam(ensemble, faces, target)
    inner = ensemble_members(ensemble)
    mean = np.mean([grad_cam(member, faces, target) for member in inner], axis=0)
    peak = mean.max(axis=(1, 2), keepdims=True)

    assert maps.shape == (4, 48, 48) and maps.min() >= 0 and maps.max() <= 1
    np.testing.assert_allclose(maps, np.divide(mean, peak, out=np.zeros_like(mean), where=peak > 0), atol=1e-5)
    assert grad_cam(ensemble, faces).shape == (4, 48, 48)  # its own prediction as the target


def test_an_ensemble_served_without_flips_is_fitted_calibrated_shipped_and_loaded_that_way(
    tmp_path, small_csv, public_faces, capsys
):
    """Members cost a pass each, so an ensemble may drop flip TTA: everything downstream must follow the model."""
    import train_cli
    from core.model.calibration import apply_temperature
    from core.model.export import export_model
    from core.model.lite import shipped_tflite

    paths = []
    for seed in (4, 5):
        paths.append(tmp_path / f"member{seed}.keras")
        _member(seed).save(paths[-1])
    out = tmp_path / "ensemble"
    command = ["ensemble", *map(str, paths), "--data", str(small_csv), "--out", str(out), "--no-tta"]

    assert train_cli.main(command) == 0

    assert "(LiteRT, no TTA)" in capsys.readouterr().out
    model_file = out / "emotion_cnn.keras"
    report = json.loads((out / "report.json").read_text())
    sidecar = json.loads((out / "emotion_cnn.calibration.json").read_text())
    assert report["flip_tta"] is False and sidecar["flip_tta"] is False
    assert report["config"]["input_smoothing"]["criterion"] == "log-loss, no TTA, the widths chosen together"
    assert shipped_tflite(model_file, flip_tta=False) is not None and shipped_tflite(model_file, flip_tta=True) is None

    served = EmotionClassifier.load(model_file)
    assert served.flip_tta is False and served.backend == "lite" and served._model is None
    exact = EmotionClassifier.load(model_file, backend="keras")
    faces = public_faces[0][:32]
    alone = load_keras_model(model_file).predict(faces[..., None] / 255.0, verbose=0)
    np.testing.assert_allclose(exact.predict_faces(faces), apply_temperature(alone, served.temperature), atol=1e-5)
    assert np.abs(served.predict_faces(faces) - exact.predict_faces(faces)).max() < 0.05  # int8 weights
    assert EmotionClassifier.load(model_file, flip_tta=True).flip_tta  # a caller may still ask for flips

    lone = out / "emotion_cnn.tflite"
    assert EmotionClassifier.load(lone).flip_tta is False
    with pytest.raises(ValueError, match="without flip TTA inside"):
        EmotionClassifier.load(lone, flip_tta=True)
    alone = tmp_path / "alone"  # the .tflite and its record only, no calibration sidecar: the file still decides
    alone.mkdir()
    for name in ("emotion_cnn.tflite", "emotion_cnn.tflite.json"):
        (alone / name).write_bytes((out / name).read_bytes())
    assert EmotionClassifier.load(alone / "emotion_cnn.tflite").flip_tta is False
    contract = export_model(model_file, tmp_path / "export")
    assert contract["flip_averaging"].startswith("none")
