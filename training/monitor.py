"""What the trainer shows in TensorBoard beyond the losses: the seed's "watch
gradients and activations" made routine.

- pre-activation histograms and the dead-ReLU fraction per layer (hooks on the
  norm layers that feed each ReLU),
- gradient norm per layer, weight and gradient histograms,
- update / weight ratio per layer (healthy is around 1e-3),
- a fixed validation batch rendered as an image grid: input | hints | prediction | target.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from mangacolor.color import net_to_rgb
from training.data.show import decode_sample


def _feeds_relu(model: nn.Module) -> dict[str, nn.Module]:
    """Modules whose output goes into a ReLU (named `.norm` in our blocks)."""
    return {name: m for name, m in model.named_modules() if name.endswith(".norm") or name == "norm"}


class ActivationProbe:
    """Captures pre-activations of every ReLU-feeding layer during one forward."""

    def __init__(self, model: nn.Module):
        self.model, self.acts, self.handles = model, {}, []

    def __enter__(self):
        for name, m in _feeds_relu(self.model).items():
            self.handles.append(m.register_forward_hook(self._hook(name)))
        return self

    def _hook(self, name):
        def fn(_m, _inp, out):
            self.acts[name] = out.detach().float().cpu()
        return fn

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()

    def dead_fraction(self) -> dict[str, float]:
        """Share of channels whose pre-activation is <= 0 everywhere in the batch."""
        return {n: float((a.amax(dim=(0, 2, 3)) <= 0).float().mean()) for n, a in self.acts.items()}


def layer_grad_norms(model: nn.Module) -> dict[str, float]:
    return {n: float(p.grad.norm()) for n, p in model.named_parameters() if p.grad is not None and p.ndim > 1}


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.ndim > 1}


def update_ratios(before: dict[str, torch.Tensor], model: nn.Module) -> dict[str, float]:
    """||w_after - w_before|| / ||w_before|| per weight tensor."""
    out = {}
    for n, p in model.named_parameters():
        if n in before:
            out[n] = float((p.detach() - before[n]).norm() / (before[n].norm() + 1e-12))
    return out


def log_histograms(writer, model: nn.Module, probe: ActivationProbe, step: int) -> None:
    for n, p in model.named_parameters():
        writer.add_histogram(f"weights/{n}", p.detach().float().cpu(), step)
        if p.grad is not None:
            writer.add_histogram(f"grads/{n}", p.grad.detach().float().cpu(), step)
    for n, a in probe.acts.items():
        writer.add_histogram(f"preact/{n}", a, step)
    for n, v in probe.dead_fraction().items():
        writer.add_scalar(f"dead_relu/{n}", v, step)


def image_grid(batch: dict, pred: torch.Tensor, pad: int = 2) -> np.ndarray:
    """(H', W', 3) uint8: one row per sample, input | hints | prediction | target."""
    rows = []
    for i in range(pred.shape[0]):
        x, hint, mask, target = (batch[k][i].detach().float().cpu().numpy() for k in ("x", "hint", "mask", "target"))
        gray, over, _mask, tgt = decode_sample(x, hint, mask, target)
        tiles = [gray, over, net_to_rgb(pred[i].detach().float().cpu().numpy()), tgt]
        h, w = gray.shape[:2]
        row = np.full((h + pad, len(tiles) * (w + pad), 3), 255, np.uint8)
        for j, t in enumerate(tiles):
            row[:h, j * (w + pad): j * (w + pad) + w] = t
        rows.append(row)
    return np.concatenate(rows, axis=0)
