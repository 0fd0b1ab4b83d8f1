"""Targets (pass/fail) and the printed table."""

from __future__ import annotations

SERVED = "served"
"""In a path into the results: ``tta_on`` or ``tta_off``, whichever the model is served with."""


def served_key(flip_tta: bool) -> str:
    return "tta_on" if flip_tta else "tta_off"


def _get(results: dict, *keys):
    node = results
    for key in keys:
        if key == SERVED:
            key = served_key(_get(results, "model", "flip_tta") is not False)
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


TARGETS = (
    # name, path to the value, comparison, target
    ("single-face p50 (as served, live path)", ("latency", SERVED, "p50_ms"), "<=", 3.0, "ms"),
    ("640x480 one-face pipeline", ("pipeline", "one_face", "frames_per_s"), ">=", 30.0, "frames/s"),
    ("batch throughput as served", ("throughput", SERVED, "faces_per_s"), ">=", 500.0, "faces/s"),
    ("full CSV parse", ("csv", "seconds"), "<=", 5.0, "s"),
    ("video file, one face, every frame (full runs: the 10-minute clip)", ("video", "long_clip", "speed_x_real_time"),
     ">=", 3.0, "video-s per wall-s"),
    ("long video clip, RSS growth after its first minute (full runs)",
     ("video", "long_clip", "rss_growth_first_minute_to_end_mb"), "<", 50.0, "MB"),
    ("BlazeFace recall, worst roll 0-45", ("detection", "targets", "recall_worst_roll"), ">=", 0.95, ""),
    ("accuracy drop, upright to 30 degrees", ("detection", "targets", "accuracy_drop_30_points"), "<=", 2.0, "points"),
    ("BlazeFace pipeline, one face", ("detection", "pipeline", "one_face", "frames_per_s"), ">=", 60.0, "frames/s"),
    ("live path peak resident memory", ("memory", "peak_rss_mb"), "<=", 300.0, "MB"),
    ("streamlit run to the Home page's title", ("startup", "seconds_median"), "<=", 4.0, "s"),
    ("live page in Chromium, 30 frames/s camera, one face", ("live_page", "frames_per_s_median"), ">=", 28.5,
     "frames/s"),
    ("BlazeFace pipeline, three faces", ("detection", "pipeline", "three_faces", "frames_per_s"), ">=", 30.0,
     "frames/s"),
    ("batch of eight clips, local Ray over in process", ("batch", "ray_vs_in_process"), ">=", 0.85, "x"),
    ("API p99 at 8 users", ("service", "users_8", "p99_ms"), "<=", 150.0, "ms"),
    ("API p99 at 32 users", ("service", "users_32", "p99_ms"), "<=", 1000.0, "ms"),
    ("API error rate at 32 users", ("service", "users_32", "error_rate"), "<=", 0.0, ""),
    ("API requests/s at 32 users over 8 users", ("service", "throughput_top_over_8_users"), ">=", 1.0, "x"),
    ("API requests/s at 32 users over in-process frames/s", ("service", "throughput_vs_in_process"), ">=", 0.5, "x"),
    ("API server RSS growth over the load runs", ("service", "rss_growth_mb"), "<", 50.0, "MB"),
)
COMPARE = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b}


def evaluate_targets(results: dict) -> list[dict]:
    rows = []
    for name, path, op, target, unit in TARGETS:
        value = _get(results, *path)
        passed = None if value is None else COMPARE[op](value, target)
        rows.append({"name": name, "value": value, "target": f"{op} {target:g} {unit}", "pass": passed})
    return rows


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _scaled(report: dict, key: str, scale: float, digits: int) -> str:
    value = report.get(key)
    return "-" if value is None else _fmt(value * scale, digits)


def _verdict(passed) -> str:
    return "-" if passed is None else ("PASS" if passed else "FAIL")


def build_rows(results: dict) -> list[tuple[str, ...]]:
    """(metric, ours, fer, ours/fer, target, ok) rows; section headers have one cell."""
    targets = {row["name"]: row for row in evaluate_targets(results)}
    g = lambda *keys: _get(results, *keys)  # noqa: E731
    rows: list[tuple[str, ...]] = []

    def add(metric, ours="", fer="", ratio="", target="", ok=""):
        rows.append((metric, ours, fer, ratio, target, ok))

    def target_row(metric, name, fer_value=None, ratio=None):
        row = targets[name]
        add(metric, _fmt(row["value"]), _fmt(fer_value), _fmt(ratio, 2), row["target"], _verdict(row["pass"]))

    rows.append(("Classification (batches of 256 faces; the LiteRT model unless it says Keras)",))
    fer_rate = g("fer", "throughput", "faces_per_s")
    flip = g("model", "flip_tta") is not False
    served = "flip TTA" if flip else "no TTA"
    add(f"served with {served}")
    target_row(
        "throughput as served (faces/s)",
        "batch throughput as served",
        fer_rate,
        g("fer", "ratios", f"throughput_{served_key(flip)}"),
    )
    add("throughput, flip TTA (faces/s)", _fmt(g("throughput", "tta_on", "faces_per_s")))
    add("throughput, no TTA (faces/s)", _fmt(g("throughput", "tta_off", "faces_per_s")), _fmt(fer_rate),
        _fmt(g("fer", "ratios", "throughput_tta_off"), 2))
    add("  float32 Keras model, flip TTA (faces/s)", _fmt(g("throughput", "keras_tta_on", "faces_per_s")))
    cores = g("flops", "peak", "cores") or 1
    for name, label in (("tta_on", "flip TTA"), ("tta_off", "no TTA")):
        per_cpu = g("throughput", name, "faces_per_cpu_s")
        if per_cpu:
            fer_per_cpu = g("fer", "throughput", "faces_per_cpu_s")
            add(
                f"  faces per CPU-s x {cores} cores, {label}",
                _fmt(per_cpu * cores),
                _fmt(fer_per_cpu and fer_per_cpu * cores),
            )
    if g("throughput", "tta_on", "accuracy") is not None:
        add(
            "accuracy on those faces, flip TTA",
            _fmt(g("throughput", "tta_on", "accuracy"), 3),
            _fmt(g("fer", "throughput", "accuracy"), 3),
        )
        add("  float32 Keras model, flip TTA", _fmt(g("throughput", "keras_tta_on", "accuracy"), 3))

    rows.append(("Single face (the live path), ms",))
    target_row(
        "p50 as served",
        "single-face p50 (as served, live path)",
        g("fer", "latency", "p50_ms"),
        g("fer", "ratios", f"latency_p50_{served_key(flip)}"),
    )
    add("p50, flip TTA", _fmt(g("latency", "tta_on", "p50_ms")))
    add("p95, flip TTA", _fmt(g("latency", "tta_on", "p95_ms")), _fmt(g("fer", "latency", "p95_ms")))
    add(
        "p50, no TTA",
        _fmt(g("latency", "tta_off", "p50_ms")),
        _fmt(g("fer", "latency", "p50_ms")),
        _fmt(g("fer", "ratios", "latency_p50_tta_off"), 2),
    )
    add("p95, no TTA", _fmt(g("latency", "tta_off", "p95_ms")))
    add("p50, float32 Keras model, flip TTA", _fmt(g("latency", "keras_tta_on", "p50_ms")))
    if g("fer", "status") == "ok":
        add("p50, fer's own eager model(x) call", "", _fmt(g("fer", "latency_eager", "p50_ms")))
    else:
        add(f"fer: {g('fer', 'status') or 'not run'}", (g("fer", "reason") or g("fer", "error") or "-")[:70])
    for step, value in (g("latency", "breakdown_p50_ms_tta_on") or {}).items():
        add(f"  p50 of {step}, flip TTA", _fmt(value, 2))

    peak = g("flops", "peak")
    if peak:
        rows.append(("FLOPs (counted conv + dense MACs x 2)",))
        fer_flops = g("flops", "fer") or {}
        for name, label in (("tta_on", "flip TTA"), ("tta_off", "no TTA")):
            ours = g("flops", f"ours_{name}") or {}
            for key, metric, scale, digits in (
                ("flops_per_face", f"MFLOP per face, {label}", 1e-6, 1),
                ("achieved_flops", f"  GFLOP/s achieved at the batch rate, {label}", 1e-9, 1),
                ("fraction_of_peak", f"  % of machine fp32 peak ({peak['peak_flops'] / 1e9:.0f} GFLOP/s; "
                 f"not for int8), {label}", 100, 1),
                ("fraction_of_core_peak", f"  % of one core's peak, per CPU-second, {label}", 100, 1),
                ("roofline_faces_per_s", f"  faces/s at machine peak (ceiling), {label}", 1, 1),
            ):
                add(metric, _scaled(ours, key, scale, digits), _scaled(fer_flops, key, scale, digits))

    rows.append((f"Frame pipeline: 640x480 BGR through LiveAnalyzer.annotate ({served})",))
    for name, label in (("one_face", "one face"), ("no_face", "no face"), ("three_faces", "three faces")):
        report = g("pipeline", name)
        if not report:
            continue
        metric = f"{label} (frames/s), found {report['faces_found']}/{report['faces_placed']}"
        if name == "one_face":
            target_row(metric, "640x480 one-face pipeline")
        else:
            add(metric, _fmt(report["frames_per_s"]))
        add("  p95 ms / detect+crop p50 ms", f"{_fmt(report['p95_ms'])} / {_fmt(report['detect_and_crop_p50_ms'])}")
    if g("pipeline", "status") not in (None, "ok"):
        add("frame pipeline", (g("pipeline", "reason") or g("pipeline", "error") or "")[:70])

    rows.append(("Video files: analyze_recording on 640x480 30 fps H.264 clips (decode to annotated.mp4)",))
    for name in ("one_face_every_1", "one_face_every_3", "three_faces_every_1", "three_faces_every_3"):
        report = g("video", name)
        if not report:
            continue
        metric = f"{name.replace('_', ' ')} (video-s per wall-s)"
        fer_speed = g("video", "fer_one_face_every_1", "speed_x_real_time") if name == "one_face_every_1" else None
        ratio = report["speed_x_real_time"] / fer_speed if fer_speed else None
        add(metric, _fmt(report["speed_x_real_time"]), _fmt(fer_speed), _fmt(ratio, 2))
        add("  frames/s; CPU ms per frame; peak RSS of the bench process (MB)",
            f"{_fmt(report['frames_per_s'])}; {_fmt(report['cpu_ms_per_frame'])}; {_fmt(report.get('peak_rss_mb'), 0)}")
    if g("video", "long_clip"):
        minutes = f"{g('video', 'long_clip', 'minutes'):g}-minute"
        target_row(f"{minutes} clip, one face, every frame (video-s per wall-s)",
                   "video file, one face, every frame (full runs: the 10-minute clip)")
        add("  frames/s; CPU ms per frame",
            f"{_fmt(g('video', 'long_clip', 'frames_per_s'))}; {_fmt(g('video', 'long_clip', 'cpu_ms_per_frame'))}")
        target_row(f"{minutes} clip: RSS growth after minute 1 (MB)",
                   "long video clip, RSS growth after its first minute (full runs)")
    if g("video", "status") not in (None, "ok"):
        add("video files", (g("video", "reason") or g("video", "error") or "")[:70])
    rows.append(("Batch: eight clips through `analyze DIR`, in this process and on a local Ray (`--ray`)",))
    if g("batch", "status") == "ok":
        here, ray = g("batch", "in_process"), g("batch", "ray_local")
        add("in process, one file after another (video-s per wall-s)", _fmt(here["video_s_per_wall_s"]))
        add("local Ray, its start-up included (video-s per wall-s)", _fmt(ray["video_s_per_wall_s"]))
        target_row("  Ray over in process", "batch of eight clips, local Ray over in process")
        add("  Ray start-up to workers ready (s); workers; peak RSS per worker (MB)",
            f"{_fmt(ray['startup_s'])}; {ray['workers']}; {_fmt(max(ray['worker_peak_rss_mb']), 0)}")
        add("  same rows both ways", "yes" if g("batch", "same_rows") else "NO")
    elif g("batch", "status") is not None:
        add("batch", (g("batch", "reason") or g("batch", "error") or "")[:70])
    rows.append(("Detection: PublicTest faces pasted into 640x480 frames and rolled 0-45 degrees",))
    if g("detection", "status") == "ok":
        target_row("BlazeFace recall, worst roll", "BlazeFace recall, worst roll 0-45")
        haar = min(recalls["haar"] for recalls in g("detection", "detection", "by_roll").values())
        add("  Haar recall, worst roll", _fmt(haar, 2))
        upright, rolled = g("detection", "targets", "accuracy_upright"), g("detection", "targets", "accuracy_30")
        add("classifier accuracy upright / 30 degrees (BlazeFace crops)", f"{_fmt(upright, 3)} / {_fmt(rolled, 3)}")
        target_row("  drop from upright to 30 degrees (points)", "accuracy drop, upright to 30 degrees")
        target_row("BlazeFace + align + track + classify, one face (frames/s)", "BlazeFace pipeline, one face")
        target_row("  three faces (frames/s)", "BlazeFace pipeline, three faces")
    else:
        add("detection", (g("detection", "reason") or g("detection", "error") or "not run")[:70])

    _service_rows(results, rows, add, target_row)

    rows.append(("Data",))
    if g("csv", "status") == "ok":
        target_row(f"parse {g('csv', 'rows'):,} rows with load_dataset (s)", "full CSV parse")
        for step, value in (g("csv", "breakdown") or {}).items():
            add(f"  {step} (s)", _fmt(value, 2))
        if g("csv", "memory"):
            memory = g("csv", "memory")
            add("  peak resident memory, MB (growth / text)",
                f"{_fmt(memory['peak_rss_mb'], 0)} ({_fmt(memory['growth_per_text'], 2)})")
    else:
        add("CSV parse", (g("csv", "reason") or g("csv", "error") or "not run")[:70])

    rows.append(("Training (real pipeline; batch 64 unless named)",))
    training = g("training") or {}
    if training.get("input_pipeline"):
        add("input pipeline alone (images/s)", _fmt(training["input_pipeline"]["images_per_s"]))
    for name, report in training.items():
        if name == "input_pipeline" or not isinstance(report, dict):
            continue
        if "images_per_s" in report:
            add(
                f"{name} (images/s; epoch of {g('training', 'epoch_images'):,} est. s)",
                f"{_fmt(report['images_per_s'])}; {_fmt(report['epoch_s_estimate'], 0)}",
            )
        elif report.get("status") == "error":
            add(name, report["error"][:70])

    rows.append(("Memory, start-up, the live page in Chromium, soak",))
    if g("memory", "status") == "ok":
        target_row("live path peak RSS (MB, child VmHWM)", "live path peak resident memory")
        add(
            "  RSS after imports / model load (MB); TensorFlow loaded",
            f"{_fmt(g('memory', 'rss_after_imports_mb'), 0)} / {_fmt(g('memory', 'rss_after_model_load_mb'), 0)}; "
            f"{'yes' if g('memory', 'tensorflow_imported') else 'no'}",
        )
    if g("startup", "status") == "ok":
        target_row("streamlit run -> Home title in Chromium (s, median)", "streamlit run to the Home page's title")
    if g("live_page", "status") == "ok":
        target_row(
            "live page in Chromium, one face (frames/s, median)", "live page in Chromium, 30 frames/s camera, one face"
        )
        add("  lowest reading (frames/s)", _fmt(g("live_page", "frames_per_s_min")))
    if g("soak", "status") == "ok":
        soak = g("soak")
        clean = soak["exceptions"] == 0 and soak["bad_outputs"] == 0
        add(
            f"soak {soak['frames']:,} frames: exceptions, bad outputs",
            f"{soak['exceptions']}, {soak['bad_outputs']}",
            "",
            "",
            "0, 0",
            _verdict(clean),
        )
        add(
            f"  RSS growth frame {soak['rss_checkpoint_frame']:,} -> end (MB)",
            _fmt(soak["growth_mb"]),
            "",
            "",
            f"< {soak['max_growth_mb']:g} MB",
            _verdict(soak["growth_mb"] < soak["max_growth_mb"]),
        )
        if soak.get("huge_pages_growth_mb") is not None:
            add("    of it in transparent huge pages (MB)", _fmt(soak["huge_pages_growth_mb"]))
    for name in ("data", "model", "throughput", "latency", "fer", "flops", "pipeline", "detection", "memory", "startup",
                 "live_page", "soak", "video", "batch", "training", "service"):
        if g(name, "status") == "error":
            add(f"ERROR in {name}", g(name, "error")[:70])
    return rows


def _service_rows(results: dict, rows: list, add, target_row) -> None:
    """The API under locust: one row per user count (and per shared-batch run), the targets, the in-process rate."""
    service = _get(results, "service") or {}
    rows.append((f"The API: train_cli.py serve under locust, one-face 640x480 JPEG, back to back "
                 f"({_fmt(service.get('seconds_per_run'), 0)} s per run)",))
    if service.get("status") != "ok":
        add("API", (service.get("reason") or service.get("error") or "not run")[:70])
        return
    for prefix, label in (("users", "users"), ("batched_users", "users, shared batches")):
        runs = [value for key, value in service.items() if key.startswith(f"{prefix}_") and isinstance(value, dict)]
        for run in sorted(runs, key=lambda run: run["users"]):
            runs_note = f" ({run['runs']} runs)" if run.get("runs", 1) > 1 else ""
            add(f"{run['users']} {label}{runs_note}: req/s; p50 / p95 / p99 ms; errors",
                f"{_fmt(run['requests_per_s'])}; {_fmt(run['p50_ms'], 0)} / {_fmt(run['p95_ms'], 0)} / "
                f"{_fmt(run['p99_ms'], 0)}; {run['failures']} of {run['requests']}")
    target_row("  p99 at 8 users (ms)", "API p99 at 8 users")
    target_row("  p99 at 32 users (ms)", "API p99 at 32 users")
    target_row("  error rate at 32 users", "API error rate at 32 users")
    target_row("  req/s at 32 users / at 8 users", "API requests/s at 32 users over 8 users")
    add("in-process photo path (frames/s, one loop)", _fmt(_get(results, "service", "in_process", "frames_per_s")))
    target_row("  req/s at 32 users / in-process frames/s", "API requests/s at 32 users over in-process frames/s")
    add("server RSS before / after the runs (MB)",
        f"{_fmt(service.get('rss_before_mb'), 0)} / {_fmt(service.get('rss_after_mb'), 0)}")
    target_row("  growth (MB)", "API server RSS growth over the load runs")


def format_table(results: dict) -> str:
    header = ("metric", "ours", "fer", "ours/fer", "target", "ok")
    rows = build_rows(results)
    full = [row for row in rows if len(row) > 1]
    widths = [max(len(str(row[i])) for row in [header, *full]) for i in range(len(header))]
    rule = "-+-".join("-" * width for width in widths)
    line = lambda row: " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()  # noqa: E731
    out = [line(header), rule]
    for row in rows:
        out.append(f"== {row[0]}" if len(row) == 1 else line(row))
    meta = results.get("meta", {})
    model = _get(results, "model", "source") or "?"
    out.append("")
    out.append(f"model: {model}")
    out.append(f"faces: {_get(results, 'data', 'faces') or '?'}")
    peak = _get(results, "flops", "peak")
    if peak:
        out.append(f"peak: {peak['assumption']} = {peak['peak_flops'] / 1e9:.0f} GFLOP/s")
        if peak.get("note"):
            out.append(f"      {peak['note']}")
    load = meta.get("load_average_at_start")
    out.append(
        f"mode: {'quick' if meta.get('quick') else 'full'}; niceness {meta.get('niceness')}; "
        f"load average at start {', '.join(f'{x:.1f}' for x in load) if load else '?'} "
        f"on {meta.get('cpu_count')} CPUs (a load above that depresses every number)"
    )
    out.append("ours/fer: throughput ratio > 1 = ours faster; latency ratio < 1 = ours faster")
    return "\n".join(out)
