"""``python -m bench.finetune``: what adapting a model to your own faces gains, measured on faces it never saw.

A stand-in for a lab's own recordings: clear PublicTest faces (FER-2013's label equals the FER+ majority, as
posed expressions are) seen through a different camera: the look of a near-infrared camera in a dim room (low
contrast, a bright centre, sensor noise, a soft lens). ``--train`` of them become ``ROOT/train/<emotion>/``, a
folder laid out as the README asks of your own faces; ``--test`` others are kept apart. The model is measured on
the kept-apart faces as it ships, then fine-tuned with ``train_cli.py train --init MODEL --data ROOT`` (its
defaults) and measured again. Nothing is written into the repository; the folders live in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import bench  # noqa: F401  (quiets TensorFlow's C++ logging before TensorFlow loads)
from bench.common import default_data_path


def camera_look(faces: np.ndarray, seed: int = 0) -> np.ndarray:
    """Faces (N, 48, 48) uint8 as a dim near-infrared camera would show them."""
    import cv2

    rng = np.random.default_rng(seed)
    x = faces.astype(np.float32) / 255.0
    yy, xx = np.mgrid[-1:1:48j, -1:1:48j]
    hot_centre = 1.15 - 0.45 * (xx**2 + yy**2)
    x = (0.15 + 0.6 * x) * hot_centre
    x = np.stack([cv2.GaussianBlur(face, (3, 3), 0.8) for face in x])
    x = x + rng.normal(0, 0.02, x.shape).astype(np.float32)
    return np.clip(x * 255, 0, 255).astype(np.uint8)


def write_folder(root: Path, split: str, faces: np.ndarray, labels: np.ndarray, emotions: tuple[str, ...]) -> None:
    import cv2

    for number, (face, label) in enumerate(zip(faces, labels, strict=True)):
        folder = root / split / emotions[label].lower()
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{number:05d}.png"), face)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.finetune", description=__doc__)
    parser.add_argument("--data", help="FER-2013 CSV with fer2013new.csv beside it (default: $FER2013_PATH or shared)")
    parser.add_argument("--model", default="ferplus", help="the model to adapt (default: ferplus)")
    parser.add_argument("--train", type=int, default=400, help="faces to fine-tune on (default 400)")
    parser.add_argument("--test", type=int, default=600, help="kept-apart faces to measure on (default 600)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import train_cli
    from core.data import load_dataset
    from core.evaluation.metrics import evaluate
    from core.ferplus import attach_votes, find_votes_file, majority_labels
    from core.labels import FER2013, PUBLIC_TEST
    from core.model.classifier import EmotionClassifier

    path = Path(args.data) if args.data else default_data_path()
    votes = find_votes_file(path)
    if votes is None:
        parser.error(f"no fer2013new.csv beside {path}")
    public = attach_votes(load_dataset(path, use_cache=True), votes).split(PUBLIC_TEST)
    clear = np.flatnonzero(majority_labels(public.votes) == public.labels)
    chosen = np.random.default_rng(0).permutation(clear)[: args.train + args.test]
    faces, labels = camera_look(public.images[chosen]), public.labels[chosen]
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        write_folder(root / "yours", "train", faces[: args.train], labels[: args.train], FER2013.emotions)
        write_folder(root / "unseen", "test", faces[args.train :], labels[args.train :], FER2013.emotions)
        unseen = load_dataset(root / "unseen")
        before, _ = evaluate(EmotionClassifier.load(args.model), unseen)
        started = time.perf_counter()
        code = train_cli.main(["train", "--init", args.model, "--data", str(root / "yours"),
                               "--out", str(root / "adapted")])
        seconds = time.perf_counter() - started
        if code != 0:
            return code
        after, _ = evaluate(EmotionClassifier.load(root / "adapted" / "emotion_cnn.keras"), unseen)
    figures = {"model": args.model, "train_faces": args.train, "unseen_faces": len(unseen),
               "accuracy_as_shipped": before["accuracy"], "accuracy_adapted": after["accuracy"],
               "gain_points": 100 * (after["accuracy"] - before["accuracy"]), "fine_tune_seconds": seconds}
    print(f"{args.model} on {len(unseen)} unseen faces through another camera: {before['accuracy']:.1%} as shipped, "
          f"{after['accuracy']:.1%} after adapting to {args.train} faces ({figures['gain_points']:+.1f} points, "
          f"{seconds:.0f} s to fine-tune)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    from bench.common import run_quietly

    run_quietly(main)
