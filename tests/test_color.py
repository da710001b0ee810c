"""Colour: sRGB <-> CIELAB, the network's normalised Lab, gray, hex colours (mangacolor.color).

Sizes are asymmetric (H != W, neither a multiple of 8): swapped axes and padding bugs fail.
"""

from __future__ import annotations

import numpy as np
import pytest
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
from tests.imaging import (
    SMALL_H,
    SMALL_W,
)

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
