"""Targets (pass/fail) and the printed table."""

from __future__ import annotations


def _get(results: dict, *keys):
    node = results
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


TARGETS = (
    # name, path to the value, comparison, target
    ("single-face p50 (flip TTA, live path)", ("latency", "tta_on", "p50_ms"), "<=", 3.0, "ms"),
    ("640x480 one-face pipeline", ("pipeline", "one_face", "frames_per_s"), ">=", 30.0, "frames/s"),
    ("batch throughput, flip TTA", ("throughput", "tta_on", "faces_per_s"), ">=", 1000.0, "faces/s"),
    ("batch throughput, no TTA", ("throughput", "tta_off", "faces_per_s"), ">=", 1000.0, "faces/s"),
    ("full CSV parse", ("csv", "seconds"), "<=", 5.0, "s"),
)


def evaluate_targets(results: dict) -> list[dict]:
    rows = []
    for name, path, op, target, unit in TARGETS:
        value = _get(results, *path)
        passed = None if value is None else (value <= target if op == "<=" else value >= target)
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


def _verdict(passed) -> str:
    return "-" if passed is None else ("PASS" if passed else "FAIL")


def build_rows(results: dict) -> list[tuple[str, ...]]:
    """(metric, ours, fer, ours/fer, target, ok) rows; section headers have one cell."""
    targets = {row["name"]: row for row in evaluate_targets(results)}
    g = lambda *keys: _get(results, *keys)  # noqa: E731
    fer_ok = g("fer", "status") == "ok"
    fer_note = g("fer", "reason") or g("fer", "error") or ""
    rows: list[tuple[str, ...]] = []

    def target_row(metric, name, fer_value=None, ratio=None):
        row = targets[name]
        rows.append((metric, _fmt(row["value"]), _fmt(fer_value), _fmt(ratio, 2), row["target"], _verdict(row["pass"])))

    rows.append(("Classification (batches of 256 faces)",))
    fer_rate = g("fer", "throughput", "faces_per_s")
    target_row(
        "throughput, flip TTA (faces/s)",
        "batch throughput, flip TTA",
        fer_rate,
        g("fer", "ratios", "throughput_tta_on"),
    )
    target_row(
        "throughput, no TTA (faces/s)", "batch throughput, no TTA", fer_rate, g("fer", "ratios", "throughput_tta_off")
    )
    if g("throughput", "tta_on", "accuracy") is not None:
        rows.append(
            (
                "accuracy on those faces, flip TTA",
                _fmt(g("throughput", "tta_on", "accuracy"), 3),
                _fmt(g("fer", "throughput", "accuracy"), 3),
                "",
                "",
                "",
            )
        )
    rows.append(("Single face (the live path), ms",))
    target_row(
        "p50, flip TTA",
        "single-face p50 (flip TTA, live path)",
        g("fer", "latency", "p50_ms"),
        g("fer", "ratios", "latency_p50_tta_on"),
    )
    rows.append(
        ("p95, flip TTA", _fmt(g("latency", "tta_on", "p95_ms")), _fmt(g("fer", "latency", "p95_ms")), "", "", "")
    )
    rows.append(
        (
            "p50, no TTA",
            _fmt(g("latency", "tta_off", "p50_ms")),
            _fmt(g("fer", "latency", "p50_ms")),
            _fmt(g("fer", "ratios", "latency_p50_tta_off"), 2),
            "",
            "",
        )
    )
    rows.append(("p95, no TTA", _fmt(g("latency", "tta_off", "p95_ms")), "", "", "", ""))
    if fer_ok:
        rows.append(("p50, fer's own eager model(x) call", "", _fmt(g("fer", "latency_eager", "p50_ms")), "", "", ""))
    breakdown = g("latency", "breakdown_p50_ms_tta_on") or {}
    for step, value in breakdown.items():
        rows.append((f"  p50 of {step}", _fmt(value, 2), "", "", "", ""))
    if not fer_ok:
        rows.append((f"fer: {g('fer', 'status') or 'not run'}", fer_note[:70] or "-", "", "", "", ""))

    peak = g("flops", "peak")
    if peak:
        rows.append(("FLOPs (counted conv + dense MACs x 2)",))
        for name, label in (("tta_on", "flip TTA"), ("tta_off", "no TTA")):
            report = g("flops", f"ours_{name}") or {}
            fer_report = g("flops", "fer") or {}
            rows.append(
                (
                    f"MFLOP per face, {label}",
                    _fmt(report.get("flops_per_face", 0) / 1e6),
                    _fmt(fer_report.get("flops_per_face", 0) / 1e6) if fer_report else "-",
                    "",
                    "",
                    "",
                )
            )
            rows.append(
                (
                    f"  achieved GFLOP/s at batch rate, {label}",
                    _fmt((report.get("achieved_flops") or 0) / 1e9),
                    _fmt((fer_report.get("achieved_flops") or 0) / 1e9) if fer_report else "-",
                    "",
                    "",
                    "",
                )
            )
            rows.append(
                (
                    f"  % of peak ({peak['peak_flops'] / 1e9:.0f} GFLOP/s), {label}",
                    _fmt(100 * (report.get("fraction_of_peak") or 0)),
                    _fmt(100 * (fer_report.get("fraction_of_peak") or 0), 2) if fer_report else "-",
                    "",
                    "",
                    "",
                )
            )
            rows.append(
                (
                    f"  faces/s if at peak, {label}",
                    _fmt(report.get("roofline_faces_per_s")),
                    _fmt(fer_report.get("roofline_faces_per_s")) if fer_report else "-",
                    "",
                    "",
                    "",
                )
            )

    rows.append(("Frame pipeline: 640x480 BGR through LiveAnalyzer.annotate",))
    for name, label in (("one_face", "one face"), ("no_face", "no face"), ("three_faces", "three faces")):
        report = g("pipeline", name)
        if not report:
            continue
        found = f"found {report['faces_found']}/{report['faces_placed']}"
        if name == "one_face":
            target_row(f"{label} (frames/s), {found}", "640x480 one-face pipeline")
        else:
            rows.append((f"{label} (frames/s), {found}", _fmt(report["frames_per_s"]), "", "", "", ""))
        timing = f"{_fmt(report['p95_ms'])} / {_fmt(report['detect_and_crop_p50_ms'])}"
        rows.append(("  p95 ms / detect+crop p50 ms", timing, "", "", "", ""))

    rows.append(("Data",))
    if g("csv", "status") == "ok":
        target_row(f"parse {g('csv', 'rows'):,} rows (s)", "full CSV parse")
        for step, value in (g("csv", "breakdown") or {}).items():
            rows.append((f"  {step}", _fmt(value, 2), "", "", "", ""))
    else:
        rows.append(("CSV parse", g("csv", "reason") or g("csv", "error") or "not run", "", "", "", ""))

    rows.append(("Training (real pipeline, batch 64)",))
    training = g("training") or {}
    if training.get("input_pipeline"):
        rate = _fmt(training["input_pipeline"]["images_per_s"])
        rows.append(("input pipeline alone (images/s)", rate, "", "", "", ""))
    for name, report in training.items():
        if isinstance(report, dict) and "images_per_s" in report and name != "input_pipeline":
            rows.append(
                (
                    f"{name} (images/s); epoch est. s",
                    f"{_fmt(report['images_per_s'])}; {_fmt(report['epoch_s_estimate'], 0)}",
                    "",
                    "",
                    "",
                    "",
                )
            )
        elif isinstance(report, dict) and report.get("status") == "error":
            rows.append((f"{name}", report["error"][:60], "", "", "", ""))

    rows.append(("Memory and soak",))
    if g("memory", "status") == "ok":
        peak_rss = _fmt(g("memory", "peak_rss_mb"), 0)
        rows.append(("live path peak RSS (MB, child VmHWM)", peak_rss, "", "", "", ""))
        rows.append(
            (
                "  RSS after TF import / model load (MB)",
                f"{_fmt(g('memory', 'rss_after_tf_import_mb'), 0)} / {_fmt(g('memory', 'rss_after_model_load_mb'), 0)}",
                "",
                "",
                "",
                "",
            )
        )
    if g("soak", "status") == "ok":
        soak = g("soak")
        clean = soak["exceptions"] == 0 and soak["bad_outputs"] == 0
        rows.append(
            (
                f"soak {soak['frames']:,} frames: exceptions, bad outputs",
                f"{soak['exceptions']}, {soak['bad_outputs']}",
                "",
                "",
                "0, 0",
                _verdict(clean),
            )
        )
        rows.append(
            (
                f"  RSS growth frame {soak['rss_checkpoint_frame']:,} -> end (MB)",
                _fmt(soak["growth_mb"]),
                "",
                "",
                f"< {soak['max_growth_mb']:g} MB",
                _verdict(soak["growth_mb"] < soak["max_growth_mb"]),
            )
        )
    for name in ("data", "model", "throughput", "latency", "fer", "flops", "pipeline", "memory", "soak", "training"):
        if g(name, "status") == "error":
            rows.append((f"ERROR in {name}", g(name, "error")[:70], "", "", "", ""))
    return rows


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
