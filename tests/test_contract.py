"""The shared vocabulary (mangacolor.contract): one spelling per word, hint sets read back onto any page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mangacolor.color import rgb_to_lab
from mangacolor.contract import (
    KINDS,
    MODES,
    REFINE_MODES,
    ROLES,
    STRUCTURES,
    checks_of,
    fit_hints,
    gray_gain,
    gray_shadow,
    read_hint_set,
    structure_of,
    write_hint_set,
)
from mangacolor.hints import HintError, Point, Stroke
from mangacolor.pipeline import colorize


def test_the_vocabulary():
    assert MODES == ("auto", *KINDS) and len(set(MODES)) == len(MODES)
    assert ROLES == ("fast", "ensemble") and REFINE_MODES == ("auto", "on", "off", "fill")


def test_structure_and_checks_are_read_under_old_and_new_names():
    checks = {"parity_max_abs_err": 1e-6, "psnr_change_db": -0.01}
    assert structure_of({"structure": "ensemble"}) == "ensemble" and checks_of({"checks": checks}) == checks
    assert structure_of({"kind": "ensemble"}) == "ensemble" and checks_of({"quality": checks}) == checks  # older exports
    assert structure_of({"structure": "single", "kind": "ensemble"}) == "single"                         # new name wins
    assert checks_of({"checks": checks, "quality": {"x": 1}}) == checks
    assert structure_of({}) == "single" and checks_of({}) == {} and checks_of({"checks": None}) == {}
    assert set(STRUCTURES) == {"single", "ensemble"} and not set(STRUCTURES) & set(KINDS)


@pytest.mark.parametrize("folder", ["default", "default-ensemble"])
def test_the_bundled_models_old_metadata_reads_through(folder):
    """The bundled models read through, whichever spelling they were exported with."""
    onnx = pytest.importorskip("onnx")
    path = Path(__file__).parent.parent / "models" / folder / "model.onnx"
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(path), load_external_data=False).metadata_props}
    assert structure_of(meta) == ("ensemble" if folder.endswith("ensemble") else "single")
    assert checks_of(meta)["parity_max_abs_err"] <= 1e-4


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


def test_gray_gain_is_read_from_any_model_metadata():
    assert gray_gain({}) == 1.0                                             # models from before the gain
    assert gray_gain({"gray_gain": 0.6, "hint_fill": False}) == 0.6         # ONNX / model-store metadata
    assert gray_gain({"model_config": {"gray_gain": 0.8}}) == 0.8           # a checkpoint's meta
    assert gray_gain({"members": [{"model_config": {"gray_gain": 0.4}}, {"model_config": {}}]}) == 0.4
    assert gray_gain({"members": 2, "kind": "ensemble"}) == 1.0             # ONNX metadata of an older export


def test_gray_shadow_is_read_like_the_gain_and_is_off_for_older_models():
    assert gray_shadow({"gray_gain": 0.6}) == 0.0                           # tuned before the shadow existed
    assert gray_shadow({"gray_shadow": 25, "gray_gain": 0.8}) == 25.0
    assert gray_shadow({"members": [{"model_config": {"gray_shadow": 40.0}}]}) == 40.0


class _Vivid:
    """A fake model proposing one saturated colour everywhere, with a gray gain and shadow."""

    def __init__(self, gain: float, shadow: float = 0.0):
        self.gray_gain, self.gray_shadow = gain, shadow

    def __call__(self, x, hint, mask):
        out = np.zeros((x.shape[0], 3, *x.shape[-2:]), np.float32)
        out[:, 0], out[:, 1], out[:, 2] = 0.6, 0.3, -0.25
        return out


def _chroma(rgb):
    lab = rgb_to_lab(rgb)
    return np.hypot(lab[..., 1], lab[..., 2])


def test_the_gray_gain_scales_the_chroma_of_gray_pages_only():
    rng = np.random.default_rng(3)
    gray = np.repeat(rng.integers(60, 200, (45, 71, 1), dtype=np.uint8), 3, axis=2)
    full, half = (colorize(gray, _Vivid(g), "grayscale") for g in (1.0, 0.5))
    ratio = _chroma(half).mean() / _chroma(full).mean()
    assert 0.4 < ratio < 0.6
    line = np.full((45, 71, 3), 255, np.uint8)
    line[20:23] = 0
    assert (colorize(line, _Vivid(1.0), "lineart") == colorize(line, _Vivid(0.3), "lineart")).all()


def test_the_gray_shadow_fades_chroma_in_dark_pixels_only_and_hints_keep_their_colour():
    page = np.full((45, 71, 3), 200, np.uint8)      # light (L* ~81): above the shadow, the gain alone
    page[:, :30] = 20                                # dark (L* ~6): the chroma fades to 6/40 of it
    plain, faded = (colorize(page, _Vivid(0.8, s), "grayscale") for s in (0.0, 40.0))
    dark, light = _chroma(faded[:, :25]).mean() / _chroma(plain[:, :25]).mean(), \
        _chroma(faded[:, 35:]).mean() / _chroma(plain[:, 35:]).mean()
    assert dark < 0.35 and 0.97 < light < 1.03
    hint = [Point(x=10, y=22, color=(40, 90, 220), radius=3)]   # a blue hint in the shadow lands as blue
    out = colorize(page, _Vivid(0.8, 40.0), "grayscale", hints=hint)
    assert rgb_to_lab(out[22:23, 10:11])[0, 0, 2] < -5
    line = np.full((45, 71, 3), 255, np.uint8)
    line[20:23] = 0
    assert (colorize(line, _Vivid(1.0, 40.0), "lineart") == colorize(line, _Vivid(1.0), "lineart")).all()
