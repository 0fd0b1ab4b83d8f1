"""Loading FER-2013 in every layout, and clear errors for every kind of bad input."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data import DataFormatError, load_dataset, require_labels, resolve_data_path
from core.labels import EMOTIONS, PRIVATE_TEST, PUBLIC_TEST, TRAINING, UNSPLIT


def _pixels(value: int = 100, count: int = 2304) -> str:
    return " ".join([str(value)] * count)


def _write(tmp_path, rows: list[dict], name: str = "data.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_full_kaggle_file_has_the_documented_splits_and_class_counts(fer_csv):
    data = load_dataset(fer_csv)
    assert data.images.shape == (32298, 48, 48) and data.images.dtype == np.uint8
    assert data.splits == [TRAINING, PUBLIC_TEST]
    assert np.bincount(data.split(TRAINING).labels).tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert np.bincount(data.split(PUBLIC_TEST).labels).tolist() == [467, 56, 496, 895, 653, 415, 607]
    assert abs(data.images.mean() - 129.4) < 0.1


def test_pixels_are_parsed_row_major(fer_frame, tmp_path):
    path = tmp_path / "few.csv"
    fer_frame.head(3).to_csv(path, index=False)
    data = load_dataset(path)
    expected = np.array(fer_frame.pixels.iloc[1].split(), dtype=np.uint8).reshape(48, 48)
    np.testing.assert_array_equal(data.images[1], expected)
    assert data.labels.tolist() == fer_frame.emotion.head(3).tolist()


def test_plain_and_gzip_csv_give_the_same_faces(fer_frame, tmp_path):
    fer_frame.head(20).to_csv(tmp_path / "a.csv", index=False)
    fer_frame.head(20).to_csv(tmp_path / "a.csv.gz", index=False)
    plain, packed = load_dataset(tmp_path / "a.csv"), load_dataset(tmp_path / "a.csv.gz")
    np.testing.assert_array_equal(plain.images, packed.images)
    np.testing.assert_array_equal(plain.labels, packed.labels)


def test_seed_layout_folder_and_single_files(tmp_path):
    _write(tmp_path, [{"emotion": 3, "pixels": _pixels(10)}, {"emotion": 4, "pixels": _pixels(20)}], "train.csv")
    _write(tmp_path, [{"emotion": 5, "pixels": _pixels(30)}], "test_with_emotions.csv")
    _write(tmp_path, [{"pixels": _pixels(30)}], "test.csv")

    folder = load_dataset(tmp_path)
    assert folder.labels.tolist() == [3, 4, 5]
    assert folder.usage.tolist() == [TRAINING, TRAINING, UNSPLIT]
    assert folder.evaluation_split().labels.tolist() == [3, 4, 5]

    unlabelled = load_dataset(tmp_path / "test.csv")
    assert unlabelled.labels.tolist() == [-1] and unlabelled.images[0, 0, 0] == 30
    assert len(unlabelled.evaluation_split()) == 0
    assert load_dataset(tmp_path / "test_with_emotions.csv").evaluation_split().labels.tolist() == [5]


def test_image_folder_layout(tmp_path):
    for split, emotion, value in [("train", "happy", 50), ("train", "Sad", 60), ("test", "angry", 70)]:
        folder = tmp_path / split / emotion
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / "0.png"), np.full((48, 48), value, np.uint8))
    cv2.imwrite(str(tmp_path / "test" / "angry" / "big.jpg"), np.full((96, 96), 200, np.uint8))
    data = load_dataset(tmp_path)
    assert sorted(zip(data.usage.tolist(), data.labels.tolist(), strict=True)) == [
        (PUBLIC_TEST, EMOTIONS.index("Angry")), (PUBLIC_TEST, EMOTIONS.index("Angry")),
        (TRAINING, EMOTIONS.index("Happy")), (TRAINING, EMOTIONS.index("Sad")),
    ]
    assert data.images.shape == (4, 48, 48)


def test_evaluation_split_prefers_private_then_public(tmp_path):
    rows = [{"emotion": i, "pixels": _pixels(), "Usage": usage}
            for i, usage in enumerate([TRAINING, PUBLIC_TEST, PRIVATE_TEST, PRIVATE_TEST])]
    data = load_dataset(_write(tmp_path, rows))
    assert data.evaluation_split().labels.tolist() == [2, 3]
    assert load_dataset(_write(tmp_path, rows[:2])).evaluation_split().labels.tolist() == [1]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ({"emotion": 1, "pixels": _pixels(count=2303), "Usage": TRAINING}, "expected 2304 pixels, found 2303"),
        ({"emotion": 1, "pixels": _pixels(count=2305), "Usage": TRAINING}, "expected 2304 pixels, found 2305"),
        ({"emotion": 1, "pixels": "12.5 " + _pixels(count=2303), "Usage": TRAINING}, "pixel 1 is not an integer"),
        ({"emotion": 1, "pixels": _pixels(count=2303) + " x", "Usage": TRAINING}, "pixel 2304 is not an integer"),
        ({"emotion": 1, "pixels": _pixels(count=2303) + " \u00b2", "Usage": TRAINING}, "pixel 2304 is not an integer"),
        ({"emotion": 1, "pixels": "256 " + _pixels(count=2303), "Usage": TRAINING}, "pixel 1 is outside 0..255"),
        ({"emotion": 1, "pixels": "-1 " + _pixels(count=2303), "Usage": TRAINING}, "pixel 1 is outside 0..255"),
        ({"emotion": 1, "pixels": "\t".join(["9"] * 2304), "Usage": TRAINING}, "separated by single spaces"),
        ({"emotion": 1, "pixels": "9\t9 " + _pixels(count=2303), "Usage": TRAINING}, "found 2305"),
        ({"emotion": 7, "pixels": _pixels(), "Usage": TRAINING}, "label is not an integer in 0..6"),
        ({"emotion": "happy", "pixels": _pixels(), "Usage": TRAINING}, "label is not an integer in 0..6"),
        ({"emotion": None, "pixels": _pixels(), "Usage": TRAINING}, "label is empty"),
        ({"emotion": "", "pixels": _pixels(), "Usage": TRAINING}, "label is empty"),
        ({"emotion": 1, "pixels": "", "Usage": TRAINING}, "expected 2304 pixels, found 0"),
        ({"emotion": 1, "pixels": _pixels(), "Usage": "Validation"}, "Usage is not Training, PublicTest, PrivateTest"),
    ],
)
def test_a_bad_row_is_named_by_file_and_line(tmp_path, bad_row, message):
    good = {"emotion": 0, "pixels": _pixels(), "Usage": TRAINING}
    path = _write(tmp_path, [good, good, bad_row, good])
    with pytest.raises(DataFormatError) as raised:
        load_dataset(path)
    assert "data.csv row 4:" in str(raised.value) and message in str(raised.value)

    kept = load_dataset(path, skip_bad_rows=True)
    assert len(kept) == 3 and kept.labels.tolist() == [0, 0, 0]
    assert len(kept.skipped) == 1 and "row 4" in kept.skipped[0]


def test_several_bad_rows_are_counted_and_skipped(tmp_path):
    good = {"emotion": 2, "pixels": _pixels(7), "Usage": TRAINING}
    bad = {"emotion": 2, "pixels": _pixels(count=10), "Usage": TRAINING}
    path = _write(tmp_path, [bad, good, bad, bad])
    with pytest.raises(DataFormatError, match=r"row 2: .*and 2 more bad rows"):
        load_dataset(path)
    kept = load_dataset(path, skip_bad_rows=True)
    assert len(kept) == 1 and len(kept.skipped) == 3 and kept.images[0, 0, 0] == 7


def test_rows_with_missing_or_extra_fields_are_named(tmp_path):
    good = f"2,{_pixels(7)},{TRAINING}"
    short = tmp_path / "short.csv"
    short.write_text(f"emotion,pixels,Usage\n{good}\n3,{_pixels(9)}\n{good}\n")
    with pytest.raises(DataFormatError, match=r"short.csv row 3: Usage is empty"):
        load_dataset(short)
    assert len(load_dataset(short, skip_bad_rows=True)) == 2
    long = tmp_path / "long.csv"
    long.write_text(f"emotion,pixels,Usage\n{good}\n{good},extra\n")
    with pytest.raises(DataFormatError, match=r"long.csv: not a readable CSV file .*line 3"):
        load_dataset(long)


def test_missing_pixels_column(tmp_path):
    path = _write(tmp_path, [{"emotion": 1, "image": "1 2 3"}])
    with pytest.raises(DataFormatError, match="missing column 'pixels'"):
        load_dataset(path)


def test_empty_file_and_header_only(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataFormatError, match="empty"):
        load_dataset(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("emotion,pixels,Usage\n")
    with pytest.raises(DataFormatError, match="no data rows"):
        load_dataset(tmp_path / "header.csv")


def test_truncated_and_corrupt_gzip(tmp_path):
    payload = gzip.compress(("emotion,pixels\n" + "\n".join(f"1,{_pixels()}" for _ in range(50))).encode())
    (tmp_path / "cut.csv.gz").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.csv\.gz: corrupt or truncated gzip"):
        load_dataset(tmp_path / "cut.csv.gz")
    (tmp_path / "fake.csv.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(DataFormatError, match=r"fake\.csv\.gz"):
        load_dataset(tmp_path / "fake.csv.gz")


def test_binary_garbage_is_not_a_csv(tmp_path):
    (tmp_path / "photo.csv").write_bytes(bytes(range(256)) * 20)
    with pytest.raises(DataFormatError, match=r"photo\.csv"):
        load_dataset(tmp_path / "photo.csv")


def test_missing_path_and_env_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("FER2013_PATH", raising=False)
    with pytest.raises(DataFormatError, match="FER2013_PATH"):
        resolve_data_path(None)
    with pytest.raises(DataFormatError, match="no such file"):
        resolve_data_path(tmp_path / "nope.csv")
    monkeypatch.setenv("FER2013_PATH", str(tmp_path))
    assert resolve_data_path(None) == tmp_path


@settings(max_examples=25, deadline=None)
@given(
    row=st.integers(min_value=0, max_value=5),
    position=st.integers(min_value=0, max_value=2303),
    token=st.sampled_from(["256", "999", "1.5", "abc", "-3", "0x1", "1e2"]),
)
def test_any_corrupted_pixel_is_reported_at_its_row(tmp_path_factory, row, position, token):
    rows = [{"emotion": 3, "pixels": _pixels(5), "Usage": TRAINING} for _ in range(6)]
    values = rows[row]["pixels"].split()
    values[position] = token
    rows[row] = {**rows[row], "pixels": " ".join(values)}
    path = _write(tmp_path_factory.mktemp("prop"), rows)
    with pytest.raises(DataFormatError, match=rf"row {row + 2}: pixel {position + 1} is"):
        load_dataset(path)


def test_cache_returns_the_same_faces_and_follows_the_file(fer_frame, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "few.csv"
    fer_frame.head(5).to_csv(path, index=False)
    first = load_dataset(path, use_cache=True)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    again = load_dataset(path, use_cache=True)
    np.testing.assert_array_equal(first.images, again.images)
    assert again.usage.tolist() == first.usage.tolist() and again.labels.tolist() == first.labels.tolist()
    fer_frame.head(3).to_csv(path, index=False)  # a changed file is parsed anew
    assert len(load_dataset(path, use_cache=True)) == 3


def test_the_cache_is_keyed_by_name_and_options_too(tmp_path, monkeypatch):
    """The same bytes as train.csv and as test_with_emotions.csv are different splits."""
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    train = _write(tmp_path, [{"emotion": 3, "pixels": _pixels()}], "train.csv")
    test = tmp_path / "other" / "test_with_emotions.csv"
    test.parent.mkdir()
    test.write_bytes(train.read_bytes())
    assert load_dataset(train, use_cache=True).usage.tolist() == [TRAINING]
    assert load_dataset(test, use_cache=True).usage.tolist() == [UNSPLIT]
    assert load_dataset(test, use_cache=True, skip_bad_rows=True).usage.tolist() == [UNSPLIT]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3


def test_cache_dir_loads_no_data_libraries():
    """core.model.lite needs only the cache folder: importing it must not load pandas or pyarrow."""
    code = "import sys, core.cache; sys.exit(bool({'pandas', 'pyarrow'} & set(sys.modules)))"
    repo = Path(__file__).resolve().parent.parent
    assert subprocess.run([sys.executable, "-c", code], cwd=repo).returncode == 0


def test_unlabelled_data_cannot_be_trained_or_evaluated(tmp_path):
    rows = [{"pixels": _pixels(), "Usage": usage} for usage in [TRAINING, PUBLIC_TEST, PRIVATE_TEST]]
    data = load_dataset(_write(tmp_path, rows, "kaggle_without_labels.csv"))
    assert len(data.evaluation_split()) == 0
    for purpose in ("train", "evaluate"):
        with pytest.raises(DataFormatError, match=rf"without_labels.csv has no emotion labels: cannot {purpose}"):
            require_labels(data, purpose)


def test_labels_are_required_in_named_splits_only(tmp_path):
    _write(tmp_path, [{"emotion": 3, "pixels": _pixels()}], "train.csv")
    _write(tmp_path, [{"pixels": _pixels()}], "test.csv")
    require_labels(load_dataset(tmp_path), "train")  # the unlabelled test.csv rows are Unsplit
    _write(tmp_path, [{"pixels": _pixels()}], "train.csv")
    _write(tmp_path, [{"emotion": 2, "pixels": _pixels()}], "test_with_emotions.csv")
    with pytest.raises(DataFormatError, match="1 Training rows have no emotion label: cannot train"):
        require_labels(load_dataset(tmp_path), "train")


def test_limits_are_parameters(tmp_path):
    path = _write(tmp_path, [{"emotion": 3, "pixels": _pixels()}] * 3)
    assert len(load_dataset(path, max_rows=3)) == 3
    with pytest.raises(DataFormatError, match=r"data.csv: more than 2 rows \(the limit\)"):
        load_dataset(path, max_rows=2)
    with pytest.raises(DataFormatError, match=r"data.csv: more than 0.015625 MiB of CSV text \(the limit\)"):
        load_dataset(path, max_bytes=2**14)


def test_image_folder_skips_what_is_not_an_image(tmp_path):
    folder = tmp_path / "train" / "happy"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "0.png"), np.full((48, 48), 50, np.uint8))
    (folder / "1.jpg").write_text("not a photo")
    data = load_dataset(tmp_path)
    expected = f"{folder / '1.jpg'}: not an image file (expected JPEG, PNG, BMP, WebP or TIFF)"
    assert len(data) == 1 and data.skipped == [expected]
    with pytest.raises(DataFormatError, match="more than 0 images"):
        load_dataset(tmp_path, max_rows=0)


_LARGEST_HUGE_PAGE_REGION = """
import re, sys
from core.data import load_dataset
load_dataset(sys.argv[1])
largest = 0
for line in open("/proc/self/smaps"):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        start, end = (int(value, 16) for value in line.split()[0].split("-"))
    elif line.startswith("VmFlags:") and " hg" in line:
        largest = max(largest, end - start)
print(largest)
"""


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc/self/smaps")
def test_parsing_leaves_no_arena_marked_for_huge_pages(tmp_path):
    """pyarrow's mimalloc arena (1 GiB, marked for huge pages) made resident memory climb long after parsing."""
    path = _write(tmp_path, [{"emotion": 3, "pixels": _pixels(), "Usage": "Training"}] * 50)
    repo = Path(__file__).resolve().parent.parent
    env = {name: value for name, value in os.environ.items() if name != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", _LARGEST_HUGE_PAGE_REGION, str(path)], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 64 * 2**20  # numpy marks its own large arrays, which are always filled


_PARSING_GROWTH = """
import sys
from core.data import load_dataset

def kib(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key))

load_dataset(sys.argv[1])  # imports and reader threads first, on a small file
before = kib("VmRSS:")
load_dataset(sys.argv[2])
print((kib("VmHWM:") - before) * 1024)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc/self/status")
def test_parsing_a_large_file_needs_little_more_memory_than_its_text(tmp_path):
    """Parsing raises peak resident memory by under 2.5 times the text: 1.6 here, 6.4 before chunked pixels."""
    rng = np.random.default_rng(0)
    faces = [" ".join(map(str, rng.integers(0, 256, 2304))) for _ in range(50)]
    large = tmp_path / "large.csv"
    with open(large, "w") as handle:
        handle.write("emotion,pixels,Usage\n")
        while handle.tell() < 64 * 2**20:
            handle.writelines(f"{row % 7},{faces[row % 50]},Training\n" for row in range(500))
    small = _write(tmp_path, [{"emotion": 3, "pixels": _pixels(), "Usage": "Training"}] * 5)
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", _PARSING_GROWTH, str(small), str(large)], cwd=repo, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) / large.stat().st_size < 2.5
