"""Levin, Lischinski and Weiss 2004, *Colorization using optimization*, solved exactly: the baseline.

The same affinities as the product's solver (mangacolor.solver.affinities), no network prior,
hints as hard constraints, one sparse direct solve (SuperLU) shared by both chroma channels.
Evaluation only: at 256 px it takes about a second, where the product's cascade takes milliseconds.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from mangacolor.solver import DEFAULT, affinities, neighbour_slices


def laplacian(gray: np.ndarray, sigma2_floor: float = DEFAULT.sigma2_floor) -> sparse.csr_matrix:
    """(h, w) gray -> (hw, hw) symmetric graph Laplacian D - W of the Levin affinities."""
    h, w = gray.shape
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for (dy, dx), wt in affinities(gray, sigma2_floor):
        r, s = neighbour_slices(h, w, dy, dx)
        rows.append(idx[r].ravel())
        cols.append(idx[s].ravel())
        vals.append(wt[r].ravel())
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    W = sparse.coo_matrix((np.r_[v, v], (np.r_[r, c], np.r_[c, r])), shape=(h * w, h * w)).tocsr()
    return (sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()


def solve_levin(gray: np.ndarray, hint: np.ndarray, mask: np.ndarray, sigma2_floor: float = DEFAULT.sigma2_floor) -> np.ndarray:
    """(h, w) gray, (C, h, w) hint * mask, (h, w) mask -> (C, h, w) with hint pixels fixed; zeros
    without hints."""
    h, w = gray.shape
    fixed = (mask >= 1.0).ravel()
    out = np.zeros(hint.shape, np.float32)
    if not fixed.any():
        return out
    L = laplacian(gray, sigma2_floor)
    free = ~fixed
    A_ff = L[free][:, free].tocsc()
    A_fk = L[free][:, fixed]
    A_ff = A_ff + sparse.identity(A_ff.shape[0], format="csc") * 1e-9  # regions cut off by zero weights
    lu = splu(A_ff)
    for c in range(hint.shape[0]):
        k = hint[c].ravel()[fixed].astype(np.float64)
        full = np.empty(h * w)
        full[fixed], full[free] = k, lu.solve(-(A_fk @ k))
        out[c] = full.reshape(h, w)
    return out
