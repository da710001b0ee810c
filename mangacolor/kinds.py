"""Guess what a page is: already in colour, line art, grayscale or screentone.

Cheap statistics on a 512 px thumbnail; every front end lets the user
override the guess (mode = lineart | grayscale | screentone).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .color import chroma, to_gray
from .filters import box_mean

COLOUR_CHROMA = 12.0      # Lab chroma that counts as a coloured pixel
COLOUR_SHARE = 0.05       # a page with more coloured pixels than this is "already in colour"
MIDTONE_SHARE = 0.12      # line art: almost everything is paper or ink
TEXTURE_SHARE = 0.25      # screentone: most non-paper pixels sit in a fine 0/1 texture


def _thumb(rgb: np.ndarray, side: int = 512) -> np.ndarray:
    im = Image.fromarray(rgb)
    if max(im.size) > side:
        im.thumbnail((side, side), Image.NEAREST)  # NEAREST keeps halftone dots sharp
    return np.asarray(im)


def is_colored(rgb: np.ndarray) -> bool:
    """True for a page that already has colour (more than 5% clearly coloured pixels)."""
    return bool((chroma(_thumb(rgb, 256)) > COLOUR_CHROMA).mean() > COLOUR_SHARE)


def detect_kind(rgb: np.ndarray) -> str:
    """'lineart', 'grayscale' or 'screentone' for an (H, W, 3) uint8 page."""
    g = to_gray(_thumb(rgb))
    paper = g > 0.85
    mid = (g > 0.2) & ~paper
    if mid.mean() < MIDTONE_SHARE:
        # only paper and ink: line art, unless the ink forms a fine texture (screentone)
        ink = ~paper
        texture = np.abs(g - box_mean(g, 1)) > 0.2
        if ink.any() and (texture & ink).sum() / ink.sum() > TEXTURE_SHARE and ink.mean() > 0.15:
            return "screentone"
        return "lineart"
    texture = np.abs(g - box_mean(g, 1)) > 0.15
    non_paper = ~paper
    share = (texture & non_paper).sum() / max(1, non_paper.sum())
    return "screentone" if share > TEXTURE_SHARE else "grayscale"
