"""Guess what a page is: already in colour, line art, grayscale or screentone.

Cheap statistics on a 512 px thumbnail (the halftone peak on 512 px windows of the page itself); every
front end lets the user override the guess (mode = lineart | grayscale | screentone).

A page of paper and ink only is line art unless it shows halftone (a sharp spectral peak at a dot pitch,
with ink that is mostly fine texture or with dots of ink or of paper: screentone; hatching is fine texture
without the peak) or pale fills (light gray over areas wider than a line: a light grayscale picture). A
page with mid tones is grayscale unless its tones are fine texture (screentone). The halftone test was set
on synthetic validation pages and judged on their colour: screentone pages are descreened
(mangacolor.descreen) and colour several dB better as screentone than as line art, line art taken for
screentone loses its hints' fill (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from .color import chroma, to_gray
from .descreen import screen_peak
from .filters import box_mean

COLOUR_CHROMA = 12.0      # Lab chroma that counts as a coloured pixel
COLOUR_SHARE = 0.05       # a page with more coloured pixels than this is "already in colour"
MIDTONE_SHARE = 0.12      # line art: almost everything is paper or ink
TEXTURE_SHARE = 0.25      # screentone: most non-paper pixels sit in a fine 0/1 texture
HALFTONE_PEAK = 40.0      # paper and ink with a spectral peak at a dot pitch this sharp (descreen.screen_peak)...
DOT_SHARE = 0.002         # ...and this share of its ink, or of its paper, in dots: screentone
DOT_PIXELS = 12           # a dot: a connected piece of ink (or paper) of at most this many thumbnail pixels
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


def dot_share(g: np.ndarray) -> float:
    """(h, w) gray -> the larger share of its ink (darker than mid gray) in ink dots, or of its paper in paper
    dots (white dots on a dark tone are the other half of halftone): pieces of at most DOT_PIXELS pixels,
    8-connected (a thin diagonal line is one piece, not a row of dots)."""
    shares = []
    for part in (g < 0.5, g >= 0.5):
        if part.any():
            labels, _ = ndimage.label(part, structure=np.ones((3, 3), bool))
            sizes = np.bincount(labels.ravel())[1:]
            shares.append(sizes[sizes <= DOT_PIXELS].sum() / part.sum())
    return float(max(shares, default=0.0))


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
        # only paper and ink: line art, unless the ink forms a fine texture or a screen of dots (screentone)
        # or there are pale fills (a light grayscale picture)
        ink = ~paper
        texture = np.abs(g - box_mean(g, 1)) > 0.2
        fine = ink.any() and (texture & ink).sum() / ink.sum() > TEXTURE_SHARE and ink.mean() > 0.15
        # either way only with a screen in the spectrum: hatched and sketchy line art is fine texture too.
        # The peak is taken on the page's own pixels: a thumbnail aliases the dots.
        if (fine or dot_share(g) > DOT_SHARE) and screen_peak(rgb)[0] > HALFTONE_PEAK:
            return "screentone"
        if pale_fill_share(g) > PALE_SHARE:
            return "grayscale"
        return "lineart"
    texture = np.abs(g - box_mean(g, 1)) > 0.15
    non_paper = ~paper
    share = (texture & non_paper).sum() / max(1, non_paper.sum())
    return "screentone" if share > TEXTURE_SHARE else "grayscale"
