"""Decode an image file or upload to a BGR ``uint8`` array: the one decoder behind every entry point.
Owns decode_image, ImageDecodeError and its kinds, shrink and the limits (MAX_PIXELS, MAX_FILE_BYTES, DISPLAY_MAX_SIDE).

In order: the file's size is bounded; Pillow reads the format and the pixel count from the header
only (no pixel data) and too many pixels are refused; OpenCV decodes the pixels unchanged; 16-bit
samples are scaled to 8 bits; grey becomes BGR; an alpha channel is composited onto white (a
transparent background becomes white, not the black its colour values often hold); EXIF orientation
is applied, so a phone photo comes out upright; finally the long side is shrunk to ``max_side``.
"""

from __future__ import annotations

import io
import os
import stat
import struct
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 50_000_000
"""Full-resolution photos of 48 MP phone sensors pass; decoded, the largest is 150 MB as BGR."""
MAX_FILE_BYTES = 200 * 2**20
"""Larger files are refused before they are read (the dashboard's upload limit is the same)."""
DISPLAY_MAX_SIDE = 1600
"""The dashboard's pages shrink photos to this long side: Haar detection time grows with pixels."""
FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF")
"""Pillow's names of the accepted formats (JPEG includes phones' multi-picture MPO files)."""
UPLOAD_TYPES = ("jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff")
_FORMAT_NAMES = "JPEG, PNG, BMP, WebP or TIFF"
_ORIENTATION_TAG = 0x0112
_UPRIGHT = {
    2: lambda image: cv2.flip(image, 1),
    3: lambda image: cv2.rotate(image, cv2.ROTATE_180),
    4: lambda image: cv2.flip(image, 0),
    5: cv2.transpose,
    6: lambda image: cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE),
    7: lambda image: cv2.rotate(cv2.transpose(image), cv2.ROTATE_180),
    8: lambda image: cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE),
}
"""EXIF orientation -> the operation that makes the stored pixels upright."""


class ImageDecodeError(ValueError):
    """An image that cannot be used; for a file the message starts with its path."""


class ImageTooLargeError(ImageDecodeError):
    """An image over the byte or pixel limit."""


class NotAnImageError(ImageDecodeError):
    """Bytes in none of the accepted formats."""


def decode_image(
    source: bytes | str | os.PathLike, max_pixels: int = MAX_PIXELS, max_side: int | None = None
) -> np.ndarray:
    """A BGR ``uint8`` (H, W, 3) image from encoded bytes or a file path, upright, long side <= ``max_side``."""
    if isinstance(source, bytes | bytearray | memoryview):
        return _decode(bytes(source), max_pixels, max_side)
    try:
        return _decode(_read_file(Path(source)), max_pixels, max_side)
    except ImageDecodeError as error:
        raise type(error)(f"{os.fspath(source)}: {error}") from None


def _read_file(path: Path) -> bytes:
    """The file's bytes; refuses folders, devices and pipes (never blocks on one) and oversized files."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ImageDecodeError("no such file") from None
    except OSError as error:
        raise ImageDecodeError(f"cannot open the file ({error.strerror})") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise ImageDecodeError("a folder, not an image file")
        if not stat.S_ISREG(info.st_mode):
            raise ImageDecodeError("not an image file (not a regular file)")
        if info.st_size > MAX_FILE_BYTES:
            raise ImageTooLargeError(f"file too large: over {MAX_FILE_BYTES // 2**20} MB")
        with open(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # bounded: a /proc file says it is empty whatever it holds
    except OSError as error:
        raise ImageDecodeError(f"cannot read the file ({error.strerror})") from None
    finally:
        os.close(descriptor)
    return data


def _decode(data: bytes, max_pixels: int, max_side: int | None) -> np.ndarray:
    if len(data) > MAX_FILE_BYTES:
        raise ImageTooLargeError(f"file too large: over {MAX_FILE_BYTES // 2**20} MB")
    orientation = _read_header(data, max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise ImageDecodeError("truncated or corrupt image")
    image = _to_bgr(_to_8_bit(image))
    if orientation in _UPRIGHT:
        image = _UPRIGHT[orientation](image)
    return shrink(image, max_side) if max_side else image


def _read_header(data: bytes, max_pixels: int) -> int:
    """Checks the format and pixel count in the header (Pillow decodes no pixels); the EXIF orientation."""
    if not data:
        raise NotAnImageError("not an image file (the file is empty)")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as header:
            width, height = header.size
            orientation = _orientation(header.info)
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        raise ImageTooLargeError(
            f"image too large: over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, the limit is "
            f"{max_pixels / 1e6:g} megapixels"
        ) from None
    except UnidentifiedImageError:
        raise NotAnImageError(f"not an image file (expected {_FORMAT_NAMES})") from None
    if width <= 0 or height <= 0:
        raise ImageDecodeError("truncated or corrupt image")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image too large: {width} x {height} pixels, the limit is {max_pixels / 1e6:g} megapixels"
        )
    return orientation


def _orientation(info: dict) -> int:
    """The EXIF orientation (1..8) read from the header's EXIF block; 1 when absent or unreadable."""
    if not info.get("exif"):
        return 1
    exif = Image.Exif()
    try:
        exif.load(info["exif"])
    except (ValueError, SyntaxError, OSError, struct.error):
        return 1
    value = exif.get(_ORIENTATION_TAG, 1)
    return value if isinstance(value, int) else 1


def _to_8_bit(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return cv2.convertScaleAbs(image, alpha=255 / 65535)
    raise ImageDecodeError(f"unsupported sample type {image.dtype} (expected 8 or 16 bits)")


def _to_bgr(image: np.ndarray) -> np.ndarray:
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return image
    if channels == 4:
        alpha = image[..., 3:].astype(np.uint16)
        return ((image[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    raise ImageDecodeError(f"unsupported image with {channels} channels")


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """The image scaled down (area interpolation) so that its long side is at most ``max_side``."""
    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
