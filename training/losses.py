"""Losses and the PSNR metric. Reconstruction is L1 on normalised Lab; the adversarial
terms are used only when gan.enabled is set."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred.float(), target.float())


def psnr_lab(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample PSNR in the network's Lab space against a peak of 1 (quick validation
    signal; `mangacolor eval` reports sRGB PSNR on full images)."""
    mse = ((pred.float() - target.float()) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def critic_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "lsgan":
        return 0.5 * (((real - 1) ** 2).mean() + (fake**2).mean())
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()  # hinge


def generator_adv_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    return -fake.mean()
