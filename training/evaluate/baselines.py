"""Baselines every model must beat, on the same inputs.

- no colour: the input page itself;
- mean colour: an input-independent prediction, the training set's mean Lab;
- trapped-ball fill: each leak-proof region (mangacolor.regions) takes the majority colour of the
  hints inside it; regions without hints stay uncoloured;
- Levin 2004: Levin, Lischinski and Weiss, *Colorization using optimization*: hints propagated
  over the page's gray-level affinities, solved exactly (sparse direct solve, no learning). Gray
  chroma only, as in the paper: the luminance is the page's (paper white under line art).
All go through the same full-resolution composition as the model, onto the same page (a screentone page's
descreened copy, mangacolor.descreen; "no colour" alone is the page as given).
"""

from __future__ import annotations

import numpy as np

from mangacolor.compose import compose
from mangacolor.pipeline import Prepared, finish
from mangacolor.regions import region_colours

from .levin import solve_levin


def no_colour(page: np.ndarray) -> np.ndarray:
    return page.copy()


def mean_colour(page: np.ndarray, prepared: Prepared, kind: str, mean_lab: np.ndarray) -> np.ndarray:
    """The same constant normalised-Lab colour everywhere (3,), composed like a prediction."""
    shape = (3, *prepared.x.shape[-2:])
    pred = np.broadcast_to(np.asarray(mean_lab, np.float32)[:, None, None], shape)
    return finish(page, np.ascontiguousarray(pred), prepared, kind)


def _unpadded(prepared: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = prepared.hw  # regions must not join through the padding
    return tuple(a[0][:, :h, :w] for a in (prepared.x, prepared.hint, prepared.mask))


def trapped_ball_planes(x: np.ndarray, hint: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(1,h,w) gray, (3,h,w) hint, (1,h,w) mask -> (3,h,w) normalised Lab prediction: a region with
    hints takes their majority colour; a region without stays uncoloured (white paper for line
    art, the page's own gray for manga pages)."""
    pred = np.zeros((3, *x.shape[1:]), np.float32)
    pred[0] = 1.0  # white where nothing is known
    colours, covered = region_colours(x, hint, mask)
    pred[:, covered] = colours[:, covered]
    return pred


def trapped_ball_fill(page: np.ndarray, prepared: Prepared, kind: str) -> np.ndarray:
    return compose(prepared.base(page), trapped_ball_planes(*_unpadded(prepared)), kind)


def levin(page: np.ndarray, prepared: Prepared, kind: str) -> np.ndarray:
    """Levin 2004 at the working size; without hints there is nothing to propagate: the page itself (a
    screentone page descreened, as with hints)."""
    x, hint, mask = _unpadded(prepared)
    user = (mask[0] >= 1.0).astype(np.float32)
    if not user.any():
        return no_colour(prepared.base(page))
    pred = np.zeros(hint.shape, np.float32)
    pred[0] = 1.0  # line art: the colour layer is paper-light, laid under the lines
    pred[1:] = solve_levin(x[0], hint[1:] * user, user)
    return compose(prepared.base(page), pred, kind)


BASELINES = ("no colour", "mean colour", "trapped-ball fill", "levin 2004")


def run_baseline(name: str, page: np.ndarray, prepared: Prepared, kind: str, mean_lab: np.ndarray) -> np.ndarray:
    if name == "no colour":
        return no_colour(page)
    if name == "mean colour":
        return mean_colour(page, prepared, kind, mean_lab)
    if name == "trapped-ball fill":
        return trapped_ball_fill(page, prepared, kind)
    if name == "levin 2004":
        return levin(page, prepared, kind)
    raise ValueError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
