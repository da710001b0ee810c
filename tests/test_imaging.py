"""Tests for the shared imaging package `mangacolor` (numpy + Pillow only).

Sizes are deliberately asymmetric (H != W, neither a multiple of 8) so that
swapped axes, (w, h) / (h, w) mix-ups and padding bugs fail loudly.
"""

from __future__ import annotations

import io
import json
import math
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mangacolor.color import (
    lab_to_rgb,
    net_to_rgb,
    parse_hex_color,
    rgb_to_lab,
    rgb_to_net,
    to_gray,
    to_uint8,
)
from mangacolor.compose import (
    KINDS,
    compose,
    gray_input,
    pad_to_multiple,
    unpad,
    working_size,
)
from mangacolor.hints import (
    MAX_HINTS,
    HintError,
    Point,
    Stroke,
    hints_to_json,
    parse_hints,
    rasterize,
    scale_hints,
)
from mangacolor.image_io import (
    ImageError,
    ImageTooLarge,
    NotAnImage,
    UnreadableImage,
    load_image,
)
from training.data.hint_sampling import HintSamplerConfig, sample_hints, sample_n_hints
from training.data.lineart import (
    adaptive_threshold,
    binarize,
    random_lineart,
    thicken,
    xdog,
    xdog_rgb,
)
from training.data.screentone import ToneParams, halftone, random_manga_page

H, W = 251, 173  # page height, width: asymmetric, neither a multiple of 8
SMALL_H, SMALL_W = 37, 61

FAST = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


# ----------------------------------------------------------------------------- helpers


def _png(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR (valid CRC) declares width x height RGB, with a tiny
    IDAT that cannot possibly hold those pixels: decoding it would fail."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _png_chunk(b"IEND", b"")
    )


def _rect_page(h: int = H, w: int = W, color=(200, 40, 40)) -> np.ndarray:
    """A colour rectangle (rows 60..179, cols 40..129) on white paper."""
    rgb = np.full((h, w, 3), 255, np.uint8)
    rgb[60:180, 40:130] = color
    return rgb


def _outlined_page() -> np.ndarray:
    """White paper, three flat colour areas separated by 2-px black outlines."""
    rgb = np.full((H, W, 3), 255, np.uint8)
    rgb[20:120, 10:90] = (220, 60, 50)
    rgb[20:120, 90:163] = (40, 90, 200)
    rgb[130:230, 10:163] = (60, 170, 80)
    rgb[18:20, 8:165] = 0
    rgb[120:122, 8:165] = 0
    rgb[20:120, 88:90] = 0
    rgb[128:130, 8:165] = 0
    rgb[230:232, 8:165] = 0
    rgb[18:232, 8:10] = 0
    rgb[18:232, 163:165] = 0
    return rgb


def _mask_centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask[0])
    assert len(ys) > 0, "the hint drew nothing"
    return np.array([ys.mean(), xs.mean()])


# ----------------------------------------------------------------------------- colour


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),
        ((0, 255, 0), (87.73, -86.18, 83.18)),
        ((0, 0, 255), (32.30, 79.19, -107.86)),
    ],
)
def test_rgb_to_lab_reference_values(rgb, lab):
    got = rgb_to_lab(np.array(rgb, np.uint8))
    assert got.shape == (3,)
    np.testing.assert_allclose(got, lab, atol=0.05)


def test_rgb_to_lab_float_input_is_0_to_1_and_any_leading_shape():
    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (2, SMALL_H, SMALL_W, 3), dtype=np.uint8)
    lab_u8 = rgb_to_lab(px)
    assert lab_u8.shape == (2, SMALL_H, SMALL_W, 3)
    assert lab_u8.dtype == np.float32
    np.testing.assert_allclose(rgb_to_lab(px.astype(np.float64) / 255.0), lab_u8, atol=1e-3)
    # a gray is neutral: a = b = 0, and L grows with the level
    grays = np.repeat(np.arange(0, 256, 15, dtype=np.uint8)[:, None], 3, axis=1)
    lab = rgb_to_lab(grays)
    np.testing.assert_allclose(lab[:, 1:], 0.0, atol=1e-3)
    assert np.all(np.diff(lab[:, 0]) > 0)


def test_rgb_lab_rgb_round_trip_random_pixels_within_one_level():
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (20000, 3), dtype=np.uint8)
    back = to_uint8(lab_to_rgb(rgb_to_lab(px)))
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - px.astype(int)).max() <= 1


def test_rgb_to_net_layout_scale_and_inverse():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (SMALL_H, SMALL_W, 3), dtype=np.uint8)
    img[0, 0] = (255, 255, 255)
    img[0, 1] = (255, 0, 0)
    net = rgb_to_net(img)
    assert net.shape == (3, SMALL_H, SMALL_W)
    assert net.dtype == np.float32
    np.testing.assert_allclose(net[:, 0, 0], (1.0, 0.0, 0.0), atol=1e-4)
    np.testing.assert_allclose(net[:, 0, 1], (53.24 / 100, 80.09 / 110, 67.20 / 110), atol=1e-3)
    # channel-first layout: net[:, y, x] is the colour of img[y, x]
    np.testing.assert_allclose(net[:, 20, 50], rgb_to_net(img[20:21, 50:51])[:, 0, 0], atol=1e-6)
    back = net_to_rgb(net)
    assert back.shape == (SMALL_H, SMALL_W, 3) and back.dtype == np.uint8
    assert np.abs(back.astype(int) - img.astype(int)).max() <= 1


def test_net_to_rgb_clips_lightness():
    net = np.zeros((3, 3, 5), np.float32)
    net[0, 0] = 1.7   # brighter than white
    net[0, 1] = -0.4  # darker than black
    net[0, 2] = 0.5
    rgb = net_to_rgb(net)
    assert (rgb[0] == 255).all()
    assert (rgb[1] == 0).all()
    assert 100 < rgb[2, 0, 0] < 140


def test_to_gray_matches_pillow_luma():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (SMALL_H, SMALL_W, 3), dtype=np.uint8)
    g = to_gray(img)
    assert g.shape == (SMALL_H, SMALL_W)
    assert g.min() >= 0.0 and g.max() <= 1.0
    pil = np.asarray(Image.fromarray(img).convert("L"), dtype=np.float32)
    assert np.abs(g * 255.0 - pil).max() <= 1.0


@pytest.mark.parametrize(
    "text, rgb",
    [("#ff8800", (255, 136, 0)), ("ff8800", (255, 136, 0)), ("#f80", (255, 136, 0)),
     (" #0A0b0C ", (10, 11, 12)), ("#000", (0, 0, 0))],
)
def test_parse_hex_color_valid(text, rgb):
    assert parse_hex_color(text) == rgb


@pytest.mark.parametrize("bad", ["", "#", "#ff880", "#ff88000", "red", "#gg0000", "#12 456", None, 0xFF8800, ["#fff"]])
def test_parse_hex_color_invalid(bad):
    with pytest.raises(ValueError):
        parse_hex_color(bad)


# ----------------------------------------------------------------------------- image_io


def test_load_rgba_png_composited_on_white():
    a = np.zeros((SMALL_H, SMALL_W, 4), np.uint8)
    a[..., 0] = 255            # red everywhere
    a[:, :20, 3] = 0           # fully transparent
    a[:, 20:40, 3] = 128       # half transparent
    a[:, 40:, 3] = 255         # opaque
    rgb = load_image(_png(Image.fromarray(a, "RGBA")))
    assert rgb.shape == (SMALL_H, SMALL_W, 3) and rgb.dtype == np.uint8
    assert (rgb[:, :20] == 255).all()
    np.testing.assert_allclose(rgb[:, 20:40].reshape(-1, 3).astype(int), [[255, 127, 127]] * (SMALL_H * 20), atol=1)
    assert (rgb[:, 40:] == (255, 0, 0)).all()


def test_load_palette_png_with_transparency():
    idx = np.ones((SMALL_H, SMALL_W), np.uint8)   # index 1: blue
    idx[:, :20] = 0                               # index 0: green, but transparent
    im = Image.fromarray(idx, "P")
    im.putpalette([0, 255, 0, 0, 0, 255] + [0] * (3 * 254))
    rgb = load_image(_png(im, transparency=0))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb[:, :20] == 255).all()            # transparent green -> white paper
    assert (rgb[:, 20:] == (0, 0, 255)).all()


def test_load_16bit_grayscale_scales_to_8bit():
    levels = (np.arange(SMALL_H * SMALL_W) % 256).reshape(SMALL_H, SMALL_W).astype(np.uint16)
    im = Image.fromarray(levels * 257)            # 0..65535, exactly level * 257
    assert im.mode == "I;16"
    data = _png(im)
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    rgb = load_image(data)
    assert rgb.shape == (SMALL_H, SMALL_W, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == levels).all()
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    # a dark 16-bit image stays dark (not mistaken for an 8-bit range)
    dark = load_image(_png(Image.fromarray(np.full((SMALL_H, SMALL_W), 200, np.uint16))))
    assert (dark == 1).all()


def test_load_cmyk_jpeg():
    im = Image.new("CMYK", (SMALL_W, SMALL_H), (0, 255, 255, 0))  # magenta + yellow = red
    rgb = load_image(_encode(im, "JPEG", quality=95))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    mean = rgb.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(mean, (255, 0, 0), atol=8)


def test_load_la_png():
    lum = np.full((SMALL_H, SMALL_W), 100, np.uint8)
    alpha = np.zeros((SMALL_H, SMALL_W), np.uint8)
    alpha[:, 30:] = 255
    rgb = load_image(_png(Image.fromarray(np.dstack([lum, alpha]), "LA")))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb[:, :30] == 255).all()
    assert (rgb[:, 30:] == 100).all()


def test_load_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (SMALL_W, SMALL_H), (255, 0, 0)), Image.new("RGB", (SMALL_W, SMALL_H), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    rgb = load_image(data)
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb == (255, 0, 0)).all()


def test_load_exif_rotated_jpeg():
    stored = np.full((SMALL_H, SMALL_W, 3), 255, np.uint8)  # stored 61 wide, 37 high
    stored[:8, :8] = (255, 0, 0)                              # red mark, stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6                                          # display rotated 90 degrees clockwise
    rgb = load_image(_encode(Image.fromarray(stored), "JPEG", exif=exif, quality=95))
    assert rgb.shape == (SMALL_W, SMALL_H, 3)                 # width and height swapped
    # rotating 90 degrees clockwise moves the top-left corner to the top-right
    top_right = rgb[:8, -8:].reshape(-1, 3).mean(axis=0)
    top_left = rgb[:8, :8].reshape(-1, 3).mean(axis=0)
    assert top_right[0] > 200 and top_right[1] < 60 and top_right[2] < 60
    assert (top_left > 230).all()


@pytest.mark.parametrize("fmt, kw", [("WEBP", {"lossless": True}), ("BMP", {}), ("TIFF", {}), ("PNG", {})])
def test_load_other_accepted_formats(fmt, kw):
    rgb = load_image(_encode(Image.new("RGB", (SMALL_W, SMALL_H), (10, 200, 30)), fmt, **kw))
    assert rgb.shape == (SMALL_H, SMALL_W, 3)
    assert (rgb == (10, 200, 30)).all()


def test_load_from_path(tmp_path):
    img = np.random.default_rng(4).integers(0, 256, (SMALL_H, SMALL_W, 3), dtype=np.uint8)
    p = tmp_path / "page.png"
    p.write_bytes(_png(Image.fromarray(img)))
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
        load_image(_encode(Image.new("RGB", (SMALL_W, SMALL_H)), fmt))
    assert ei.value.status == 415


def test_truncated_png_is_unreadable():
    noise = np.random.default_rng(5).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    data = _png(Image.fromarray(noise))
    with pytest.raises(UnreadableImage) as ei:
        load_image(data[: len(data) // 2])
    assert ei.value.status == 422


def test_too_many_pixels_with_small_limit():
    data = _png(Image.new("RGB", (300, 200), (1, 2, 3)))
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
    data = _png_header_only(5000, 5000)
    with pytest.raises(UnreadableImage):
        load_image(data)
    with pytest.raises(ImageTooLarge) as ei:
        load_image(data, max_pixels=1_000_000)
    assert ei.value.status == 413

    t0 = time.perf_counter()
    for w, h in [(20000, 20000), (20000, 10), (10, 20000), (9000, 11000)]:
        with pytest.raises(ImageTooLarge) as ei:
            load_image(_png_header_only(w, h))
        assert ei.value.status == 413
    assert time.perf_counter() - t0 < 1.0  # nothing was decoded or allocated


# ----------------------------------------------------------------------------- line art


@pytest.mark.parametrize("fn", ["gray", "rgb"])
def test_xdog_on_rectangle(fn):
    rgb = _rect_page()
    ink = xdog(to_gray(rgb)) if fn == "gray" else xdog_rgb(rgb)
    assert ink.shape == (H, W)
    assert ink.dtype == np.float32
    assert ink.min() >= 0.0 and ink.max() <= 1.0
    # flat areas are paper white: far from edges, outside and inside the rectangle
    assert ink[:45].min() > 0.99
    assert ink[195:].min() > 0.99
    assert ink[:, 145:].min() > 0.99
    assert ink[80:160, 60:110].min() > 0.99
    # a dark line along every edge of the rectangle, all along it
    top, bottom = ink[57:64, 50:120].min(axis=0), ink[176:183, 50:120].min(axis=0)
    left, right = ink[70:170, 37:44].min(axis=1), ink[70:170, 126:133].min(axis=1)
    for band in (top, bottom, left, right):
        assert band.max() < 0.3


@pytest.mark.parametrize("level", [0.0, 0.1, 0.345, 0.8, 1.0])
def test_xdog_flat_areas_of_any_tone_stay_white(level):
    ink = xdog(np.full((SMALL_H, SMALL_W), level, np.float32))
    assert ink.shape == (SMALL_H, SMALL_W)
    assert (ink == 1.0).all()


def test_xdog_rgb_draws_edges_between_colours_of_equal_luma():
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, :88] = (255, 0, 0)
    rgb[:, 88:] = (0, 130, 0)   # nearly the same Rec. 601 luma as pure red
    g = to_gray(rgb)
    assert abs(g[0, 0] - g[0, -1]) < 1e-3
    assert xdog(g).min() > 0.99                    # gray XDoG sees no edge
    line = xdog_rgb(rgb)
    assert line[:, 84:92].max(axis=1).max() <= 1.0
    assert (line[:, 84:92].min(axis=1) < 0.3).all()  # every row crosses a line
    assert line[:, :70].min() > 0.99 and line[:, 110:].min() > 0.99


def test_adaptive_threshold_finds_a_thin_dark_line():
    g = np.ones((H, W), np.float32)
    g[:, 100] = 0.3
    ink = adaptive_threshold(g, radius=4, offset=0.04)
    assert ink.shape == (H, W)
    assert set(np.unique(ink)) <= {0.0, 1.0}
    assert (ink[:, 100] == 0).all()
    assert (ink[:, :95] == 1).all() and (ink[:, 106:] == 1).all()


def test_binarize_is_zero_one():
    ink = xdog_rgb(_rect_page())
    b = binarize(ink, 0.6)
    assert b.shape == (H, W)
    assert set(np.unique(b)) == {0.0, 1.0}
    assert ((ink >= 0.6) == (b == 1)).all()


def test_thicken_adds_ink_and_never_lightens():
    ink = binarize(xdog_rgb(_rect_page()))
    thick = thicken(ink, 3)
    assert thick.shape == (H, W)
    assert (thick <= ink).all()
    assert (thick < 0.5).sum() > (ink < 0.5).sum()
    assert (thicken(thick, 5) < 0.5).sum() > (thick < 0.5).sum()
    white = np.ones((SMALL_H, SMALL_W), np.float32)
    assert (thicken(white) == 1).all()
    dot = white.copy()
    dot[10, 20] = 0.0
    grown = thicken(dot, 3)
    expected = white.copy()
    expected[9:12, 19:22] = 0.0       # one ink pixel becomes a 3 x 3 square
    assert np.array_equal(grown, expected)


def test_random_lineart_deterministic_and_in_range():
    rgb = _outlined_page()
    outs = []
    for seed in range(8):
        a = random_lineart(rgb, np.random.default_rng(seed))
        b = random_lineart(rgb, np.random.default_rng(seed))
        assert a.shape == (H, W)
        assert a.dtype == np.float32
        assert a.min() >= 0.0 and a.max() <= 1.0
        assert np.array_equal(a, b)
        assert (a < 0.5).any() and (a[:10] > 0.99).all()  # lines, and paper far from them
        outs.append(a)
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])  # styles vary by seed


# ----------------------------------------------------------------------------- screentone


@pytest.mark.parametrize("gray", [0.3, 0.45, 0.5, 0.55, 0.7])
def test_halftone_mid_gray_coverage(gray):
    page = halftone(np.full((H, W), gray, np.float32), ToneParams())
    assert page.shape == (H, W)
    assert set(np.unique(page)) == {0.0, 1.0}
    coverage = 1.0 - page.mean()
    assert abs(coverage - (1.0 - gray)) < 0.2


@pytest.mark.parametrize("params", [ToneParams(), ToneParams(pattern="lines", angle=15.0, pitch=5.0),
                                    ToneParams(levels=2, pitch=4.0, angle=30.0)])
def test_halftone_coverage_monotonic_and_extremes(params):
    grays = [0.9, 0.75, 0.6, 0.5, 0.4, 0.25, 0.15]
    cov = [1.0 - halftone(np.full((H, W), g, np.float32), params).mean() for g in grays]
    assert all(b >= a for a, b in zip(cov, cov[1:]))
    assert cov[-1] > cov[0] + 0.2
    assert 0.2 < 1.0 - halftone(np.full((H, W), 0.5, np.float32), params).mean() < 0.8
    for g in (1.0, 0.95):
        assert (halftone(np.full((H, W), g, np.float32), params) == 1).all()
    for g in (0.0, 0.05):
        assert (halftone(np.full((H, W), g, np.float32), params) == 0).all()


def test_halftone_keeps_black_and_white_regions():
    g = np.full((H, W), 0.5, np.float32)
    g[:50] = 1.0
    g[-50:] = 0.0
    page = halftone(g)
    assert (page[:50] == 1).all() and (page[-50:] == 0).all()
    assert 0 < page[60:190].mean() < 1


def test_halftone_rejects_unknown_pattern():
    with pytest.raises(ValueError):
        halftone(np.full((SMALL_H, SMALL_W), 0.5, np.float32), ToneParams(pattern="waves"))


@pytest.mark.parametrize("screentone", [False, True])
def test_random_manga_page(screentone):
    rgb = _outlined_page()
    rgb[238:] = 0                             # a solid black area at the bottom
    for seed in range(4):
        page = random_manga_page(rgb, np.random.default_rng(seed), screentone)
        again = random_manga_page(rgb, np.random.default_rng(seed), screentone)
        assert page.shape == (H, W)
        assert page.dtype == np.float32
        assert page.min() >= 0.0 and page.max() <= 1.0
        assert np.array_equal(page, again)
        assert page[:8].min() > 0.99          # white paper stays white
        assert page[242:, 20:150].max() < 0.05  # solid black stays black
        assert page[19, 50] < 0.3             # a 2-px outline stays dark (soft scans blur it a little)
    if not screentone:  # a monotone (gamma) map of the gray: order of tones is kept
        page = random_manga_page(rgb, np.random.default_rng(0), False)
        g = to_gray(rgb)
        order = np.argsort(g[::7, ::7].ravel(), kind="stable")
        assert np.all(np.diff(page[::7, ::7].ravel()[order]) >= -1e-6)


# ----------------------------------------------------------------------------- hints: parsing

POINT = {"x": 40, "y": 20, "color": "#ff8800"}
STROKE = {"points": [[1, 2], [30, 40.5]], "color": "#0f0", "width": 5}


def test_parse_points_and_strokes():
    hints = parse_hints(json.dumps([POINT, STROKE, {**POINT, "radius": 0}]))
    assert hints == [
        Point(40.0, 20.0, (255, 136, 0), 3),
        Stroke(((1.0, 2.0), (30.0, 40.5)), (0, 255, 0), 5.0),
        Point(40.0, 20.0, (255, 136, 0), 0.0),
    ]
    assert isinstance(hints[0].x, float)
    # parsed Python lists and bytes work too
    assert parse_hints([POINT]) == [hints[0]]
    assert parse_hints(json.dumps([POINT]).encode()) == [hints[0]]


@pytest.mark.parametrize("empty", ["", "   ", "[]", b"", b"[]", [], {"hints": []}])
def test_parse_empty(empty):
    assert parse_hints(empty) == []


def test_parse_saved_set():
    saved = {"size": [W, H], "hints": [POINT, STROKE]}
    assert parse_hints(json.dumps(saved)) == parse_hints([POINT, STROKE])
    assert len(parse_hints(saved, size=(W, H))) == 2


def test_parse_in_bounds_uses_width_then_height():
    size = (W, H)  # (width 173, height 251)
    assert parse_hints([{**POINT, "x": 100, "y": 200}], size=size)  # inside: y < H
    assert parse_hints([{**POINT, "x": W - 0.5, "y": H - 1}], size=size)
    for x, y in [(200, 100), (W, 10), (10, H), (-1, 10), (10, -0.5)]:
        with pytest.raises(HintError):
            parse_hints([{**POINT, "x": x, "y": y}], size=size)
    with pytest.raises(HintError):
        parse_hints([{"points": [[10, 10], [200, 100]], "color": "#fff"}], size=size)


BAD_HINTS = {
    "malformed json": '[{"x": 1, ',
    "not json": "hello",
    "non-list number": "42",
    "non-list string": '"points"',
    "object without hints": '{"x": 1, "y": 2, "color": "#fff"}',
    "saved set, hints not a list": '{"hints": {"x": 1}}',
    "item not an object": "[[1, 2]]",
    "nan x": '[{"x": NaN, "y": 2, "color": "#fff"}]',
    "inf y": '[{"x": 1, "y": Infinity, "color": "#fff"}]',
    "-inf x": '[{"x": -Infinity, "y": 2, "color": "#fff"}]',
    "float overflow": '[{"x": 1e999, "y": 2, "color": "#fff"}]',
    "nan stroke": '[{"points": [[1, NaN]], "color": "#fff"}]',
    "nan radius": '[{"x": 1, "y": 2, "color": "#fff", "radius": NaN}]',
    "bool x": '[{"x": true, "y": 2, "color": "#fff"}]',
    "bool stroke": '[{"points": [[1, false]], "color": "#fff"}]',
    "string x": '[{"x": "1", "y": 2, "color": "#fff"}]',
    "null y": '[{"x": 1, "y": null, "color": "#fff"}]',
    "colour name": '[{"x": 1, "y": 2, "color": "red"}]',
    "colour 5 digits": '[{"x": 1, "y": 2, "color": "#ff000"}]',
    "colour non hex": '[{"x": 1, "y": 2, "color": "#gg0000"}]',
    "colour number": '[{"x": 1, "y": 2, "color": 16711680}]',
    "colour missing": '[{"x": 1, "y": 2}]',
    "neither point nor stroke": '[{"color": "#fff"}]',
    "x without y": '[{"x": 1, "color": "#fff"}]',
    "empty stroke": '[{"points": [], "color": "#fff"}]',
    "stroke point triple": '[{"points": [[1, 2, 3]], "color": "#fff"}]',
    "stroke points not list": '[{"points": "1,2", "color": "#fff"}]',
    "width zero": '[{"points": [[1, 2]], "color": "#fff", "width": 0}]',
    "radius negative": '[{"x": 1, "y": 2, "color": "#fff", "radius": -1}]',
    "radius huge": '[{"x": 1, "y": 2, "color": "#fff", "radius": 100000}]',
    "invalid utf-8": b"\xff\xfe\x00",
}


@pytest.mark.parametrize("text", list(BAD_HINTS.values()), ids=list(BAD_HINTS))
def test_parse_rejects(text):
    with pytest.raises(HintError) as ei:
        parse_hints(text)
    assert ei.value.status == 400
    assert str(ei.value)


def test_parse_too_many_hints_and_too_many_points():
    ok = [{"x": i % W, "y": i % H, "color": "#123456"} for i in range(MAX_HINTS)]
    assert len(parse_hints(ok, size=(W, H))) == MAX_HINTS
    with pytest.raises(HintError) as ei:
        parse_hints(json.dumps(ok + [POINT]))
    assert ei.value.status == 400
    with pytest.raises(HintError):
        parse_hints([{"points": [[1, 1]] * 100_000, "color": "#fff"}])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('[{"x": 1' + "0" * 400 + ', "y": 2, "color": "#fff"}]', id="int-beyond-float-range"),
        pytest.param('[{"x": 1' + "0" * 5000 + ', "y": 2, "color": "#fff"}]', id="int-over-4300-digits"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep-nesting"),
    ],
)
def test_parse_hostile_json_gives_hint_error(text):
    with pytest.raises(HintError) as ei:
        parse_hints(text)
    assert ei.value.status == 400


_NUM = st.one_of(
    st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=4), st.integers(-5, 300),
)
_COLOR = st.one_of(st.sampled_from(["#ff0000", "#abc", "00ff00", "#12345g", "", "#"]), st.text(max_size=8), _NUM)
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=8))
_KEY = st.one_of(st.sampled_from(["x", "y", "color", "radius", "points", "width", "hints", "size"]), st.text(max_size=4))
_JSON = st.recursive(
    _LEAF,
    lambda ch: st.one_of(st.lists(ch, max_size=4), st.dictionaries(_KEY, ch, max_size=5)),
    max_leaves=15,
)
_HINTLIKE = st.fixed_dictionaries(
    {"color": _COLOR},
    optional={
        "x": _NUM, "y": _NUM, "radius": _NUM, "width": _NUM,
        "points": st.one_of(st.lists(st.lists(_NUM, min_size=0, max_size=3), max_size=4), _JSON),
    },
)
_HINTS_INPUT = st.one_of(
    _JSON,
    st.lists(st.one_of(_HINTLIKE, _JSON), max_size=5),
    st.builds(lambda hs: {"hints": hs}, st.lists(_HINTLIKE, max_size=4)),
)


@FAST
@given(data=_HINTS_INPUT, as_text=st.booleans(), sized=st.booleans())
def test_parse_hints_only_raises_hint_error(data, as_text, sized):
    size = (W, H) if sized else None
    payload = json.dumps(data) if as_text else data
    try:
        hints = parse_hints(payload, size=size)
    except HintError as e:
        assert e.status == 400
        return
    for h in hints:
        assert isinstance(h, (Point, Stroke))
        pts = [(h.x, h.y)] if isinstance(h, Point) else list(h.points)
        for x, y in pts:
            assert math.isfinite(x) and math.isfinite(y)
            if size:
                assert 0 <= x < W and 0 <= y < H
        assert all(0 <= c <= 255 for c in h.color)


@FAST
@given(text=st.text(max_size=60))
def test_parse_hints_arbitrary_text_only_raises_hint_error(text):
    try:
        parse_hints(text)
    except HintError:
        pass


# ----------------------------------------------------------------------------- hints: rasterize, json, scale


def test_rasterize_point_axis_order_and_planes():
    color = (255, 136, 0)
    hint, mask = rasterize([Point(40, 20, color, 3)], (W, H), (W, H))
    assert hint.shape == (3, H, W) and mask.shape == (1, H, W)
    assert hint.dtype == np.float32 and mask.dtype == np.float32
    assert set(np.unique(mask)) == {0.0, 1.0}
    assert mask[0, 20, 40] == 1 and mask[0, 40, 20] == 0
    np.testing.assert_allclose(_mask_centroid(mask), (20, 40), atol=0.6)
    assert 20 <= mask.sum() <= 45                       # a disc of radius 3
    inside = mask[0] == 1
    want = rgb_to_net(np.array([[color]], np.uint8))[:, 0, 0]
    np.testing.assert_allclose(hint[:, inside].T, np.broadcast_to(want, (inside.sum(), 3)), atol=1e-5)
    assert (hint[:, ~inside] == 0).all()


def test_rasterize_at_half_resolution():
    hint, mask = rasterize([Point(40, 20, (0, 0, 255), 3)], (W, H), (W // 2, H // 2))
    assert hint.shape == (3, H // 2, W // 2) and mask.shape == (1, H // 2, W // 2)
    assert mask[0, 10, 20] == 1
    np.testing.assert_allclose(_mask_centroid(mask), (10, 20), atol=0.6)
    assert mask.sum() < 20                               # radius scaled down too


def test_rasterize_stroke_and_overlap():
    stroke = Stroke(((10.0, 30.0), (100.0, 30.0)), (0, 200, 0), 4)
    _, mask = rasterize([stroke], (W, H), (W, H))
    assert mask[0, 30, 10:101].all()
    assert not mask[0, 40:].any() and not mask[0, :25].any()
    assert not mask[0, :, 110:].any()
    # a later hint paints over an earlier one
    red, blue = (255, 0, 0), (0, 0, 255)
    hint, mask = rasterize([Point(60, 30, red, 5), Point(60, 30, blue, 2)], (W, H), (W, H))
    np.testing.assert_allclose(hint[:, 30, 60], rgb_to_net(np.array([[blue]], np.uint8))[:, 0, 0], atol=1e-5)
    np.testing.assert_allclose(hint[:, 30, 65], rgb_to_net(np.array([[red]], np.uint8))[:, 0, 0], atol=1e-5)


def test_rasterize_empty():
    hint, mask = rasterize([], (W, H), (W // 3, H // 3))
    assert hint.shape == (3, H // 3, W // 3) and mask.shape == (1, H // 3, W // 3)
    assert not hint.any() and not mask.any()


@pytest.mark.parametrize("w", [1.0, 2.0, 3.0])
def test_rasterize_single_point_stroke_draws(w):
    _, mask = rasterize([Stroke(((40.0, 20.0),), (255, 0, 0), w)], (W, H), (W, H))
    assert mask.sum() >= 1
    np.testing.assert_allclose(_mask_centroid(mask), (20, 40), atol=1.0)


@pytest.mark.parametrize(
    "point, out",
    [(Point(40, 20, (255, 0, 0), 0.0), (W, H)),
     (Point(40, 20, (255, 0, 0), 0.5), (W, H)),
     (Point(40, 20, (255, 0, 0), 3.0), (W // 10, H // 10))],
    ids=["radius0", "radius0.5", "radius3-at-tenth-size"],
)
def test_rasterize_tiny_point_still_draws_a_pixel(point, out):
    _, mask = rasterize([point], (W, H), out)
    assert mask.sum() >= 1
    sx, sy = out[0] / W, out[1] / H
    assert mask[0, int(point.y * sy), int(point.x * sx)] == 1


def test_hints_to_json_round_trip():
    hints = [Point(40.0, 20.0, (255, 136, 0), 3.0), Stroke(((1.0, 2.0), (30.0, 40.5), (50.25, 60.0)), (0, 1, 2), 2.5),
             Point(172.5, 250.0, (9, 9, 9), 0.0)]
    text = hints_to_json(hints, size=(W, H))
    assert json.loads(text)["size"] == [W, H]
    assert parse_hints(text, size=(W, H)) == hints
    assert parse_hints(hints_to_json([])) == []


def test_scale_hints():
    hints = [Point(40.0, 20.0, (1, 2, 3), 3.0), Stroke(((10.0, 30.0), (100.0, 31.0)), (4, 5, 6), 4.0)]
    out = scale_hints(hints, 0.5, 2.0)    # sqrt(0.5 * 2) = 1: sizes kept
    assert out[0] == Point(20.0, 40.0, (1, 2, 3), 3.0)
    assert out[1] == Stroke(((5.0, 60.0), (50.0, 62.0)), (4, 5, 6), 4.0)
    small = scale_hints(hints, 0.1, 0.1)
    assert small[0].radius == pytest.approx(0.3)
    assert small[1].width == 1.0          # never thinner than 1 px
    # drawing the scaled set at the new size == drawing the original set scaled
    out_size = (W // 2, H // 2)
    sx, sy = out_size[0] / W, out_size[1] / H
    a = rasterize(hints, (W, H), out_size)
    b = rasterize(scale_hints(hints, sx, sy), out_size, out_size)
    assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0])


# ----------------------------------------------------------------------------- hints: sampling


def test_sample_hints_none_and_deterministic():
    rgb = _outlined_page()
    never = HintSamplerConfig(p_none=1.0)
    assert all(sample_hints(rgb, np.random.default_rng(s), never) == [] for s in range(5))
    always = HintSamplerConfig(p_none=0.0)
    runs = [sample_hints(rgb, np.random.default_rng(s), always) for s in range(6)]
    assert all(len(r) >= 1 for r in runs)
    assert runs[0] == sample_hints(rgb, np.random.default_rng(0), always)
    assert any(r != runs[0] for r in runs[1:])
    assert len(sample_n_hints(rgb, 17, np.random.default_rng(0))) == 17
    assert sample_n_hints(rgb, 0, np.random.default_rng(0)) == []


def _hint_locations(h):
    return [(h.x, h.y)] if isinstance(h, Point) else list(h.points)


def test_sampled_hints_on_colour_not_paper_and_close_to_it():
    rgb = _outlined_page()
    errs, n = [], 0
    for seed in range(6):
        for h in sample_n_hints(rgb, 30, np.random.default_rng(seed), HintSamplerConfig(p_stroke=0.3)):
            n += 1
            for x, y in _hint_locations(h):
                iy = min(max(int(round(y)), 0), H - 1)
                ix = min(max(int(round(x)), 0), W - 1)
                px = rgb[iy, ix]
                assert px.min() < 240, f"hint at ({x}, {y}) lies on white paper"
                assert px.max() > 40, f"hint at ({x}, {y}) lies on a black outline"
            x0, y0 = _hint_locations(h)[0]
            errs.append(np.abs(np.array(h.color, int) - rgb[int(y0), int(x0)].astype(int)).max())
    assert n == 180
    errs = np.array(errs)
    assert np.median(errs) <= 6
    assert (errs <= 12).mean() >= 0.9


def test_sampled_hints_on_white_page_fall_back_to_flat_paper():
    rgb = np.full((SMALL_H, SMALL_W, 3), 255, np.uint8)
    hints = sample_n_hints(rgb, 5, np.random.default_rng(0))
    assert len(hints) == 5   # no coloured area: the paper itself is the only flat area


def test_sampled_point_colour_is_the_area_colour():
    rgb = _outlined_page()
    cfg = HintSamplerConfig(jitter=0.0, p_stroke=0.0)
    worst = 0
    for seed in range(10):
        for h in sample_n_hints(rgb, 40, np.random.default_rng(seed), cfg):
            ref = rgb[int(h.y), int(h.x)].astype(int)
            worst = max(worst, int(np.abs(np.array(h.color) - ref).max()))
    assert worst <= 6


def test_sampled_stroke_points_inside_image():
    rgb = np.full((H, W, 3), (200, 80, 40), np.uint8)   # colour up to the borders
    cfg = HintSamplerConfig(p_stroke=1.0)
    for seed in range(10):
        hints = sample_n_hints(rgb, 30, np.random.default_rng(seed), cfg)
        for h in hints:
            for x, y in _hint_locations(h):
                assert 0 <= x < W and 0 <= y < H, (seed, x, y)
        assert parse_hints(hints_to_json(hints, (W, H)), size=(W, H)) == hints


# ----------------------------------------------------------------------------- compose


def test_pad_unpad_round_trip():
    x = np.random.default_rng(6).random((2, 3, H, W)).astype(np.float32)
    padded, hw = pad_to_multiple(x)
    assert hw == (H, W)
    assert padded.shape == (2, 3, 256, 176)
    assert padded.shape[-2] % 16 == 0 and padded.shape[-1] % 16 == 0
    assert np.array_equal(padded[..., :H, :W], x)
    assert (padded[..., H:, :] == 1.0).all() and (padded[..., :, W:] == 1.0).all()
    assert np.array_equal(unpad(padded, hw), x)
    zero, _ = pad_to_multiple(x, 8, value=0.0)
    assert zero.shape == (2, 3, 256, 176)
    assert (zero[..., H:, :] == 0).all() and (zero[..., :, W:] == 0).all()
    even = np.zeros((3, 256, 192), np.float32)
    same, hw2 = pad_to_multiple(even)
    assert same.shape == (3, 256, 192) and hw2 == (256, 192)


@FAST
@given(h=st.integers(1, 300), w=st.integers(1, 300), m=st.sampled_from([8, 16, 32]))
def test_pad_any_size(h, w, m):
    x = np.arange(h * w, dtype=np.float32).reshape(1, h, w)
    padded, hw = pad_to_multiple(x, m)
    ph, pw = padded.shape[-2:]
    assert ph % m == 0 and pw % m == 0
    assert h <= ph < h + m and w <= pw < w + m
    assert np.array_equal(unpad(padded, hw), x)


def test_working_size():
    assert working_size(H, W) == (512, round(W * 512 / H))
    assert working_size(W, H) == (round(W * 512 / H), 512)       # axes not swapped
    for h, w in [(H, W), (4000, 6000), (6000, 4000), (SMALL_H, SMALL_W), (1, 5000)]:
        wh, ww = working_size(h, w)
        assert max(wh, ww) == 512
        assert wh >= 1 and ww >= 1
        assert abs(wh / ww - h / w) <= (1 / ww + 1 / wh) * (h / w + 1)  # aspect within rounding
    assert working_size(1200, 800, long_side=300) == (300, 200)


def test_gray_input():
    rgb = np.full((H, W, 3), 255, np.uint8)
    rgb[::2, ::2] = 0
    rgb[1::2, 1::2] = 0      # 1-px checkerboard: prints as 50% gray
    hw = (126, 87)
    g = gray_input(rgb, hw)
    assert g.shape == (1, 126, 87)
    assert g.dtype == np.float32
    assert abs(float(g[0, 10:-10, 10:-10].mean()) - 0.5) < 0.02
    assert g[0, 10:-10, 10:-10].std() < 0.05         # area average: no aliasing
    up = gray_input(_rect_page(), working_size(H, W))
    assert up.shape == (1,) + working_size(H, W)
    # orientation: the rectangle (rows 60..179, cols 40..129) keeps its place
    ys = np.nonzero(up[0].min(axis=1) < 0.5)[0]
    xs = np.nonzero(up[0].min(axis=0) < 0.5)[0]
    assert abs(ys.mean() / up.shape[1] - 119.5 / H) < 0.02
    assert abs(xs.mean() / up.shape[2] - 84.5 / W) < 0.02
    assert abs(float(np.median(up[0, 200:300, 120:200])) - to_gray(_rect_page())[100, 80]) < 0.01


def test_gray_input_upscaled_stays_in_unit_range():
    up = gray_input(_rect_page(color=(0, 0, 0)), working_size(H, W))
    assert up.min() >= 0.0 and up.max() <= 1.0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hw", [(251, 177), (1, 1), (3, 530), (530, 7)])
def test_compose_returns_exact_original_size(kind, hw):
    h, w = hw
    rng = np.random.default_rng(7)
    original = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ph, pw = working_size(h, w, 96)
    pred = np.stack([rng.random((ph, pw)), rng.uniform(-0.5, 0.5, (ph, pw)), rng.uniform(-0.5, 0.5, (ph, pw))]).astype(np.float32)
    out = compose(original, pred, kind)
    assert out.shape == (h, w, 3)
    assert out.dtype == np.uint8


def test_compose_rejects_unknown_kind():
    with pytest.raises(ValueError):
        compose(np.zeros((SMALL_H, SMALL_W, 3), np.uint8), np.zeros((3, 8, 8), np.float32), "photo")


def _uniform_pred(color, hw):
    return rgb_to_net(np.broadcast_to(np.array(color, np.uint8), hw + (3,)).copy())


@pytest.mark.parametrize("kind", ["grayscale", "screentone"])
def test_compose_gray_keeps_luminance_and_takes_hue(kind):
    color = (200, 120, 60)
    lab_c = rgb_to_lab(np.array(color, np.uint8))
    # a neutral gray page with the same L as the colour
    gray_level = to_uint8(lab_to_rgb(np.array([lab_c[0], 0.0, 0.0])))
    original = np.broadcast_to(gray_level, (251, 177, 3)).copy()
    pred = _uniform_pred(color, working_size(251, 177))
    out = compose(original, pred, kind)
    assert out.shape == (251, 177, 3)
    lab_in, lab_out = rgb_to_lab(original), rgb_to_lab(out)
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).max() < 1.0
    np.testing.assert_allclose(lab_out[..., 1:].reshape(-1, 2).mean(0), lab_c[1:], atol=1.5)
    assert np.abs(out.astype(int) - np.array(color)).max() <= 3


def test_compose_gray_keeps_varying_luminance_and_orientation():
    # every (L, a, b) used here is inside the sRGB gamut, so nothing is clipped
    ramp = np.linspace(70, 190, 177).round().astype(np.uint8)       # dark left, light right
    original = np.repeat(np.repeat(ramp[None, :, None], 251, 0), 3, 2)
    ph, pw = working_size(251, 177)
    pred = np.zeros((3, ph, pw), np.float32)
    pred[1, : ph // 2], pred[2, : ph // 2] = 20 / 110, 8 / 110       # top: reddish
    pred[1, ph // 2 :], pred[2, ph // 2 :] = 0.0, -20 / 110          # bottom: bluish
    out = compose(original, pred, "grayscale")
    lab_in, lab_out = rgb_to_lab(original), rgb_to_lab(out)
    assert np.abs(lab_out[..., 0] - lab_in[..., 0]).max() < 1.0
    assert (np.abs(lab_out[:100, :, 1] - 20) < 2).all() and (np.abs(lab_out[150:, :, 1]) < 2).all()
    assert (np.abs(lab_out[150:, :, 2] + 20) < 2).all()


def test_compose_lineart_keeps_lines_and_fills_paper():
    color = (70, 140, 210)
    original = np.full((251, 177, 3), 255, np.uint8)
    original[100:103] = 0           # black horizontal line
    original[:, 60:63] = 0          # black vertical line
    original[200:203, 100:150] = 128  # a gray line: multiplied, not replaced
    pred = _uniform_pred(color, working_size(251, 177))
    out = compose(original, pred, "lineart")
    assert out.shape == (251, 177, 3)
    assert (out[100:103] == 0).all() and (out[:, 60:63] == 0).all()
    paper = np.ones((251, 177), bool)
    paper[100:103] = paper[:, 60:63] = paper[200:203, 100:150] = False
    assert np.abs(out[paper].astype(int) - np.array(color)).max() <= 2
    np.testing.assert_allclose(out[201, 120].astype(int), np.array(color) * 128 / 255, atol=2)


def test_compose_handles_pages_taller_than_one_band():
    # composition works in 512-row bands: no seams or skipped rows
    original = np.full((1100, 37, 3), 140, np.uint8)
    pred = _uniform_pred((200, 120, 60), working_size(1100, 37))
    for kind in KINDS:
        out = compose(original, pred, kind)
        assert out.shape == (1100, 37, 3)
        assert np.abs(out.astype(int) - out[0, 0].astype(int)).max() <= 1, kind


@FAST
@given(h=st.integers(1, 300), w=st.integers(1, 300), kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16))
def test_compose_any_size(h, w, kind, seed):
    rng = np.random.default_rng(seed)
    original = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ph, pw = working_size(h, w, 48)
    pred = np.stack([rng.random((ph, pw)), rng.uniform(-1, 1, (ph, pw)), rng.uniform(-1, 1, (ph, pw))]).astype(np.float32)
    out = compose(original, pred, kind)
    assert out.shape == (h, w, 3)
    assert out.dtype == np.uint8
    if kind == "lineart":   # multiply: never lighter than the lines
        assert (out.astype(int) <= original.astype(int) + 1).all()


def test_fill_hints_spreads_a_hint_over_its_region_only():
    from mangacolor.regions import FILL_MASK, fill_hints

    h, w = 23, 37
    x = np.ones((1, h, w), np.float32)
    x[0, :, 20] = 0.0                                    # a line: regions left (w 0..19) and right (21..36)
    hint, mask = np.zeros((3, h, w), np.float32), np.zeros((1, h, w), np.float32)
    hint[:, 5, 3:6], mask[0, 5, 3:6] = np.array([0.5, 0.2, -0.1])[:, None], 1.0  # a 3-pixel hint ...
    hint[:, 9, 3], mask[0, 9, 3] = [0.7, 0.4, 0.1], 1.0                         # ... outvotes a 1-pixel one
    fh, fm = fill_hints(x, hint, mask)
    assert fm[0, 9, 3] == 1.0 and np.allclose(fh[:, 9, 3], [0.7, 0.4, 0.1])    # user pixels keep their colour
    assert (fm[0, :, :20][fm[0, :, :20] < 1] == FILL_MASK).all()                # the rest of the region is spread
    assert np.allclose(fh[:, 17, 11] / FILL_MASK, [0.5, 0.2, -0.1])             # with the majority hint colour
    assert fm[0, :, 20:].max() == 0 and np.abs(fh[:, :, 20:]).max() == 0       # the line and the other region: none
    again = fill_hints(x, fh, fm)                                              # spread pixels never spread further
    assert np.array_equal(again[0], fh) and np.array_equal(again[1], fm)
    bh, bm = fill_hints(np.stack([x, x]), np.stack([hint, 0 * hint]), np.stack([mask, 0 * mask]))  # batched
    assert np.array_equal(bh[0], fh) and bm[1].max() == 0
