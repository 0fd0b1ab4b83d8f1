"""Hostile inputs at the core level: each is refused quickly, with a clear message, never a traceback.

Image decoder (core.vision.image), data loader (core.data) and typed-path confinement
(core.data_roots). The front ends (train_cli.py, the dashboard pages) must route their inputs
through these functions for the same protection.
"""

from __future__ import annotations

import gzip
import io
import os
import resource
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.data import DataFormatError, load_dataset
from core.data_roots import REFUSAL, PathNotAllowed, resolve_user_path
from core.vision.image import ImageDecodeError, decode_image

SECRET = "hunter2-secret"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _refused_cheaply(call, error: type[Exception], message: str, seconds: float = 3, megabytes: float = 200) -> None:
    """``call()`` raises ``error`` matching ``message`` within ``seconds``, raising peak memory by < ``megabytes``."""
    peak, start = _peak_mb(), time.perf_counter()
    with pytest.raises(error, match=message):
        call()
    assert time.perf_counter() - start < seconds
    assert _peak_mb() - peak < megabytes


# --------------------------------------------------------------------------- images


def _png_header_bomb(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming ``width`` x ``height`` RGB pixels, with one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 1024))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is patched to claim ``width`` x ``height``."""
    data = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _jpeg() -> bytes:
    return cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8))[1].tobytes()


def _png() -> bytes:
    return cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8))[1].tobytes()


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (4, 4)).save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_png_header_bomb(32000, 32000), r"^image too large: over 179 megapixels, the limit is 50 megapixels$"),
        (_png_header_bomb(8000, 7000), r"^image too large: 8000 x 7000 pixels, the limit is 50 megapixels$"),
        (_jpeg_claiming(65000, 65000), r"^image too large: over 179 megapixels"),
        (_jpeg_claiming(9000, 6000), r"^image too large: 9000 x 6000 pixels"),
    ],
    ids=["png-32000x32000", "png-56MP", "jpeg-65000x65000", "jpeg-54MP"],
)
def test_pixel_bombs_are_refused_from_the_header(data, message):
    assert len(data) < 2000
    _refused_cheaply(lambda: decode_image(data), ImageDecodeError, message, seconds=1, megabytes=50)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_jpeg()[: len(_jpeg()) // 2], "^truncated or corrupt image$"),
        (_jpeg()[:-2], "^truncated or corrupt image$"),
        (_png()[: len(_png()) // 2], "^truncated or corrupt image$"),
        (_png()[:-12], "^truncated or corrupt image$"),
        (_png_header_bomb(100, 100), "^truncated or corrupt image$"),  # pixel data far too short
        (b"", r"^not an image file \(the file is empty\)$"),
        (b"emotion,pixels\n3,1 2 3\n", r"^not an image file \(expected JPEG, PNG, BMP, WebP or TIFF\)$"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, r"^not an image file"),
        (b"\xff\xd8\xff", r"^not an image file"),  # a JPEG cut inside its header
        (_gif(), r"^not an image file \(expected JPEG, PNG, BMP, WebP or TIFF\)$"),
    ],
    ids=["jpeg-half", "jpeg-no-end", "png-half", "png-no-end", "png-no-pixels", "empty", "csv", "pdf",
         "jpeg-3-bytes", "gif"],
)
def test_broken_and_foreign_bytes_are_named(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_broken_exif_block_is_ignored():
    data = bytearray(_jpeg())
    app1 = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x00" * 20  # claims 65535 entries
    data[2:2] = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    assert decode_image(bytes(data)).shape == (200, 300, 3)


def test_files_that_are_not_images(tmp_path):
    with pytest.raises(ImageDecodeError, match=rf"^{tmp_path / 'nope.jpg'}: no such file$"):
        decode_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageDecodeError, match=rf"^{tmp_path}: a folder, not an image file$"):
        decode_image(tmp_path)
    with pytest.raises(ImageDecodeError, match=r"^/dev/zero: not an image file \(not a regular file\)$"):
        decode_image("/dev/zero")
    os.mkfifo(tmp_path / "pipe.png")  # opening a pipe must not wait for a writer
    with pytest.raises(ImageDecodeError, match=r"pipe.png: not an image file \(not a regular file\)$"):
        decode_image(tmp_path / "pipe.png")
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as handle:  # sparse: no disk used
        handle.truncate(300 * 2**20)
    _refused_cheaply(lambda: decode_image(huge), ImageDecodeError, r"huge.png: file too large: over 200 MB$")
    with pytest.raises(ImageDecodeError, match=r"^/proc/self/mem: "):
        decode_image("/proc/self/mem")


# --------------------------------------------------------------------------- data files


def _gzip_bomb(path: Path, header: bytes, block: bytes, repeats: int) -> Path:
    """``header`` then ``block`` ``repeats`` times, as gzip members (the block compressed once)."""
    member = gzip.compress(block, compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header))
        for _ in range(repeats):
            handle.write(member)
    return path


def test_a_gzip_bomb_of_short_rows_is_refused_by_rows(tmp_path):
    bomb = _gzip_bomb(tmp_path / "bomb.csv.gz", b"emotion,pixels\n", b"1,2\n" * 2**20, 1000)  # 4 GiB of rows
    assert bomb.stat().st_size < 5 * 2**20
    _refused_cheaply(lambda: load_dataset(bomb), DataFormatError, r"bomb.csv.gz: more than 100,000 rows \(the limit\)")


def test_a_gzip_bomb_without_line_breaks_is_refused_by_size(tmp_path):
    bomb = _gzip_bomb(tmp_path / "line.csv.gz", b"emotion,pixels\n3,", b"7 " * 2**20, 64)  # one 128 MiB line
    _refused_cheaply(
        lambda: load_dataset(bomb, max_bytes=8 * 2**20),
        DataFormatError, r"line.csv.gz: more than 8 MiB of CSV text \(the limit\)", megabytes=100,
    )


SHADOW = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (SHADOW, r"missing column 'pixels' \(the first line must be the header emotion,pixels,Usage\)"),
        (f"emotion,pixels\n{SECRET},1\n", "row 2: label is not an integer in 0..6"),
        (f"emotion,pixels\n1,{SECRET}\n", "row 2: expected 2304 pixels, found 1"),
        ("emotion,pixels\n1," + " ".join([SECRET] * 2304) + "\n", "row 2: pixel 1 is not an integer"),
        ("emotion,pixels,Usage\n1," + " ".join(["1"] * 2304) + f",{SECRET}\n", "row 2: Usage is not Training"),
        (f"emotion,pixels\n1,2\n1,2,{SECRET}\n", r"not a readable CSV file \(.*Expected 2 fields in line 3, saw 3"),
        (f"emotion,pixels\n1,\xe9{SECRET}\n".encode("latin-1"), r"not a readable CSV file \(not UTF-8 text\)"),
        (b"\xff\xfe" + SECRET.encode("utf-16-le"), r"no header line \(the file is empty or not a CSV file\)"),
    ],
    ids=["etc-shadow", "label", "pixel-count", "pixel", "usage", "extra-field", "latin-1", "utf-16"],
)
def test_data_errors_never_quote_the_file(tmp_path, content, message):
    """A typed path may name a file the user cannot read: its content must not reach the message."""
    path = tmp_path / "data.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataFormatError, match=message) as raised:
        load_dataset(path)
    text = str(raised.value).replace(str(path), "FILE")
    assert SECRET not in text and "root" not in text and "daemon" not in text


def test_gzip_errors_never_quote_the_file(tmp_path):
    (tmp_path / "fake.csv.gz").write_bytes(SECRET.encode())
    with pytest.raises(DataFormatError, match=r"fake.csv.gz: corrupt or truncated gzip data$") as raised:
        load_dataset(tmp_path / "fake.csv.gz")
    assert "hu" not in str(raised.value).replace(str(tmp_path / "fake.csv.gz"), "FILE")


# --------------------------------------------------------------------------- typed paths


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "root" / "data"
    root.mkdir(parents=True)
    (root / "fer2013.csv").write_text("emotion,pixels\n")
    (tmp_path / "root" / "secret.csv").write_text(SECRET)
    (root / "escape.csv").symlink_to(tmp_path / "root" / "secret.csv")
    (root / "etc").symlink_to("/etc")
    monkeypatch.setenv("FER2013_PATH", str(root / "fer2013.csv"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FER_DATA_ROOTS", raising=False)
    return root


@pytest.mark.parametrize(
    "text",
    ["/etc/shadow", "/etc/does-not-exist", "/proc/self/mem", "/proc/self/environ", "../secret.csv",
     "../../../../../../etc/passwd", "fer2013.csv/../../secret.csv", "escape.csv", "etc/passwd",
     "~root/.bashrc", "~no-such-user-here/x", "fer\x00.csv", "/"],
)
def test_paths_outside_the_data_folders_are_refused_alike(data_root, tmp_path, text):
    with pytest.raises(PathNotAllowed) as raised:
        resolve_user_path(text)
    message = str(raised.value)
    assert message == REFUSAL
    assert str(tmp_path) not in message and "/root" not in message  # no folder of the server


def test_a_root_given_through_a_symlink_still_confines(data_root, tmp_path, monkeypatch):
    (tmp_path / "alias").symlink_to(data_root)
    monkeypatch.setenv("FER2013_PATH", str(tmp_path / "alias"))
    assert resolve_user_path(str(tmp_path / "alias" / "fer2013.csv")) == data_root / "fer2013.csv"
    with pytest.raises(PathNotAllowed):
        resolve_user_path(str(tmp_path / "alias" / "escape.csv"))
