"""Classification throughput (batches of 256 faces) and single-face latency (the live path)."""

from __future__ import annotations

import time

import numpy as np

from bench.common import latency_stats, tile_to, time_calls

BATCH = 256


def throughput(predict_faces, faces: np.ndarray, batches: int, labels: np.ndarray | None = None) -> dict:
    """Faces/s of ``predict_faces`` over ``batches`` batches of 256 faces (after one warm-up batch).

    Also faces per CPU-second (all threads): times the core count, what an idle machine could
    reach at best, and far steadier than wall time when other work shares the CPUs.

    With ``labels`` (the faces' true classes) the accuracy of the predictions is reported too.
    """
    count = BATCH * batches
    data = tile_to(faces, count)
    predict_faces(data[:BATCH])
    predictions = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for index in range(batches):
        predictions.append(predict_faces(data[index * BATCH : (index + 1) * BATCH]))
    took, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result = {
        "batch_size": BATCH,
        "faces": count,
        "seconds": took,
        "faces_per_s": count / took,
        # CPU time of all this process's threads: a busy machine stretches wall time far more than this.
        "cpu_seconds": cpu,
        "faces_per_cpu_s": count / cpu if cpu > 0 else None,
    }
    if labels is not None:
        predicted = np.argmax(np.concatenate(predictions), axis=1)
        truth = tile_to(labels, count)
        unique = min(len(faces), count)
        result["accuracy"] = float(np.mean(predicted[:unique] == truth[:unique]))
        result["accuracy_faces"] = unique
    return result


def single_face_latency(predict_faces, faces: np.ndarray, repeats: int) -> dict:
    """p50/p95 of one call on one face, cycling through different faces."""
    position = [0]

    def call():
        predict_faces(faces[position[0] % len(faces)])
        position[0] += 1

    return latency_stats(time_calls(call, repeats, warmup=5))


def latency_breakdown(classifier, faces: np.ndarray, repeats: int) -> dict:
    """Where one ``predict_faces`` call on one face spends its time (p50 ms of each step)."""
    from core.vision.crop import to_model_input

    face = faces[0]
    x = to_model_input(face)
    steps = {
        "to_model_input": lambda: to_model_input(face),
        "predict_inputs": lambda: classifier.predict_inputs(x),
        "predict_faces": lambda: classifier.predict_faces(face),
    }
    return {name: latency_stats(time_calls(fn, repeats, warmup=5))["p50_ms"] for name, fn in steps.items()}
