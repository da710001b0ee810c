"""Image-quality metrics on (H, W, 3) uint8 sRGB pictures (numpy only).

PSNR and SSIM are on sRGB 0..255; colour error is dE_ab on the chroma plane
(sqrt(da^2 + db^2)), so it scores the colour the model chose, not the
luminance it was given.
"""

from __future__ import annotations

import numpy as np

from mangacolor.color import rgb_to_lab
from mangacolor.filters import gaussian_blur


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (peak 255); 100 for identical images."""
    mse = np.mean((pred.astype(np.float64) - target.astype(np.float64)) ** 2)
    return 100.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ssim(pred: np.ndarray, target: np.ndarray, sigma: float = 1.5) -> float:
    """Mean SSIM (Wang et al. 2004, Gaussian window sigma 1.5) averaged over RGB channels."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for c in range(3):
        x, y = pred[..., c].astype(np.float32), target[..., c].astype(np.float32)
        mx, my = gaussian_blur(x, sigma), gaussian_blur(y, sigma)
        sxx = gaussian_blur(x * x, sigma) - mx * mx
        syy = gaussian_blur(y * y, sigma) - my * my
        sxy = gaussian_blur(x * y, sigma) - mx * my
        s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(s.mean())
    return float(np.mean(vals))


def chroma_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean dE on the chroma plane: sqrt(da^2 + db^2) in Lab units."""
    a, b = rgb_to_lab(pred), rgb_to_lab(target)
    return float(np.hypot(a[..., 1] - b[..., 1], a[..., 2] - b[..., 2]).mean())


def hint_error(pred: np.ndarray, hint_rgb: np.ndarray, mask: np.ndarray, chroma_only: bool = False,
               where: np.ndarray | None = None) -> float | None:
    """Mean dE_ab between the output and the hint colour at hinted pixels; None without hints.
    Full Lab, or only the chroma plane (`chroma_only`: gray pages, whose luminance is the page's own
    by design, so a hint can only set their colour). `where` (H, W) bool limits the pixels scored
    (line art: paper only, since lines stay black under any colour)."""
    m = mask.astype(bool) if where is None else mask.astype(bool) & where
    if not m.any():
        return None
    d = rgb_to_lab(pred[m]) - rgb_to_lab(hint_rgb[m])
    return float(np.linalg.norm(d[:, 1:] if chroma_only else d, axis=-1).mean())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Suesstrunk (2003) colourfulness."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def relative_colourfulness(pred: np.ndarray, target: np.ndarray) -> float:
    """Colourfulness of the output over the target's (1 = as colourful; < 1 = washed out)."""
    t = colourfulness(target)
    return colourfulness(pred) / t if t > 1e-6 else float("nan")


def error_map(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 heat map of the per-pixel dE_ab (0 black .. 50+ white-hot)."""
    d = np.linalg.norm(rgb_to_lab(pred) - rgb_to_lab(target), axis=-1)
    t = np.clip(d / 50.0, 0, 1)
    return (np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], -1) * 255).astype(np.uint8)
