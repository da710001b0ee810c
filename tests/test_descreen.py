"""Descreening (mangacolor.descreen): a screentone page's dot pitch is found from its spectrum, its dots
become tones, and the pipeline colours the tones instead of the dots."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from mangacolor.color import rgb_to_lab, rgb_to_net, to_uint8
from mangacolor.descreen import descreen, dot_pitch, find_screen
from mangacolor.ink import sharp_ink
from mangacolor.pipeline import colorize
from tests.imaging import H, W, figure, gray_page, outlines
from training.data.screentone import ToneParams, halftone


def _page(gray: np.ndarray) -> np.ndarray:
    return np.repeat(to_uint8(gray)[..., None], 3, axis=2)


def _toned(pitch: float, angle: float, pattern: str = "dots", shape=(H, W)) -> np.ndarray:
    """A page of one flat mid tone (gray 0.55) printed as a screen, a paper margin around it."""
    gray = np.ones(shape, np.float32)
    gray[20:-20, 15:-15] = 0.55
    return _page(halftone(gray, ToneParams(pitch=pitch, angle=angle, pattern=pattern, levels=4)))


@pytest.mark.parametrize("pitch, angle, pattern", [(3.7, 45.0, "dots"), (5.3, 30.0, "dots"), (8.6, 15.0, "dots"),
                                                   (6.2, 60.0, "lines")])
def test_dot_pitch_is_found_at_any_angle(pitch, angle, pattern):
    assert dot_pitch(_toned(pitch, angle, pattern)) == pytest.approx(pitch, rel=0.08)


@pytest.mark.parametrize("pitch, angle", [(6.0, 0.0), (4.3, 1.5), (7.9, -2.5)])
def test_a_dot_screen_at_0_degrees_is_found_through_its_diagonal_harmonic(pitch, angle):
    """The axes are left out of the search (straight edges put energy there), so a screen at 0 degrees shows
    its diagonal harmonic first, at the pitch / sqrt(2); its fundamentals beside the axes then give the pitch
    (until 2026-11-25 the harmonic's was taken: too little blur, the dots' grid left on the page)."""
    assert dot_pitch(_toned(pitch, angle)) == pytest.approx(pitch, rel=0.08)


def test_straight_edges_do_not_make_a_45_degree_screen_look_like_a_harmonic():
    """A 45-degree screen whose peak is diagonal, on a page with a panel's borders (energy along both axes at every
    frequency, the fundamentals' candidates included): its pitch stays its own."""
    page = _toned(5.0, 45.0)
    page[5:8, :] = page[-8:-5, :] = page[:, 5:8] = page[:, -8:-5] = 0   # panel borders, 3 px black
    assert dot_pitch(page) == pytest.approx(5.0, rel=0.08)


def test_pages_without_dots_have_no_pitch_and_are_left_as_they_are():
    art = figure(H, W)
    for page in (gray_page(art), outlines(art), np.full((H, W, 3), 255, np.uint8)):
        assert dot_pitch(page) == 0.0
        assert descreen(page) is page


def test_the_screen_is_found_where_the_centre_is_paper():
    """Tone only in a corner of a big page: the windows beside the centre find it."""
    gray = np.ones((1301, 917), np.float32)
    gray[900:1250, 40:400] = 0.5
    assert dot_pitch(_page(halftone(gray, ToneParams(pitch=6.0, angle=45.0)))) == pytest.approx(6.0, rel=0.08)


def test_descreened_dots_become_their_tone():
    page = _toned(5.3, 30.0)
    inner = (slice(40, -40), slice(35, -35))
    out = descreen(page)
    assert out.shape == page.shape and out.dtype == np.uint8
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 0] == out[..., 2]).all()  # still a gray page
    dots = page[inner][..., 0].astype(float)
    flat = out[inner][..., 0].astype(float)
    assert dots.std() > 100                               # the page: black and white dots
    assert flat.std() < 12                                # descreened: one tone, give or take the moire
    assert abs(flat.mean() - dots.mean()) < 6             # the tone the dots print as
    assert (out[:10] == 255).all()                        # the paper margin stays paper


def _constant(colour: tuple[int, int, int]):
    """A predictor that proposes one colour everywhere, whatever the page (the composition is under test)."""
    lab = rgb_to_net(np.array([[colour]], np.uint8))[:, 0, 0]

    def predict(x, hint, mask):
        return np.broadcast_to(lab[None, :, None, None], (x.shape[0], 3, *x.shape[2:])).astype(np.float32)
    return predict


def test_a_screentone_page_is_coloured_on_its_tones_not_on_its_dots():
    """Composed under its own dots (what mode grayscale does with it), a toned area stays black dots and
    near-white paper, with less of the colour; as screentone it is descreened first and takes the colour
    evenly, at the tone's lightness."""
    page = _toned(4.6, 45.0, shape=(H + 150, W + 120))
    inner = (slice(60, -60), slice(50, -50))
    colour = (200, 120, 60)
    chroma = np.hypot(*rgb_to_lab(np.array(colour, np.uint8))[1:])
    tone = rgb_to_lab(descreen(page)[inner])[..., 0].mean()
    for kind in ("grayscale", "screentone"):
        lab = rgb_to_lab(colorize(page, _constant(colour), kind, work_size=512)[inner])
        got = np.hypot(lab[..., 1], lab[..., 2]).mean() / chroma
        if kind == "grayscale":
            assert lab[..., 0].std() > 30 and got < 0.7, got                # dots, paler colour
        else:
            assert lab[..., 0].std() < 8 and 0.9 < got < 1.1, got           # an even tone in the colour
            assert abs(lab[..., 0].mean() - tone) < 1.5                     # at the descreened page's lightness


def _lettered(pitch: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """A page of tone (gray 0.55 as a screen) with a paper balloon holding two lines of lettering (Pillow's bundled
    font, 22 px); -> (page, (H, W) bool: the lettering's ink)."""
    h, w = H + 150, W + 230
    page = _toned(pitch, angle, shape=(h, w))
    im = Image.fromarray(page)
    draw = ImageDraw.Draw(im)
    draw.ellipse([30, 40, w - 30, 200], fill="white", outline="black", width=3)
    font = ImageFont.load_default(size=22)
    draw.text((80, 85), "WHERE ARE", font=font, fill="black")
    draw.text((80, 120), "you going?", font=font, fill="black")
    out = np.asarray(im).copy()
    letters = np.zeros((h, w), bool)
    letters[80:150, 75:w - 60] = out[80:150, 75:w - 60, 0] < 64
    return out, letters


@pytest.mark.parametrize("pitch, angle", [(5.3, 45.0), (7.1, 15.0), (4.4, 60.0)])
def test_lettering_on_paper_stays_sharp_and_the_tone_round_it_is_descreened(pitch, angle):
    """Lettering in a balloon is not tone: it comes back as black as it was, with no gray halo on the paper round
    it (blurred with the tone at the dot pitch it turned gray: more than half its ink lighter than 64), while the
    tone outside the balloon still becomes one flat tone. (At 0 degrees small letters one pitch apart along the line
    read as a row of dots and are blurred: docs/benchmarks.md.)"""
    page, letters = _lettered(pitch, angle)
    out = descreen(page)[..., 0]
    assert letters.sum() > 300
    assert (out[letters] < 64).mean() > 0.95
    paper = ~ndimage.binary_dilation(letters, iterations=2)
    paper[:80] = paper[150:] = False
    paper[:, :75] = paper[:, -60:] = False
    assert (out[paper] >= 245).mean() > 0.97
    blurred = np.asarray(Image.fromarray(page[..., 0]).filter(ImageFilter.GaussianBlur(0.35 * pitch)))
    assert (blurred[letters] < 64).mean() < 0.5          # what the blur alone did to the lettering
    tone = out[230:-25, 20:-20]
    assert tone.std() < 12 and abs(tone.mean() - page[230:-25, 20:-20, 0].mean()) < 6


@pytest.mark.parametrize("gray, pattern", [(0.3, "dots"), (0.45, "dots"), (0.8, "dots"), (0.55, "lines")])
def test_tone_next_to_paper_keeps_none_of_its_dots(gray, pattern):
    """A dark tone's mesh, a tone near half gray whose dots join, a light tone's scattered dots and a screen of lines,
    each beside a paper margin and with the page's edge cutting it: none of it is kept as ink."""
    shade = np.ones((H, W), np.float32)
    shade[30:, 25:] = gray
    page = _page(halftone(shade, ToneParams(pitch=5.7, angle=30.0, pattern=pattern, levels=4)))
    pitch, angle = find_screen(page)
    assert pitch == pytest.approx(5.7, rel=0.08)
    assert not sharp_ink(page[..., 0], pitch, angle).any()


def test_a_thin_line_drawn_in_tone_is_blurred_not_kept_as_dots():
    """A light gray stroke a few pixels wide along one of the screen's axes prints as a row of dots one pitch
    apart: tone, not lettering. (Along the screen's diagonal such a row is kept as dots: docs/benchmarks.md.)"""
    shade = np.ones((H, W), np.float32)
    shade[20:140, 30:140] = 0.55                      # a tone, so the page has a screen
    y, x = np.mgrid[0:H, 0:W]
    t = np.deg2rad(30.0)
    along = np.abs(-x * np.sin(t) + y * np.cos(t) - 120) < 2   # a band along the screen's first axis...
    stroke = along & (y > 160) & (y < H - 10)                   # ...on the paper below the tone
    shade[stroke] = 0.7
    page = _page(halftone(shade, ToneParams(pitch=6.0, angle=30.0, levels=4)))
    pitch, angle = find_screen(page)
    assert pitch == pytest.approx(6.0, rel=0.08)
    near = ndimage.binary_dilation(stroke, iterations=3)
    assert (page[..., 0][near] < 128).sum() > 20      # its dots are there...
    assert not sharp_ink(page[..., 0], pitch, angle)[near].any()   # ...and none is kept
