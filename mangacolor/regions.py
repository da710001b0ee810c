"""Regions closed by lines, and hints spread over the region they were dropped in.

A user who drops one red dot inside a shirt means "this shirt is red". The network
sees the dot as a few pixels; models trained with `hint_fill` also see the dot's
colour spread over its whole region (4-connected pixels lighter than the line
threshold), marked with mask FILL_MASK so the network can tell a user's pixel (1)
from a spread guess (0.5). The flood-fill baseline uses the same regions.

Runs on network inputs at the working size: x (1, h, w) in [0, 1], 1 = paper.
"""

from __future__ import annotations

import numpy as np

LINE_THRESHOLD = 0.5   # x below this is line (or dark tone): a region border
FILL_MASK = 0.5        # mask value of spread hint pixels; user hint pixels keep 1


def region_colours(x: np.ndarray, hint: np.ndarray, mask: np.ndarray,
                   threshold: float = LINE_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """(1,h,w) gray, (3,h,w) hint colour * mask, (1,h,w) mask ->
    (3,h,w) mean hint colour of each pixel's region, (h,w) bool: the region holds a hint.

    Only user hint pixels (mask 1) count, never spread ones, so filling twice changes nothing.
    """
    # imported here: only models trained with hint_fill need it
    from scipy import ndimage

    labels, n = ndimage.label(x[0] >= threshold)               # (h, w) int, 0 = line
    user = (mask[0] >= 1.0) & (labels > 0)
    at = labels[user]                                          # region of each user hint pixel
    counts = np.bincount(at, minlength=n + 1).astype(np.float32)   # (n+1,); counts[0] = 0: lines never covered
    covered = (counts > 0)[labels]
    colours = np.zeros_like(hint)
    if not covered.any():
        return colours, covered
    safe = np.maximum(counts, 1.0)
    for c in range(hint.shape[0]):
        means = np.bincount(at, weights=hint[c][user], minlength=n + 1) / safe  # (n+1,)
        colours[c] = means.astype(np.float32)[labels]
    return colours, covered


def fill_hints(x: np.ndarray, hint: np.ndarray, mask: np.ndarray,
               threshold: float = LINE_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Spread each hint over its region. Batched (N,1,h,w), (N,3,h,w), (N,1,h,w) or single
    (1,h,w), (3,h,w), (1,h,w); returns new (hint, mask) of the same shapes. Hinted pixels keep
    their own colour and mask 1; the rest of a hinted region gets the region's mean hint colour
    with mask FILL_MASK (the hint channels stay colour * mask)."""
    if x.ndim == 3:
        h, m = fill_hints(x[None], hint[None], mask[None], threshold)
        return h[0], m[0]
    hint, mask = hint.astype(np.float32, copy=True), mask.astype(np.float32, copy=True)
    for i in range(x.shape[0]):
        if not (mask[i] >= 1.0).any():
            continue
        colours, covered = region_colours(x[i], hint[i], mask[i], threshold)
        spread = covered & (mask[i, 0] <= 0)
        mask[i, 0][spread] = FILL_MASK
        hint[i][:, spread] = colours[:, spread] * FILL_MASK
    return hint, mask


def uses_fill(meta: dict) -> bool:
    """Whether a model (ONNX metadata, or a checkpoint's or ensemble's meta) was trained with hint_fill."""
    if "hint_fill" in meta:
        return bool(meta["hint_fill"])
    metas = meta.get("members") or [meta]
    return any(bool(m.get("config", {}).get("data", {}).get("hint_fill", False)) for m in metas)
