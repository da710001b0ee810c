"""Hints (mangacolor.hints): parsing and validation, rasterizing into (hint, mask) planes.

Sizes are asymmetric (H != W, neither a multiple of 8): swapped axes and padding bugs fail.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mangacolor.color import (
    rgb_to_net,
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
from tests.imaging import (
    FAST,
    H,
    W,
    mask_centroid,
)

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
    np.testing.assert_allclose(mask_centroid(mask), (20, 40), atol=0.6)
    assert 20 <= mask.sum() <= 45                       # a disc of radius 3
    inside = mask[0] == 1
    want = rgb_to_net(np.array([[color]], np.uint8))[:, 0, 0]
    np.testing.assert_allclose(hint[:, inside].T, np.broadcast_to(want, (inside.sum(), 3)), atol=1e-5)
    assert (hint[:, ~inside] == 0).all()


def test_rasterize_at_half_resolution():
    hint, mask = rasterize([Point(40, 20, (0, 0, 255), 3)], (W, H), (W // 2, H // 2))
    assert hint.shape == (3, H // 2, W // 2) and mask.shape == (1, H // 2, W // 2)
    assert mask[0, 10, 20] == 1
    np.testing.assert_allclose(mask_centroid(mask), (10, 20), atol=0.6)
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
    np.testing.assert_allclose(mask_centroid(mask), (20, 40), atol=1.0)


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
