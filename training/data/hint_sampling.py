"""Training hints: drawn from a ground-truth colour image as a user would place them.

Dots of exact or mean-patch colour and short strokes, only on flat colour (not on lines),
none at all for ~45% of samples, as PaintsChainer and AlacGAN train. Used by the dataset
and by the evaluation's PSNR-vs-hints protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mangacolor.filters import box_mean
from mangacolor.hints import Hint, Point, Stroke


@dataclass(frozen=True)
class HintSamplerConfig:
    p_none: float = 0.45          # share of samples with no hints at all
    mean_count: float = 7.0       # geometric count of hints when there are some
    max_count: int = 60
    max_patch: int = 9            # mean-colour patches of 1..max_patch px
    p_stroke: float = 0.15        # share of hints that are short strokes
    flat_std: float = 6.0         # local Lab std below which colour counts as flat
    jitter: float = 3.0           # std of the colour jitter, 0..255 units


def flat_mask(rgb: np.ndarray, threshold: float, radius: int = 2) -> np.ndarray:
    """(H, W) bool: where the local colour is nearly flat (not on lines or edges)."""
    lab = rgb.astype(np.float32)  # RGB variance is a fine proxy and much cheaper
    var = np.zeros(rgb.shape[:2], np.float32)
    for c in range(3):
        m = box_mean(lab[..., c], radius)
        var += np.maximum(box_mean(lab[..., c] ** 2, radius) - m * m, 0.0)
    return np.sqrt(var / 3) < threshold


def sample_hints(rgb: np.ndarray, rng: np.random.Generator, cfg: HintSamplerConfig = HintSamplerConfig()) -> list[Hint]:
    """Draw training hints from a ground-truth (H, W, 3) uint8 image, as a user would place them."""
    if rng.random() < cfg.p_none:
        return []
    n = min(int(rng.geometric(1.0 / cfg.mean_count)), cfg.max_count)
    return sample_n_hints(rgb, n, rng, cfg)


def sample_n_hints(rgb: np.ndarray, n: int, rng: np.random.Generator, cfg: HintSamplerConfig = HintSamplerConfig()) -> list[Hint]:
    """Exactly up to `n` hints on flat colour (fewer when the image has no flat area)."""
    h, w = rgb.shape[:2]
    flat = flat_mask(rgb, cfg.flat_std)
    # users hint coloured areas, not the paper or the black outlines
    inked = flat & (rgb.min(axis=2) < 240) & (rgb.max(axis=2) > 40)
    ys, xs = np.nonzero(inked if inked.any() else flat)
    if len(ys) == 0 or n <= 0:
        return []
    hints: list[Hint] = []
    for i in rng.integers(0, len(ys), size=n):
        y, x = int(ys[i]), int(xs[i])
        if rng.random() < cfg.p_stroke:
            stroke = _walk_stroke(rgb, flat, x, y, rng, cfg.jitter)
            if stroke is not None:
                hints.append(stroke)
                continue
        s = int(rng.integers(1, cfg.max_patch + 1))
        y0, x0 = max(0, y - s // 2), max(0, x - s // 2)
        patch = rgb[y0:y0 + s, x0:x0 + s].reshape(-1, 3).astype(np.float32)
        # mean over the patch pixels of the same colour region (a patch may reach past an edge)
        same = np.abs(patch - rgb[y, x].astype(np.float32)).max(axis=1) <= 12
        color = patch[same].mean(axis=0) + rng.normal(0, cfg.jitter, 3)
        hints.append(Point(float(x), float(y), _clip_color(color), radius=(s - 1) / 2))
    return hints


def _clip_color(c) -> tuple[int, int, int]:
    r, g, b = np.clip(np.round(c), 0, 255).astype(int)
    return int(r), int(g), int(b)


def _walk_stroke(rgb, flat, x, y, rng, jitter: float, max_dist: float = 12.0):
    """A short straight-ish stroke from (x, y) that stays on flat, same-coloured pixels."""
    h, w = flat.shape
    start = rgb[y, x].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    pts = [(float(x), float(y))]
    cx, cy = float(x), float(y)
    for _ in range(int(rng.integers(2, 6))):
        ang += rng.normal(0, 0.4)
        step = rng.uniform(3, 8)
        nx, ny = cx + step * np.cos(ang), cy + step * np.sin(ang)
        if not (0 <= nx <= w - 1 and 0 <= ny <= h - 1):
            break
        ix, iy = int(round(nx)), int(round(ny))
        if not flat[iy, ix]:
            break
        if np.abs(rgb[iy, ix].astype(np.float32) - start).max() > max_dist:
            break
        pts.append((nx, ny))
        cx, cy = nx, ny
    if len(pts) < 2:
        return None
    return Stroke(tuple(pts), _clip_color(start + rng.normal(0, jitter, 3)), width=float(rng.integers(1, 4)))
