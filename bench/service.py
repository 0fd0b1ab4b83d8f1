"""The HTTP API under load: ``train_cli.py serve --api-keys`` on loopback, driven by headless locust at 1, 8, 32 users.
Owns service_benchmark, in_process_rate, run_locust and load_figures.

Each user posts the same 640x480 JPEG with one face to ``/v1/faces`` back to back, with no pause, so N users keep
N requests in flight; 8 and 32 users run in alternating rounds and each count's figures pool its runs. locust runs
on the same cores as the server, as a client on the same machine would. Beside the load figures: the server's
resident memory before the first run and after the last, and the in-process pipeline's frames a second on the same
photo (decode, detect, classify in one loop, as ``predict`` runs), measured in the same run while the server is
idle. With ``batch_wait_ms`` set, 8 and 32 users run again on a server that
classifies concurrent requests' faces in shared batches, for the comparison.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from bench.common import REPO_ROOT, latency_stats, time_calls

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
USERS = (1, 8, 32)
ROUNDS = 2
"""Runs of each user count above the first, alternating: one run's requests a second wander by about 5% on two
shared cores, as much as the difference the section compares."""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


@contextmanager
def _server(folder: Path, model: str | None, batch_wait_ms: float):
    """``serve --api-keys`` on a free port: (url, key, process) until the block ends, then SIGTERM."""
    keys = folder / "keys.txt"
    key = subprocess.run([sys.executable, "train_cli.py", "api-key", "--file", str(keys)], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    port = _free_port()
    command = [sys.executable, "train_cli.py", "serve", "--port", str(port), "--api-keys", str(keys),
               "--batch-wait-ms", str(batch_wait_ms), *(["--model", model] if model else [])]
    with open(folder / f"server-{port}.log", "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/readyz", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start: {(folder / f'server-{port}.log').read_text()[-2000:]}"
                                       ) from None
                time.sleep(0.1)
        yield url, key, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_locust(url: str, key: str, photo: Path, users: int, seconds: float, folder: Path) -> dict:
    """One headless locust run's raw figures: requests, failures, response times (ms -> count), span in seconds."""
    out = folder / f"locust-{users}"
    env = {**os.environ, "FER_BENCH_PHOTO": str(photo), "FER_BENCH_KEY": key, "FER_BENCH_FACES": "1"}
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(users), "-r", str(users),
         "-t", f"{max(1, round(seconds))}s", "--host", url, "--json-file", str(out), "--only-summary",
         "--stop-timeout", "10", "--loglevel", "ERROR"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False,
    )  # locust exits 1 when a request failed: the figures say how many
    stats = json.loads(out.with_suffix(".json").read_text())
    times: collections.Counter = collections.Counter()
    for entry in stats:
        times.update({float(ms): count for ms, count in entry["response_times"].items()})
    return {
        "requests": sum(entry["num_requests"] for entry in stats),
        "failures": sum(entry["num_failures"] for entry in stats),
        "total_ms": sum(entry["total_response_time"] for entry in stats),
        "times": times,
        "span_s": max(entry["last_request_timestamp"] for entry in stats) - min(entry["start_time"] for entry in stats),
    }


def load_figures(users: int, seconds: float, runs: list[dict]) -> dict:
    """Requests a second, p50/p95/p99 in ms and the error rate of one user count over its runs, pooled."""
    requests = sum(run["requests"] for run in runs)
    failures = sum(run["failures"] for run in runs)
    times: collections.Counter = sum((run["times"] for run in runs), collections.Counter())
    span = sum(run["span_s"] for run in runs)
    return {
        "users": users,
        "seconds": seconds,
        "runs": len(runs),
        "requests": requests,
        "failures": failures,
        "error_rate": failures / requests if requests else 1.0,
        "requests_per_s": requests / span if span > 0 else 0.0,
        "requests_per_s_each_run": [run["requests"] / run["span_s"] if run["span_s"] > 0 else 0.0 for run in runs],
        **{f"p{round(share * 100)}_ms": _percentile(times, share) for share in (0.5, 0.95, 0.99)},
        "mean_ms": sum(run["total_ms"] for run in runs) / requests if requests else None,
    }


def _percentile(times: collections.Counter, share: float) -> float | None:
    """The response time (locust's rounded buckets, ms) at or below which ``share`` of the requests fall."""
    total, seen = sum(times.values()), 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= share * total:
            return ms
    return None


def in_process_rate(photo: bytes, model: str | None, seconds: float) -> dict:
    """Frames a second of the photo path in this process, one frame after another: decode, detect, classify."""
    from core.model.classifier import EmotionClassifier
    from core.vision.faces import make_detector
    from core.vision.image import DISPLAY_MAX_SIDE, decode_image

    classifier, detector = EmotionClassifier.load(model), make_detector("blazeface")

    def one() -> int:
        return len(classifier.analyze_frame(decode_image(photo, max_side=DISPLAY_MAX_SIDE), detector))

    found = one()
    started, calls = time.perf_counter(), 0
    while time.perf_counter() - started < min(seconds, 2.0):
        one()
        calls += 1
    repeats = max(10, round(seconds * calls / min(seconds, 2.0)))
    stats = latency_stats(time_calls(one, repeats))
    return {"faces_found": found, "frames_per_s": stats["per_s"], "p50_ms": stats["p50_ms"],
            "p95_ms": stats["p95_ms"], "n": stats["n"]}


def _drive(url: str, key: str, photo: Path, users: tuple[int, ...], seconds: float, rounds: int, folder: Path,
           log) -> dict[int, dict]:
    """Each user count's pooled figures: the first count once, the others in ``rounds`` alternating rounds, so a
    drift of the machine during the section weighs on every count alike."""
    runs: dict[int, list[dict]] = {count: [] for count in users}
    order = [users[0], *(count for _ in range(rounds) for count in users[1:])]
    for count in order:
        log(f"  {count} users, {seconds:g} s")
        runs[count].append(run_locust(url, key, photo, count, seconds, folder))
    return {count: load_figures(count, seconds, found) for count, found in runs.items()}


def service_benchmark(photo: bytes, model: str | None, seconds: float, users: tuple[int, ...] = USERS,
                      batch_wait_ms: float | None = None, rounds: int = ROUNDS, log=print) -> dict:
    """The section's report: one server for every user count, memory around them, and the in-process rate."""
    report: dict = {"photo": "640x480 JPEG, one PublicTest face", "seconds_per_run": seconds, "rounds": rounds,
                    "client": "locust FastHttpUser, no wait between requests, on the same machine"}
    with tempfile.TemporaryDirectory(prefix="bench-service-") as name:
        folder = Path(name)
        photo_path = folder / "photo.jpg"
        photo_path.write_bytes(photo)
        with _server(folder, model, 0.0) as (url, key, process):
            for _ in range(20):  # warm: the threads' detectors are built on their first photo
                request = urllib.request.Request(f"{url}/v1/faces", data=photo,
                                                 headers={"Authorization": f"Bearer {key}"})
                urllib.request.urlopen(request, timeout=60).read()
            report["rss_before_mb"] = _rss_mb(process.pid)
            for count, figures in _drive(url, key, photo_path, users, seconds, rounds, folder, log).items():
                report[f"users_{count}"] = figures
            report["rss_after_mb"] = _rss_mb(process.pid)
        if batch_wait_ms:
            with _server(folder, model, batch_wait_ms) as (url, key, _):
                log(f"  shared batches ({batch_wait_ms:g} ms)")
                for count, figures in _drive(url, key, photo_path, users[1:], seconds, 1, folder, log).items():
                    report[f"batched_users_{count}"] = figures
            report["batch_wait_ms"] = batch_wait_ms
    before, after = report.get("rss_before_mb"), report.get("rss_after_mb")
    report["rss_growth_mb"] = None if before is None or after is None else after - before
    log("  in-process pipeline")
    report["in_process"] = in_process_rate(photo, model, min(seconds, 10.0))
    top, middle = report.get(f"users_{users[-1]}"), report.get("users_8")
    rate = report["in_process"]["frames_per_s"]
    if top:
        report["throughput_vs_in_process"] = top["requests_per_s"] / rate if rate else None
    if top and middle:
        report["throughput_top_over_8_users"] = top["requests_per_s"] / middle["requests_per_s"]
    return report
