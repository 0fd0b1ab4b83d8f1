"""Peak resident memory of the live inference path, measured in a fresh child process.
Owns live_peak_memory and the child (``python -m bench.memory FRAME.npy FRAMES [MODEL]``).

The child loads the model as the live page does (``EmotionClassifier.load``: the shipped LiteRT
conversion, so no TensorFlow), builds the page's ``LiveAnalyzer`` (default detector, tracker), runs
``annotate`` on the frame, and prints its memory at each stage as JSON. The peak is the child's
``VmHWM`` (high-water resident set of its own address space). ``ru_maxrss`` is reported too but
is no good here: Linux carries it over ``execve``, and Python spawns children with ``vfork``, so
a child's ``ru_maxrss`` starts at the parent's peak (the parent reaps it with ``os.wait4`` to
read it, as ``child_ru_maxrss_mb``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import REPO_ROOT


def live_peak_memory(frame: np.ndarray, frames: int, model_path: str | None, timeout: float = 300) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        frame_file = Path(folder) / "frame.npy"
        np.save(frame_file, frame)
        command = [sys.executable, "-m", "bench.memory", str(frame_file), str(frames)]
        if model_path:
            command.append(model_path)
        out_file, err_file = Path(folder) / "out.txt", Path(folder) / "err.txt"
        with open(out_file, "w") as out, open(err_file, "w") as err:
            process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=err)
            status, usage = _wait(process, timeout)
        out_text, err_text = out_file.read_text(), err_file.read_text()
    if status != 0:
        raise RuntimeError(f"live memory child failed (status {status}): {err_text.strip()[-500:]}")
    report = json.loads(out_text.strip().splitlines()[-1])
    report["frames"] = frames
    report["child_ru_maxrss_mb"] = usage.ru_maxrss / 1024
    report["child_ru_maxrss_note"] = "inherited from the parent at spawn (vfork + execve): not the live path's peak"
    return report


def _wait(process: subprocess.Popen, timeout: float):
    """Reap the child with ``os.wait4`` to get its own rusage (RUSAGE_CHILDREN mixes in every child)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        if time.monotonic() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            process.returncode = -9
            raise RuntimeError(f"live memory child ran past {timeout:.0f}s")
        time.sleep(0.1)


def _vm_value(key: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(frame_file: str, frames: int, model_path: str | None) -> None:
    """The live page's path: the model as ``EmotionClassifier.load`` serves it, the default detector, a tracker."""
    import resource

    baseline = _vm_value("VmRSS")
    from core.analysis.live import LiveAnalyzer
    from core.model.classifier import EmotionClassifier, default_model_path

    after_imports = _vm_value("VmRSS")
    path = Path(model_path) if model_path else default_model_path()
    if path.is_file():
        classifier, source = EmotionClassifier.load(path), str(path)
    else:  # no shipped model yet: an untrained stand-in of the same architecture, through TensorFlow
        from bench.common import load_model_under_test, product_classifier

        model = load_model_under_test(None, explicit=False)
        classifier, source = product_classifier(model), model.source
    analyzer = LiveAnalyzer(classifier)
    after_load = _vm_value("VmRSS")
    frame = np.load(frame_file)
    found = 0
    for _ in range(frames):
        _, result = analyzer.annotate(frame)
        found = len(result.faces)
    report = {
        "peak_rss_mb": _vm_value("VmHWM"),
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_start_mb": baseline,
        "rss_after_imports_mb": after_imports,
        "rss_after_model_load_mb": after_load,
        "rss_end_mb": _vm_value("VmRSS"),
        "tensorflow_imported": "tensorflow" in sys.modules,
        "detector": analyzer.detector_name,
        "faces_found": found,
        "model": source,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _child(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
