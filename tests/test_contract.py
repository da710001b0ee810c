"""The shared vocabulary (mangacolor.contract): one spelling per word, hint sets read back onto any page."""

from __future__ import annotations

import pytest

from mangacolor.contract import KINDS, MODES, REFINE_MODES, ROLES, fit_hints, read_hint_set, write_hint_set
from mangacolor.hints import HintError, Point, Stroke


def test_the_vocabulary():
    assert MODES == ("auto", *KINDS) and len(set(MODES)) == len(MODES)
    assert ROLES == ("fast", "ensemble") and REFINE_MODES == ("auto", "on", "off")


def test_a_hint_set_round_trips_and_fits_another_page():
    hints = [Point(30.0, 20.0, (200, 10, 10), 4.0), Stroke(((5.0, 6.0), (70.0, 40.0)), (10, 200, 10), 3.0)]
    text = write_hint_set(hints, (173, 251))
    back, size = read_hint_set(text)
    assert back == hints and size == (173.0, 251.0)
    fitted = fit_hints(back, size, (346, 502))                          # the same page at twice the size
    assert fitted[0].x == 60.0 and fitted[0].y == 40.0 and fitted[1].points[1] == (140.0, 80.0)
    assert read_hint_set('[{"x": 1, "y": 2, "color": "#ff0000"}]')[1] is None   # a bare list has no size
    assert fit_hints(back, None, (346, 502)) == back


@pytest.mark.parametrize("size", ["[0, 10]", "[10]", '"big"', "[10, -3]", "[true, 4]"])
def test_a_bad_size_is_a_hint_error(size):
    with pytest.raises(HintError, match="size"):
        read_hint_set('{"size": %s, "hints": []}' % size)
