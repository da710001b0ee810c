"""Training inputs (training/data): line-art and manga-page synthesis, hints drawn from the target.

Sizes are asymmetric (H != W, neither a multiple of 8): swapped axes and padding bugs fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from mangacolor.color import (
    to_gray,
)
from mangacolor.hints import (
    Point,
    hints_to_json,
    parse_hints,
)
from tests.imaging import (
    SMALL_H,
    SMALL_W,
    H,
    W,
    outlined_page,
    rect_page,
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

# ----------------------------------------------------------------------------- line art


@pytest.mark.parametrize("fn", ["gray", "rgb"])
def test_xdog_on_rectangle(fn):
    rgb = rect_page()
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
    ink = xdog_rgb(rect_page())
    b = binarize(ink, 0.6)
    assert b.shape == (H, W)
    assert set(np.unique(b)) == {0.0, 1.0}
    assert ((ink >= 0.6) == (b == 1)).all()


def test_thicken_adds_ink_and_never_lightens():
    ink = binarize(xdog_rgb(rect_page()))
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
    rgb = outlined_page()
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
    rgb = outlined_page()
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


# ----------------------------------------------------------------------------- hints: sampling


def test_sample_hints_none_and_deterministic():
    rgb = outlined_page()
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
    rgb = outlined_page()
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
    rgb = outlined_page()
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
