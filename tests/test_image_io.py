"""Safe image loading (mangacolor.image_io): formats, modes, EXIF, limits from the header.

Sizes are asymmetric (H != W, neither a multiple of 8): swapped axes and padding bugs fail.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from mangacolor.image_io import (
    ImageError,
    ImageTooLarge,
    NotAnImage,
    UnreadableImage,
    load_image,
)
from tests.imaging import (
    SMALL_H,
    SMALL_W,
    encode,
    png_bytes,
    png_header_only,
)

# ----------------------------------------------------------------------------- image_io


def test_load_rgba_png_composited_on_white():
    a = np.zeros((SMALL_H, SMALL_W, 4), np.uint8)
    a[..., 0] = 255            # red everywhere
    a[:, :20, 3] = 0           # fully transparent
    a[:, 20:40, 3] = 128       # half transparent
    a[:, 40:, 3] = 255         # opaque
    rgb = load_image(png_bytes(Image.fromarray(a, "RGBA")))
    assert rgb.shape == (SMALL_H, SMALL_W, 3) and rgb.dtype == np.uint8
    assert (rgb[:, :20] == 255).all()
    np.testing.assert_allclose(rgb[:, 20:40].reshape(-1, 3).astype(int), [[255, 127, 127]] * (SMALL_H * 20), atol=1)
    assert (rgb[:, 40:] == (255, 0, 0)).all()


def test_load_palette_png_with_transparency():
    idx = np.ones((SMALL_H, SMALL_W), np.uint8)   # index 1: blue
    idx[:, :20] = 0                               # index 0: green, but transparent
    im = Image.fromarray(idx, "P")
    im.putpalette([0, 255, 0, 0, 0, 255] + [0] * (3 * 254))
    rgb = load_image(png_bytes(im, transparency=0))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb[:, :20] == 255).all()            # transparent green -> white paper
    assert (rgb[:, 20:] == (0, 0, 255)).all()


def test_load_16bit_grayscale_scales_to_8bit():
    levels = (np.arange(SMALL_H * SMALL_W) % 256).reshape(SMALL_H, SMALL_W).astype(np.uint16)
    im = Image.fromarray(levels * 257)            # 0..65535, exactly level * 257
    assert im.mode == "I;16"
    data = png_bytes(im)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    rgb = load_image(data)
    assert rgb.shape == (SMALL_H, SMALL_W, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == levels).all()
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    # a dark 16-bit image stays dark (not mistaken for an 8-bit range)
    dark = load_image(png_bytes(Image.fromarray(np.full((SMALL_H, SMALL_W), 200, np.uint16))))
    assert (dark == 1).all()


def test_load_cmyk_jpeg():
    im = Image.new("CMYK", (SMALL_W, SMALL_H), (0, 255, 255, 0))  # magenta + yellow = red
    rgb = load_image(encode(im, "JPEG", quality=95))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    mean = rgb.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(mean, (255, 0, 0), atol=8)


def test_load_la_png():
    lum = np.full((SMALL_H, SMALL_W), 100, np.uint8)
    alpha = np.zeros((SMALL_H, SMALL_W), np.uint8)
    alpha[:, 30:] = 255
    rgb = load_image(png_bytes(Image.fromarray(np.dstack([lum, alpha]), "LA")))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb[:, :30] == 255).all()
    assert (rgb[:, 30:] == 100).all()


def test_load_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (SMALL_W, SMALL_H), (255, 0, 0)), Image.new("RGB", (SMALL_W, SMALL_H), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    rgb = load_image(data)
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb == (255, 0, 0)).all()


def test_load_exif_rotated_jpeg():
    stored = np.full((SMALL_H, SMALL_W, 3), 255, np.uint8)  # stored 61 wide, 37 high
    stored[:8, :8] = (255, 0, 0)                              # red mark, stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6                                          # display rotated 90 degrees clockwise
    rgb = load_image(encode(Image.fromarray(stored), "JPEG", exif=exif, quality=95))
    assert rgb.shape == (SMALL_W, SMALL_H, 3)                 # width and height swapped
    # rotating 90 degrees clockwise moves the top-left corner to the top-right
    top_right = rgb[:8, -8:].reshape(-1, 3).mean(axis=0)
    top_left = rgb[:8, :8].reshape(-1, 3).mean(axis=0)
    assert top_right[0] > 200 and top_right[1] < 60 and top_right[2] < 60
    assert (top_left > 230).all()


@pytest.mark.parametrize("fmt, kw", [("WEBP", {"lossless": True}), ("BMP", {}), ("TIFF", {}), ("PNG", {})])
def test_load_other_accepted_formats(fmt, kw):
    rgb = load_image(encode(Image.new("RGB", (SMALL_W, SMALL_H), (10, 200, 30)), fmt, **kw))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb == (10, 200, 30)).all()


def test_load_from_path(tmp_path):
    img = np.random.default_rng(4).integers(0, 256, (SMALL_H, SMALL_W, 3), dtype=np.uint8)
    p = tmp_path / "page.png"
    p.write_bytes(png_bytes(Image.fromarray(img)))
    assert (load_image(p) == img).all()
    assert (load_image(str(p)) == img).all()


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is not an image at all\n" * 5, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"],
    ids=["empty", "text", "pdf"],
)
def test_not_an_image(data):
    with pytest.raises(NotAnImage) as ei:
        load_image(data)
    assert ei.value.status == 415
    assert isinstance(ei.value, ImageError)


@pytest.mark.parametrize("fmt", ["PPM", "ICO"])
def test_unsupported_format_is_not_an_image(fmt):
    with pytest.raises(NotAnImage) as ei:
        load_image(encode(Image.new("RGB", (SMALL_W, SMALL_H)), fmt))
    assert ei.value.status == 415


def test_truncated_png_is_unreadable():
    noise = np.random.default_rng(5).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    data = png_bytes(Image.fromarray(noise))
    with pytest.raises(UnreadableImage) as ei:
        load_image(data[: len(data) // 2])
    assert ei.value.status == 422


def test_too_many_pixels_with_small_limit():
    data = png_bytes(Image.new("RGB", (300, 200), (1, 2, 3)))
    assert load_image(data).shape == (200, 300, 3)
    with pytest.raises(ImageTooLarge) as ei:
        load_image(data, max_pixels=1000)
    assert ei.value.status == 413
    with pytest.raises(ImageTooLarge):
        load_image(data, max_side=250)   # 300 wide
    assert load_image(data, max_pixels=60_000, max_side=300).shape == (200, 300, 3)


def test_size_is_checked_from_the_header_before_decoding():
    # the same hand-made header: decoding is attempted (and fails, 422) only
    # when the size is allowed; a limit is enforced without touching the pixels
    data = png_header_only(5000, 5000)
    with pytest.raises(UnreadableImage):
        load_image(data)
    with pytest.raises(ImageTooLarge) as ei:
        load_image(data, max_pixels=1_000_000)
    assert ei.value.status == 413

    t0 = time.perf_counter()
    for w, h in [(20000, 20000), (20000, 10), (10, 20000), (9000, 11000)]:
        with pytest.raises(ImageTooLarge) as ei:
            load_image(png_header_only(w, h))
        assert ei.value.status == 413
    assert time.perf_counter() - t0 < 1.0  # nothing was decoded or allocated
