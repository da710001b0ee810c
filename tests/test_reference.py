"""Reference colouring (mangacolor.reference): matched colours land, mirrored figures are found,
user hints win, and the reference protocol's Welsh baseline transfers colour."""

from __future__ import annotations

import numpy as np
import pytest

from mangacolor.color import rgb_to_lab, rgb_to_net
from mangacolor.hints import Point
from mangacolor.pipeline import colorize, prepare
from mangacolor.reference import MAX_REFERENCES, mirrored, transfer, welsh
from training.evaluate.reference_eval import reference_view

H, W = 83, 61  # asymmetric, not multiples of 8


def figure(h=H, w=W, left=(200, 40, 40), right=(40, 60, 200), skin=(240, 200, 170)) -> np.ndarray:
    """A figure on white: a red left half and a blue right half of different gray, a light face on top."""
    img = np.full((h, w, 3), 255, np.uint8)
    img[h // 3:h - 5, 8:w // 2] = left
    img[h // 3:h - 5, w // 2:w - 8] = right
    img[5:h // 3, w // 3:2 * w // 3] = skin
    return img


def outlines(rgb: np.ndarray) -> np.ndarray:
    """The line art of a flat picture: black 2 px lines where its colour changes, white paper elsewhere."""
    c = rgb.astype(int)
    edge = np.zeros(rgb.shape[:2], bool)
    edge[1:] |= (c[1:] != c[:-1]).any(-1)
    edge[:, 1:] |= (c[:, 1:] != c[:, :-1]).any(-1)
    edge[:-1] |= edge[1:].copy()
    edge[:, :-1] |= edge[:, 1:].copy()
    return np.repeat(np.where(edge, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def gray_page(rgb: np.ndarray) -> np.ndarray:
    g = np.round(rgb_to_lab(rgb)[..., 0] / 100 * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


class Gray:
    """A fake model that proposes no colour (so every colour comes from the reference)."""

    hint_fill, gray_gain = False, 1.0

    def __call__(self, x, hint, mask, glob=None):
        self.glob = glob
        out = np.zeros((x.shape[0], 4, *x.shape[-2:]), np.float32)
        out[:, 0], out[:, 3] = x[:, 0], 0.5
        return out


def hue_error(out: np.ndarray, target: np.ndarray, where: np.ndarray) -> float:
    a, b = rgb_to_lab(out)[where][:, 1:], rgb_to_lab(target)[where][:, 1:]
    return float(np.linalg.norm(a - b, axis=1).mean())


def test_a_gray_page_takes_the_colours_of_its_mirrored_reference():
    target = figure()
    ref = np.ascontiguousarray(target[:, ::-1])            # the same figure facing the other way
    model = Gray()
    out = colorize(gray_page(target), model, "grayscale", references=[ref])
    assert out.shape == target.shape
    body = np.zeros((H, W), bool)
    body[H // 3 + 3:H - 8, 11:W - 11] = True
    assert hue_error(out, target, body) < 0.35 * hue_error(gray_page(target), target, body)
    assert model.glob is not None and model.glob.shape[0] == 1 and model.glob[0, -1] == 1.0  # the global hints flag


def test_mirroring_is_detected_from_the_edges():
    target = figure()
    x = rgb_to_net(gray_page(target))[0]
    assert mirrored(x, rgb_to_net(np.ascontiguousarray(target[:, ::-1])))
    assert not mirrored(x, rgb_to_net(target))


def test_line_art_regions_take_the_reference_colour():
    target = figure()
    line = outlines(target)
    tr = transfer(rgb_to_net(line)[:1], "lineart", [target])
    assert tr.colour.shape == (3, H, W) and tr.weight.shape == (H, W)
    inside_left = (H // 2, W // 4)
    assert tr.weight[inside_left] > 0.5
    lab = tr.colour[:, inside_left[0], inside_left[1]]
    want = rgb_to_net(target)[:, inside_left[0], inside_left[1]]
    assert np.abs(lab - want).max() < 0.1
    assert (tr.weight[line[..., 0] == 0] == 0).all()          # the lines stay the page's own
    turned = transfer(rgb_to_net(line)[:1], "lineart", [np.ascontiguousarray(target[:, ::-1])])
    assert np.abs(turned.colour[:, inside_left[0], inside_left[1]] - want).max() < 0.1  # mirrored back


def test_user_hints_win_over_the_reference():
    target = figure()
    hint = Point(W // 4, H // 2, (0, 200, 0), 2)            # green on the (red in the reference) left half
    out = colorize(gray_page(target), Gray(), "grayscale", [hint], references=[target])
    lab = rgb_to_lab(out[H // 2 - 1:H // 2 + 2, W // 4 - 1:W // 4 + 2])
    assert (lab[..., 1] < -10).all()                         # green (a < 0), not red


def test_too_many_references_is_an_error():
    with pytest.raises(ValueError, match="at most"):
        colorize(gray_page(figure()), Gray(), "grayscale", references=[figure()] * (MAX_REFERENCES + 1))


def test_no_references_changes_nothing():
    p = prepare(gray_page(figure()), [], 64)
    assert p.glob is None and p.transfer is None


def test_welsh_transfers_colour_by_gray_level():
    target = figure()
    ab = welsh(rgb_to_net(gray_page(target))[0], [rgb_to_net(target)], samples=400)
    assert ab.shape == (2, H, W)
    red = rgb_to_net(target)[1:, H // 2, W // 4]
    assert np.abs(ab[:, H // 2, W // 4] - red).max() < 0.1   # the red half's gray is found in the reference


def test_the_reference_view_is_another_pose_of_the_same_size():
    target = figure()
    view = reference_view(target, np.random.default_rng(0))
    assert view.shape == target.shape and not (view == target).all()
    assert (view[0, 0] == 255).all()                         # on its own background
