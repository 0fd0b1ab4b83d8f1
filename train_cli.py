"""Command line for the facial emotion recognition project.

Commands: train, smooth, ensemble, evaluate, predict, stream, analyze, attack, robustness, harden, export,
serve, api-key.

Run ``python train_cli.py COMMAND --help`` for each command's options.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.data import DATA_ENV_VAR, DataFormatError, load_dataset, require_labels, resolve_data_path
from core.fer_csv import BadRowsError
from core.labels import SPLITS
from core.quiet import quiet_console
from core.vision import DETECTORS


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (refuses nan and inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number above 0")
    return value


def unit_float(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is outside [0, 1]")
    return value


def share(text: str) -> float:
    """An argparse type: a share of the faces, in (0, 1]."""
    value = unit_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("a share of 0 names no face; give one above 0")
    return value


def folder_path(text: str) -> str:
    """An argparse type: a folder to write into; refuses a path that is an existing file."""
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return text


def file_path(text: str) -> str:
    """An argparse type: a file to write; refuses a path that is an existing folder."""
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file name")
    return text


def _add_data_option(parser: argparse.ArgumentParser, required_text: str = "") -> None:
    parser.add_argument(
        "--data",
        help=f"FER-2013 CSV (.csv/.csv.gz), seed folder or image folder; default ${DATA_ENV_VAR}{required_text}",
    )
    parser.add_argument("--skip-bad-rows", action="store_true", help="drop malformed rows (and report how many)")


def _add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        help="a shipped model's name (ferplus, fer2013; see `models`) or a .keras/.tflite file "
             "(default: $FER_MODEL_PATH, else the default shipped model)",
    )


def _add_detector_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detector", choices=DETECTORS, default=DETECTORS[0],
        help="blazeface: any head roll, eye-aligned crops (default); haar: OpenCV's cascade, upright faces only",
    )


def _add_tta_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-tta", action="store_true",
        help="no flip test-time augmentation (default: as the model is served, which its calibration records)",
    )


def _add_serving_tta_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-tta", action="store_true",
        help="serve the model without flip test-time augmentation: fitted, measured and calibrated that way, "
             "half the cost per face",
    )


def _flip_tta(args: argparse.Namespace) -> bool | None:
    """``--no-tta`` forces flips off; otherwise ``None``, the model's own setting."""
    return False if args.no_tta else None


def _load(args: argparse.Namespace, purpose: str = ""):
    """The data set of ``--data``; with ``purpose`` (e.g. "evaluate") it must have emotion labels."""
    data = load_dataset(resolve_data_path(args.data), skip_bad_rows=args.skip_bad_rows, use_cache=True)
    if purpose:
        require_labels(data, purpose)
    if data.skipped:
        print(f"skipped {len(data.skipped)} bad rows; first: {data.skipped[0]}", file=sys.stderr)
    return data


def _with_votes(data, args: argparse.Namespace, required: bool):
    """``data`` with FER+ votes from ``--votes``, or a ``fer2013new.csv`` found beside the data; without either,
    ``data`` as it is, unless ``required``."""
    from core.ferplus import attach_votes, find_votes_file

    votes = getattr(args, "votes", None) or find_votes_file(resolve_data_path(args.data))
    if votes is None:
        if required:
            raise DataFormatError(f"{data.source}: no FER+ votes found; put fer2013new.csv beside the data "
                                  "or pass --votes PATH")
        return data
    return attach_votes(data, votes)


def _run_label_set(args: argparse.Namespace, data) -> tuple[str, ...]:
    """The emotions a run trains: those of --labels, or with --init those of its network, widened by any emotion
    the data has that the network does not know."""
    from core.labels import FERPLUS

    if args.init is None or args.labels == "ferplus":
        return ()
    from core.model.classifier import load_keras_model
    from core.model.emotion_output import model_labels
    from core.model.transfer import label_set_for_data

    present = {FERPLUS.emotions[label] for label in set(data.labels.tolist()) if label >= 0}
    return label_set_for_data(model_labels(load_keras_model(args.init)), present).emotions


SCRATCH_EPOCHS, SCRATCH_LEARNING_RATE, SCRATCH_BATCH = 40, 1e-3, 64
FINE_TUNE_EPOCHS, FINE_TUNE_LEARNING_RATE, FINE_TUNE_BATCH = 30, 3e-4, 32
"""From --init the network already knows faces: a lower rate, and smaller batches so that a few hundred faces
still give a few hundred steps (about a minute for 400 faces on two cores)."""
REBALANCE_STRENGTH, REBALANCE_RARE_BELOW = 1.0, 0.04
"""``rebalance``'s defaults: the shipped ``ferplus``'s correction, chosen on PublicTest (docs/training.md)."""


def cmd_train(args: argparse.Namespace) -> int:
    from core.evaluation.report import write_training_artifacts
    from core.model.training import TrainConfig, train

    data = _with_votes(_load(args), args, required=args.labels == "ferplus")
    config = TrainConfig(
        epochs=args.epochs or (FINE_TUNE_EPOCHS if args.init else SCRATCH_EPOCHS),
        batch_size=args.batch_size or (FINE_TUNE_BATCH if args.init else SCRATCH_BATCH),
        learning_rate=args.learning_rate or (FINE_TUNE_LEARNING_RATE if args.init else SCRATCH_LEARNING_RATE),
        seed=args.seed,
        patience=args.patience,
        mixed_precision=args.mixed_precision,
        export=args.export,
        rotation_degrees=args.rotation,
        attention=args.attention,
        single_warp=args.single_warp,
        labels=args.labels,
        fer2013_weight=args.fer2013_weight,
        init=args.init,
        label_set=_run_label_set(args, data),
        warmup_epochs=args.warmup_epochs,
        label_smoothing=args.label_smoothing,
        serve_flip_tta=not args.no_tta,
        teacher=tuple(args.teacher),
        teacher_weight=args.teacher_weight if args.teacher else 0.0,
        class_balance=args.class_balance,
    )
    report = train(
        data, resolve_data_path(args.data), args.out, config, resume=args.resume,
        write_artifacts=write_training_artifacts,
    )
    print(f"model written to {os.path.join(args.out, report.model_file)} ({', '.join(report.emotions)})")
    print(
        f"accuracy on {report.evaluated_on}: {report.accuracy:.2%} (flip TTA), {report.accuracy_without_tta:.2%} "
        f"without, {report.accuracy_lite:.2%} on LiteRT ({'flip TTA' if report.serves_flip_tta else 'no TTA'}"
        ", as served)"
    )
    _print_agreement(report)
    calibration = report.calibration
    print(f"calibration: temperature {calibration['temperature']:.3f}, ECE {calibration['ece_before']:.2%} -> "
          f"{calibration['ece_after']:.2%}, uncertain below {calibration['uncertain_below']:.0%}")
    return 0


def cmd_smooth(args: argparse.Namespace) -> int:
    return _write_product_model([args.model], args)


def cmd_ensemble(args: argparse.Namespace) -> int:
    if len(args.members) < 2 and not args.drop:  # one file with --drop: an ensemble's members, less some
        raise ValueError("an ensemble needs at least two models; for one model use `smooth`")
    return _write_product_model(args.members, args, args.drop)


def _write_product_model(members: list[str], args: argparse.Namespace, drop: Sequence[str] = ()) -> int:
    from core.evaluation.ensemble_report import write_ensemble

    data = _with_votes(_load(args), args, required=False)  # networks of the votes are fitted to them
    report = write_ensemble(members, data, resolve_data_path(args.data), args.out, flip_tta=not args.no_tta, drop=drop)
    tta = "flip TTA" if report.flip_tta else "no TTA"
    config = report.config
    networks = config.get("ensemble") or [{**config["source"], "input_smoothing": config["input_smoothing"]}]
    key = "log_loss" if "log_loss" in networks[0]["input_smoothing"]["grid"][0] else "cross_entropy"
    criterion = key.replace("_", "-")
    for member in networks:
        smoothing = member["input_smoothing"]
        print(f"network {member['file']}: {report.evaluated_on} {member['accuracy_lite']:.2%} (flip TTA, as given)")
        print(f"  input smoothing on {report.evaluated_on}, alone ({tta}): " + ", ".join(
            f"sigma {row['sigma']:g} {row['accuracy']:.2%} ({criterion} {row[key]:.4f})" for row in smoothing["grid"]))
    widths = ", ".join(f"{sigma:g}" for sigma in report.smoothing_widths) or "0"
    print(f"chosen sigma {widths} (lowest {criterion} of the model's output)")
    print(f"model written to {os.path.join(args.out, report.model_file)}")
    print(f"{report.evaluated_on} accuracy: {report.accuracy:.2%} (LiteRT, {tta}), "
          f"{report.accuracy_without_tta:.2%} without TTA (Keras)")
    calibration = report.calibration
    print(f"calibration: temperature {calibration['temperature']:.3f}, ECE {calibration['ece_before']:.2%} -> "
          f"{calibration['ece_after']:.2%}")
    return 0


def cmd_rebalance(args: argparse.Namespace) -> int:
    from core.evaluation.rebalance import write_rebalanced

    data = _with_votes(_load(args, "rebalance"), args, required=False)
    report = write_rebalanced(args.model, data, resolve_data_path(args.data), args.out,
                              args.strength, _flip_tta(args), args.rare_below)
    correction = report.config["prior_correction"]
    print(f"prior ({correction['prior_from']}): " + ", ".join(f"{name} {share:.1%}"
                                                               for name, share in correction["prior"].items()))
    corrected = ("every emotion" if args.rare_below == 1
                 else f"emotions named on fewer than {args.rare_below:.0%} of faces")
    print(f"model written to {os.path.join(args.out, report.model_file)} (strength {args.strength:g}, {corrected})")
    print(f"accuracy on {report.evaluated_on}: {report.accuracy_lite:.2%} on LiteRT "
          f"({'flip TTA' if report.serves_flip_tta else 'no TTA'}, as served)")
    _print_agreement(report)
    return 0


def _print_agreement(report) -> None:
    """A run's PublicTest figures on both label sets, where its data had the FER+ votes."""
    if report.ferplus is None:
        return
    from core.evaluation.agreement import ferplus_summary

    print(f"PublicTest, FER-2013's labels: {report.fer2013_accuracy:.2%} (float32 model, as served)")
    print(ferplus_summary(report.ferplus))


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from core.evaluation.metrics import evaluate, per_class_table
    from core.model.calibration import apply_temperature, calibration_report
    from core.model.classifier import EmotionClassifier

    classifier = EmotionClassifier.load(args.model, flip_tta=_flip_tta(args), backend=args.backend)
    other = None  # loaded before any work, so that a wrong path fails at once
    if args.against:
        other = EmotionClassifier.load(args.against, flip_tta=_flip_tta(args), backend=args.backend)
    data = _with_votes(_load(args, "evaluate"), args, required=bool(args.votes))
    split = data.evaluation_split()
    if len(split) == 0:
        raise DataFormatError(f"{data.source}: no labelled rows to evaluate")
    name = split.usage[0] if len(set(split.usage)) == 1 else "all labelled rows"
    metrics, probabilities = evaluate(classifier, split)
    tta = ", flip TTA" if classifier.flip_tta else ""
    print(f"evaluated on {name}: {len(split)} faces ({classifier.backend} backend{tta})")
    print(per_class_table(metrics))
    # The temperature at 1/T undoes itself exactly: the uncalibrated probabilities, for the "before" figures.
    uncalibrated = apply_temperature(probabilities, 1.0 / classifier.temperature)
    calibration = calibration_report(uncalibrated, split.labels, classifier.temperature, classifier.uncertain_below)
    noise = calibration["ece_if_perfect"]
    print(f"ECE {calibration['ece_before']:.2%} -> {calibration['ece_after']:.2%} calibrated "
          f"(temperature {classifier.temperature:.3f}, {calibration['bins']} bins); a perfectly calibrated model "
          f"would measure {noise['mean']:.2%} on these faces ({noise['p5']:.2%}-{noise['p95']:.2%})")
    # ece and log_loss: of the calibrated probabilities, what the product shows; the block has both sides.
    result = {"split": name, **metrics, "ece": calibration["ece_after"], "log_loss": calibration["log_loss_after"],
              "calibration": calibration}
    if other is not None:
        from core.evaluation.paired import paired_comparison

        other_metrics, other_probabilities = evaluate(other, split)
        paired = paired_comparison(split.labels, probabilities.argmax(axis=1), other_probabilities.argmax(axis=1))
        print(f"against {args.against}: {other_metrics['accuracy']:.2%}; right only with this model on "
              f"{paired['only_this']} faces, only with the other on {paired['only_other']} "
              f"(exact McNemar test, p = {paired['p_value']:.3f})")
        result["against"] = {"model": args.against, "accuracy": other_metrics["accuracy"], **paired}
    if split.votes is not None:
        from core.evaluation.agreement import ferplus_metrics, ferplus_summary

        result["ferplus"] = ferplus_metrics(probabilities, classifier.labels.emotions, split.votes, split.labels)
        print(ferplus_summary(result["ferplus"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)
    print(f"Accuracy on test set: {metrics['accuracy'] * 100:.2f}%")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    import json

    from core.model.registry import DEFAULT_MODEL_NAME, SHIPPED_MODELS

    print(f"{'name':<10}{'emotions':>9}  {'FER-2013 acc.':>13}{'FER+ acc.':>10}{'FER+ CE':>9}  file")
    for model in SHIPPED_MODELS.values():
        figures = json.loads(model.evaluation.read_text()) if model.evaluation.is_file() else {}
        ferplus = figures.get("ferplus") or {}
        emotions = len(figures["per_class"]) if figures else "?"
        cells = [f"{figures['accuracy']:.2%}" if figures else "-", f"{ferplus['accuracy']:.2%}" if ferplus else "-",
                 f"{ferplus['cross_entropy']:.3f}" if ferplus else "-"]
        name = model.name + (" *" if model.name == DEFAULT_MODEL_NAME else "")
        file = os.path.relpath(model.path) if model.path.is_file() else f"{os.path.relpath(model.path)} (missing)"
        print(f"{name:<10}{emotions:>9}  {cells[0]:>13}{cells[1]:>10}{cells[2]:>9}  {file}")
        print(f"{'':<10}{model.description}")
    print("* the default. Figures: PublicTest, as served (`evaluate --model NAME --json`);\n"
          "FER+ accuracy by the official majority protocol; CE: cross-entropy to the ten annotators' votes, nats.")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import numpy as np

    from core.model.classifier import EmotionClassifier
    from core.vision.faces import make_detector
    from core.vision.image import DISPLAY_MAX_SIDE, ImageDecodeError, decode_image

    classifier, detector = EmotionClassifier.load(args.model), make_detector(args.detector)
    results, failed = [], 0
    for path in args.images:
        try:
            image = decode_image(path, max_side=DISPLAY_MAX_SIDE)  # shrunk as the pages show it: the same faces
        except ImageDecodeError as error:
            failed += 1
            message = str(error).removeprefix(f"{path}: ")
            results.append({"image": path, "error": message})
            print(f"{path}: error: {message}", file=sys.stderr)
            continue
        faces = classifier.analyze_frame(image, detector)
        results.append({"image": path, "faces": [face.to_dict() for face in faces]})
        if args.saliency and faces:
            from core.model.saliency import save_saliency_overlays

            written = save_saliency_overlays(classifier.model, np.stack([face.face for face in faces]),
                                             [face.label_index for face in faces], args.saliency, Path(path).stem,
                                             classifier.labels.emotions)
            results[-1]["saliency"] = [str(file) for file in written]
        if not args.json:
            print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}" + ("" if faces else " found"))
            for number, face in enumerate(faces, start=1):
                box = face.box
                print(f"  face {number} at x={box.x} y={box.y} w={box.w} h={box.h}: {face.display_label}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def cmd_stream(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import cv2

    from core.analysis.video import VideoSourceError, sample_faces
    from core.model.classifier import EmotionClassifier
    from core.vision.faces import make_detector

    classifier, detector = EmotionClassifier.load(args.model), make_detector(args.detector, video=True)
    save_dir = Path(args.save_faces) if args.save_faces else None
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
    saved = 0
    try:
        for sample in sample_faces(args.source, classifier, detector, args.interval, args.max_samples):
            print("Preprocessing ...")
            if args.source.isdigit():
                stamp = time.strftime("%H:%M:%S", time.localtime(sample.seconds))
            else:
                stamp = time.strftime("%H:%M:%S", time.gmtime(sample.seconds))
            if not sample.faces:
                print(f"{stamp}s : no face in view")
            for face in sample.faces:
                print(f"{stamp}s : #{face.person} {face.display_label}")  # as the Live page: Angry? 41%
                if save_dir:
                    cv2.imwrite(str(save_dir / f"image{saved}.png"), face.face)
                    saved += 1
    except VideoSourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    if save_dir:
        print(f"saved {saved} face crops to {save_dir}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.analysis.progress import ProgressPrinter
    from core.analysis.recording import analyze_recording
    from core.analysis.tracked import frame_analyzer
    from core.analysis.video_reader import VideoAnalysisError, VideoReader
    from core.model.classifier import EmotionClassifier
    from core.vision.faces import make_detector
    from core.vision.track import PersonTracker

    if args.ray is not None or len(args.videos) > 1 or not _one_video_file(args.videos[0]):
        return _analyze_batch(args)
    args.video = args.videos[0]
    try:
        VideoReader(args.video).close()  # a file that is no video fails before the model loads
    except VideoAnalysisError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else Path("runs/analyze") / Path(args.video).stem
    detector = make_detector(args.detector, video=True)
    analyze_frame = frame_analyzer(EmotionClassifier.load(args.model), detector, PersonTracker())
    printer = ProgressPrinter()
    try:
        summary = analyze_recording(args.video, out, analyze_frame, every=args.every, progress=printer)
    except VideoAnalysisError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        printer.done()
    print(
        f"{summary.frames_analysed} of {summary.frames_decoded} frames analysed: {summary.video_seconds:.1f} s of "
        f"video in {summary.wall_seconds:.1f} s ({summary.speed:.1f}x real time)"
    )
    for person in summary.people:
        share = person.emotion_share[person.dominant_emotion]
        print(f"#{person.person}: {person.seconds_on_screen:.1f} s on screen, {person.dominant_emotion} {share:.0%}")
    print(f"wrote frames.csv, summary.json, annotated.mp4 and timeline.png to {out}")
    if not summary.complete:
        print(f"error: {summary.error}; the results cover the video up to there", file=sys.stderr)
        return 1
    return 0


def _one_video_file(path: str) -> bool:
    """Whether ``analyze PATH`` means today's single-file analysis: a file, or a name that is no folder or pattern."""
    from pathlib import Path

    return Path(path).is_file() or not (Path(path).is_dir() or any(char in path for char in "*?["))


def _analyze_batch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.analysis.batch import run_batch
    from core.analysis.batch_worker import BatchSettings
    from core.analysis.progress import ProgressPrinter, format_batch_progress

    out = args.out or "runs/batch"
    settings = BatchSettings.make(args.model, args.detector, args.every)
    printer = ProgressPrinter(formatter=format_batch_progress)
    try:
        result = run_batch(args.videos, out, settings, args.ray, printer, retry_failed=args.retry_failed)
    except KeyboardInterrupt:
        printer.done()
        print(f"interrupted: what finished is in {out}; run the same command again to finish the rest",
              file=sys.stderr)
        return 130
    except ImportError as error:
        print(f"error: --ray needs Ray ({error}); install it with pip install 'ray>=2.40,<3'", file=sys.stderr)
        return 2
    except ConnectionError as error:
        print(f"error: no Ray cluster at {args.ray}: {error}", file=sys.stderr)
        return 2
    printer.done()
    record: dict = result.record
    engine = record["engine"] or {}
    where = {"in-process": "in this process", "ray": f"on Ray ({engine.get('address')}): {engine.get('workers')} "
             f"workers, started in {engine.get('startup_s', 0):.1f} s"}.get(engine.get("kind"), "nothing to analyse")
    counts = ", ".join(f"{result.count(status)} {status}" for status in ("done", "skipped", "failed"))
    print(f"{len(result.entries)} inputs: {counts} ({where}; {record['wall_seconds']:.1f} s)")
    videos = record['table']['videos']
    print(f"{record['table']['rows']} faces of {videos} video{'' if videos == 1 else 's'} "
          f"in {Path(out) / 'frames.parquet'}; "
          f"every input's status in {Path(out) / 'batch.json'}")
    for entry in result.failures:
        earlier = " (failed before; --retry-failed tries again)" if entry["status"] == "skipped" else ""
        print(f"failed: {entry['input'] if entry['path'] is None else entry['path']}: {entry['reason']}{earlier}",
              file=sys.stderr)
    return 1 if result.failures else 0


def cmd_attack(args: argparse.Namespace) -> int:
    from core.adversarial.attacks import grey_to_epsilon
    from core.adversarial.hack import run_attack
    from core.model.classifier import EmotionClassifier

    classifier = EmotionClassifier.load(args.model, flip_tta=_flip_tta(args), backend="keras")
    data = _load(args, "attack")
    epsilon = grey_to_epsilon(args.grey) if args.grey is not None else args.epsilon
    target = None if args.target.lower() == "none" else args.target
    result = run_attack(
        classifier, data, args.out, args.source, target, args.method, epsilon, args.steps,
        max_grey=args.max_grey, min_confidence=args.min_confidence, index=args.index, split=args.split,
    )
    print(
        f"{'success' if result.success else 'failed'}: face {result.index} {result.source_label} "
        f"{result.source_confidence:.1%} -> {result.adversarial_label} {result.adversarial_confidence:.1%} "
        f"at L-inf {result.linf_grey_levels:g} grey levels (epsilon {result.epsilon:.4f}), L2 {result.l2:.4f}"
    )
    print(f"wrote original.png, adversarial.png, adversarial_attack.png and attack.json to {args.out}")
    return 0 if result.success else 1


def cmd_robustness(args: argparse.Namespace) -> int:
    from core.adversarial.robustness import run_robustness
    from core.model.classifier import EmotionClassifier

    classifier = EmotionClassifier.load(args.model, flip_tta=_flip_tta(args), backend="keras")
    curve = run_robustness(
        classifier, _load(args, "measure robustness on"), args.out, args.max_grey, args.limit,
        steps=args.steps, split=args.split,
    )
    print(curve.to_string(index=False))
    print(f"wrote robustness.csv and robustness.png to {args.out}")
    return 0


def cmd_harden(args: argparse.Namespace) -> int:
    from core.adversarial.harden import harden
    from core.data import file_sha256
    from core.model.classifier import EmotionClassifier, default_model_path
    from core.model.registry import resolve_model_path

    path = resolve_model_path(args.model) if args.model else default_model_path()
    standard = EmotionClassifier.load(path, backend="keras")  # served as it is: flips or not, as its sidecar says
    harden(
        standard.model, _load(args, "harden on"), args.out, args.epochs, flip_tta=standard.flip_tta,
        source={"file": path.name, "sha256": file_sha256(path)}, max_grey=args.max_grey,
        learning_rate=args.learning_rate, train_limit=args.train_limit, eval_limit=args.eval_limit,
    )
    print(f"wrote emotion_cnn_hardened.keras and harden_report.json to {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import json

    from core.model.classifier import default_model_path
    from core.model.export import export_model
    from core.model.registry import resolve_model_path

    data = _load(args) if args.data or os.environ.get(DATA_ENV_VAR) else None
    model = resolve_model_path(args.model) if args.model else default_model_path()
    contract = export_model(model, args.out, int8=args.int8, data=data)
    files = "labels.txt, contract.json and parity.json" if "parity" in contract else "labels.txt and contract.json"
    print(f"wrote {contract['file']} ({contract['weights']}), {files} to {args.out}")
    if "parity" in contract:
        print(json.dumps(contract["parity"], indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from service.run import serve  # FastAPI and uvicorn load for this command only
    from service.settings import ServiceSettings

    settings = ServiceSettings(
        model=args.model, api_keys=Path(args.api_keys) if args.api_keys else None, rate_limit=args.rate_limit,
        request_timeout_s=args.timeout, max_video_seconds=args.max_video_seconds,
        max_queued_videos=args.max_queued_videos, video_keep_s=args.keep_videos * 60, batch_wait_ms=args.batch_wait_ms,
        detector=args.detector,
    )
    return serve(settings, args.host, args.port, insecure=args.insecure)


def cmd_api_key(args: argparse.Namespace) -> int:
    from core.access import add_key

    key = add_key(args.file)
    print(key)
    print(f"that key is shown this once: its hash was added to {args.file}, the key itself is kept nowhere",
          file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train the CNN on Training, select on PublicTest")
    _add_data_option(train)
    train.add_argument("--out", type=folder_path, default="runs/latest", help="output folder (default runs/latest)")
    train.add_argument("--epochs", type=positive_int, help="default 40; 30 from --init (fine-tuning)")
    train.add_argument("--batch-size", type=positive_int, help="default 64; 32 from --init")
    train.add_argument("--learning-rate", type=positive_float, help="peak rate; default 1e-3, 3e-4 from --init")
    train.add_argument("--patience", type=int, default=10, help="early stopping patience in epochs")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--rotation", type=float, default=10.0, help="largest random rotation in degrees (default 10)")
    train.add_argument(
        "--attention", action="store_true", help="squeeze-and-excitation gates after each convolution block"
    )
    train.add_argument(
        "--single-warp",
        action="store_true",
        help="rotate, shift and zoom each face in one resampling instead of three (sharper training faces)",
    )
    train.add_argument(
        "--labels", choices=("fer2013", "ferplus"), default="fer2013",
        help="learn FER-2013's label of each face (default), or the FER+ votes of ten annotators (eight emotions)",
    )
    train.add_argument("--votes", help="FER+ votes file (fer2013new.csv); default: found beside the data")
    train.add_argument(
        "--fer2013-weight", type=unit_float, default=0.0,
        help="with --labels ferplus: share of each face's target given to its FER-2013 label (default 0)",
    )
    train.add_argument("--init", help="start from a trained model: a shipped name (fer2013, ferplus) or a path")
    train.add_argument(
        "--teacher", action="append", default=[], metavar="MODEL",
        help="distil a trained model (a shipped name or a path): mix its served probabilities of each training face "
             "into the targets; repeat it to distil several, averaged",
    )
    train.add_argument(
        "--teacher-weight", type=unit_float, default=0.5,
        help="with --teacher: share of each face's target given to the teacher (default 0.5)",
    )
    train.add_argument(
        "--class-balance", type=unit_float, default=0.0,
        help="weigh faces by how rare their emotion is, to this power: 0 every face alike (default), 1 every "
             "emotion alike",
    )
    train.add_argument("--warmup-epochs", type=int, default=1, help="epochs of linear learning-rate warm-up")
    train.add_argument("--label-smoothing", type=unit_float, default=0.1)
    _add_serving_tta_option(train)
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.keras")
    train.add_argument(
        "--export",
        choices=["best", "last"],
        default="best",
        help="the model is the best PublicTest epoch (default) or the last one, where the schedule ends",
    )
    train.add_argument(
        "--mixed-precision", action=argparse.BooleanOptionalAction, default=True,
        help="train in mixed bfloat16 (default; about twice as fast on AVX-512 CPUs)",
    )
    train.set_defaults(handler=cmd_train)

    smooth = commands.add_parser(
        "smooth", help="fit a trained model's input smoothing on PublicTest: the product model, measured"
    )
    smooth.add_argument("model", metavar="MODEL", help="a trained .keras model (e.g. runs/latest/emotion_cnn.keras)")
    _add_data_option(smooth)
    smooth.add_argument("--out", default="runs/smoothed", help="output folder (default runs/smoothed)")
    _add_serving_tta_option(smooth)
    smooth.set_defaults(handler=cmd_smooth)

    rebalance = commands.add_parser(
        "rebalance", help="lean a trained network less towards the emotions people name most often, measured"
    )
    rebalance.add_argument("model", metavar="MODEL",
                           help="a training run's .keras model (its report.json beside it) or a shipped name")
    rebalance.add_argument("--strength", type=unit_float, default=REBALANCE_STRENGTH,
                           help="0 leaves the network as it is, 1 makes every emotion equally likely before the "
                                f"face is seen (default {REBALANCE_STRENGTH:g})")
    rebalance.add_argument("--rare-below", type=share, default=REBALANCE_RARE_BELOW, metavar="SHARE",
                           help="correct only the emotions people name on fewer than this share of the faces; the "
                                f"rest keep their order among themselves (default {REBALANCE_RARE_BELOW:g}; 1: all)")
    _add_data_option(rebalance)
    rebalance.add_argument("--votes", type=file_path, help="FER+ votes file (default: fer2013new.csv beside --data)")
    rebalance.add_argument("--out", default="runs/rebalanced", help="output folder (default runs/rebalanced)")
    _add_serving_tta_option(rebalance)
    rebalance.set_defaults(handler=cmd_rebalance)

    ensemble = commands.add_parser(
        "ensemble", help="average trained models into one (input smoothing fitted), measured on PublicTest"
    )
    ensemble.add_argument("members", nargs="+", metavar="MODEL", help="two or more .keras models")
    _add_data_option(ensemble)
    ensemble.add_argument("--out", default="runs/ensemble", help="output folder (default runs/ensemble)")
    ensemble.add_argument("--drop", action="append", default=[], metavar="NAME",
                          help="leave out the network of this file name (as the model card lists it; repeatable): "
                               "with an ensemble file among the models, one network replaces another")
    _add_serving_tta_option(ensemble)
    ensemble.set_defaults(handler=cmd_ensemble)

    evaluate = commands.add_parser("evaluate", help="accuracy on PrivateTest, else PublicTest, else all rows")
    _add_data_option(evaluate)
    _add_model_option(evaluate)
    evaluate.add_argument("--json", type=file_path, help="also write the metrics to this JSON file")
    evaluate.add_argument("--votes", help="FER+ votes (fer2013new.csv) for the data; default: found beside it")
    evaluate.add_argument("--against", metavar="MODEL",
                          help="compare with another model on the same faces, face by face (exact McNemar test)")
    evaluate.add_argument(
        "--backend",
        choices=["lite", "keras"],  # core.model.classifier.BACKENDS, spelled out so --help needs no TensorFlow
        default="lite",
        help="lite: the int8 LiteRT model the product runs (default); keras: the float32 Keras model",
    )
    _add_tta_option(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    models = commands.add_parser("models", help="the shipped models: label sets and PublicTest figures")
    models.set_defaults(handler=cmd_models)

    predict = commands.add_parser("predict", help="emotion of every face in each photo")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    _add_model_option(predict)
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    _add_detector_option(predict)
    predict.add_argument("--saliency", metavar="DIR", help="write a Grad-CAM overlay PNG per face to DIR")
    predict.set_defaults(handler=cmd_predict)

    stream = commands.add_parser("stream", help="console mode: the emotion in a webcam or video once a second")
    stream.add_argument("--source", default="0", help="camera index (default 0) or a video file")
    _add_model_option(stream)
    stream.add_argument("--interval", type=positive_float, default=1.0, help="seconds between samples (default 1)")
    stream.add_argument("--max-samples", type=int, help="stop after this many samples")
    stream.add_argument(
        "--save-faces", type=folder_path, metavar="DIR", help="write the 48x48 crops as image0.png, image1.png, ..."
    )
    _add_detector_option(stream)
    stream.set_defaults(handler=cmd_stream)

    analyze = commands.add_parser(
        "analyze", help="video files: emotions per person, annotated videos and timelines; many at once, on Ray too"
    )
    analyze.add_argument(
        "videos", nargs="+", metavar="PATH",
        help="video files, folders (searched recursively) or glob patterns; a folder, a pattern or several files "
             "make a batch: OUT/<name>/ per video, OUT/frames.parquet and OUT/batch.json",
    )
    analyze.add_argument(
        "--out", type=folder_path,
        help="output folder (default runs/analyze/<video name> for one file, runs/batch for a batch)",
    )
    analyze.add_argument("--every", type=positive_int, default=1, help="analyse every N-th frame (default 1: all)")
    analyze.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",  # const: core.analysis.batch.RAY_LOCAL
        help="run the batch on Ray: alone, a Ray started on this machine; 'auto' (inside a Ray job) or "
             "ray://HOST:PORT, that cluster, whose machines must all see the paths (shared storage)",
    )
    analyze.add_argument(
        "--retry-failed", action="store_true",
        help="analyse again the files of an earlier run into the same --out that failed on their content",
    )
    _add_detector_option(analyze)
    _add_model_option(analyze)
    analyze.set_defaults(handler=cmd_analyze)

    attack = commands.add_parser("attack", help="adversarial hack: the smallest change that turns a Happy face Sad")
    _add_data_option(attack)
    _add_model_option(attack)
    attack.add_argument("--out", type=folder_path, default="runs/attack")
    attack.add_argument("--source", default="happy", help="emotion of the face to attack (default happy)")
    attack.add_argument("--target", default="sad", help="emotion to reach (default sad), or 'none' for untargeted")
    attack.add_argument("--method", choices=["pgd", "fgsm"], default="pgd")
    budget = attack.add_mutually_exclusive_group()
    budget.add_argument(
        "--epsilon", type=unit_float, help="fixed L-inf budget in [0, 1] (default: search the smallest)"
    )
    budget.add_argument("--grey", type=int, help="fixed L-inf budget in grey levels (0..255)")
    attack.add_argument("--max-grey", type=int, default=16, help="largest budget searched, in grey levels")
    attack.add_argument("--steps", type=int, default=50, help="PGD iterations")
    attack.add_argument("--min-confidence", type=float, default=0.9, help="how sure the model must be of the source")
    attack.add_argument("--index", type=int, help="attack this row of the split instead of searching one")
    attack.add_argument("--split", choices=SPLITS)
    _add_tta_option(attack)
    attack.set_defaults(handler=cmd_attack)

    robustness = commands.add_parser("robustness", help="accuracy against L-inf budget (0..16 grey levels)")
    _add_data_option(robustness)
    _add_model_option(robustness)
    robustness.add_argument("--out", type=folder_path, default="runs/robustness")
    robustness.add_argument("--max-grey", type=int, default=16)
    robustness.add_argument("--limit", type=int, help="a random subset of this many faces (e.g. 500)")
    robustness.add_argument("--steps", type=int, default=10, help="PGD iterations")
    robustness.add_argument("--split", choices=SPLITS)
    _add_tta_option(robustness)
    robustness.set_defaults(handler=cmd_robustness)

    hardening = commands.add_parser("harden", help="adversarial fine-tuning; clean and robust accuracy reported")
    _add_data_option(hardening)
    _add_model_option(hardening)
    hardening.add_argument("--out", type=folder_path, default="runs/hardened")
    hardening.add_argument("--epochs", type=positive_int, default=3)
    hardening.add_argument("--max-grey", type=int, default=4, help="largest training budget in grey levels")
    hardening.add_argument("--learning-rate", type=positive_float, default=1e-4)
    hardening.add_argument("--train-limit", type=int, help="fine-tune on this many Training faces")
    hardening.add_argument("--eval-limit", type=int, help="evaluate on this many PublicTest faces")
    hardening.set_defaults(handler=cmd_harden)

    export = commands.add_parser("export", help="a LiteRT file with its contract, for use without this project")
    export.add_argument("--out", type=folder_path, default="runs/export")
    export.add_argument("--int8", action="store_true", help="int8 weights (dynamic-range quantisation)")
    _add_model_option(export)
    _add_data_option(export, "; with data, parity.json compares the file with Keras on PublicTest")
    export.set_defaults(handler=cmd_export)

    serve = commands.add_parser("serve", help="the HTTP API: photos and videos in, emotions out (see docs/api.md)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                                                           "only; any other needs --api-keys or --insecure)")
    serve.add_argument("--port", type=int, default=8000, help="default 8000")
    serve.add_argument("--api-keys", metavar="FILE", help="require a key from this file (made with `api-key`)")
    _add_model_option(serve)
    serve.add_argument("--rate-limit", type=positive_int, metavar="N",
                       help="at most N requests a minute per key (per address without keys); default: no limit")
    serve.add_argument("--insecure", action="store_true", help="allow a network address without API keys")
    serve.add_argument("--timeout", type=positive_float, default=30.0,
                       help="seconds a photo request or a video upload may take (default 30)")
    serve.add_argument("--max-video-seconds", type=positive_float, default=600.0,
                       help="longest video accepted, in seconds (default 600)")
    serve.add_argument("--max-queued-videos", type=positive_int, default=8,
                       help="videos waiting for analysis at most (default 8)")
    serve.add_argument("--keep-videos", type=positive_float, default=60.0, metavar="MINUTES",
                       help="minutes a finished video job and its files are kept (default 60)")
    serve.add_argument("--batch-wait-ms", type=float, default=0.0,
                       help="classify concurrent requests' faces in shared batches, waiting up to this long "
                            "(default 0: one model call per request; see docs/api.md)")
    _add_detector_option(serve)
    serve.set_defaults(handler=cmd_serve)

    api_key = commands.add_parser("api-key", help="make an API key for `serve`: printed once, its hash appended to "
                                                  "the key file")
    api_key.add_argument("--file", required=True, type=file_path, help="the key file (created if missing)")
    api_key.set_defaults(handler=cmd_api_key)

    for command in commands.choices.values():
        command.add_argument("--verbose", action="store_true",
                             help="also show the libraries' own log lines and warnings (TensorFlow, LiteRT)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with quiet_console(args.verbose or None):  # no library start-up lines unless --verbose (or FER_VERBOSE=1)
        from core.model.classifier import ModelLoadError  # after parsing: --help needs no TensorFlow

        try:
            return args.handler(args)
        except BadRowsError as error:
            print(f"error: {error}; skip them with --skip-bad-rows", file=sys.stderr)
            return 2
        except (DataFormatError, ModelLoadError, FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
