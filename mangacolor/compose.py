"""Working resolution, pad/unpad, and the full-resolution composition.

The network runs at a working resolution (long side about 512 px). Only its
colour is kept and merged with the page at full size, so lines and screentone
stay crisp at any page size and colours do not shift with the page size:

- grayscale / screentone pages: predicted chroma (a, b), upsampled, under the
  original luminance;
- line art: the predicted colour layer, upsampled, multiplied under the
  original lines.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .color import AB_SCALE, lab_to_rgb, net_to_rgb, rgb_to_lab, to_gray, to_uint8
from .filters import resize_plane, resize_planes

KINDS = ("lineart", "grayscale", "screentone")
DEFAULT_WORK_SIZE = 512
MULTIPLE = 16  # the U-Net halves the size 4 times
_ROWS_PER_TILE = 512  # composition works in row bands to bound memory on huge pages


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


def working_size(h: int, w: int, long_side: int = DEFAULT_WORK_SIZE) -> tuple[int, int]:
    """(H, W) of the network input: long side `long_side`, aspect kept, never upscaled past it."""
    scale = long_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def gray_input(rgb: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 page -> (1, h, w) float32 gray in [0, 1] at the working size.

    Downscaling is area-averaged (BOX) so screentone dots become the tone they
    print as; the dataset shrinks its training pages the same way.
    """
    gray = to_gray(rgb)
    down = size_hw[0] < gray.shape[0]
    out = resize_plane(gray, size_hw, Image.BOX if down else Image.BICUBIC)
    return np.clip(out, 0.0, 1.0)[None]  # bicubic overshoots at edges


def compose(original: np.ndarray, pred: np.ndarray, kind: str) -> np.ndarray:
    """Merge a working-resolution prediction (3, h, w) normalised Lab into the
    full-size page (H, W, 3) uint8; returns (H, W, 3) uint8 of the input's exact size."""
    if kind not in KINDS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {KINDS}")
    H, W = original.shape[:2]
    out = np.empty_like(original)
    if kind == "lineart":
        layer = Image.fromarray(net_to_rgb(pred)).resize((W, H), Image.BICUBIC)
        layer = np.asarray(layer)
        for y0 in range(0, H, _ROWS_PER_TILE):
            sl = slice(y0, y0 + _ROWS_PER_TILE)
            mul = layer[sl].astype(np.float32) * original[sl].astype(np.float32) / (255.0 * 255.0)
            out[sl] = to_uint8(mul)
        return out
    ab = resize_planes(pred[1:], (H, W)) * AB_SCALE  # (2, H, W)
    for y0 in range(0, H, _ROWS_PER_TILE):
        sl = slice(y0, y0 + _ROWS_PER_TILE)
        lab = rgb_to_lab(original[sl])
        lab[..., 1] = ab[0, sl]
        lab[..., 2] = ab[1, sl]
        out[sl] = to_uint8(lab_to_rgb(lab))
    return out
