"""Property-based tests: the HTTP API fuzzed from its own OpenAPI schema (schemathesis: no 5xx
for anything generated), and the imaging core on arbitrary images and hints (Hypothesis)."""

from __future__ import annotations

import io

import numpy as np
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mangacolor.hints import HintError, Point, Stroke, rasterize
from mangacolor.image_io import ImageError, load_image
from mangacolor.pipeline import colorize


def test_api_never_answers_5xx(server):
    """Every operation in /openapi.json, with Hypothesis-generated requests: no 5xx, server stays ready.
    (schemathesis' pytest plugin does not load under pytest 9, so the strategies are driven here.)"""
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/colorize", "/models"}
    for op in operations:

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def check(case):
            response = case.call(timeout=60)
            assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])

        check()
    assert server.ready()


MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]


@settings(max_examples=60, deadline=None)
@given(w=st.integers(1, 120), h=st.integers(1, 120), mode=st.sampled_from(MODES),
       fmt=st.sampled_from(["PNG", "TIFF", "BMP", "GIF", "WEBP", "JPEG"]), seed=st.integers(0, 2**16))
def test_load_image_any_mode_and_size(w, h, mode, fmt, seed):
    arr = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    im = Image.fromarray(arr).convert(mode) if mode not in ("I;16", "I", "F") else Image.fromarray(arr[..., 0]).convert(mode)
    buf = io.BytesIO()
    try:
        im.save(buf, fmt)
    except (OSError, ValueError, KeyError):
        return  # that format cannot store that mode: nothing to load
    try:
        out = load_image(buf.getvalue())
    except ImageError as e:
        assert e.status in (413, 415, 422) and (min(w, h) < 8 or e.status != 422 or fmt)
        return
    assert out.dtype == np.uint8 and out.shape == (h, w, 3)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_load_image_random_bytes_raise_only_typed_errors(data):
    try:
        load_image(data)
    except ImageError:
        pass


hint = st.one_of(
    st.builds(Point, st.floats(0, 90), st.floats(0, 60), st.tuples(*[st.integers(0, 255)] * 3), st.floats(0, 30)),
    st.builds(Stroke, st.lists(st.tuples(st.floats(0, 90), st.floats(0, 60)), min_size=1, max_size=6).map(tuple),
              st.tuples(*[st.integers(0, 255)] * 3), st.floats(1, 20)),
)


@settings(max_examples=40, deadline=None)
@given(w=st.integers(8, 300), h=st.integers(8, 300), hints=st.lists(hint, max_size=8),
       kind=st.sampled_from(["lineart", "grayscale", "screentone"]), work=st.sampled_from([64, 128, 512]))
def test_pipeline_any_size_any_hints_same_size_out(w, h, hints, kind, work):
    page = np.full((h, w, 3), 255, np.uint8)
    page[h // 3: h // 2] = 0

    def predict(x, hint_planes, mask):
        assert x.shape[-2:] == hint_planes.shape[-2:] == mask.shape[-2:] and x.shape[-1] % 16 == 0
        return np.concatenate([x, hint_planes[:, 1:]], axis=1)

    out = colorize(page, predict, kind, hints, work)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


@settings(max_examples=40, deadline=None)
@given(hints=st.lists(hint, max_size=10), w=st.integers(1, 200), h=st.integers(1, 200))
def test_rasterize_any_hints_any_size(hints, w, h):
    planes, mask = rasterize(hints, (90, 60), (w, h))
    assert planes.shape == (3, h, w) and mask.shape == (1, h, w) and np.isfinite(planes).all()
    assert HintError.status == 400
