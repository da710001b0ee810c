"""Guess what a page is: already in colour, line art, grayscale or screentone.

Cheap statistics on a 512 px thumbnail; every front end lets the user
override the guess (mode = lineart | grayscale | screentone).

A page of paper and ink only is line art unless its ink is mostly fine texture (screentone) or it has pale
fills (light gray over areas wider than a line: a light grayscale picture). A page with mid tones is
grayscale unless its tones are fine texture (screentone). Light halftone reads as line art: a finer halftone
test (a spectral peak at a dot pitch with dots of ink or paper) found 90% of validation's screentone pages but
lowered their colour by 0.8 dB without hints when screentone was composed under its dots. Screentone pages are
descreened now (mangacolor.descreen), and the test has not been measured again (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from .color import chroma, to_gray
from .filters import box_mean

COLOUR_CHROMA = 12.0      # Lab chroma that counts as a coloured pixel
COLOUR_SHARE = 0.05       # a page with more coloured pixels than this is "already in colour"
MIDTONE_SHARE = 0.12      # line art: almost everything is paper or ink
TEXTURE_SHARE = 0.25      # screentone: most non-paper pixels sit in a fine 0/1 texture
PALE_SHARE = 0.005        # paper and ink with this share of the page in pale fills: a light grayscale picture
PALE_WIDTH = 3            # a pale fill: light gray at least 2 x this + 1 pixels across (soft lines are thinner)


def _thumb(rgb: np.ndarray, side: int = 512) -> np.ndarray:
    im = Image.fromarray(rgb)
    if max(im.size) > side:
        im.thumbnail((side, side), Image.NEAREST)  # NEAREST keeps halftone dots sharp
    return np.asarray(im)


def is_colored(rgb: np.ndarray) -> bool:
    """True for a page that already has colour (more than 5% clearly coloured pixels)."""
    return bool((chroma(_thumb(rgb, 256)) > COLOUR_CHROMA).mean() > COLOUR_SHARE)


def pale_fill_share(g: np.ndarray) -> float:
    """(h, w) gray -> the share of the page in pale fills: light gray (0.6 to 0.93 of the paper's white, a
    scan's paper being grayer) over areas at least 2 x PALE_WIDTH + 1 pixels across, which a line, soft or
    not, is not."""
    white = np.percentile(g, 99)
    light = (g > 0.6 * white) & (g < 0.93 * white)
    return float(ndimage.binary_erosion(light, iterations=PALE_WIDTH).mean())


def detect_kind(rgb: np.ndarray) -> str:
    """'lineart', 'grayscale' or 'screentone' for an (H, W, 3) uint8 page."""
    g = to_gray(_thumb(rgb))
    paper = g > 0.85
    mid = (g > 0.2) & ~paper
    if mid.mean() < MIDTONE_SHARE:
        # only paper and ink: line art, unless the ink forms a fine texture (screentone) or there are pale
        # fills (a light grayscale picture)
        ink = ~paper
        texture = np.abs(g - box_mean(g, 1)) > 0.2
        if ink.any() and (texture & ink).sum() / ink.sum() > TEXTURE_SHARE and ink.mean() > 0.15:
            return "screentone"
        if pale_fill_share(g) > PALE_SHARE:
            return "grayscale"
        return "lineart"
    texture = np.abs(g - box_mean(g, 1)) > 0.15
    non_paper = ~paper
    share = (texture & non_paper).sum() / max(1, non_paper.sum())
    return "screentone" if share > TEXTURE_SHARE else "grayscale"
