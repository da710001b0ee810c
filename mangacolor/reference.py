"""Colour a page like its references: coloured pictures of the same characters (series memory).

A reference gives the pipeline two things (numpy + scipy only, at the working size):
- its colour statistics as the network's global-hints input (mangacolor.abbins.global_hints);
- a soft prior for the solver (`Transfer`): colours carried from matched places of the references,
  each with a confidence that becomes its weight in the solver's data term. The user's own hints
  stay hard constraints, so they always win.

Matching, by input kind:
- gray pages (grayscale, screentone): every few pixels, a patch of the page is matched to the
  references' patches by features that survive a new pose: its gray level (after the references'
  gray is remapped to the page's mean and spread, as Welsh et al. 2002 do), its local contrast and
  the gray of its neighbourhood at two scales. The k nearest reference patches vote; their
  agreement and distance give the confidence. The solver then spreads these colours along the
  page's edges.
- line art: the page's leak-proof regions (mangacolor.regions) are laid onto each reference through
  the figures' bounding boxes (mirrored when the reference's edges fit the page's lines better
  that way); a region takes the median colour of the reference under it, with a confidence that
  falls as those colours spread.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.spatial import cKDTree

from .color import luminance, net_to_rgb, rgb_to_net
from .filters import box_mean, box_means_at, resize_plane
from .hints import DEFAULT_RADIUS, Point
from .regions import LINE_THRESHOLD, segment

MAX_REFERENCES = 8
PAPER_L, PAPER_CHROMA = 0.95, 0.05  # as_hints suggests no hint on paper white (normalised Lab)


@dataclass(frozen=True)
class TransferConfig:
    # gray pages (tuned on validation portraits with the reference protocol, training/evaluate/reference_eval.py)
    step: float = 0.006           # one matched patch every 0.6% of the long side, at least every 2 px: 2 px at
    #                               256 px, 3 at 512 (the same scores there as 2 px, half the matching time)
    samples: int = 20_000         # reference patches in the search tree (all references together)
    k: int = 6                    # nearest reference patches that vote on a page patch (8: the same scores on
    #                               validation portraits, a fifth more query time)
    eps: float = 1.0              # approximate neighbours (cKDTree.query eps: each within 1 + eps of the true
    #                               distance): half the query time at 512 px, chroma error unchanged on validation
    spread_scale: float = 0.5     # normalised ab spread of the votes at which confidence falls to 1/e
    feature_scale: float = 0.5    # feature distance at which confidence falls to 1/e
    position: float = 1.0         # weight of the position within the figure (0..1) among the features:
    #                               as much as the gray level; without it, about 1 dB less on validation
    line_spread_scale: float = 0.15  # line art: Lab spread of a region's colours at which confidence falls to 1/e


DEFAULT = TransferConfig()


@dataclass(frozen=True)
class Transfer:
    """A soft prior from references, at the working size: colour (3, h, w) normalised Lab (on gray
    pages only a and b count) and weight (h, w) in [0, 1], 0 where the references say nothing."""

    colour: np.ndarray
    weight: np.ndarray


def prepare_reference(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """(H, W, 3) uint8 reference -> (3, h, w) normalised Lab with a long side of `long_side` (read-only: it may
    be shared with later pages, see _PREPARED)."""
    rgb = np.ascontiguousarray(rgb)
    key = (hashlib.sha256(rgb.data).digest(), rgb.shape, rgb.dtype.str, long_side)
    with _PREPARED_LOCK:
        if key in _PREPARED:
            _PREPARED.move_to_end(key)
            return _PREPARED[key]
    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    out = rgb_to_net(np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., :3])).resize(size, Image.BOX)))
    out.flags.writeable = False
    with _PREPARED_LOCK:
        _PREPARED[key] = out
        while len(_PREPARED) > MAX_REFERENCES:
            _PREPARED.popitem(last=False)
    return out


# The references last prepared, by content (sha256 of the pixels) and size. A chapter's pages, or an API client's
# calls for one chapter, share their references: each is then converted once, not once per page (two 1200x850
# references: 23 ms a page saved, 2 to 3 ms to recognise them). At most MAX_REFERENCES: 3 MB each at the 512 px
# working size, 12 MB at the largest (1024 px). Only the same pixels find an entry, so callers share nothing else.
_PREPARED: OrderedDict[tuple, np.ndarray] = OrderedDict()
_PREPARED_LOCK = threading.Lock()  # transfers run in a thread pool (mangacolor.pipeline)


def forget_prepared() -> None:
    """Drop the prepared references (bench/reference.py times pages whose references are new this way)."""
    with _PREPARED_LOCK:
        _PREPARED.clear()


def transfer(x: np.ndarray, kind: str, references: list[np.ndarray], cfg: TransferConfig = DEFAULT) -> Transfer:
    """x (1, h, w) the page's working-size gray, its input kind, reference pictures ((H, W, 3) uint8)
    -> the soft prior they give."""
    refs = [prepare_reference(r, max(x.shape[-2:])) for r in references]
    if kind == "lineart":
        return transfer_lineart(x[0], refs, cfg)
    return transfer_gray(x[0], refs, cfg)


def as_hints(tr: Transfer, hw_page: tuple[int, int], max_hints: int = 48, page: np.ndarray | None = None,
             threshold: float = 0.3) -> list[Point]:
    """A transfer -> at most `max_hints` point hints in the page's pixels (hw_page (H, W)), for a user to
    see, edit or delete: in each cell of a coarse grid, its most confident place away from the edges of
    what matched, kept when its weight passes `threshold` and it is not paper white; the most confident
    first. Colour: the transfer's, in RGB; a gray page's transfer carries only a and b, so give `page`
    ((H, W, 3) uint8) and the hint takes the page's own lightness there (line art: None)."""
    h, w = tr.weight.shape
    ys, xs = _cell_peaks(tr.weight, max(1, math.ceil(math.sqrt(h * w / max(1, max_hints)))))
    lab = tr.colour[:, ys, xs].copy()                                      # (3, n) normalised Lab
    if page is not None:
        small = np.asarray(Image.fromarray(np.ascontiguousarray(page[..., :3])).resize((w, h), Image.BOX))
        lab[0] = luminance(small)[ys, xs]
    conf = np.where((lab[0] > PAPER_L) & (np.hypot(lab[1], lab[2]) < PAPER_CHROMA), 0.0, tr.weight[ys, xs])
    order = np.argsort(-conf, kind="stable")[:max_hints]
    order = order[conf[order] > threshold]
    rgb = net_to_rgb(lab[:, None, order])[0]                               # (n, 3) uint8
    H, W = hw_page
    radius = max(float(DEFAULT_RADIUS), max(H, W) / 200)
    return [Point(float((x + 0.5) * W / w), float((y + 0.5) * H / h), tuple(int(c) for c in col), radius)
            for y, x, col in zip(ys[order], xs[order], rgb)]


def _cell_peaks(weight: np.ndarray, cell: int) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) weight -> (ys, xs) of one place per cell x cell block: where the weight is positive and
    highest on average around it (so inside a matched area, not on its edge)."""
    h, w = weight.shape
    gh, gw = -(-h // cell), -(-w // cell)
    score = np.full((gh * cell, gw * cell), -1.0, np.float32)
    score[:h, :w] = np.where(weight > 0, box_mean(weight, 2), -1.0)
    best = score.reshape(gh, cell, gw, cell).transpose(0, 2, 1, 3).reshape(gh, gw, cell * cell).argmax(-1)
    ys = (np.arange(gh)[:, None] * cell + best // cell).ravel()
    xs = (np.arange(gw)[None, :] * cell + best % cell).ravel()
    inside = (ys < h) & (xs < w)
    return ys[inside], xs[inside]


# ----------------------------------------------------------------------------- gray pages


def patch_features(gray: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(h, w) gray in [0, 1] -> (..., 4) at the pixels (ys, xs) (int arrays of one shape): gray, local contrast
    (3x3 std), mean gray at radius 3 and 9. Only the matched pixels are computed (about a tenth of a page and
    of its references): whole-image features cost 12 of the transfer's 100 ms on a 512 px page."""
    g = gray.astype(np.float64)
    m1, m3, m9 = box_means_at(g, (1, 3, 9), ys, xs)
    std = np.sqrt(np.maximum(box_means_at(g * g, (1,), ys, xs)[0] - m1 ** 2, 0.0))
    return np.stack([g[ys, xs], 2.0 * std, 0.5 * m3, 0.5 * m9], -1).astype(np.float32)


def remap_luminance(ref_l: np.ndarray, page_l: np.ndarray) -> np.ndarray:
    """Welsh et al. 2002: shift and scale the reference's gray to the page's mean and spread."""
    return (ref_l - ref_l.mean()) * (page_l.std() / max(float(ref_l.std()), 1e-3)) + page_l.mean()


def box_coords(ys: np.ndarray, xs: np.ndarray, box: tuple[int, int, int, int], flip: bool = False) -> np.ndarray:
    """(..., 2): the position (row, column) of the pixels (ys, xs) relative to a figure's box (0..1 inside it),
    the column mirrored when `flip`."""
    y0, x0, y1, x1 = box
    u, v = (ys - y0) / max(1, y1 - y0), (xs - x0) / max(1, x1 - x0)
    return np.stack([u, 1.0 - v if flip else v], -1).astype(np.float32)


def mirrored(page_gray: np.ndarray, ref: np.ndarray) -> bool:
    """Whether the reference's edges fit the page's better mirrored (a figure facing the other way)."""
    page_box = _page_box(page_gray)
    return _flipped(_edges(page_gray, page_box), ref, figure_box(reference_figure(ref)))


def _flipped(page_edges: np.ndarray, ref: np.ndarray, ref_box) -> bool:
    """`mirrored` with the page's edge map (`_edges` in its figure's box) computed once for all references."""
    f = _edges(ref[0], ref_box)
    return bool((page_edges * f[:, ::-1]).sum() > (page_edges * f).sum())


def _page_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    """The figure's box on a gray page: the pixels unlike the page's border gray."""
    return figure_box(reference_figure(np.stack([gray, np.zeros_like(gray), np.zeros_like(gray)])))


def reference_tree(gray: np.ndarray, refs: list[np.ndarray], samples: int, position: float, page_edges: np.ndarray,
                   seed: int = 0):
    """The references' patches (features, ab) in a k-d tree, at most `samples` of them, picked at random
    (the picks first, so that only their features are gathered); page_edges: see `_flipped`."""
    sizes = [r.shape[1] * r.shape[2] for r in refs]
    total = sum(sizes)
    pick = np.sort(np.random.default_rng(seed).choice(total, samples, replace=False)) if total > samples \
        else np.arange(total)
    feats, abs_ = [], []
    for ref, start in zip(refs, np.cumsum([0, *sizes[:-1]])):
        mine = pick[(pick >= start) & (pick < start + ref.shape[1] * ref.shape[2])] - start
        ys, xs = np.divmod(mine, ref.shape[2])
        box = figure_box(reference_figure(ref))
        coords = box_coords(ys, xs, box, _flipped(page_edges, ref, box))
        feats.append(np.concatenate([patch_features(remap_luminance(ref[0], gray), ys, xs), position * coords], 1))
        abs_.append(ref[1:, ys, xs].T)
    # sliding-midpoint splits: a third less query time, the same exact answers
    return cKDTree(np.concatenate(feats), balanced_tree=False), np.concatenate(abs_)


def transfer_gray(gray: np.ndarray, refs: list[np.ndarray], cfg: TransferConfig = DEFAULT) -> Transfer:
    """(h, w) page gray, references (3, h', w') normalised Lab -> soft chroma prior on a grid of patches."""
    h, w = gray.shape
    colour, weight = np.zeros((3, h, w), np.float32), np.zeros((h, w), np.float32)
    if not refs:
        return Transfer(colour, weight)
    page_box = _page_box(gray)
    tree, ref_ab = reference_tree(gray, refs, cfg.samples, cfg.position, _edges(gray, page_box))
    stride = max(2, round(cfg.step * max(h, w)))
    ys, xs = np.mgrid[stride // 2:h:stride, stride // 2:w:stride]
    query = np.concatenate([patch_features(gray, ys, xs), cfg.position * box_coords(ys, xs, page_box)],
                           -1).reshape(-1, 6)
    dist, idx = tree.query(query, k=min(cfg.k, len(ref_ab)), eps=cfg.eps, workers=-1)  # the queries on every core
    dist, idx = dist.reshape(len(query), -1), idx.reshape(len(query), -1)
    votes = ref_ab[idx]                                           # (n, k, 2)
    ab = _median(votes)                                           # (n, 2)
    spread = np.linalg.norm(votes - ab[:, None], axis=2).mean(1)
    conf = np.exp(-(spread / cfg.spread_scale) ** 2) * np.exp(-(dist.mean(1) / cfg.feature_scale) ** 2)
    colour[1:, ys, xs] = ab.T.reshape(2, *ys.shape)
    weight[ys, xs] = conf.reshape(ys.shape)
    return Transfer(colour, weight)


def _median(votes: np.ndarray) -> np.ndarray:
    """(n, k, 2) -> (n, 2): np.median over axis 1, the same numbers in half the time."""
    s = np.sort(votes, axis=1)
    return 0.5 * (s[:, (s.shape[1] - 1) // 2] + s[:, s.shape[1] // 2])


def welsh(gray: np.ndarray, refs: list[np.ndarray], samples: int = 200, seed: int = 0) -> np.ndarray:
    """Welsh, Ashikhmin and Mueller 2002, *Transferring color to greyscale images*: every pixel takes the
    chroma of the jittered-grid reference sample whose gray and 5x5 contrast are nearest, equally
    weighted, after the luminance remap. (h, w) gray -> (2, h, w) normalised ab."""
    g = gray.astype(np.float64)
    pts, abs_ = [], []
    rng = np.random.default_rng(seed)
    for ref in refs:
        lum = remap_luminance(ref[0].astype(np.float64), g)
        std = _local_std(lum, 2)
        n = max(1, samples // len(refs))
        side = max(1, int(np.sqrt(lum.size / n)))  # a jittered grid: one sample in each side x side cell
        ys = np.minimum(np.arange(0, lum.shape[0], side)[:, None] + rng.integers(0, side, (1, 1)), lum.shape[0] - 1)
        xs = np.minimum(np.arange(0, lum.shape[1], side)[None, :] + rng.integers(0, side, (1, 1)), lum.shape[1] - 1)
        ys, xs = np.broadcast_arrays(ys, xs)
        pts.append(np.stack([lum[ys, xs], std[ys, xs]], -1).reshape(-1, 2))
        abs_.append(ref[1:, ys, xs].reshape(2, -1).T)
    std = _local_std(g, 2)
    _, idx = cKDTree(np.concatenate(pts)).query(np.stack([g, std], -1).reshape(-1, 2))
    return np.concatenate(abs_)[idx].T.reshape(2, *g.shape).astype(np.float32)


def _local_std(img: np.ndarray, radius: int) -> np.ndarray:
    """(h, w) -> standard deviation over each (2r+1)^2 window."""
    return np.sqrt(np.maximum(box_mean(img * img, radius) - box_mean(img, radius) ** 2, 0.0))


# ----------------------------------------------------------------------------- line art


def figure_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(h, w) bool of the figure's pixels -> (y0, x0, y1, x1), the whole picture when empty."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return 0, 0, mask.shape[0], mask.shape[1]
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


def reference_figure(ref: np.ndarray) -> np.ndarray:
    """(3, h, w) Lab -> (h, w) bool: pixels that differ from the picture's border colour (its background)."""
    border = np.concatenate([ref[:, 0], ref[:, -1], ref[:, :, 0], ref[:, :, -1]], axis=1)
    bg = np.median(border, axis=1)
    return np.linalg.norm(ref - bg[:, None, None], axis=0) > 0.08


def _edges(gray: np.ndarray, box, size=(32, 32)) -> np.ndarray:
    """Gradient magnitude inside a box, resized to `size`, zero mean and unit norm."""
    y0, x0, y1, x1 = box
    g = gray[y0:y1, x0:x1].astype(np.float32)
    e = np.abs(np.diff(g, axis=0, append=g[-1:])) + np.abs(np.diff(g, axis=1, append=g[:, -1:]))
    e = resize_plane(e, size) - e.mean()
    return e / max(float(np.linalg.norm(e)), 1e-6)


def transfer_lineart(gray: np.ndarray, refs: list[np.ndarray], cfg: TransferConfig = DEFAULT) -> Transfer:
    """(h, w) line-art page, references (3, h', w') normalised Lab -> soft Lab prior per region."""
    h, w = gray.shape
    colour, weight = np.zeros((3, h, w), np.float32), np.zeros((h, w), np.float32)
    labels, _ = segment(gray)
    page_box = figure_box(gray < LINE_THRESHOLD)
    page_edges = _edges(gray, page_box)
    n = int(labels.max()) + 1
    ys, xs = np.mgrid[0:h, 0:w]
    for ref in refs:
        rb = figure_box(reference_figure(ref))
        uv = box_coords(ys, xs, page_box, _flipped(page_edges, ref, rb))    # where each pixel lies in the figure
        ry = np.clip(np.round(rb[0] + uv[..., 0] * (rb[2] - rb[0])), 0, ref.shape[1] - 1).astype(int)
        rx = np.clip(np.round(rb[1] + uv[..., 1] * (rb[3] - rb[1])), 0, ref.shape[2] - 1).astype(int)
        under = ref[:, ry, rx]                                                 # (3, h, w) the reference under the page
        region_colour = np.stack([_region_median(labels, under[c], n) for c in range(3)])  # (3, n)
        spread = np.stack([np.abs(under[c] - region_colour[c][labels]) for c in range(3)]).sum(0)
        mean_spread = np.bincount(labels.ravel(), spread.ravel(), n) / np.maximum(np.bincount(labels.ravel(), minlength=n), 1)
        conf = np.exp(-(mean_spread / cfg.line_spread_scale) ** 2)[labels]
        better = conf > weight
        colour[:, better] = region_colour[:, labels][:, better]
        weight[better] = conf[better]
    weight[gray < LINE_THRESHOLD] = 0.0  # the lines stay the page's own
    return Transfer(colour, weight)


def _region_median(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """(n,) median of `values` over each region (sort by region, then by value)."""
    lab, val = labels.ravel(), values.ravel()
    order = np.lexsort((val, lab))
    counts = np.bincount(lab, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    mid = np.minimum(starts + counts // 2, len(val) - 1)
    return np.where(counts > 0, val[order][mid], 0.0)
