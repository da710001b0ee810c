"""Baselines every model must beat, on the same inputs.

- no colour: the input page itself;
- mean colour: an input-independent prediction, the training set's mean Lab;
- flood fill: each region closed by lines takes the mean colour of the hints inside it.
All go through the same full-resolution composition as the model.
"""

from __future__ import annotations

import numpy as np

from mangacolor.compose import compose
from mangacolor.pipeline import Prepared, finish
from mangacolor.regions import LINE_THRESHOLD, region_colours


def no_colour(page: np.ndarray) -> np.ndarray:
    return page.copy()


def mean_colour(page: np.ndarray, prepared: Prepared, kind: str, mean_lab: np.ndarray) -> np.ndarray:
    """The same constant normalised-Lab colour everywhere (3,), composed like a prediction."""
    shape = (3, *prepared.x.shape[-2:])
    pred = np.broadcast_to(np.asarray(mean_lab, np.float32)[:, None, None], shape)
    return finish(page, np.ascontiguousarray(pred), prepared, kind)


def flood_fill_planes(x: np.ndarray, hint: np.ndarray, mask: np.ndarray, line_threshold: float = LINE_THRESHOLD) -> np.ndarray:
    """(1,h,w) gray, (3,h,w) hint, (1,h,w) mask -> (3,h,w) normalised Lab prediction.

    Regions are the 4-connected components of non-line pixels (mangacolor.regions). A
    region with hints takes their mean colour; a region without hints stays uncoloured
    (white paper for line art, the page's own gray for manga pages).
    """
    pred = np.zeros((3, *x.shape[1:]), np.float32)
    pred[0] = 1.0  # white where nothing is known
    colours, covered = region_colours(x, hint, mask, line_threshold)
    pred[:, covered] = colours[:, covered]
    return pred


def flood_fill(page: np.ndarray, prepared: Prepared, kind: str) -> np.ndarray:
    h, w = prepared.hw  # regions must not join through the padding
    x, hint, mask = (a[0][:, :h, :w] for a in (prepared.x, prepared.hint, prepared.mask))
    return compose(page, flood_fill_planes(x, hint, mask), kind)


BASELINES = ("no colour", "mean colour", "flood fill")


def run_baseline(name: str, page: np.ndarray, prepared: Prepared, kind: str, mean_lab: np.ndarray) -> np.ndarray:
    if name == "no colour":
        return no_colour(page)
    if name == "mean colour":
        return mean_colour(page, prepared, kind, mean_lab)
    if name == "flood fill":
        return flood_fill(page, prepared, kind)
    raise ValueError(f"unknown baseline {name!r}")

