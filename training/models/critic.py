"""PatchGAN critic with spectral norm: judges (input, colour) pairs patch by patch."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchCritic(nn.Module):
    """(x (N,1,H,W), lab (N,3,H,W)) -> (N,1,H/8,W/8) realness scores, one per ~70 px patch."""

    def __init__(self, width: int = 32, layers: int = 3):
        super().__init__()
        chs = [4] + [width * 2**i for i in range(layers)]
        body = []
        for i in range(layers):
            body += [spectral_norm(nn.Conv2d(chs[i], chs[i + 1], 4, stride=2, padding=1, bias=True)),
                     nn.LeakyReLU(0.2)]
        body.append(spectral_norm(nn.Conv2d(chs[-1], 1, 3, padding=1, bias=True)))
        self.body = nn.Sequential(*body)

    def forward(self, x, lab):
        return self.body(torch.cat([x * 2 - 1, lab], dim=1))
