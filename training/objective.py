"""What the generator minimises, for each head (ModelConfig.head).

- "l1": L1 on normalised Lab to the ground truth, or to a mix of teacher and ground truth when distilling.
- "bins": rebalanced cross-entropy over the ab bins (training.models.bins_head) plus L1 of the
  regression refinement (L, and the small ab correction on top of the classifier's detached colour).
  Distilling, the cross-entropy target is the teacher's distribution mixed with the soft-encoded
  ground truth. With model.global_hints, a share of the samples (train.global_hints_p) gets the
  target's own global hints, the rest none (Zhang et al. 2017), so the model works with and without.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from training import losses
from training.models import bins_head


class Objective:
    def __init__(self, cfg, teacher: torch.nn.Module | None = None):
        self.cfg, self.teacher = cfg, teacher
        self.bins_head = cfg.model.head == "bins"

    def glob(self, model, target: torch.Tensor, training: bool) -> torch.Tensor | None:
        """(N, D) global hints for a batch, or None when the model takes none. Validation gives none."""
        if not self.cfg.model.global_hints:
            return None
        p = self.cfg.train.global_hints_p if training else 0.0
        keep = torch.rand(len(target), device=target.device) < p
        return bins_head.target_global_hints(target, model.bins, keep)

    def __call__(self, net, model, mb: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (loss, predicted Lab (N, 3, H, W)). `net` is the model or its DDP wrapper."""
        if not self.bins_head:
            pred = net(mb["x"], mb["hint"], mb["mask"])
            return self._l1(pred, mb), pred
        glob = self.glob(model, mb["target"], training=True)
        parts = net(mb["x"], mb["hint"], mb["mask"], glob, parts=True)
        return self._bins(model, parts, mb, glob), parts["lab"]

    def validation_loss(self, model, b: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Against the ground truth only (also when distilling): -> (loss, predicted Lab)."""
        if not self.bins_head:
            pred = model(b["x"], b["hint"], b["mask"]).float()
            return losses.l1(pred, b["target"]), pred
        parts = model(b["x"], b["hint"], b["mask"], None, parts=True)
        ce = bins_head.classification_loss(parts["logits"], b["target"][:, 1:], model.bins,
                                           bins_head.rebalance_weights(model.prior))
        return ce + losses.l1(parts["lab_refine"], b["target"]), parts["lab"].float()

    def _teacher(self, mb: dict, glob=None):
        with torch.no_grad():
            if getattr(self.teacher, "has_bins", False):
                return self.teacher(mb["x"], mb["hint"], mb["mask"], glob, parts=True)
            return {"lab": self.teacher(mb["x"], mb["hint"], mb["mask"])}

    def _l1(self, pred: torch.Tensor, mb: dict) -> torch.Tensor:
        if self.teacher is None:
            return losses.l1(pred, mb["target"])
        soft = self._teacher(mb)["lab"].float()
        w = self.cfg.train.teacher_weight
        return w * losses.l1(pred, soft) + (1 - w) * losses.l1(pred, mb["target"])

    def _bins(self, model, parts: dict, mb: dict, glob) -> torch.Tensor:
        target, logits = mb["target"], parts["logits"]
        weights = bins_head.rebalance_weights(model.prior)
        if self.teacher is None:
            ce = bins_head.classification_loss(logits, target[:, 1:], model.bins, weights)
            return ce + losses.l1(parts["lab_refine"], target)
        t = self._teacher(mb, glob)
        w = self.cfg.train.teacher_weight
        ab = F.interpolate(target[:, 1:].float(), size=logits.shape[-2:], mode="area")
        t_ab = F.interpolate(t["lab"][:, 1:].float(), size=logits.shape[-2:], mode="area")
        t_q = torch.softmax(t["logits"].float(), 1) if "logits" in t else bins_head.soft_encode(t_ab, model.bins)
        q = w * t_q + (1 - w) * bins_head.soft_encode(ab, model.bins)
        ce = bins_head.classification_loss(logits, target[:, 1:], model.bins, weights, soft=q)
        lab_t = w * t["lab"].float() + (1 - w) * target.float()
        return ce + losses.l1(parts["lab_refine"], lab_t)


@torch.no_grad()
def measure_prior(dataset, n: int = 256, seed: int = 0) -> torch.Tensor:
    """The ab-bin prior of a training set: soft over `n` samples' targets at a quarter size. (Q,)"""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=g)[:n].tolist()
    abs_ = [F.avg_pool2d(dataset[i]["target"][1:][None].float(), 4)[0] for i in idx]
    return bins_head.measure_prior(abs_, bins_head.bins_tensor())
