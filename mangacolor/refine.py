"""Refinement: the solver between the network and the page (mangacolor.solver, mangacolor.regions).

    refine="auto"  on when the user gave hints (the default)
    refine="on"    always (without hints the network's colour is smoothed inside regions and along edges)
    refine="off"   the network's colour as it is
    refine="fill"  as "auto", and on line art a hint fills its whole region even where that region is open
                   to the page's edge (a coloured background). "auto" fills an open region only as far as a
                   large ball rolls from a hint the network disagrees with, and colours the area near any
                   other hint, so a leaky figure part does not flood the paper. Other pages: as "auto".

Runs on the padded working-size prediction and returns the same shape, so composition
(mangacolor.compose) is unchanged: gray pages keep their own luminance, line art keeps
its lines.
"""

from __future__ import annotations

import numpy as np

from .contract import REFINE_MODES
from .regions import LINE_THRESHOLD, segment
from .solver import DEFAULT, SolverConfig, solve_chroma, solve_lineart

DEFAULT_CONFIDENCE = 1.0  # for models that give no per-pixel confidence: trust them evenly


def check_refine(mode: str) -> str:
    """The mode, or ValueError naming the choices."""
    if mode not in REFINE_MODES:
        raise ValueError(f"refine must be one of {', '.join(REFINE_MODES)}, got {str(mode)[:40]!r}")
    return mode


def wants_refine(mode: str, has_hints: bool) -> bool:
    """Whether `mode` runs the solver for a page with or without hints."""
    return check_refine(mode) == "on" or (mode in ("auto", "fill") and has_hints)


def refine(x: np.ndarray, pred: np.ndarray, hint: np.ndarray, mask: np.ndarray, kind: str,
           confidence: np.ndarray | float | None = None, cfg: SolverConfig = DEFAULT, soft=None) -> np.ndarray:
    """Unpadded working-size planes: x (1, h, w) gray, pred (3, h, w) normalised Lab, hint (3, h, w)
    colour * mask, mask (1, h, w) (user pixels 1, spread pixels < 1 are ignored) -> (3, h, w) Lab.
    soft: a reference's prior (mangacolor.reference.Transfer) or None."""
    conf = DEFAULT_CONFIDENCE if confidence is None else confidence
    user = (mask[0] >= 1.0).astype(np.float32)
    if kind == "lineart":
        labels, _ = segment(x[0])
        if soft is not None:  # a region a reference colours leans to that colour, as much as the match is sure
            pred = soft.weight * soft.colour + (1.0 - soft.weight) * pred
            conf = np.maximum(conf, soft.weight)
        # the network draws the lines too (dark L on them); the page's own lines are laid back on top,
        # so only its colour on the paper counts: pulled towards elsewhere, the dark lines would smear
        paper = x[0] >= LINE_THRESHOLD
        return solve_lineart(labels, pred, np.where(paper, conf, 0.0), hint * user, user, cfg, paper=paper)
    ab = solve_chroma(x[0], pred[1:], conf, hint[1:] * user, user, cfg,
                      None if soft is None else (soft.colour[1:], soft.weight))
    return np.concatenate([pred[:1], ab]).astype(np.float32)
