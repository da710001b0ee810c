"""Edge-aware colour solvers: the network proposes, the solver makes hints land and stops colour at lines.

Both kinds solve, at the working size on normalised Lab (mangacolor.color), numpy + scipy only,

    sum_{r~s} w_rs (c_r - c_s)^2  +  sum_r data_r (c_r - prior_r)^2,   c = hint at the user's hint pixels

over 8-connected neighbours, with data_r = weight * confidence_r of the network's prediction.

- Gray pages (grayscale, screentone): c is the chroma (a, b); w_rs = exp(-(Y_r - Y_s)^2 / 2 sigma^2)
  with sigma^2 from the local variance of the gray (Levin, Lischinski and Weiss 2004), so colour
  flows along flat tone and stops at edges. The luminance is never solved: the page keeps its own.
  With hints it solves the energy above for the correction r = c - prior instead (r in place of c,
  and 0, or a reference's colour minus the prior, in place of the prior): the hints' corrections
  spread along the page's tone and fade out, and the network's own colour shifts under them (skin
  stays lighter than the hair of the same gray beside it) instead of being evened out. No pixel goes
  past both its own prior and every asked-for colour, per channel (else it could leave the gamut).
- Line art: c is the full colour (L, a, b); w_rs = 1 inside a leak-proof region (mangacolor.regions),
  `region_leak` across a line into a small region, 0 between two large ones. A closed region that
  holds hints is solved alone, with no data term: it takes its hints' colour (one hint colour: exactly
  that colour; several: each hint holds its own pixels and they blend between); in an open one
  (touching the page's edge) the hint colours the area around it and fades into the network's
  colour, unless the network's colour there is far from the hint's: then the part of the region a
  large ball reaches from the hint (mangacolor.regions.ball_part) is filled like a closed region.
  Then every unhinted region keeps the network's colour where the network is confident, and a small
  one takes its neighbours' where it is not: a strand of hair between two hinted strands takes their
  colour, a large background keeps the network's.

It runs as cascadic multigrid: the problem at half size first (colour crosses the page in few
steps there), upsampled as the start of Jacobi-preconditioned conjugate gradients at full size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .color import AB_SCALE, L_SCALE
from .filters import box_mean, resize_plane
from .regions import ball_part
from .sparse_cg import Grid, conjugate_gradients

_LAB_SCALE = np.array([L_SCALE, AB_SCALE, AB_SCALE])[:, None]  # (3, 1) normalised Lab -> Lab
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))  # each 8-neighbour pair once: right, down, two diagonals


def neighbour_slices(h: int, w: int, dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices of the pixels r and of their neighbours s = r + (dy, dx) that both lie inside (h, w)."""
    xs = slice(max(0, -dx), w - max(0, dx))
    return (slice(0, h - dy), xs), (slice(dy, h), slice(xs.start + dx, xs.stop + dx))


@dataclass(frozen=True)
class SolverConfig:
    # gray pages: pull of the correction towards none at confidence 1, against w_rs <= 1 per neighbour: lower, a
    # hint's correction travels further. Chosen on validation (grayscale pages, 8 and 32 hints, clip art and
    # painted portraits; docs/solver.md, "Correcting the network instead of replacing it")
    data_weight: float = 0.003
    sigma2_floor: float = 1e-4     # gray variance floor: sensor / JPEG noise must not stop propagation
    coarse_pixels: int = 2_000     # the cascade's coarsest grid (iterated to convergence)
    cg_iters: int = 8              # gray pages: conjugate-gradient steps on every finer grid
    line_cg_iters: int = 15        # line art: the same (region borders need more: 8 costs 0.3 to 0.5 dB on val)
    solve_pixels: int = 25_000     # finer gray grids are only upsampled (a 512 px page solves at 181 px)
    line_data_weight: float = 0.2  # line art: pull towards the network in unhinted regions, at confidence 1
    region_leak: float = 0.3       # line art: affinity across a line into a small region (1 inside one)
    small_region: float = 0.005    # line art: regions under this share of the page (or 64 px) are small
    open_data_weight: float = 0.01  # line art: pull towards the network inside a hinted region that touches
    #                                  the page's edge (open), so its hint colours the area near it;
    #                                  lower fills a coloured background but floods paper from a leaky
    #                                  figure part (validation chose 0.01; docs/solver.md)
    open_reach: float = 0.04       # line art: ... but what a ball of this radius (a share of the page's shorter
    reach_disagree: float = 60.0   # side) reaches from a hint over this far (dE76) from the network's colour
    #                                becomes a region of its own, filled like a closed one
    #                                (mangacolor.regions.ball_part): a figure part up to its gap, or a wide
    #                                background whole (validation with 0ad; docs/solver.md)
    fill_open_data_weight: float = 0.0   # the same for refine="fill": none, so an open region is filled
    #                                       from its hints like a closed one
    reference_weight: float = 0.5  # gray pages: pull towards a reference's colour (mangacolor.reference) at
    #                                confidence 1: 25x the network's, so matched colours spread between them


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
        r, s = neighbour_slices(h, w, dy, dx)
        # as in Levin's code, exp(-d^2 / (0.6 var)); the variance is the mean of both ends' 3x3 windows,
        # so the weights are symmetric and the system can be solved by conjugate gradients
        s2 = np.maximum(0.3 * (var[r] + var[s]), sigma2_floor)
        wt[r] = np.exp(-((g[r] - g[s]) ** 2) / s2)
        out.append(((dy, dx), wt))
    return out


class GrayGuide:
    """Levin affinities of a gray image (gray pages)."""

    smooth = True  # chroma under a gray page is smooth: a fine grid may just be upsampled

    def __init__(self, gray: np.ndarray, sigma2_floor: float):
        self.gray, self.sigma2_floor = gray, sigma2_floor
        self.shape = gray.shape

    def links(self) -> list[tuple[tuple[int, int], np.ndarray]]:
        return affinities(self.gray, self.sigma2_floor)

    @staticmethod
    def halve_fixed(fixed: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # a coarse pixel is held where any of its four is, at their mean: a hint dot survives every level
        count = np.maximum(_halve(fixed.astype(np.float64), "sum"), 1.0)
        return _halve(fixed, "any"), _halve(np.where(fixed, values, 0.0), "sum") / count

    def halve(self) -> "GrayGuide":
        return GrayGuide(_halve(self.gray, "mean"), self.sigma2_floor)

    @staticmethod
    def halve_data(data: np.ndarray) -> np.ndarray:
        # data terms add up over a block; the smoothness energy of a smooth field is scale-free in 2-D
        return _halve(data, "sum")

    def upsample(self, coarse: np.ndarray) -> np.ndarray:
        """(C, h', w') solution of the halved guide -> (C, h, w) start at this size."""
        return np.stack([resize_plane(c, self.shape) for c in coarse]).astype(np.float64)


class RegionGuide:
    """1 between pixels of one region; `leak` between two regions when one of them is small (`small`:
    (n,) bool per label), else 0: colour crosses a line only into or out of a small region."""

    smooth = False  # colour jumps at every region border: every grid is solved

    def __init__(self, labels: np.ndarray, leak: float, small: np.ndarray):
        self.labels, self.leak, self.small = labels, leak, small
        self.shape = labels.shape

    def links(self) -> list[tuple[tuple[int, int], np.ndarray]]:
        h, w = self.shape
        out = []
        for dy, dx in _OFFSETS:
            wt = np.zeros((h, w))
            r, s = neighbour_slices(h, w, dy, dx)
            a, b = self.labels[r], self.labels[s]
            wt[r] = np.where(a == b, 1.0, np.where(self.small[a] | self.small[b], self.leak, 0.0))
            out.append(((dy, dx), wt))
        return out

    def halve_fixed(self, fixed: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # as GrayGuide's, but only held pixels of the coarse pixel's own region count (its label is sampled,
        # see halve). Held wherever any of its four was (until 2026-11-24), a coarse pixel of the region
        # beside a hinted one took the hinted colour, and where the network was unsure that colour came
        # back as a band a few pixels past the line (tests/test_solver.py)
        h, w = self.shape
        block = np.repeat(np.repeat(self.labels[::2, ::2], 2, axis=0), 2, axis=1)[:h, :w]  # (h, w)
        return GrayGuide.halve_fixed(fixed & (self.labels == block), values)

    def halve(self) -> "RegionGuide":
        # a coarse pixel takes one fine pixel's region; regions thinner than the grid step vanish
        # there, and the finer grids give them back (they are small: colour need not travel far)
        return RegionGuide(self.labels[::2, ::2], self.leak, self.small)

    @staticmethod
    def halve_data(data: np.ndarray) -> np.ndarray:
        # sampled like the labels, so a coarse pixel of a hinted region never gets an unhinted one's pull
        return 4.0 * data[..., ::2, ::2]

    def upsample(self, coarse: np.ndarray) -> np.ndarray:
        """(C, h', w') solution of the halved guide -> (C, h, w): each pixel takes a coarse pixel of its own
        region among the four around it (bilinear weights would blend in the colour across the line)."""
        h, w = self.shape
        ch, cw = coarse.shape[-2:]
        small = self.labels[::2, ::2]
        y, x = np.mgrid[0:h, 0:w]
        best_y, best_x = y // 2, x // 2                                  # the coarse pixel it was sampled with
        for dy, dx in ((0, 1), (1, 0), (1, 1)):                           # else a neighbour of the same region
            cy, cx = np.minimum(y // 2 + dy, ch - 1), np.minimum(x // 2 + dx, cw - 1)
            take = (small[best_y, best_x] != self.labels) & (small[cy, cx] == self.labels)
            best_y, best_x = np.where(take, cy, best_y), np.where(take, cx, best_x)
        return coarse[:, best_y, best_x].astype(np.float64)


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


def _cascade(guide, prior, data, fixed, values, cfg, levels_left=8):
    """Cascadic multigrid: solve a half-size problem first (it carries colour over long distances in
    few steps), upsample it as the start, then CG at this size fixes the detail.
    prior, values (C, h, w); data (h, w); fixed (h, w) bool -> (C, h, w)."""
    h, w = guide.shape
    if levels_left == 0 or h * w <= cfg.coarse_pixels:
        start = np.where(fixed, values, prior)
        iters = 120  # the coarsest grid is small: iterate it to convergence
    else:
        cfixed, cvalues = guide.halve_fixed(fixed, values)
        # the coarse prior is the data-weighted mean of the fine one: a strongly pulled pixel (a reference's
        # match) keeps its colour on the coarse grid instead of being averaged with its weak neighbours
        cdata = guide.halve_data(data)
        cprior = guide.halve_data(data * prior) / np.maximum(cdata, 1e-12)
        coarse = _cascade(guide.halve(), cprior, cdata, cfixed, cvalues, cfg, levels_left - 1)
        start = np.where(fixed, values, guide.upsample(coarse))
        if guide.smooth and h * w > cfg.solve_pixels:  # smooth chroma: past this size, upsampling is enough
            return start
        iters = cfg.cg_iters if guide.smooth else cfg.line_cg_iters
    return conjugate_gradients(Grid(guide, data), data * prior, start, ~fixed, iters)


def _smooth(guide, prior: np.ndarray, data: np.ndarray, cfg: SolverConfig) -> np.ndarray:
    """No hints: the prior smoothed along the guide's edges. CG from the prior itself at this size: the
    data term everywhere keeps the problem well conditioned, so no coarse start is needed."""
    free = np.ones(guide.shape, bool)
    return conjugate_gradients(Grid(guide, data), data * prior, prior, free, cfg.cg_iters).astype(np.float32)


def solve_chroma(gray: np.ndarray, prior: np.ndarray, confidence: np.ndarray | float, hint: np.ndarray,
                 mask: np.ndarray, cfg: SolverConfig = DEFAULT,
                 soft: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Gray pages: (h, w) gray, (C, h, w) prior chroma, confidence (h, w) or scalar, (C, h, w) hint
    chroma * mask, (h, w) mask (user pixels = 1) -> (C, h, w) chroma, hint pixels exactly the hint.
    soft: (C, h, w) chroma and (h, w) weight in [0, 1] from references, a stronger pull than the
    network's where the weight is > 0 (user hints still win: they are fixed).
    With hints or references it solves for the correction to the prior (module docstring); without
    either it only smooths the prior along the page's edges (a flat prior comes back as it is)."""
    fixed = mask >= 1.0
    data = cfg.data_weight * np.broadcast_to(np.asarray(confidence, np.float64), gray.shape)
    data = np.maximum(data, 1e-6)  # every pixel keeps a (tiny) anchor: the system stays well posed
    guide, prior = GrayGuide(gray.astype(np.float64), cfg.sigma2_floor), prior.astype(np.float64)
    target = np.zeros_like(prior)  # what the correction is pulled to: none, or a reference's colour minus the prior
    given = [hint[:, fixed]]       # (C, k) the colours the user and the references asked for
    if soft is not None and (soft[1] > 0).any():
        colour, weight = soft
        target = np.where(weight > 0, colour - prior, 0.0)
        data = np.maximum(data, cfg.reference_weight * weight)
        given.append(colour[:, weight > 0])
    elif not fixed.any():
        return _smooth(guide, prior, data, cfg)
    correction = _cascade(guide, target, data, fixed, hint.astype(np.float64) - prior, cfg)
    # A correction never pushes a pixel past both its own prior and every asked-for colour, per channel: added to
    # an already colourful prior it would leave the sRGB gamut, and clipping there changes the page's luminance
    given = np.concatenate(given, axis=1)
    lo, hi = given.min(axis=1)[:, None, None], given.max(axis=1)[:, None, None]
    return np.clip(prior + correction, np.minimum(prior, lo), np.maximum(prior, hi)).astype(np.float32)


def solve_lineart(labels: np.ndarray, prior: np.ndarray, confidence: np.ndarray | float, hint: np.ndarray,
                  mask: np.ndarray, cfg: SolverConfig = DEFAULT, paper: np.ndarray | None = None) -> np.ndarray:
    """Line art: (h, w) region labels, (3, h, w) prior Lab, confidence (h, w) or scalar, (3, h, w) hint
    colour * mask, (h, w) mask (user pixels = 1) -> (3, h, w) Lab.

    Two solves: first each hinted region alone (no leak; no data term in a closed region: its hints'
    colour, blended between hints of different colours), then every other region with the hinted
    regions held fixed (the network's colour where it is confident, its neighbours' where it is not)."""
    fixed = mask >= 1.0
    n = int(labels.max()) + 1
    # A region that touches the page's edge is open: the paper around the figure, or a region whose lines
    # have a gap wider than the regions' ball. A hint there colours the area near it and fades into the
    # network's colour (a leaky figure part must not flood the page), unless the network disagrees with it
    # (further than `reach_disagree`): then what a large ball reaches from it becomes a region of its own,
    # filled like a closed one: its figure part up to the gap, or a wide background whole.
    edge = np.zeros(n, bool)
    if cfg.open_data_weight > 0 and fixed.any():  # (at 0 nothing fades: an open region is filled like a closed one)
        edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    if paper is not None and cfg.open_reach > 0 and edge.any():
        seeds = fixed.copy()                                           # hints far from the network's colour
        seeds[fixed] = np.sqrt((((hint[:, fixed] - prior[:, fixed]) * _LAB_SCALE) ** 2).sum(axis=0)) > cfg.reach_disagree
        part = edge[labels] & ball_part(paper, labels, seeds, cfg.open_reach * min(labels.shape))
        pieces, k = ndimage.label(part)
        labels = np.where(part, n + pieces - 1, labels)
        n, edge = n + k, np.concatenate([edge, np.zeros(k, bool)])
    hinted = np.zeros(n, bool)
    hinted[labels[fixed]] = True
    in_hinted = hinted[labels]                                        # (h, w)
    small = np.bincount(labels.ravel(), minlength=n) < max(64.0, cfg.small_region * labels.size)
    start = prior.astype(np.float64)
    conf = np.broadcast_to(np.asarray(confidence, np.float64), labels.shape)
    data = np.maximum(cfg.line_data_weight * conf, 1e-6)
    if not fixed.any():  # no hints: the network's colour, smoothed inside regions
        return _smooth(RegionGuide(labels, cfg.region_leak, small), start, data, cfg)
    pull = np.where(edge[labels], cfg.open_data_weight * conf, 0.0)
    # The common case needs no solve: a closed region whose hints are all one colour is that colour.
    at = labels[fixed]                                                # (k,) region of each hint pixel
    _, colour_id = np.unique(np.round(hint[:, fixed].T * 200.0).astype(np.int32), axis=0, return_inverse=True)
    one_colour = np.bincount(np.unique(np.stack([at, colour_id.ravel()], 1), axis=0)[:, 0], minlength=n) == 1
    simple = hinted & one_colour & ~edge
    values = hint.astype(np.float64)
    if simple.any():
        count = np.maximum(np.bincount(at, minlength=n), 1)
        colour = np.stack([np.bincount(at, weights=hint[c][fixed], minlength=n) / count for c in range(3)])  # (3, n)
        in_simple = simple[labels]
        values = np.where(in_simple, colour[:, labels], values)
        fixed = fixed | in_simple
    inner = values if (fixed | ~in_hinted).all() else _cascade(
        RegionGuide(labels, 0.0, small), start, np.where(in_hinted, pull + 1e-9, 1.0), fixed, values, cfg)
    if in_hinted.all():
        return inner.astype(np.float32)
    out = _cascade(RegionGuide(labels, cfg.region_leak, small), start, data, in_hinted, inner, cfg)
    return out.astype(np.float32)
