"""Line-art synthesis from colour images: XDoG, adaptive threshold, binarization, line weight.

All functions return an (H, W) float32 "ink" image in [0, 1]: 1 is paper, 0 is
ink, the same convention as a scanned line drawing's luminance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mangacolor.color import to_gray
from mangacolor.filters import box_mean, gaussian_blur, min_filter


@dataclass(frozen=True)
class XDoGParams:
    """Extended difference of Gaussians (Winnemoeller et al. 2012), sketch form."""

    sigma: float = 0.6   # inner blur, pixels
    k: float = 4.5       # outer / inner blur ratio
    tau: float = 0.98    # weight of the outer blur; < 1 keeps flat areas white
    eps: float = -0.005  # threshold on the difference
    phi: float = 120.0   # softness of the ramp below the threshold


def xdog(gray: np.ndarray, p: XDoGParams = XDoGParams()) -> np.ndarray:
    """(H, W) float in [0, 1] -> (H, W) float32 ink image."""
    d = gaussian_blur(gray, p.sigma) - p.tau * gaussian_blur(gray, p.sigma * p.k)
    out = np.where(d >= p.eps, 1.0, 1.0 + np.tanh(p.phi * (d - p.eps)))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def xdog_rgb(rgb: np.ndarray, p: XDoGParams = XDoGParams()) -> np.ndarray:
    """XDoG on each RGB channel, darkest wins: edges between colours of equal
    luminance (red next to green) still get a line."""
    chans = np.asarray(rgb, dtype=np.float32) / 255.0
    return np.min(np.stack([xdog(chans[..., c], p) for c in range(3)]), axis=0)


def adaptive_threshold(gray: np.ndarray, radius: int = 5, offset: float = 0.04) -> np.ndarray:
    """Ink where a pixel is darker than its neighbourhood mean by `offset`."""
    ink = gray < box_mean(gray, radius) - offset
    return np.where(ink, 0.0, 1.0).astype(np.float32)


def binarize(ink: np.ndarray, threshold: float = 0.6) -> np.ndarray:
    """Hard 0/1 lines, as in a scanned, thresholded drawing."""
    return (ink >= threshold).astype(np.float32)


def thicken(ink: np.ndarray, size: int = 3) -> np.ndarray:
    """Heavier lines: dark ink spreads over a size x size window."""
    return min_filter(ink, size)


def random_lineart(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One randomly styled line drawing of an (H, W, 3) uint8 colour image.

    Mixes XDoG with varied parameters and adaptive thresholding, binarizes
    20-30% of the time and varies line weight, so the network does not learn
    one line style.
    """
    gray = to_gray(rgb)
    if rng.random() < 0.75:
        p = XDoGParams(
            sigma=float(rng.uniform(0.3, 1.0)),
            k=float(rng.uniform(3.0, 6.0)),
            tau=float(rng.uniform(0.96, 0.995)),
            eps=float(rng.uniform(-0.015, 0.0)),
            phi=float(10 ** rng.uniform(1.5, 2.5)),
        )
        ink = xdog_rgb(rgb, p)
    else:
        ink = adaptive_threshold(gray, radius=int(rng.integers(2, 8)), offset=float(rng.uniform(0.02, 0.08)))
    if rng.random() < 0.25:
        ink = binarize(ink, float(rng.uniform(0.4, 0.8)))
    if rng.random() < 0.3:
        ink = thicken(ink, 3 if rng.random() < 0.8 else 5)
    return ink
