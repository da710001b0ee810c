"""Ink that is not tone: lettering and lines on clean paper, which the descreening leaves sharp.

Blurred at the dot pitch with the tone around it (mangacolor.descreen), lettering in a balloon turns gray and soft and
small lettering unreadable. A screen repeats itself one pitch along its two axes; lettering and lines do not. So a
piece of ink (8-bit page darker than mid gray, 4-connected) is tone when
- its ink repeats along both axes: at least PERIODIC_SHARE of its pixels have ink one pitch away in three of the four
  axis directions (a tone's dots, a tone near half gray whose dots join, a dark tone's mesh, a screen of lines, and
  solid black, which loses nothing by the blur), or
- it is a dot (at most DOT_SPAN pitches across) in a row of dots one pitch apart along an axis, for CHAIN_SHARE of
  its pixels (a thin line drawn in tone),
and a piece is kept sharp when it comes within NEAR pitches of open paper (no ink within OPEN pitches) and no tone
lies within RING pitches of it. Lines that touch tone are blurred with it, as before.

Measured on validation (docs/benchmarks.md, "Screentone"): the descreened pages score as before against the same
pictures' grayscale pages, with the lines on paper sharp again; on a synthetic page lettering of 26 px stays black.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

DOT_SPAN = 1.5         # a dot: a piece at most this many pitches across (its bounding box's longer side)
OPEN = 1.0             # open paper: no ink within this many pitches
NEAR = 2.0             # a kept piece comes within this many pitches of open paper...
RING = 1.0             # ...and no tone lies within this many pitches of it
PERIODIC_SHARE = 0.3   # tone: this share of a piece's pixels repeat along both axes
CHAIN_SHARE = 0.5      # tone: this share of a dot's pixels have dots on both sides along one axis
INK, RIM = 128, 250    # ink: darker than INK; a kept piece takes its 1-pixel antialiased rim with it, up to RIM (paper)


def _window(pitches: float, pitch: float) -> int:
    """An odd box side reaching `pitches` dot pitches either side of its centre."""
    return 2 * int(np.ceil(pitches * pitch)) + 1


def _steps(pitch: float, angle: float) -> list[tuple[int, int]]:
    """The screen's four neighbours one pitch away, (dy, dx) in whole pixels: +a1, +a2, -a1, -a2, where a1 lies
    `angle` radians from the x axis and a2 a quarter turn on (a square screen; a line screen repeats along its lines
    at any step)."""
    c, s = np.cos(angle) * pitch, np.sin(angle) * pitch
    return [(int(round(dy)), int(round(dx))) for dy, dx in ((s, c), (c, -s), (-s, -c), (-c, s))]


def _moved(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """out[y, x] = mask[y + dy, x + dx]; True beyond the page's edges, where the screen may go on (a tone cut by the
    edge is still tone)."""
    out = np.ones_like(mask)
    H, W = mask.shape
    src = slice(max(dy, 0), H + min(dy, 0)), slice(max(dx, 0), W + min(dx, 0))
    dst = slice(max(-dy, 0), H + min(-dy, 0)), slice(max(-dx, 0), W + min(-dx, 0))
    out[dst] = mask[src]
    return out


def _share(pixels: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """(n + 1,) share of each labelled piece's pixels that are set in `pixels` (0 for the background)."""
    share = np.bincount(labels[pixels], minlength=n + 1) / np.maximum(np.bincount(labels.ravel(), minlength=n + 1), 1)
    share[0] = 0.0
    return share


def tone_pieces(dark: np.ndarray, pitch: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) bool ink, the screen's pitch (pixels) and axis (radians) -> ((n + 1,) bool: which pieces are tone,
    (H, W) int32 labels of the pieces, 4-connected, 0 for paper)."""
    labels, n = ndimage.label(dark)
    steps = _steps(pitch, angle)
    count = sum(_moved(dark, dy, dx).astype(np.uint8) for dy, dx in steps)
    periodic = _share(dark & (count >= 3), labels, n) >= PERIODIC_SHARE
    span = np.zeros(n + 1, np.int64)
    for i, (rows, cols) in enumerate(ndimage.find_objects(labels), 1):
        span[i] = max(rows.stop - rows.start, cols.stop - cols.start)
    small = span <= DOT_SPAN * pitch
    small[0] = False
    dots = small[labels]
    # a pixel's neighbour one pitch away lands on a dot within a pixel (the steps are rounded)
    near = [_moved(ndimage.binary_dilation(dots, np.ones((3, 3), bool)), dy, dx) for dy, dx in steps]
    in_row = dots & ((near[0] & near[2]) | (near[1] & near[3]))
    chain = small & (_share(in_row, labels, n) >= CHAIN_SHARE)
    tone = periodic | chain
    tone[0] = False
    return tone, labels


def sharp_ink(plane: np.ndarray, pitch: float, angle: float) -> np.ndarray:
    """(H, W) uint8 gray page, its screen's pitch (pixels) and axis (radians) -> (H, W) bool: the ink to leave as
    it is, with its antialiased rim."""
    dark = plane < INK
    open_paper = ~ndimage.maximum_filter(dark, size=_window(OPEN, pitch))
    near_open = ndimage.maximum_filter(open_paper, size=_window(NEAR, pitch))
    tone, labels = tone_pieces(dark, pitch, angle)
    near_tone = ndimage.maximum_filter(tone[labels], size=_window(RING, pitch))
    keep = np.zeros(len(tone), bool)
    keep[labels[near_open & dark]] = True
    keep[labels[near_tone & dark]] = False
    keep[0] = False
    return ndimage.binary_dilation(keep[labels]) & (plane < RIM)
