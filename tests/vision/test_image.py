"""core.vision.image.decode_image: every layout of pixels comes out as upright BGR uint8."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from core.vision.image import ImageDecodeError, decode_image


def _encoded(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def _asymmetric() -> Image.Image:
    """60 x 40 RGB with a distinct colour in each corner, so any rotation or flip shows."""
    pixels = np.full((40, 60, 3), 128, np.uint8)
    pixels[:10, :10] = (255, 0, 0)
    pixels[:10, -10:] = (0, 255, 0)
    pixels[-10:, :10] = (0, 0, 255)
    return Image.fromarray(pixels)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(orientation):
    stored = _asymmetric()
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encoded(stored, "JPEG", exif=exif, quality=95)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))[..., ::-1]
    decoded = decode_image(data)
    assert decoded.shape == expected.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - expected).max() <= 2


def test_a_phone_photo_rotated_by_exif_comes_out_upright():
    upright = _asymmetric()
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera stored the pixels turned 90 degrees anticlockwise
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    decoded = decode_image(_encoded(stored, "JPEG", exif=exif, quality=95))
    assert decoded.shape == (40, 60, 3)
    assert decoded[5, 5].tolist() == pytest.approx((0, 0, 255), abs=6)  # red (BGR) top left, as photographed


def test_16_bit_png_is_scaled_not_saturated(tmp_path):
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), np.array([[0, 16384, 32768, 65535]], np.uint16))
    assert decode_image(path)[0, :, 0].tolist() == [0, 64, 128, 255]


def test_16_bit_colour_with_alpha(tmp_path):
    path = tmp_path / "deep.png"
    pixels = np.zeros((2, 2, 4), np.uint16)
    pixels[0] = (65535, 0, 32768, 65535)  # opaque
    pixels[1] = (0, 0, 0, 0)  # transparent
    cv2.imwrite(str(path), pixels)
    decoded = decode_image(path)
    assert decoded[0, 0].tolist() == [255, 0, 128] and decoded[1, 0].tolist() == [255, 255, 255]


def test_grey_becomes_bgr():
    decoded = decode_image(_encoded(Image.new("L", (3, 2), 77)))
    assert decoded.shape == (2, 3, 3) and (decoded == 77).all()


def test_grey_with_alpha_is_composited_onto_white():
    image = Image.new("LA", (2, 1))
    image.putpixel((0, 0), (0, 255))
    image.putpixel((1, 0), (0, 0))
    assert decode_image(_encoded(image))[0].tolist() == [[0, 0, 0], [255, 255, 255]]


def test_half_transparent_bgra_is_blended_with_white():
    pixels = np.array([[[0, 0, 200, 128]]], np.uint8)  # red, half transparent
    decoded = decode_image(cv2.imencode(".png", pixels)[1].tobytes())
    assert decoded[0, 0].tolist() == pytest.approx([127, 127, 227], abs=1)


@pytest.mark.parametrize("transparency", [None, 1])
def test_palette_png(transparency):
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 200, 100, 50])
    image.putpixel((1, 0), 1)
    options = {} if transparency is None else {"transparency": transparency}
    decoded = decode_image(_encoded(image, **options))
    second = [255, 255, 255] if transparency is not None else [50, 100, 200]
    assert decoded[0].tolist() == [[30, 20, 10], second]


def test_one_bit_png():
    image = Image.new("1", (2, 1))
    image.putpixel((1, 0), 1)
    assert decode_image(_encoded(image))[0].tolist() == [[0, 0, 0], [255, 255, 255]]


@pytest.mark.parametrize("format", ["BMP", "WEBP", "TIFF"])
def test_other_formats(format):
    decoded = decode_image(_encoded(_asymmetric(), format, **({"lossless": True} if format == "WEBP" else {})))
    assert decoded.shape == (40, 60, 3) and decoded[5, 5].tolist() == [0, 0, 255]


def test_max_side_shrinks_the_long_side_only_when_larger():
    data = _encoded(Image.new("RGB", (400, 100), (1, 2, 3)))
    assert decode_image(data, max_side=200).shape == (50, 200, 3)
    assert decode_image(data, max_side=1600).shape == (100, 400, 3)
    assert decode_image(data).shape == (100, 400, 3)


def test_max_pixels_is_a_parameter():
    data = _encoded(Image.new("RGB", (100, 100)))
    assert decode_image(data, max_pixels=10_000).shape == (100, 100, 3)
    with pytest.raises(ImageDecodeError, match=r"100 x 100 pixels, the limit is 0.009999 megapixels"):
        decode_image(data, max_pixels=9_999)


def test_a_file_error_names_the_path(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ImageDecodeError, match=rf"^{path}: not an image file"):
        decode_image(path)
    cv2.imwrite(str(tmp_path / "ok.png"), np.zeros((2, 2), np.uint8))
    assert decode_image(str(tmp_path / "ok.png")).shape == (2, 2, 3)
