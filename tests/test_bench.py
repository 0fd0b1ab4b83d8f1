"""The benchmark suite: a ``--quick`` run end to end, the short soak, and the pieces that need no timing.

No speed target is asserted here (timings on a shared CI machine say nothing); only that every
section runs and reports sane, positive numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bench.common import REPO_ROOT, SHARED_DATA, load_model_under_test, product_classifier
from bench.suite import SECTIONS

HAVE_DATA = SHARED_DATA.is_file() or bool(os.environ.get("FER2013_PATH"))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[dict, str]:
    """``python -m bench --quick --json PATH``: the JSON report and the printed table."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    return json.loads(out.read_text()), done.stdout


def test_quick_run_reports_every_section(quick_run):
    results, table = quick_run
    for name in ("meta", "data", "model", *SECTIONS, "targets"):
        assert name in results, name
    for name in SECTIONS:
        assert results[name]["status"] in ("ok", "skipped", "unavailable"), (name, results[name])
    for name in ("throughput", "latency", "flops", "pipeline", "memory", "soak", "training"):
        assert results[name]["status"] == "ok", (name, results[name])
    assert "ours/fer" in table and ("PASS" in table or "FAIL" in table) and "peak:" in table



def test_quick_run_measures_detection(quick_run):
    results, table = quick_run
    detection = results["detection"]
    if not HAVE_DATA:
        assert detection["status"] == "skipped"
        return
    assert detection["status"] == "ok"
    assert 0 <= detection["targets"]["recall_worst_roll"] <= 1
    assert all(detection["pipeline"][name]["frames_per_s"] > 0 for name in ("one_face", "three_faces"))
    assert "BlazeFace recall, worst roll" in table

def test_quick_run_times_the_pages_in_chromium(quick_run):
    from bench.startup import CHROMIUM

    results, table = quick_run
    startup = results["startup"]
    if not CHROMIUM.exists():
        assert startup["status"] == results["live_page"]["status"] == "skipped"
        return
    assert startup["status"] == "ok" and len(startup["seconds"]) == 1
    assert 0 < startup["server_ready_seconds_median"] < startup["seconds_median"]
    assert "Home title in Chromium" in table
    live = results["live_page"]
    if HAVE_DATA:
        assert live["status"] == "ok" and live["frames_per_s_median"] > 0 and len(live["samples"]) >= 1
    else:
        assert live["status"] == "skipped"


def test_quick_run_numbers_are_sane(quick_run):
    results, _ = quick_run
    for name in ("tta_on", "tta_off"):
        rate = results["throughput"][name]
        assert rate["faces_per_s"] > 0 and rate["faces"] == 256 * results["meta"]["settings"]["throughput_batches"]
        latency = results["latency"][name]
        assert 0 < latency["p50_ms"] <= latency["p95_ms"]
    assert all(value > 0 for value in results["latency"]["breakdown_p50_ms_tta_on"].values())
    lite, exact = results["throughput"]["tta_on"], results["throughput"]["keras_tta_on"]
    assert exact["faces_per_s"] > 0 and results["latency"]["keras_tta_on"]["p50_ms"] > 0
    if "accuracy" in exact:  # the LiteRT model the product runs is as accurate as the Keras one
        assert abs(lite["accuracy"] - exact["accuracy"]) <= 0.01
    flops = results["flops"]
    assert flops["ours_tta_on"]["flops_per_face"] == 2 * flops["ours_tta_off"]["flops_per_face"] > 0
    assert flops["peak"]["peak_flops"] > 0 and "FLOP/cycle" in flops["peak"]["assumption"]
    assert flops["ours_tta_off"]["achieved_flops"] > 0
    no_face = results["pipeline"]["no_face"]
    assert no_face["frames_per_s"] > 0 and no_face["faces_found"] == 0 and no_face["output_shape"] == [480, 640, 3]
    memory = results["memory"]
    assert memory["peak_rss_mb"] >= memory["rss_after_model_load_mb"] > memory["rss_start_mb"] > 0
    assert memory["detector"] == "blazeface"
    shipped_conversion = (REPO_ROOT / "models" / "emotion_cnn.tflite").is_file()
    assert memory["tensorflow_imported"] is not shipped_conversion  # the live path serves LiteRT alone
    soak = results["soak"]
    assert soak["ok"] and soak["exceptions"] == 0 and soak["bad_outputs"] == 0 and soak["frames"] == 300
    training = results["training"]
    assert training["input_pipeline"]["images_per_s"] > 0
    for name in ("float32", "mixed_bfloat16"):
        assert training[name]["images_per_s"] > 0 and training[name]["epoch_s_estimate"] > 0, training[name]
    assert [row["name"] for row in results["targets"]][:1] == ["single-face p50 (as served, live path)"]
    assert all(row["pass"] in (True, False, None) for row in results["targets"])
    if results["fer"]["status"] == "ok":
        fer = results["fer"]
        assert fer["throughput"]["faces_per_s"] > 0 and fer["latency"]["p50_ms"] > 0
        assert fer["preprocessing_verified_in_fer_py"] and fer["ratios"]["throughput_tta_on"] > 0


@pytest.mark.skipif(not HAVE_DATA, reason=f"FER-2013 not found at {SHARED_DATA}")
def test_quick_run_data_sections(quick_run):
    results, _ = quick_run
    csv = results["csv"]
    assert csv["status"] == "ok" and csv["rows"] > 1000 and csv["seconds"] > 0
    pipeline = results["pipeline"]
    assert pipeline["one_face"]["faces_found"] == 1 and pipeline["one_face"]["frames_per_s"] > 0
    assert pipeline["three_faces"]["faces_found"] == 3 and pipeline["three_faces"]["frames_per_s"] > 0
    assert results["memory"]["faces_found"] == 1
    video = results["video"]["one_face_every_1"]
    assert video["speed_x_real_time"] > 0 and video["people"] == 1 and video["faces_per_analysed_frame"] == 1
    assert video["peak_rss_mb"] > 0
    if results["fer"]["status"] == "ok":  # fer's model on the same clip, behind the same detector
        fer_video = results["video"]["fer_one_face_every_1"]
        assert fer_video["speed_x_real_time"] > 0 and fer_video["faces_per_analysed_frame"] == 1
    assert 0 <= results["throughput"]["tta_on"]["accuracy"] <= 1
    batch = results["batch"]  # the same eight clips in this process and on a local Ray
    assert batch["same_rows"] and batch["in_process"]["faces"] > 0 and batch["ray_local"]["startup_s"] > 0
    assert batch["in_process"]["not_done"] == batch["ray_local"]["not_done"] == []
    assert min(batch["ray_local"]["worker_peak_rss_mb"]) > 0 and batch["ray_local"]["tensorflow_on_workers"] is False


@pytest.fixture(scope="module")
def analyzer():
    from core.analysis.live import LiveAnalyzer

    model = load_model_under_test(None, explicit=False)  # the shipped model, else an untrained stand-in
    return LiveAnalyzer(product_classifier(model), smoothing_s=0.3)


@pytest.fixture(scope="module")
def soak_faces(request) -> list[np.ndarray]:
    """Three real faces the detector finds, or none without the data set (the soak still runs)."""
    if not SHARED_DATA.is_file():
        return []
    from bench.frames import detectable_faces
    from core.vision.detect import FaceDetector

    faces, _ = request.getfixturevalue("public_faces")
    chosen, _ = detectable_faces(faces, FaceDetector(), 3)
    return chosen


def test_short_soak_raises_nothing_and_returns_bgr_frames(analyzer, soak_faces):
    from bench.soak import run_soak, soak_frames

    kinds = [name for name, _ in soak_frames(soak_faces)]
    assert {"bgr_1x1", "bgr_17x923", "gray_1x1", "bgra_noise_200x300", "noise_640x480"} <= set(kinds)
    report = run_soak(analyzer, 300, soak_faces)
    assert report["exceptions"] == 0, report["exception_samples"]
    assert report["bad_outputs"] == 0, report["bad_output_samples"]
    assert report["growth_mb"] < report["max_growth_mb"]
    if soak_faces:
        assert report["faces_found"] > 0
    for name, frame in soak_frames(soak_faces)[:12]:
        annotated, _ = analyzer.annotate(frame)
        assert annotated.dtype == np.uint8 and annotated.shape == (*frame.shape[:2], 3), name


def test_macs_of_the_default_architecture():
    from bench.flops import count_macs
    from core.model.architecture import build_model

    expected = 0
    size, channels = 48, 1
    for filters in (32, 64, 128, 256):
        expected += size * size * 9 * channels * filters + size * size * 9 * filters * filters
        size, channels = size // 2, filters
    expected += size * size * channels * 256 + 256 * 7
    assert count_macs(build_model())["macs"] == expected


def test_table_survives_missing_and_failed_sections():
    from bench.report import evaluate_targets, format_table

    results = {"meta": {"quick": True}, "csv": {"status": "skipped", "reason": "no data"}}
    results["throughput"] = {"status": "error", "error": "RuntimeError: boom"}
    results["targets"] = evaluate_targets(results)
    table = format_table(results)
    assert "ERROR in throughput" in table and "no data" in table
    assert all(row["pass"] is None for row in results["targets"])


def test_cli_section_selection():
    from bench.__main__ import parse_args

    assert parse_args(["--soak"]).sections == {"soak"}
    assert parse_args(["--only", "csv,latency"]).sections == {"csv", "latency"}
    assert "training" not in parse_args(["--skip", "training"]).sections
    with pytest.raises(SystemExit):
        parse_args(["--only", "nonsense"])
