"""Leak-proof regions closed by lines, and hints spread over the region they were dropped in.

Regions come from trapped-ball filling (LineFiller, style2paints V4's `linefiller`):
the paper (gray >= LINE_THRESHOLD) is opened with a ball of radius 3, then 2, then 1;
each connected piece the ball could reach is a region seed, so a gap in a line
narrower than the ball cannot join two regions. Seeds smaller than MIN_AREA are
dropped; a priority flood (`scipy.ndimage.watershed_ift`) on the blurred line map
then grows the seeds over the paper the ball missed (corners, gaps), and every other
pixel (lines, paper pockets no seed reaches) takes the region of the nearest seeded
paper, so every pixel, line pixels included, belongs to the region next to it, and
regions meet in the middle of lines.

A user who drops one red dot inside a shirt means "this shirt is red". Models
trained with `hint_fill` also see the dot's colour spread over its region's paper
pixels, marked with mask FILL_MASK so the network can tell a user's pixel (1) from
a spread guess (0.5). The trapped-ball fill baseline and the solver's line-art
snap (mangacolor.solver) use the same regions.

Runs on network inputs at the working size: x (1, h, w) in [0, 1], 1 = paper.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

LINE_THRESHOLD = 0.5      # x below this is line (or dark tone): a region border
FILL_MASK = 0.5           # mask value of spread hint pixels; user hint pixels keep 1
BALL_RADII = (3, 2, 1)    # gaps narrower than about 2r are closed at each step
MIN_AREA = 12             # seeds smaller than this (pixels) are merged into a neighbour


def _disk(r: int) -> np.ndarray:
    y, x = np.ogrid[-r:r + 1, -r:r + 1]
    return x * x + y * y <= r * r + r  # the "+ r" rounds the disk like a raster circle


def segment(gray: np.ndarray, threshold: float = LINE_THRESHOLD, radii: tuple[int, ...] = BALL_RADII,
            min_area: int = MIN_AREA) -> tuple[np.ndarray, int]:
    """(h, w) gray in [0, 1] -> (labels (h, w) int32 in 0..n-1, n). Every pixel has a region."""
    paper = gray >= threshold
    seeds = np.zeros(gray.shape, np.int32)
    n = 0
    for r in radii:
        free = paper & (seeds == 0)
        if not free.any():
            break
        reached = ndimage.binary_opening(free, structure=_disk(r))
        lab, k = ndimage.label(reached)
        if k == 0:
            continue
        sizes = np.bincount(lab.ravel(), minlength=k + 1)
        keep = sizes >= min_area
        keep[0] = False
        new_ids = np.zeros(k + 1, np.int32)
        new_ids[keep] = np.arange(n + 1, n + 1 + int(keep.sum()), dtype=np.int32)
        grown = new_ids[lab]
        seeds = np.where(grown > 0, grown, seeds)
        n += int(keep.sum())
    if n == 0:  # no paper at all (a black page): one region
        return np.zeros(gray.shape, np.int32), 1
    # Priority flood from the seeds: ink is expensive, so a seed fills its own paper before any
    # path through a gap (blurred ink is dearer than paper) reaches the paper behind it.
    ink = ndimage.gaussian_filter((1.0 - np.clip(gray, 0.0, 1.0)).astype(np.float32), 1.0)
    cost = np.clip(ink * 255.0 + 0.5, 0, 255).astype(np.uint8)
    # watershed_ift links pixels by flat index, so a row's last pixel touches the next row's first:
    # a frame of maximal cost keeps the flood from wrapping around the page's sides
    labels = ndimage.watershed_ift(np.pad(cost, 1, constant_values=255), np.pad(seeds, 1))[1:-1, 1:-1]
    labels = np.where(labels > 0, labels, 1)  # unreachable only on degenerate inputs
    # watershed_ift prices a path by its steepest step (|difference| of neighbours), not by its height:
    # running along a flat line costs nothing, so the first region onto a connected line network took
    # all of it, walls of regions behind other regions included, and a hint dot touching such a wall
    # hinted that far region. Lines and seedless paper pockets go to the nearest seeded paper instead.
    pieces, k = ndimage.label(paper)
    seeded = np.zeros(k + 1, bool)
    seeded[pieces[seeds > 0]] = True
    seeded[0] = False
    anchored = seeded[pieces]                             # paper joined to a seed through paper
    if not anchored.all():
        iy, ix = ndimage.distance_transform_edt(~anchored, return_distances=False, return_indices=True)
        labels = labels[iy, ix]
    return (labels - 1).astype(np.int32), n


def ball_part(paper: np.ndarray, labels: np.ndarray, seeds: np.ndarray, radius: float) -> np.ndarray:
    """(h, w) bool paper, (h, w) region labels, (h, w) bool seeds -> (h, w) bool: the part of the seeds'
    regions that a ball of `radius` pixels rolling inside the paper reaches from them (trapped-ball filling
    with one large ball). Every pixel goes with its nearest place for the ball's centre, in its own region,
    so corners the ball misses come along, and a part ends in the middle of a gap narrower than the ball's
    diameter: from a hint in a figure part whose lines leave a gap, the figure part; from a hint in a wide
    background, the background. A seed in paper too narrow for the ball reaches nothing."""
    none = np.zeros(paper.shape, bool)
    if radius <= 0 or not seeds.any():
        return none
    # where the ball's centre fits; padded with paper, so the page's edge is no wall
    core = ndimage.distance_transform_edt(np.pad(paper, 1, constant_values=True))[1:-1, 1:-1] > radius
    if not core.any():
        return none
    pieces, n = ndimage.label(core)
    dist, (iy, ix) = ndimage.distance_transform_edt(~core, return_indices=True)  # nearest centre of every pixel
    same = labels == labels[iy, ix]                       # the nearest centre lies in the pixel's own region
    near = seeds & same & (dist <= radius + 1)            # seeds the ball touches from their nearest centre
    reached = np.zeros(n + 1, bool)                       # by piece; (iy, ix) is always a centre, so never 0
    reached[pieces[iy[near], ix[near]]] = True
    return reached[pieces[iy, ix]] & same


def majority_colours(labels: np.ndarray, n: int, hint: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per region: the most common user hint colour in it. labels (h, w), hint (3, h, w) colour * mask,
    mask (1, h, w) -> (colours (n, 3), hinted (n,) bool). Only user pixels (mask 1) vote."""
    user = mask[0] >= 1.0
    colours = np.zeros((n, hint.shape[0]), np.float32)
    hinted = np.zeros(n, bool)
    if not user.any():
        return colours, hinted
    at = labels[user]                                     # (k,) region of each user pixel
    cols = hint[:, user].T                                # (k, 3)
    # a hint is a disc of one colour: votes count pixels of the same (rounded) colour
    _, which = np.unique(np.round(cols * 200.0).astype(np.int32), axis=0, return_inverse=True)
    which = which.ravel()
    pairs, counts = np.unique(np.stack([at, which], 1), axis=0, return_counts=True)
    order = np.lexsort((-counts, pairs[:, 0]))          # by region, most votes first
    first = order[np.r_[True, pairs[order[1:], 0] != pairs[order[:-1], 0]]]
    for region, colour_id in pairs[first]:
        colours[region] = cols[which == colour_id].mean(axis=0)
        hinted[region] = True
    return colours, hinted


def region_colours(x: np.ndarray, hint: np.ndarray, mask: np.ndarray,
                   threshold: float = LINE_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """(1,h,w) gray, (3,h,w) hint colour * mask, (1,h,w) mask ->
    (3,h,w) majority hint colour of each pixel's region, (h,w) bool: the region holds a hint.

    Only user hint pixels (mask 1) count, never spread ones, so filling twice changes nothing.
    """
    labels, n = segment(x[0], threshold)
    colours, hinted = majority_colours(labels, n, hint, mask)
    return np.ascontiguousarray(colours[labels].transpose(2, 0, 1)), hinted[labels]


def fill_hints(x: np.ndarray, hint: np.ndarray, mask: np.ndarray,
               threshold: float = LINE_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Spread each hint over its region's paper. Batched (N,1,h,w), (N,3,h,w), (N,1,h,w) or single
    (1,h,w), (3,h,w), (1,h,w); returns new (hint, mask) of the same shapes. Hinted pixels keep
    their own colour and mask 1; the rest of a hinted region's paper gets the region's hint colour
    with mask FILL_MASK (the hint channels stay colour * mask). Lines are never filled."""
    if x.ndim == 3:
        h, m = fill_hints(x[None], hint[None], mask[None], threshold)
        return h[0], m[0]
    hint, mask = hint.astype(np.float32, copy=True), mask.astype(np.float32, copy=True)
    for i in range(x.shape[0]):
        if not (mask[i] >= 1.0).any():
            continue
        colours, covered = region_colours(x[i], hint[i], mask[i], threshold)
        spread = covered & (mask[i, 0] <= 0) & (x[i, 0] >= threshold)
        mask[i, 0][spread] = FILL_MASK
        hint[i][:, spread] = colours[:, spread] * FILL_MASK
    return hint, mask


def uses_fill(meta: dict) -> bool:
    """Whether a model (ONNX metadata, or a checkpoint's or ensemble's meta) was trained with hint_fill."""
    if "hint_fill" in meta:
        return bool(meta["hint_fill"])
    metas = meta.get("members") or [meta]
    return any(bool(m.get("config", {}).get("data", {}).get("hint_fill", False)) for m in metas)
