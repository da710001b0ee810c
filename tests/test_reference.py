"""Reference colouring (mangacolor.reference): matched colours land, mirrored figures are found,
user hints win, and the reference protocol's Welsh baseline transfers colour."""

from __future__ import annotations

import numpy as np
import pytest

from mangacolor.color import rgb_to_lab, rgb_to_net
from mangacolor.hints import Point
from mangacolor.pipeline import colorize, prepare
from mangacolor.reference import MAX_REFERENCES, as_hints, mirrored, prepare_reference, transfer, welsh
from tests.imaging import FIG_H, FIG_W, figure, gray_page, outlines
from training.evaluate.reference_eval import reference_view

H, W = FIG_H, FIG_W  # asymmetric, not multiples of 8


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


def test_as_hints_puts_the_references_colours_on_the_page_at_its_size():
    target = figure()
    page = np.kron(gray_page(target), np.ones((3, 2, 1), np.uint8))        # (249, 122): another size, H != W
    tr = transfer(rgb_to_net(gray_page(target))[:1], "grayscale", [np.ascontiguousarray(target[:, ::-1])])
    hints = as_hints(tr, page.shape[:2], max_hints=20, page=page)
    assert 6 <= len(hints) <= 20
    assert len({(int(h.x // 20), int(h.y // 20)) for h in hints}) > len(hints) // 2   # spread out, not one clump
    lab = rgb_to_lab(np.array([h.color for h in hints], np.uint8)[None])[0]
    for h, (ell, a, b) in zip(hints, lab):
        assert 0 <= h.x < page.shape[1] and 0 <= h.y < page.shape[0] and h.radius >= 3
        want = rgb_to_lab(target[int(h.y) // 3, int(h.x) // 2][None, None])[0, 0]
        assert (target[int(h.y) // 3, int(h.x) // 2] != 255).any()             # on the figure, not the paper
        assert abs(ell - want[0]) < 8 and np.hypot(a - want[1], b - want[2]) < 25  # the page's lightness, the colour there
    lines = transfer(rgb_to_net(outlines(target))[:1], "lineart", [target])
    red = [h for h in as_hints(lines, (H, W)) if h.y > H // 3 + 3 and 10 < h.x < W // 2 - 3]
    assert red and all(np.abs(np.subtract(h.color, (200, 40, 40))).max() <= 3 for h in red)  # line art: its own L too
    assert as_hints(tr, page.shape[:2], threshold=1.0) == []


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


def test_features_at_sampled_pixels_equal_the_whole_image_box_means():
    """The matcher computes its box means only where it matches (filters.box_means_at): the same numbers as the
    whole-image means at those pixels, borders included (edges clamp)."""
    from mangacolor.filters import box_means, box_means_at

    img = np.random.default_rng(3).random((37, 53))
    ys, xs = np.array([0, 36, 5, 36, 0, 17]), np.array([0, 52, 7, 0, 52, 26])
    for whole, at in zip(box_means(img, (1, 3, 9)), box_means_at(img, (1, 3, 9), ys, xs)):
        assert at.shape == ys.shape and np.array_equal(at, whole[ys, xs])


def test_a_reference_is_prepared_once_and_known_by_its_pixels_not_its_object():
    ref = figure()
    first = prepare_reference(ref, 97)
    assert prepare_reference(ref.copy(), 97) is first  # the same pixels: the prepared one, not a new conversion
    assert not first.flags.writeable                    # shared by later pages: nobody may change it
    assert prepare_reference(ref, 61) is not first      # another working size is another preparation
    changed = ref.copy()
    changed[H // 2, W // 2] ^= 1                         # one pixel differs: prepared anew
    assert prepare_reference(changed, 97) is not first
    fresh = [np.ascontiguousarray(np.roll(ref, i + 1, axis=1)) for i in range(MAX_REFERENCES)]
    for r in fresh:                                     # more references than are kept: the oldest goes
        prepare_reference(r, 97)
    again = prepare_reference(ref, 97)
    assert again is not first
    np.testing.assert_array_equal(again, first)         # the same numbers either way
