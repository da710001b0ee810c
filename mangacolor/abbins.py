"""Quantized ab colour bins (Zhang, Isola and Efros 2016) and the global-hints vector (Zhang et al. 2017).

The ab plane is cut into squares of GRID units; a square is a bin when some lightness gives an
in-sRGB colour at its centre (about 300 bins). The colour head classifies each pixel over these
bins; `global_hints` summarises a colour picture (a reference, or the training target) as the
network's optional global input: [histogram over the bins (Q), mean chroma (1), present flag (1)].

numpy only: the service builds global hints from reference images without torch.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from .color import AB_SCALE, lab_to_rgb, rgb_to_lab

GRID = 10.0          # bin side in CIELAB ab units
_L_STEPS = np.arange(5.0, 100.0, 5.0)  # lightnesses at which a bin centre may be in gamut


@lru_cache(maxsize=1)
def ab_bins() -> np.ndarray:
    """(Q, 2) float32 bin centres in normalised ab (CIELAB ab / AB_SCALE), in gamut at some lightness."""
    r = np.arange(-110.0, 110.0 + 1e-6, GRID)
    a, b = np.meshgrid(r, r, indexing="ij")
    centres = np.stack([a.ravel(), b.ravel()], 1)                                  # (M, 2)
    lab = np.concatenate([np.repeat(_L_STEPS, len(centres))[:, None], np.tile(centres, (len(_L_STEPS), 1))], 1)
    # lab_to_rgb clips; a colour is in gamut when converting back moves it by less than a bin's half side
    back = rgb_to_lab(np.round(lab_to_rgb(lab) * 255).astype(np.uint8)[None])[0]
    ok = (np.abs(back[:, 1:] - lab[:, 1:]).max(1) < GRID / 2).reshape(len(_L_STEPS), -1).any(0)
    return (centres[ok] / AB_SCALE).astype(np.float32)


def global_dim() -> int:
    """Length of the global-hints vector: Q histogram bins + mean chroma + present flag."""
    return len(ab_bins()) + 2


def nearest_bin(ab: np.ndarray) -> np.ndarray:
    """(..., 2) normalised ab -> (...) int index of the nearest bin."""
    bins = ab_bins()
    flat = ab.reshape(-1, 2).astype(np.float32)
    d = (flat[:, None, 0] - bins[None, :, 0]) ** 2 + (flat[:, None, 1] - bins[None, :, 1]) ** 2
    return d.argmin(1).reshape(ab.shape[:-1])


def global_hints(images: list[np.ndarray], max_side: int = 64) -> np.ndarray:
    """Colour pictures ((H, W, 3) uint8 each, box-averaged to at most `max_side`) -> (D,) float32
    global hints of them together: the histogram of their chromatic pixels over the bins (near-white
    paper and black ink, which every page has, are left out), their mean chroma and the flag 1."""
    q = len(ab_bins())
    hist, chroma, n = np.zeros(q, np.float64), 0.0, 0
    for img in images:
        # box-averaged down to max_side, as training averages its targets over 4x4 blocks
        factor = max(1, -(-max(img.shape[:2]) // max_side))
        small = np.asarray(Image.fromarray(np.ascontiguousarray(img[..., :3])).reduce(factor))
        lab = rgb_to_lab(small).reshape(-1, 3)
        keep = (lab[:, 0] > 8) & (lab[:, 0] < 97)
        ab = lab[keep, 1:] / AB_SCALE
        hist += np.bincount(nearest_bin(ab), minlength=q)
        chroma += float(np.hypot(ab[:, 0], ab[:, 1]).sum())
        n += len(ab)
    out = np.zeros(q + 2, np.float32)
    if n:
        out[:q] = hist / n
        out[q] = chroma / n
    out[q + 1] = 1.0
    return out


def no_global_hints(n: int = 1) -> np.ndarray:
    """(n, D) zeros: no reference (the flag is 0)."""
    return np.zeros((n, global_dim()), np.float32)
