"""The benchmark's service section, briefly: it starts serve, drives it with locust and reports sane figures.

No speed is asserted (timings on a shared machine say nothing); only that the runs complete without errors and
the report and the table hold what the section promises.
"""

from __future__ import annotations

import importlib.util

import pytest

from bench.report import format_table
from bench.service import service_benchmark


def test_the_service_section_reports_load_memory_and_the_in_process_rate(one_face_photo):
    if importlib.util.find_spec("locust") is None:  # never imported here: it patches the standard library
        pytest.skip("locust is not installed")
    report = service_benchmark(one_face_photo, None, seconds=2, users=(1, 2), log=lambda message: None)
    for users in (1, 2):
        run = report[f"users_{users}"]
        assert run["users"] == users and run["requests"] > 0 and run["failures"] == 0 and run["error_rate"] == 0
        assert 0 < run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"] and run["requests_per_s"] > 0
    assert (report["users_1"]["runs"], report["users_2"]["runs"]) == (1, 2)  # counts above one run in rounds
    assert len(report["users_2"]["requests_per_s_each_run"]) == 2
    assert report["rss_before_mb"] > 0 and report["rss_after_mb"] > 0
    assert report["in_process"]["faces_found"] == 1 and report["in_process"]["frames_per_s"] > 0
    assert report["throughput_vs_in_process"] > 0
    table = format_table({"service": {**report, "status": "ok"}})
    assert "2 users (2 runs): req/s; p50 / p95 / p99 ms; errors" in table and "in-process photo path" in table
