"""Command line for the facial emotion recognition project: train, evaluate, predict, stream.

Run ``python train_cli.py COMMAND --help`` for each command's options.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.data import DATA_ENV_VAR, DataFormatError, load_dataset, resolve_data_path
from core.inference import ModelLoadError


def _add_data_option(parser: argparse.ArgumentParser, required_text: str = "") -> None:
    parser.add_argument(
        "--data",
        help=f"FER-2013 CSV (.csv/.csv.gz), seed folder or image folder; default ${DATA_ENV_VAR}{required_text}",
    )
    parser.add_argument("--skip-bad-rows", action="store_true", help="drop malformed rows (and report how many)")


def _load(args: argparse.Namespace):
    data = load_dataset(resolve_data_path(args.data), skip_bad_rows=args.skip_bad_rows, use_cache=True)
    if data.skipped:
        print(f"skipped {len(data.skipped)} bad rows; first: {data.skipped[0]}", file=sys.stderr)
    return data


def cmd_train(args: argparse.Namespace) -> int:
    from core.training import TrainConfig, train

    data = _load(args)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        patience=args.patience,
        mixed_precision=args.mixed_precision,
    )
    report = train(data, resolve_data_path(args.data), args.out, config, resume=args.resume)
    print(f"model written to {os.path.join(args.out, 'emotion_cnn.keras')}")
    print(f"PublicTest accuracy: {report['accuracy']:.2%} (flip TTA), {report['accuracy_without_tta']:.2%} without")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from core.evaluation import evaluate, per_class_table
    from core.inference import EmotionClassifier

    classifier = EmotionClassifier.load(args.model, flip_tta=not args.no_tta)
    data = _load(args)
    split = data.evaluation_split()
    if len(split) == 0:
        raise DataFormatError(f"{data.source}: no labelled rows to evaluate")
    name = split.usage[0] if len(set(split.usage)) == 1 else "all labelled rows"
    metrics, _ = evaluate(classifier, split)
    print(f"evaluated on {name}: {len(split)} faces")
    print(per_class_table(metrics))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"split": name, **metrics}, handle, indent=2)
    print(f"Accuracy on test set: {metrics['accuracy'] * 100:.2f}%")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import json

    import cv2

    from core.inference import EmotionClassifier
    from core.preprocess import FaceDetector

    classifier, detector = EmotionClassifier.load(args.model), FaceDetector()
    results, failed = [], 0
    for path in args.images:
        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if image is None:
            failed += 1
            results.append({"image": path, "error": "not a readable image file"})
            print(f"{path}: error: not a readable image file", file=sys.stderr)
            continue
        faces = classifier.analyze_frame(image, detector)
        results.append({"image": path, "faces": [face.to_dict() for face in faces]})
        if not args.json:
            print(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}" + ("" if faces else " found"))
            for number, face in enumerate(faces, start=1):
                box = face.box
                print(f"  face {number} at x={box.x} y={box.y} w={box.w} h={box.h}: {face.label} {face.confidence:.1%}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0


def cmd_stream(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import cv2

    from core.inference import EmotionClassifier
    from core.video import VideoSourceError, sample_faces

    classifier = EmotionClassifier.load(args.model)
    save_dir = Path(args.save_faces) if args.save_faces else None
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
    saved = 0
    try:
        for sample in sample_faces(args.source, classifier, interval=args.interval, max_samples=args.max_samples):
            print("Preprocessing ...")
            if args.source.isdigit():
                stamp = time.strftime("%H:%M:%S", time.localtime(sample.seconds))
            else:
                stamp = time.strftime("%H:%M:%S", time.gmtime(sample.seconds))
            if not sample.faces:
                print(f"{stamp}s : no face in view")
            for face in sample.faces:
                print(f"{stamp}s : {face.label} , {face.confidence:.0%}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train the CNN on Training, select on PublicTest")
    _add_data_option(train)
    train.add_argument("--out", default="runs/latest", help="output folder (default runs/latest)")
    train.add_argument("--epochs", type=int, default=40)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument("--patience", type=int, default=10, help="early stopping patience in epochs")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.keras")
    train.add_argument(
        "--mixed-precision", action=argparse.BooleanOptionalAction, default=True,
        help="train in mixed bfloat16 (default; about twice as fast on AVX-512 CPUs)",
    )
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser("evaluate", help="accuracy on PrivateTest, else PublicTest, else all rows")
    _add_data_option(evaluate)
    evaluate.add_argument("--model", help="a .keras model (default: the shipped one)")
    evaluate.add_argument("--json", help="also write the metrics to this JSON file")
    evaluate.add_argument("--no-tta", action="store_true", help="no flip test-time augmentation")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = commands.add_parser("predict", help="emotion of every face in each photo")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", help="a .keras model (default: the shipped one)")
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    predict.set_defaults(handler=cmd_predict)

    stream = commands.add_parser("stream", help="console mode: the emotion in a webcam or video once a second")
    stream.add_argument("--source", default="0", help="camera index (default 0) or a video file")
    stream.add_argument("--model", help="a .keras model (default: the shipped one)")
    stream.add_argument("--interval", type=float, default=1.0, help="seconds between samples (default 1)")
    stream.add_argument("--max-samples", type=int, help="stop after this many samples")
    stream.add_argument("--save-faces", metavar="DIR", help="write the 48x48 crops as image0.png, image1.png, ...")
    stream.set_defaults(handler=cmd_stream)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (DataFormatError, ModelLoadError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
