"""core.data_roots: which folders are allowed, and how typed paths resolve inside them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.data_roots import PathNotAllowed, allowed_roots, resolve_user_path


@pytest.fixture
def roots(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A FER2013_PATH file in ``data/`` and an extra root ``more/``; HOME is an empty folder."""
    data, more = tmp_path / "data", tmp_path / "more"
    data.mkdir()
    more.mkdir()
    (data / "fer2013.csv").write_text("emotion,pixels\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FER2013_PATH", str(data / "fer2013.csv"))
    monkeypatch.setenv("FER_DATA_ROOTS", os.pathsep.join([str(more), "", str(data)]))
    return data, more


def test_roots_are_the_data_file_folder_the_extra_roots_and_the_default(roots, tmp_path):
    data, more = roots
    assert allowed_roots() == [data, more, tmp_path / "home" / "fer-data"]


def test_a_folder_in_fer2013_path_is_itself_a_root(roots, monkeypatch, tmp_path):
    data, _ = roots
    monkeypatch.setenv("FER2013_PATH", str(data))
    monkeypatch.delenv("FER_DATA_ROOTS")
    assert allowed_roots() == [data, tmp_path / "home" / "fer-data"]


def test_the_file_system_root_is_never_a_root(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FER2013_PATH", "/fer2013.csv")
    monkeypatch.setenv("FER_DATA_ROOTS", "/")
    assert allowed_roots() == [tmp_path / "fer-data"]


def test_paths_inside_the_roots_resolve(roots, tmp_path):
    data, more = roots
    assert resolve_user_path(f"  {data / 'fer2013.csv'}\n") == data / "fer2013.csv"
    assert resolve_user_path("fer2013.csv") == data / "fer2013.csv"  # relative to the first root
    assert resolve_user_path(str(more / "new" / ".." / "x.csv")) == more / "x.csv"  # need not exist
    assert resolve_user_path("~/fer-data/a.csv") == tmp_path / "home" / "fer-data" / "a.csv"
    (more / "link.csv").symlink_to(data / "fer2013.csv")
    assert resolve_user_path(str(more / "link.csv")) == data / "fer2013.csv"


def test_empty_text_is_refused(roots):
    with pytest.raises(PathNotAllowed, match=r"^No path given: type the path"):
        resolve_user_path("   ")


def test_the_refusal_says_what_to_do_without_naming_a_server_folder(roots, tmp_path):
    with pytest.raises(PathNotAllowed) as raised:
        resolve_user_path("/etc/passwd")
    message = str(raised.value)
    assert message[0].isupper() and message.endswith(".")
    assert "Move the file into ~/fer-data" in message and "FER_DATA_ROOTS" in message and "FER2013_PATH" in message
    assert str(tmp_path) not in message
