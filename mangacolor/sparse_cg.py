"""The solver's linear algebra: the sparse system of a guide and Jacobi-preconditioned conjugate gradients.

A guide (mangacolor.solver's GrayGuide or RegionGuide) gives each pixel's affinities to its
8-neighbours; with a data term that makes A = D + data - W, symmetric positive definite where
any pixel has data or is fixed. numpy + scipy only.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


class Grid:
    """A guide's affinities plus a data term, as a sparse (hw, hw) matrix A = D + data - W
    (9 diagonals, built straight in DIA form: no sorting, O(hw))."""

    def __init__(self, guide, data: np.ndarray):
        h, w = self.shape = guide.shape
        n = h * w
        diags: dict[int, np.ndarray] = {}  # offset -> diagonal; on grids 1 or 2 px wide two links share one
        degree = np.zeros(n, np.float32)
        for (dy, dx), wt in guide.links():
            o = dy * w + dx                                  # pixel r links to r + o
            if o >= n:                                       # a 1-px-high grid: no pixel has this neighbour
                continue
            flat = wt.ravel().astype(np.float32)
            degree += flat
            degree[o:] += flat[:n - o]
            upper = np.zeros(n, np.float32)
            upper[o:] = flat[:n - o]                          # DIA stores A[i, i + k] at column i + k
            for k, d in ((o, upper), (-o, flat)):
                diags[k] = diags.get(k, 0) - d
        self.diag = degree + data.ravel().astype(np.float32)
        diags[0] = diags.get(0, 0) + self.diag
        self.A = sparse.dia_matrix((np.stack(list(diags.values())), list(diags)), shape=(n, n)).tocsr()

    def apply(self, c: np.ndarray) -> np.ndarray:
        """(C, h, w) -> (C, h, w) A c."""
        return np.stack([(self.A @ ch.ravel()).reshape(self.shape) for ch in c])


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(C, h, w), (C, h, w) -> (C,) per-channel dot products, summed in float64."""
    return np.einsum("chw,chw->c", a, b, dtype=np.float64)


def conjugate_gradients(grid: Grid, b: np.ndarray, x: np.ndarray, free: np.ndarray, iters: int, tol: float = 1e-4) -> np.ndarray:
    """Jacobi-preconditioned conjugate gradients on the free pixels, all channels at once, in float32
    (half the memory traffic of float64; colours need no more). b, x (C, h, w): right-hand side and
    start (x holds the fixed values where ~free)."""
    f32 = np.float32
    b, x = b.astype(f32), x.astype(f32)
    inv = np.where(free, 1.0 / np.maximum(grid.diag.reshape(grid.shape), 1e-12), 0.0).astype(f32)  # 0: fixed
    keep = free.astype(f32)
    r = (b - grid.apply(x)) * keep
    z = r * inv
    p = z.copy()
    rz = _dot(r, z)                                                       # (C,)
    # relative to the start's residual: b alone can be tiny where fixed pixels drive the solution
    stop = tol * np.sqrt(_dot(r, r)) + 1e-12
    for _ in range(iters):
        if (np.sqrt(_dot(r, r)) <= stop).all():
            break
        q = grid.apply(p) * keep
        alpha = (rz / np.maximum(_dot(p, q), 1e-30)).astype(f32)[:, None, None]
        x += alpha * p
        r -= alpha * q
        z = r * inv
        rz_new = _dot(r, z)
        p = z + (rz_new / np.maximum(rz, 1e-30)).astype(f32)[:, None, None] * p
        rz = rz_new
    return x
