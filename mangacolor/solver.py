"""Edge-aware colour solvers: the network proposes, the solver makes hints land and stops colour at lines.

Both work at the working size on normalised Lab (mangacolor.color), numpy + scipy only.

Gray pages (grayscale, screentone): chroma c (a and b) minimising

    sum_{r~s} w_rs (c_r - c_s)^2  +  data_weight * sum_r conf_r (c_r - prior_r)^2

over 8-connected neighbours, with the user's hint pixels held at the hint's chroma
(hard constraints). w_rs = exp(-(Y_r - Y_s)^2 / 2 sigma^2) with sigma^2 from the
local variance of the gray (Levin, Lischinski and Weiss 2004), so colour flows along
flat tone and stops at edges. data_weight = 0 is plain Levin 2004. The luminance is
never solved: the page keeps its own.

Line art: one colour per leak-proof region (mangacolor.regions). A region with hints
takes its majority hint colour; every other region solves the same energy on the
region graph (data: its pixels pulling towards the network's colour, weighted by
confidence; smoothness: the border it shares with each neighbour), so a small
unhinted region between hinted ones (a strand of hair) takes their colour, while a
large one keeps the network's. The network's shading (L detail) is kept inside a region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from .filters import box_mean, resize_plane

_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))  # each 8-neighbour pair once: right, down, two diagonals


def _pairs(h: int, w: int, dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices of the pixels r and of their neighbours s = r + (dy, dx) that both lie inside (h, w)."""
    xs = slice(max(0, -dx), w - max(0, dx))
    return (slice(0, h - dy), xs), (slice(dy, h), slice(xs.start + dx, xs.stop + dx))


@dataclass(frozen=True)
class SolverConfig:
    data_weight: float = 0.02      # pull towards the network at confidence 1, against w_rs <= 1 per neighbour
    sigma2_floor: float = 1e-4     # gray variance floor: sensor / JPEG noise must not stop propagation
    coarse_pixels: int = 2_000     # the cascade's coarsest grid (iterated to convergence)
    cg_iters: int = 15             # conjugate-gradient steps on every finer grid
    solve_pixels: int = 50_000     # finer grids than this are only upsampled (a 512 px page solves at 256)
    border_weight: float = 1.0     # line art: weight of one border pixel pair between two regions
    region_data: float = 1.0       # line art: network pull per pixel at confidence 1
    shading: float = 1.0           # line art: share of the network's L detail kept inside a region


DEFAULT = SolverConfig()


# ----------------------------------------------------------------------------- gray pages


def affinities(gray: np.ndarray, sigma2_floor: float = DEFAULT.sigma2_floor) -> list[tuple[tuple[int, int], np.ndarray]]:
    """(h, w) gray -> [(offset, w (h, w))]: w[y, x] links (y, x) to (y + dy, x + dx); 0 past the border."""
    g = gray.astype(np.float64)
    var = np.maximum(box_mean(g * g, 1) - box_mean(g, 1) ** 2, 0.0)
    h, w = g.shape
    out = []
    for dy, dx in _OFFSETS:
        wt = np.zeros((h, w))
        r, s = _pairs(h, w, dy, dx)
        # Levin's sigma: 0.6 x the local variance, here of both ends so the weights are symmetric
        s2 = np.maximum(0.3 * (var[r] + var[s]), sigma2_floor)
        wt[r] = np.exp(-((g[r] - g[s]) ** 2) / (2.0 * s2))
        out.append(((dy, dx), wt))
    return out


def laplacian(gray: np.ndarray, sigma2_floor: float = DEFAULT.sigma2_floor) -> sparse.csr_matrix:
    """(h, w) gray -> (hw, hw) symmetric graph Laplacian D - W of the Levin affinities."""
    h, w = gray.shape
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for (dy, dx), wt in affinities(gray, sigma2_floor):
        r, s = _pairs(h, w, dy, dx)
        rows.append(idx[r].ravel())
        cols.append(idx[s].ravel())
        vals.append(wt[r].ravel())
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    W = sparse.coo_matrix((np.r_[v, v], (np.r_[r, c], np.r_[c, r])), shape=(h * w, h * w)).tocsr()
    return (sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()


class Grid:
    """The Levin affinities of one (h, w) gray image plus a data term, as a sparse (hw, hw) matrix
    A = D + data - W (9 diagonals, built straight in DIA form: no sorting, O(hw))."""

    def __init__(self, gray: np.ndarray, data: np.ndarray, sigma2_floor: float):
        h, w = self.shape = gray.shape
        n = h * w
        diags, offsets = [], []
        degree = np.zeros(n, np.float32)
        for (dy, dx), wt in affinities(gray, sigma2_floor):
            o = dy * w + dx                                  # pixel r links to r + o
            flat = wt.ravel().astype(np.float32)
            degree += flat
            degree[o:] += flat[:n - o]
            upper = np.zeros(n, np.float32)
            upper[o:] = flat[:n - o]                          # DIA stores A[i, i + k] at column i + k
            diags += [-upper, -flat]
            offsets += [o, -o]
        self.diag = degree + data.ravel().astype(np.float32)
        self.A = sparse.dia_matrix((np.stack([self.diag, *diags]), [0, *offsets]), shape=(n, n)).tocsr()

    def apply(self, c: np.ndarray) -> np.ndarray:
        """(C, h, w) -> (C, h, w) A c."""
        C = c.shape[0]
        return (self.A @ c.reshape(C, -1).T).T.reshape(c.shape)


def _cg(grid: Grid, b: np.ndarray, x: np.ndarray, free: np.ndarray, iters: int, tol: float = 1e-4) -> np.ndarray:
    """Jacobi-preconditioned conjugate gradients on the free pixels, all channels at once.
    b, x (C, h, w): right-hand side and start (x holds the fixed values where ~free)."""
    inv = np.where(free, 1.0 / np.maximum(grid.diag.reshape(grid.shape), 1e-12), 0.0)      # zero on fixed pixels: they never move
    r = (b - grid.apply(x)) * free
    z = r * inv
    p = z.copy()
    rz = (r * z).sum(axis=(1, 2))                                          # (C,)
    stop = tol * np.sqrt((b * b * free).sum(axis=(1, 2))) + 1e-12
    for _ in range(iters):
        if (np.sqrt((r * r).sum(axis=(1, 2))) <= stop).all():
            break
        q = grid.apply(p) * free
        alpha = rz / np.maximum((p * q).sum(axis=(1, 2)), 1e-30)
        x = x + alpha[:, None, None] * p
        r = r - alpha[:, None, None] * q
        z = r * inv
        rz_new = (r * z).sum(axis=(1, 2))
        p = z + (rz_new / np.maximum(rz, 1e-30))[:, None, None] * p
        rz = rz_new
    return x


def _halve(a: np.ndarray, how: str) -> np.ndarray:
    """(..., h, w) -> (..., ceil(h/2), ceil(w/2)): 2x2 block 'sum', 'mean' or 'any'."""
    h, w = a.shape[-2:]
    pad = [(0, 0)] * (a.ndim - 2) + [(0, h % 2), (0, w % 2)]
    p = np.pad(a, pad, mode="edge" if how == "mean" else "constant")
    blocks = p[..., 0::2, 0::2], p[..., 1::2, 0::2], p[..., 0::2, 1::2], p[..., 1::2, 1::2]
    if how == "any":
        return blocks[0] | blocks[1] | blocks[2] | blocks[3]
    total = blocks[0] + blocks[1] + blocks[2] + blocks[3]
    return total if how == "sum" else total / 4.0


def _cascade(gray, prior, data, fixed, values, cfg, levels_left):
    """Cascadic multigrid: solve a half-size problem first (it carries colour over long distances in
    few steps), upsample it as the start, then CG at this size fixes the detail."""
    h, w = gray.shape
    free = ~fixed
    if levels_left == 0 or h * w <= cfg.coarse_pixels:
        start = np.where(fixed, values, prior)
        iters = cfg.cg_iters * 8  # the coarsest grid is small: iterate it to convergence
    else:
        cfixed = _halve(fixed, "any")
        count = np.maximum(_halve(fixed.astype(np.float64), "sum"), 1.0)
        cvalues = _halve(np.where(fixed, values, 0.0), "sum") / count
        # data terms add up over a block; the smoothness energy of a smooth field is scale-free in 2-D
        coarse = _cascade(_halve(gray, "mean"), _halve(prior, "mean"), _halve(data, "sum"), cfixed, cvalues,
                          cfg, levels_left - 1)
        up = np.stack([resize_plane(c, (h, w)) for c in coarse]).astype(np.float64)
        start = np.where(fixed, values, up)
        if h * w > cfg.solve_pixels:  # chroma is smooth: past this size, upsampling is enough
            return start
        iters = cfg.cg_iters
    grid = Grid(gray, data, cfg.sigma2_floor)
    b = data * prior
    return _cg(grid, b, start, free, iters)


def solve_chroma(gray: np.ndarray, prior: np.ndarray, confidence: np.ndarray | float, hint: np.ndarray,
                 mask: np.ndarray, cfg: SolverConfig = DEFAULT) -> np.ndarray:
    """Gray pages: (h, w) gray, (C, h, w) prior chroma, confidence (h, w) or scalar, (C, h, w) hint
    chroma * mask, (h, w) mask (user pixels = 1) -> (C, h, w) chroma, hint pixels exactly the hint.
    Without hints there is nothing to enforce: the prior comes back unchanged."""
    fixed = mask >= 1.0
    if not fixed.any():
        return prior.astype(np.float32)
    data = cfg.data_weight * np.broadcast_to(np.asarray(confidence, np.float64), gray.shape)
    data = np.maximum(data, 1e-6)  # every pixel keeps a (tiny) anchor: the system stays well posed
    out = _cascade(gray.astype(np.float64), prior.astype(np.float64), data, fixed,
                   hint.astype(np.float64), cfg, levels_left=8)
    return out.astype(np.float32)


def solve_levin(gray: np.ndarray, hint: np.ndarray, mask: np.ndarray, sigma2_floor: float = DEFAULT.sigma2_floor) -> np.ndarray:
    """Levin, Lischinski and Weiss 2004, exactly (sparse direct solve, no prior): (h, w) gray, (C, h, w)
    hint * mask, (h, w) mask -> (C, h, w) with hint pixels fixed; zeros without hints. For evaluation:
    at 256 px it takes about a second."""
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


# ----------------------------------------------------------------------------- line art


def region_graph(labels: np.ndarray, n: int) -> sparse.csr_matrix:
    """(h, w) region labels -> (n, n) symmetric matrix of shared border lengths (4-neighbour pixel pairs)."""
    pairs = [(labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])]
    a = np.concatenate([p[0][p[0] != p[1]] for p in pairs])
    b = np.concatenate([p[1][p[0] != p[1]] for p in pairs])
    B = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
    return (B + B.T).tocsr()


def solve_regions(labels: np.ndarray, n: int, prior: np.ndarray, confidence: np.ndarray | float,
                  colours: np.ndarray, hinted: np.ndarray, cfg: SolverConfig = DEFAULT) -> np.ndarray:
    """Line art: labels (h, w), prior (3, h, w) Lab, confidence (h, w) or scalar, hint colours (n, 3) and
    hinted (n,) per region -> (n, 3) one colour per region (hinted regions keep their hint colour)."""
    h, w = labels.shape
    conf = np.broadcast_to(np.asarray(confidence, np.float64), (h, w)).ravel()
    flat = labels.ravel()
    data = cfg.region_data * np.bincount(flat, weights=conf, minlength=n) + 1e-9  # (n,)
    target = np.stack([np.bincount(flat, weights=conf * prior[c].ravel(), minlength=n) for c in range(3)], 1)
    target /= np.maximum(np.bincount(flat, weights=conf, minlength=n), 1e-12)[:, None]  # (n, 3) network colour
    out = target.copy()
    out[hinted] = colours[hinted]
    free = ~hinted
    if not hinted.any() or not free.any():
        return out.astype(np.float32)
    Bw = cfg.border_weight * region_graph(labels, n)
    Lap = sparse.diags(np.asarray(Bw.sum(axis=1)).ravel()) - Bw
    A = (Lap + sparse.diags(data)).tocsr()
    A_ff, A_fk = A[free][:, free].tocsc(), A[free][:, hinted]
    for c in range(3):
        b = data[free] * target[free, c] - A_fk @ colours[hinted, c]
        out[free, c] = splu(A_ff).solve(b) if A_ff.shape[0] > 1 else b / A_ff.toarray()[0]
    return out.astype(np.float32)


def paint_regions(labels: np.ndarray, region_lab: np.ndarray, prior: np.ndarray, shading: float) -> np.ndarray:
    """(h, w) labels, (n, 3) region colours, (3, h, w) network Lab -> (3, h, w) Lab: each region flat in
    colour, with `shading` of the network's lightness detail (L minus its region mean) kept."""
    out = np.ascontiguousarray(region_lab[labels].transpose(2, 0, 1))
    if shading > 0:
        n = region_lab.shape[0]
        flat = labels.ravel()
        area = np.maximum(np.bincount(flat, minlength=n), 1)
        mean_l = np.bincount(flat, weights=prior[0].ravel(), minlength=n) / area
        out[0] += shading * (prior[0] - mean_l[labels])
    return out
