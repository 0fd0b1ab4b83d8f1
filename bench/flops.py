"""Model FLOPs per face (counted from the Keras layers) and the machine's peak FLOP/s."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np


def _shape(tensor_or_shape) -> tuple:
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    return tuple(int(d) for d in shape[1:])


def count_macs(model) -> dict:
    """Multiply-accumulates per input image by layer kind (conv, depthwise, dense).

    Counts Conv2D, SeparableConv2D, DepthwiseConv2D and Dense; BatchNorm, activations,
    pooling and adds are elementwise and left out (well under 1% for these models).
    """
    import keras

    by_kind = {"conv": 0, "depthwise": 0, "pointwise": 0, "dense": 0}
    for layer in _leaf_layers(model):
        kind = "Dense" if isinstance(layer, keras.layers.Dense) else type(layer).__name__  # the output layer too
        if kind not in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Dense"):
            continue
        in_shape, out_shape = _shape(layer.input), _shape(layer.output)
        out_pixels = int(np.prod(out_shape[:-1])) if len(out_shape) > 1 else 1
        in_channels, out_channels = in_shape[-1], out_shape[-1]
        if kind == "Dense":
            by_kind["dense"] += out_pixels * in_channels * out_channels
        elif kind == "Conv2D":
            kh, kw = layer.kernel_size
            by_kind["conv"] += out_pixels * kh * kw * in_channels * out_channels // layer.groups
        else:
            kh, kw = layer.kernel_size
            multiplier = layer.depth_multiplier
            by_kind["depthwise"] += out_pixels * kh * kw * in_channels * multiplier
            if kind == "SeparableConv2D":
                by_kind["pointwise"] += out_pixels * in_channels * multiplier * out_channels
    total = sum(by_kind.values())
    return {"macs": total, "flops": 2 * total, "by_kind_macs": by_kind}


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def machine_peak() -> dict:
    """Peak fp32 FLOP/s estimated as cores x GHz x FLOPs/cycle, with the assumption spelled out."""
    info = _lscpu()
    flags = set(info.get("Flags", "").split())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    ghz, ghz_source = _clock_ghz(info)
    if "avx512f" in flags:
        per_cycle, isa = 64, "AVX-512 FMA: 2 FMA units x 16 fp32 lanes x 2 FLOPs"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, isa = 32, "AVX2 FMA: 2 FMA units x 8 fp32 lanes x 2 FLOPs"
    else:
        per_cycle, isa = 8, "SSE: 4 fp32 lanes x 2 (add + mul)"
    peak = cores * ghz * 1e9 * per_cycle
    result = {
        "cpu": info.get("Model name", "unknown"),
        "cores": cores,
        "ghz": ghz,
        "ghz_source": ghz_source,
        "flops_per_cycle_per_core": per_cycle,
        "peak_flops": peak,
        "assumption": f"{cores} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle ({isa})",
    }
    family = info.get("CPU family", "")
    if info.get("Vendor ID") == "AuthenticAMD" and family == "25" and "avx512f" in flags:
        result["note"] = (
            "AMD Zen 4 runs 512-bit FMAs on 256-bit pipes (32 FLOP/cycle/core): at this clock the "
            f"real fp32 peak is half, {peak / 2 / 1e9:.0f} GFLOP/s, though boost clocks (not visible in a VM) add to it"
        )
        result["realistic_peak_flops"] = peak / 2
    return result


def _lscpu() -> dict:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    info = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


def _clock_ghz(info: dict) -> tuple[float, str]:
    if info.get("CPU max MHz"):
        return float(info["CPU max MHz"]) / 1000, "lscpu CPU max MHz"
    match = re.search(r"@\s*([\d.]+)\s*GHz", info.get("Model name", ""))
    if match:
        return float(match.group(1)), "lscpu model name"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1000, "/proc/cpuinfo cpu MHz"
    except OSError:
        pass
    return 2.0, "guess (no clock found)"


def flop_report(model, rate: dict | None, tta: bool, peak: dict, int8: bool = False) -> dict:
    """FLOPs per face (doubled with flip TTA) and what a measured throughput achieves against the peak.

    ``rate`` is a throughput report (``faces_per_s``, ``faces_per_cpu_s``). Per CPU-second the
    achieved FLOP/s is set against one core's peak: the efficiency of the kernels, whatever
    else is running. ``int8``: the rate was measured on int8 kernels, whose ceiling is not the fp32 peak
    (VNNI does several times the fp32 work per cycle), so no fraction of that peak is given.
    """
    counted = count_macs(model)
    per_face = counted["flops"] * (2 if tta else 1)
    report = {**counted, "flops_per_face": per_face, "tta": tta, "int8": int8}
    if rate and rate.get("faces_per_s"):
        report["achieved_flops"] = rate["faces_per_s"] * per_face
    if int8:
        return report
    report["roofline_faces_per_s"] = peak["peak_flops"] / per_face
    if "achieved_flops" in report:
        report["fraction_of_peak"] = report["achieved_flops"] / peak["peak_flops"]
    if rate and rate.get("faces_per_cpu_s"):
        per_cpu = rate["faces_per_cpu_s"] * per_face
        core_peak = peak["peak_flops"] / peak["cores"]
        report.update({"achieved_flops_per_cpu_s": per_cpu, "fraction_of_core_peak": per_cpu / core_peak})
    return report
