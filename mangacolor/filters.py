"""Small float image filters in numpy (Pillow's filters do not take float images)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage


def gaussian_kernel(sigma: float) -> np.ndarray:
    """1-D normalised Gaussian, radius 3 sigma."""
    radius = max(1, int(np.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / max(sigma, 1e-6)) ** 2)
    return (k / k.sum()).astype(np.float32)


def _convolve_axis(img: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    r = len(kernel) // 2
    pad = [(0, 0)] * img.ndim
    pad[axis] = (r, r)
    p = np.pad(img, pad, mode="reflect" if img.shape[axis] > r else "edge")
    n = img.shape[axis]
    out = np.zeros_like(img, dtype=np.float32)
    for i, w in enumerate(kernel):  # len(kernel) vector ops, no big temporaries
        out += w * np.take(p, np.arange(i, i + n), axis=axis)
    return out


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W) float -> (H, W) float32 Gaussian blur, reflected borders."""
    k = gaussian_kernel(sigma)
    return _convolve_axis(_convolve_axis(img.astype(np.float32), k, 0), k, 1)


def box_mean(img: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) -> mean over a (2r+1)^2 window, via an integral image (edges clamp)."""
    return box_means(img, (radius,))[0]


def box_means(img: np.ndarray, radii: tuple[int, ...]) -> list[np.ndarray]:
    """`box_mean` at several radii from one integral image (the same numbers, one cumulative sum)."""
    s, big = _integral(img, radii)
    h, w = img.shape
    out = []
    for r in radii:
        k, o = 2 * r + 1, big - r  # o: where the window of radius r starts in the widest padding
        a, b = slice(o, o + h), slice(o + k, o + k + h)
        c, d = slice(o, o + w), slice(o + k, o + k + w)
        total = s[b, d] - s[a, d] - s[b, c] + s[a, c]
        out.append((total / (k * k)).astype(np.float32))
    return out


def box_means_at(img: np.ndarray, radii: tuple[int, ...], ys: np.ndarray, xs: np.ndarray) -> list[np.ndarray]:
    """`box_means` at some pixels only (int arrays ys, xs of one shape; each result has that shape): the same
    numbers, with no whole image per radius, for callers that need a sample of the pixels."""
    s, big = _integral(img, radii)
    out = []
    for r in radii:
        k, o = 2 * r + 1, big - r
        y0, x0 = ys + o, xs + o
        total = s[y0 + k, x0 + k] - s[y0, x0 + k] - s[y0 + k, x0] + s[y0, x0]
        out.append((total / (k * k)).astype(np.float32))
    return out


def _integral(img: np.ndarray, radii: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """(H, W) -> its integral image in float64, padded (edges clamp) for the widest radius, and that radius."""
    big = max(radii)
    return np.pad(np.asarray(img, np.float64), big + 1, mode="edge").cumsum(0).cumsum(1), big  # pad copies


def resize_plane(plane: np.ndarray, size_hw: tuple[int, int], resample=Image.BILINEAR) -> np.ndarray:
    """(H, W) float -> (h, w) float32 with Pillow's float resampling."""
    h, w = size_hw
    if plane.shape == (h, w):
        return plane.astype(np.float32, copy=False)
    im = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32))  # mode F
    return np.asarray(im.resize((w, h), resample), dtype=np.float32)


def resize_planes(planes: np.ndarray, size_hw: tuple[int, int], resample=Image.BILINEAR) -> np.ndarray:
    """(C, H, W) float -> (C, h, w) float32."""
    return np.stack([resize_plane(p, size_hw, resample) for p in planes])


def resize_bands(planes: np.ndarray, size_hw: tuple[int, int], rows: int, resample=Image.BILINEAR):
    """(C, h, w) float (or (C, h, w, 3) uint8) -> its resize to (H, W), `rows` output rows at a
    time: yields (row slice, (C, n, W[, 3]) band). Each band is resampled from the whole source
    (Pillow's `box`), so bands join without seams and equal one whole resize to float rounding."""
    H, W = size_hw
    h, w = planes.shape[1:3]
    ims = [Image.fromarray(np.ascontiguousarray(p, dtype=np.uint8 if p.ndim == 3 else np.float32)) for p in planes]
    for y0 in range(0, H, rows):
        y1 = min(y0 + rows, H)
        box = (0, y0 * h / H, w, y1 * h / H)
        yield slice(y0, y1), np.stack([np.asarray(im.resize((W, y1 - y0), resample, box=box)) for im in ims])


def min_filter(img: np.ndarray, size: int) -> np.ndarray:
    """(H, W) float: local minimum over size x size (thickens dark lines)."""
    r = size // 2
    p = np.pad(img, r, mode="edge")
    h, w = img.shape
    out = img.copy()
    for dy in range(size):
        for dx in range(size):
            np.minimum(out, p[dy:dy + h, dx:dx + w], out=out)
    return out


def max_filter(img: np.ndarray, size: int) -> np.ndarray:
    """(H, W) float: local maximum over size x size (thins dark lines)."""
    return -min_filter(-img, size)


def nearest_outside(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) bool with at least one False -> (iy, ix), each (h, w) int: for every pixel, the coordinates of a
    nearest pixel outside the mask (itself when it is outside). Chessboard distance: what it fills (lines and
    their rims) is a few pixels wide, and this chamfer transform takes 28 ms on a 1200x1700 page where the exact
    Euclidean one takes 70."""
    iy, ix = ndimage.distance_transform_cdt(mask, metric="chessboard", return_distances=False, return_indices=True)
    return iy, ix
