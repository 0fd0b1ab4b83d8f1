"""Command line for the facial emotion recognition project: train, evaluate, predict, stream.

Run ``python train_cli.py COMMAND --help`` for each command's options.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from core.data import DATA_ENV_VAR, DataFormatError, load_dataset, resolve_data_path  # noqa: E402
from core.inference import ModelLoadError  # noqa: E402


def _add_data_option(parser: argparse.ArgumentParser, required_text: str = "") -> None:
    parser.add_argument(
        "--data",
        help=f"FER-2013 CSV (.csv/.csv.gz), seed folder or image folder; default ${DATA_ENV_VAR}{required_text}",
    )
    parser.add_argument("--skip-bad-rows", action="store_true", help="drop malformed rows (and report how many)")


def _load(args: argparse.Namespace):
    data = load_dataset(resolve_data_path(args.data), skip_bad_rows=args.skip_bad_rows)
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
