"""The tests find FER-2013 as a user gives it (FER2013_PATH first), and say how many tests skipped without it."""

from __future__ import annotations

from types import SimpleNamespace

from tests.fer_data import DATA_SKIP, data_skip_summary, find_fer_csv


def test_fer2013_path_comes_first_as_a_file_or_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    data = tmp_path / "downloads" / "fer2013.csv"
    data.parent.mkdir()
    data.write_text("emotion,pixels,Usage\n")
    monkeypatch.setenv("FER2013_PATH", str(data))
    assert find_fer_csv() == data
    monkeypatch.setenv("FER2013_PATH", str(data.parent))
    assert find_fer_csv() == data


def test_the_readme_data_folder_is_looked_at_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("FER2013_PATH", raising=False)
    data = tmp_path / "fer-data" / "fer2013.csv.gz"
    data.parent.mkdir()
    data.write_bytes(b"")
    assert find_fer_csv() == data


def test_a_missing_fer2013_path_is_the_path_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FER2013_PATH", str(tmp_path / "nowhere.csv"))
    found = find_fer_csv()
    assert found == tmp_path / "nowhere.csv" or found.is_file()  # the shared copy beside the checkout, if any


def skipped(reason: str) -> SimpleNamespace:
    return SimpleNamespace(longrepr=("tests/x.py", 3, f"Skipped: {reason}"))


def test_the_summary_counts_the_tests_skipped_for_lack_of_data_and_says_why(tmp_path):
    reports = [skipped(f"{DATA_SKIP} (looked at x)"), skipped(f"{DATA_SKIP} (looked at x)"), skipped("no Chromium")]
    line = data_skip_summary(reports, tmp_path / "fer2013.csv.gz")
    assert line.startswith("2 tests skipped for lack of FER-2013")
    assert "FER2013_PATH" in line and str(tmp_path / "fer2013.csv.gz") in line
    assert data_skip_summary([skipped("no Chromium")]) is None
