"""The product model from trained networks (one, or an ensemble of several) and its report, written together.
Owns write_ensemble.

Trained networks become the product's model in one step: each network's input smoothing width is fitted on
PublicTest (:mod:`core.evaluation.smoothing_fit`; networks trained on the FER+ votes, on its faces with a
majority and to their votes, as training selected them), the networks are averaged when there are several,
and the result is measured the way the product runs it (LiteRT, int8 weights, with or without flip TTA, which
the model then keeps) and calibrated as a whole. The report uses training's report.json schema: an ensemble
lists its members under ``config["ensemble"]``, each with its own fitted smoothing and (when its training report
is at hand) its training record under ``"training"``, and their widths under
``config["input_smoothing"]["sigmas"]``; a single network keeps its own training report's configuration and
history, with its smoothing under ``config["input_smoothing"]``. A model file that is itself an ensemble gives
its members (so a network is added to a shipped ensemble by naming both files), each with the entry its report
kept for it and ``"taken_from"`` the file; ``drop`` leaves networks out by name (so one replaces another, or
one network is taken out alone).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.data import FerDataset, file_sha256
from core.evaluation.metrics import evaluate
from core.evaluation.plots import plot_confusion_matrix
from core.evaluation.report import (
    REPORT_FILE,
    TrainingReport,
    agreement_with_people,
    measure_saved_model,
    model_summary,
    read_report,
)
from core.evaluation.smoothing_fit import fit_input_smoothing, with_members_smoothed
from core.ferplus import vote_distribution
from core.labels import PUBLIC_TEST, TRAINING
from core.model.classifier import MODEL_FILE, EmotionClassifier, load_keras_model
from core.model.emotion_output import model_labels
from core.model.ensemble import ensemble_members
from core.model.targets import vote_selection

if TYPE_CHECKING:
    import keras

TRAINING_FIELDS = ("config", "history", "epochs_run", "best_epoch", "exported_epoch", "training_seconds", "finished")
"""What a single network's report keeps from its own training report."""


def write_ensemble(
    member_files: list[str | os.PathLike],
    data: FerDataset,
    data_path: str | os.PathLike,
    out: str | os.PathLike,
    flip_tta: bool = True,
    drop: Sequence[str] = (),
) -> TrainingReport:
    """One or more trained networks into ``out/emotion_cnn.keras``: input smoothing fitted, averaged when several,
    with its report, confusion matrix, calibration and LiteRT conversion.

    ``flip_tta``: whether the model averages each face with its mirror image when served. Each member's own
    accuracy is measured with flip TTA, as training measures it; the smoothing, accuracy and calibration with
    ``flip_tta``. ``drop``: networks to leave out, each named by its recorded file or that file's name (as the
    model card lists them); at least two must remain when any is dropped."""
    validation = data.split(PUBLIC_TEST)
    if len(validation) == 0:
        raise ValueError(f"{data.source}: fitting and measuring a model needs PublicTest rows; "
                         f"found splits {data.splits}")
    networks = _kept_networks(member_files, drop)
    on_votes = validation.votes is not None and all(_trained_on_votes(entry) for _, entry, _ in networks)
    validation, evaluated_on = vote_selection(validation) if on_votes else (validation, PUBLIC_TEST)
    targets = vote_distribution(validation.votes) if on_votes else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    members, described = [], []
    for member, entry, cache_file in networks:
        metrics, _ = evaluate(EmotionClassifier.from_model(member, model_file=cache_file), validation)
        members.append(member)
        described.append({**entry, "parameters": int(member.count_params()), "accuracy_lite": metrics["accuracy"]})
    widths, grids = fit_input_smoothing(members, validation, flip_tta=flip_tta, targets=targets)
    model = with_members_smoothed(members, widths)
    model.save(out / MODEL_FILE)
    (out / "model_summary.txt").write_text(model_summary(model))
    plain, _ = evaluate(EmotionClassifier(model, flip_tta=False), validation)
    lite, calibration = measure_saved_model(model, out, validation, flip_tta, to_votes=on_votes)
    tta = "flip TTA" if flip_tta else "no TTA"
    what = f"ensemble of {len(members)}" if len(members) > 1 else f"input smoothing {widths[0]:g}"
    emotions = model_labels(model).emotions
    plot_confusion_matrix(
        np.array(lite["confusion_matrix"]), out / "confusion_matrix.png",
        f"{evaluated_on}, accuracy {lite['accuracy']:.2%} ({what}, LiteRT, {tta})", emotions,
    )
    criterion = "cross-entropy to the votes" if on_votes else "log-loss"
    fitted = {"fitted_on": evaluated_on, "criterion": f"{criterion}, {tta}, the widths chosen together"}
    finished = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if len(members) > 1:
        for member, sigma, grid in zip(described, widths, grids, strict=True):
            member["input_smoothing"] = {"sigma": sigma, "grid": grid}
        trained = {"config": {"ensemble": described, "input_smoothing": {"sigmas": widths, **fitted}},
                   "finished": finished}
    else:
        smoothing = {"sigma": widths[0], **fitted, "grid": grids[0]}
        trained = {"finished": finished, **described[0].pop("training", {})}
        trained["config"] = {**trained.get("config", {}), "source": described[0], "input_smoothing": smoothing,
                             "serve_flip_tta": flip_tta}  # as fitted now, whatever training's own choice was
    report = TrainingReport(
        model_file=MODEL_FILE,
        parameters=int(model.count_params()),
        evaluated_on=evaluated_on,
        flip_tta=flip_tta,
        **lite,
        accuracy_without_tta=plain["accuracy"],
        accuracy_lite=lite["accuracy"],
        split_sizes={name: int((data.usage == name).sum()) for name in data.splits},
        training_split=TRAINING,
        emotions=list(emotions),
        **agreement_with_people(model, data, flip_tta),
        calibration=calibration,
        data_file=str(data_path),
        data_sha256=file_sha256(data_path) if Path(data_path).is_file() else None,
        **trained,
    )
    report.write(out / REPORT_FILE)
    return report


def _kept_networks(member_files: list[str | os.PathLike], drop: Sequence[str]) -> list[tuple]:
    """The networks of all ``member_files`` in order, less those ``drop`` names (see :func:`write_ensemble`)."""
    networks = [network for path in member_files for network in _networks(Path(path))]
    names = [{entry["file"], Path(entry["file"]).name} for _, entry, _ in networks]
    for name in drop:
        matches = sum(name in known for known in names)
        if matches != 1:
            listed = ", ".join(Path(entry["file"]).name for _, entry, _ in networks)
            how_many = "no" if matches == 0 else "more than one"
            raise ValueError(f"cannot leave out {name}: {how_many} network has that name "
                             f"(the networks: {listed}); name one by its file or its file's name")
    kept = [network for network, known in zip(networks, names, strict=True) if not known & set(drop)]
    if not kept:
        raise ValueError(f"dropping {', '.join(drop)} leaves no network")
    return kept


def _networks(path: Path) -> list[tuple[keras.Model, dict, Path | None]]:
    """The networks in one model file, each with what is known of it and the file its LiteRT conversion may be
    cached under. A single network is described by its file and its own training record; an ensemble (a network
    being added to a shipped one) by its members, each with its entry in the ensemble's report when one is beside it.
    """
    model = load_keras_model(path)
    inner = ensemble_members(model)
    if len(inner) == 1:
        entry = {"file": str(path), "sha256": file_sha256(path)}
        training = _training_record(path)
        return [(model, {**entry, "training": training} if training else entry, path)]
    known = (_own_report(path) or {}).get("config", {}).get("ensemble") or []
    if len(known) != len(inner):
        known = [{"file": f"{path} (member {number})"} for number in range(1, len(inner) + 1)]
    kept = ("file", "sha256", "training")
    return [(member, {**{key: entry[key] for key in kept if key in entry}, "taken_from": str(path)}, None)
            for member, entry in zip(inner, known, strict=True)]


def _trained_on_votes(entry: dict) -> bool:
    """Whether a network's training record says it was fitted to the FER+ votes."""
    return entry.get("training", {}).get("config", {}).get("labels") == "ferplus"


def _own_report(model_file: Path) -> dict | None:
    """The report that came with ``model_file``: ``<name>.report.json`` beside it (a network kept under its own
    name), else the report.json of the folder it sits in; None when it has neither or it is unreadable."""
    for candidate in (model_file.with_suffix(".report.json"), model_file.parent / REPORT_FILE):
        try:
            return read_report(candidate).to_dict()
        except FileNotFoundError:
            continue
        except ValueError:
            return None
    return None


def _training_record(model_file: Path) -> dict:
    """The training fields of ``model_file``'s own report; empty when it has none."""
    source = _own_report(model_file) or {}
    return {name: source[name] for name in TRAINING_FIELDS if source.get(name) is not None}
