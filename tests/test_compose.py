"""Working size, pad/unpad and the full-resolution composition (mangacolor.compose).

Sizes are asymmetric (H != W, neither a multiple of 8): swapped axes and padding bugs fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mangacolor.color import (
    lab_to_rgb,
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
from tests.imaging import (
    FAST,
    SMALL_H,
    SMALL_W,
    H,
    W,
    rect_page,
)

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
    up = gray_input(rect_page(), working_size(H, W))
    assert up.shape == (1,) + working_size(H, W)
    # orientation: the rectangle (rows 60..179, cols 40..129) keeps its place
    ys = np.nonzero(up[0].min(axis=1) < 0.5)[0]
    xs = np.nonzero(up[0].min(axis=0) < 0.5)[0]
    assert abs(ys.mean() / up.shape[1] - 119.5 / H) < 0.02
    assert abs(xs.mean() / up.shape[2] - 84.5 / W) < 0.02
    assert abs(float(np.median(up[0, 200:300, 120:200])) - to_gray(rect_page())[100, 80]) < 0.01


def test_gray_input_upscaled_stays_in_unit_range():
    up = gray_input(rect_page(color=(0, 0, 0)), working_size(H, W))
    assert up.min() >= 0.0 and up.max() <= 1.0


def _random_prediction(rng, hw: tuple[int, int], ab: float) -> np.ndarray:
    """(3, h, w) normalised Lab: L in [0, 1), a and b in [-ab, ab]."""
    h, w = hw
    return np.stack([rng.random((h, w)), rng.uniform(-ab, ab, (h, w)), rng.uniform(-ab, ab, (h, w))]).astype(np.float32)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hw", [(251, 177), (1, 1), (3, 530), (530, 7)])
def test_compose_returns_exact_original_size(kind, hw):
    h, w = hw
    rng = np.random.default_rng(7)
    original = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = compose(original, _random_prediction(rng, working_size(h, w, 96), 0.5), kind)
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
    out = compose(original, _random_prediction(rng, working_size(h, w, 48), 1.0), kind)
    assert out.shape == (h, w, 3)
    assert out.dtype == np.uint8
    if kind == "lineart":   # multiply: never lighter than the lines
        assert (out.astype(int) <= original.astype(int) + 1).all()
