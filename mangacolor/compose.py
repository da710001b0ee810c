"""Working resolution, pad/unpad, and the full-resolution composition.

The network runs at a working resolution (long side about 512 px). Only its
colour is kept and merged with the page at full size, so lines and screentone
stay crisp at any page size and colours do not shift with the page size:

- grayscale / screentone pages: predicted chroma (a, b), upsampled, under the
  original luminance (a screentone page's comes descreened, mangacolor.descreen);
- line art: the predicted colour layer, upsampled, multiplied under the
  original lines (with the network's own copy of the lines taken out
  first, see line_free, so lines are drawn once, by the page).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from .color import AB_SCALE, f_to_rgb8, gray_levels, lightness_f, net_to_rgb, to_gray
from .contract import KINDS, WORK_SIZE
from .filters import nearest_outside, resize_bands, resize_plane
from .regions import LINE_THRESHOLD

MULTIPLE = 16  # the U-Net halves the size 4 times
# Line art: working-size gray below the regions' LINE_THRESHOLD is a line. The network's colour is darker than its
# fill beside one (on the demo figure, lightness 0.17 on the lines, 0.74 at 1 px, 0.89 at 2, 0.92 beyond);
# line_free replaces it on the lines and LINE_REACH px beside them (2 would also take thin regions' own colour).
LINE_REACH = 1
_ROWS_PER_BAND = 64  # composition works in bands of rows small enough to stay in the CPU cache


def pad_to_multiple(x: np.ndarray, multiple: int = MULTIPLE, value: float = 1.0) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad the last two axes (H, W) at the bottom/right to multiples of `multiple`.

    Returns (padded array, original (H, W)) for `unpad`. `value` 1.0 is paper white.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        pad = [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)]
        x = np.pad(x, pad, mode="constant", constant_values=value)
    return x, (h, w)


def unpad(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Undo `pad_to_multiple`: crop the last two axes back to (H, W)."""
    return x[..., : hw[0], : hw[1]]


def working_size(h: int, w: int, long_side: int = WORK_SIZE) -> tuple[int, int]:
    """(H, W) of the network input: long side `long_side`, aspect kept, never upscaled past it."""
    scale = long_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def gray_input(rgb: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 page -> (1, h, w) float32 gray in [0, 1] at the working size.

    Downscaling is area-averaged (BOX) so screentone dots become the tone they
    print as; the dataset shrinks its training pages the same way.
    """
    down = size_hw[0] < rgb.shape[0]
    resample = Image.BOX if down else Image.BICUBIC
    levels = gray_levels(rgb)
    if levels is None:
        out = resize_plane(to_gray(rgb), size_hw, resample)
    else:  # a neutral page (the usual case): its levels straight to Pillow, no full-size float copy of ours
        small = Image.fromarray(levels).convert("F").resize(size_hw[::-1], resample)
        out = np.asarray(small, dtype=np.float32) * np.float32(1 / 255)  # = to_gray, to float rounding
    return np.clip(out, 0.0, 1.0)[None]  # bicubic overshoots at edges


def line_free(pred: np.ndarray, gray: np.ndarray, reach: int = LINE_REACH) -> np.ndarray:
    """Line art: (3, h, w) prediction and the (h, w) working-size gray -> the prediction with the colour of a
    nearest pixel away from the lines on the lines and up to `reach` px from them. The network repeats the
    page's lines in its own lightness; `compose` multiplies its colour under the page's lines, so they were
    drawn twice, and upsampled to a big page the network's copy became a dark halo that thickened every line."""
    near = gray < LINE_THRESHOLD
    if reach > 0 and near.any():
        near = ndimage.binary_dilation(near, iterations=reach)
    if not near.any() or near.all():
        return pred
    iy, ix = nearest_outside(near)
    return pred[:, iy, ix]


def compose(original: np.ndarray, pred: np.ndarray, kind: str) -> np.ndarray:
    """Merge a working-resolution prediction (3, h, w) normalised Lab into the
    full-size page (H, W, 3) uint8; returns (H, W, 3) uint8 of the input's exact size.

    Works in bands of rows, each upsampled from the whole prediction, so a page never has
    full-size float planes (on big pages those cost more in memory traffic than in arithmetic)."""
    if kind not in KINDS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {KINDS}")
    H, W = original.shape[:2]
    out = np.empty_like(original)
    if kind == "lineart":
        layer = net_to_rgb(pred)[None]  # (1, h, w, 3) uint8: one RGB "plane" for resize_bands
        for sl, (colour,) in resize_bands(layer, (H, W), _ROWS_PER_BAND, Image.BICUBIC):
            # colour * page / 255, rounded: exact in uint16 (the product of two bytes plus 127 fits)
            t = colour.astype(np.uint16) * original[sl] + np.uint16(127)
            out[sl] = (t + 1 + (t >> 8)) >> 8  # t // 255 for t <= 65152
        return out
    # a and b in the form Lab -> sRGB wants them: a / 500 and b / 200
    ab = pred[1:] * (np.float32(AB_SCALE) / np.array([500, 200], np.float32))[:, None, None]
    for sl, (a500, b200) in resize_bands(ab, (H, W), _ROWS_PER_BAND):
        band = original[sl]
        fy, y = lightness_f(band, gray_levels(band))  # a neutral band (the usual case): from a table
        f_to_rgb8(fy + a500, y, fy - b200, out=out[sl])
    return out
