"""The colour head over quantized ab bins (Zhang, Isola and Efros 2016), in torch.

The network gives logits over Q bins (mangacolor.abbins) at a quarter of the input's size.
- training target: the ground-truth ab soft-encoded on its 5 nearest bins (Gaussian, sigma 5 ab units);
- class rebalancing: each pixel's loss is weighted by 1 / ((1 - lam) * prior + lam / Q) of its
  nearest bin, normalised so the weight averages 1 under the prior (the prior is measured on the
  training data and stored in the model, so a checkpoint carries it);
- decoding: the annealed mean, softmax(logits / T) . bin centres; T -> 0 is the mode (vivid),
  T = 1 the mean (safe, low chroma where the distribution is spread); T is tuned on validation;
- confidence: 1 - entropy / log Q of the untempered distribution, in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from mangacolor.abbins import ab_bins
from mangacolor.color import AB_SCALE

SIGMA = 5.0 / AB_SCALE   # soft-encoding width, normalised ab
NEIGHBOURS = 5
REBALANCE_LAMBDA = 0.5
PRIOR_SIGMA = 5.0 / AB_SCALE


def _f32(t: torch.Tensor) -> torch.Tensor:
    """float32 without a Cast node in exported graphs when it already is (fp16 conversion trips on those)."""
    return t if t.dtype == torch.float32 else t.float()


def bins_tensor() -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(ab_bins()))  # (Q, 2)


def _sq_dist(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(N, 2, h, w) ab, (Q, 2) bins -> (N, Q, h, w) squared distances."""
    return ((ab.unsqueeze(1) - bins.view(1, -1, 2, 1, 1)) ** 2).sum(2)


def soft_encode(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(N, 2, h, w) normalised ab -> (N, Q, h, w) target distribution on the nearest bins."""
    d = _sq_dist(ab.float(), bins)
    near, idx = d.topk(NEIGHBOURS, dim=1, largest=False)
    w = torch.softmax(-near / (2 * SIGMA**2), dim=1)
    return torch.zeros_like(d).scatter_(1, idx, w)


def nearest(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(N, 2, h, w) -> (N, h, w) index of the nearest bin."""
    return _sq_dist(ab.float(), bins).argmin(1)


def measure_prior(abs_: list[torch.Tensor], bins: torch.Tensor) -> torch.Tensor:
    """Empirical bin distribution of some (2, h, w) ab maps, smoothed over neighbouring bins: (Q,)."""
    counts = torch.zeros(len(bins), dtype=torch.float64)
    for ab in abs_:
        counts += torch.bincount(nearest(ab[None], bins).flatten(), minlength=len(bins)).double()
    p = counts / counts.sum().clamp_min(1)
    smooth = torch.exp(-((bins[:, None] - bins[None]) ** 2).sum(-1).double() / (2 * PRIOR_SIGMA**2))
    p = smooth @ p
    return (p / p.sum()).float()


def rebalance_weights(prior: torch.Tensor) -> torch.Tensor:
    """(Q,) prior -> (Q,) weights w ~ 1 / ((1 - lam) p + lam / Q) with sum(p * w) = 1."""
    w = 1.0 / ((1 - REBALANCE_LAMBDA) * prior + REBALANCE_LAMBDA / len(prior))
    return w / (prior * w).sum()


def _last(logits: torch.Tensor) -> torch.Tensor:
    """(N, Q, h, w) -> (N, h, w, Q) float32. Softmaxes over the bins run on the last axis: ONNX Runtime's CPU
    softmax over a middle axis is slow (two took 80 of a 512 px page's 290 ms in the fast model of 2026-11-24,
    docs/benchmarks.md); channels last, the product with the bin centres is a MatMul."""
    return _f32(logits).permute(0, 2, 3, 1)


def decode(logits: torch.Tensor, bins: torch.Tensor, temperature) -> torch.Tensor:
    """Annealed mean: (N, Q, h, w) logits -> (N, 2, h, w) normalised ab."""
    p = torch.softmax(_last(logits) / temperature, dim=-1)   # (N, h, w, Q)
    return (p @ bins).permute(0, 3, 1, 2)


def confidence(logits: torch.Tensor) -> torch.Tensor:
    """(N, Q, h, w) -> (N, 1, h, w) in [0, 1]: 1 - normalised entropy."""
    return entropy_confidence(torch.softmax(_last(logits), dim=-1))


def entropy_confidence(p: torch.Tensor) -> torch.Tensor:
    """(N, h, w, Q) probabilities -> (N, 1, h, w) in [0, 1]: 1 - entropy / log Q.
    The sum over the bins is a product with ones: ONNX Runtime's optimizer moves a transpose through a
    ReduceSum (and a log-softmax) to cancel the one back to channels first, and puts the softmax back
    on the middle axis that way (4x slower); it cannot move one through a MatMul."""
    plogp = p * torch.log(p.clamp_min(1e-12))
    ent = -(plogp @ torch.ones(p.shape[-1], 1, dtype=p.dtype, device=p.device))   # (N, h, w, 1)
    return (1 - ent / math.log(p.shape[-1])).clamp(0, 1).permute(0, 3, 1, 2)


def mix(logits: list[torch.Tensor], weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Members' (N, Q, h, w) logits and (K,) weights -> the log of their weighted mean distribution,
    (N, Q, h, w), and its confidence (N, 1, h, w)."""
    probs = sum(w * torch.softmax(_last(lg), dim=-1) for w, lg in zip(weights, logits))  # (N, h, w, Q)
    return torch.log(probs.clamp_min(1e-8)).permute(0, 3, 1, 2), entropy_confidence(probs)


def classification_loss(logits: torch.Tensor, target_ab: torch.Tensor, bins: torch.Tensor,
                        weights: torch.Tensor, soft: torch.Tensor | None = None) -> torch.Tensor:
    """Rebalanced cross-entropy at the logits' size. target_ab (N, 2, H, W) is area-resized to it;
    `soft` (N, Q, h, w), when given (a teacher's distribution), replaces the soft-encoded target."""
    ab = F.interpolate(target_ab.float(), size=logits.shape[-2:], mode="area")
    q = soft_encode(ab, bins) if soft is None else soft
    w = weights[nearest(ab, bins)]                                  # (N, h, w)
    ce = -(q * torch.log_softmax(logits.float(), dim=1)).sum(1)     # (N, h, w)
    return (w * ce).mean()


def target_global_hints(target: torch.Tensor, bins: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Global hints taken from the training target itself (Zhang 2017), as mangacolor.abbins.global_hints
    takes them from a reference: (N, 3, H, W) normalised Lab and (N,) bool 'give this sample hints'
    -> (N, Q + 2); rows not kept are zeros (flag 0). Paper and ink (L <= 8 or >= 97) are left out."""
    lab = F.interpolate(target.float(), scale_factor=0.25, mode="area")
    light = lab[:, 0].flatten(1) * 100
    use = ((light > 8) & (light < 97)).float()                                   # (N, hw)
    idx = nearest(lab[:, 1:], bins).flatten(1)                                   # (N, hw)
    hist = torch.zeros(len(lab), len(bins), device=lab.device).scatter_add_(1, idx, use)
    n = use.sum(1, keepdim=True).clamp_min(1)
    chroma = (lab[:, 1:].norm(dim=1).flatten(1) * use).sum(1, keepdim=True) / n
    out = torch.cat([hist / n, chroma, torch.ones_like(chroma)], 1)
    return out * keep.float().view(-1, 1)
