"""Descreening (mangacolor.descreen): a screentone page's dot pitch is found from its spectrum, its dots
become tones, and the pipeline colours the tones instead of the dots."""

from __future__ import annotations

import numpy as np
import pytest

from mangacolor.color import rgb_to_lab, rgb_to_net, to_uint8
from mangacolor.descreen import descreen, dot_pitch
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
