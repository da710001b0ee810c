"""U-Net colorizers. Pure: tensors in, tensors out; exports to ONNX as is.

Any input size works (odd sizes too): down-sampling is a stride-2 conv that
rounds up, and each up-sampling resizes to the exact size of its skip, so the
output always has the input's (H, W). The only contract is H, W >= 2**depth.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ModelConfig, register

IN_CHANNELS = 5   # gray 1 + hint colour 3 + mask 1
OUT_CHANNELS = 3  # normalised Lab


def make_norm(kind: str, ch: int) -> nn.Module:
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if ch % g == 0)
        return nn.GroupNorm(groups, ch)
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use group, instance, batch or none")


class ConvNormAct(nn.Module):
    """conv 3x3 -> norm -> ReLU. Hooks on `.norm` see the pre-activations."""

    def __init__(self, cin: int, cout: int, norm: str, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=True)
        self.norm = make_norm(norm, cout)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class ResBlock(nn.Module):
    """x + norm(conv(relu(norm(conv(x))))), then ReLU."""

    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.inner = ConvNormAct(ch, ch, norm)
        self.conv = nn.Conv2d(ch, ch, 3, padding=1, bias=True)
        self.norm = make_norm(norm, ch)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(x + self.norm(self.conv(self.inner(x))))


def level(cin: int, cout: int, cfg: ModelConfig, residual: bool, stride: int = 1) -> nn.Sequential:
    """One resolution level: a (possibly strided) conv block, then `blocks - 1` more."""
    layers = [ConvNormAct(cin, cout, cfg.norm, stride)]
    for _ in range(cfg.blocks - 1):
        layers.append(ResBlock(cout, cfg.norm) if residual else ConvNormAct(cout, cout, cfg.norm))
    return nn.Sequential(*layers)


class Up(nn.Module):
    """Bilinear resize to the skip's exact size, concatenate, convolve."""

    def __init__(self, cin: int, cskip: int, cout: int, cfg: ModelConfig, residual: bool):
        super().__init__()
        self.body = level(cin + cskip, cout, cfg, residual)

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.body(torch.cat([x, skip], dim=1))


class UNet(nn.Module):
    residual = False

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        chs = [min(cfg.width * 2**i, cfg.max_width) for i in range(cfg.depth + 1)]
        self.stem = level(IN_CHANNELS, chs[0], cfg, self.residual)
        self.down = nn.ModuleList(level(chs[i], chs[i + 1], cfg, self.residual, stride=2) for i in range(cfg.depth))
        self.up = nn.ModuleList(Up(chs[i + 1], chs[i], chs[i], cfg, self.residual) for i in reversed(range(cfg.depth)))
        self.head = nn.Conv2d(chs[0], OUT_CHANNELS, 1, bias=True)  # no activation: Lab is unbounded
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming (fan-in, ReLU) for hidden convs; the head starts at zero weight and
        `out_bias`, so the output at init is a known constant (the sanity check uses it)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor(self.cfg.out_bias))

    def check_inputs(self, x, hint, mask) -> None:
        n, _, h, w = x.shape
        need = 2 ** self.cfg.depth
        assert x.shape[1] == 1 and hint.shape[1] == 3 and mask.shape[1] == 1, (
            f"expected x (N,1,H,W), hint (N,3,H,W), mask (N,1,H,W); got {tuple(x.shape)}, "
            f"{tuple(hint.shape)}, {tuple(mask.shape)}")
        assert hint.shape[0] == mask.shape[0] == n and hint.shape[-2:] == mask.shape[-2:] == x.shape[-2:], (
            f"x, hint and mask must share N, H and W; got {tuple(x.shape)}, {tuple(hint.shape)}, {tuple(mask.shape)}")
        assert h >= need and w >= need, (
            f"input is {h}x{w}; a depth-{self.cfg.depth} U-Net needs at least {need}x{need}: "
            f"pad the image (mangacolor.compose.pad_to_multiple) or lower model.depth")

    def forward(self, x, hint, mask):
        if not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            self.check_inputs(x, hint, mask)
        h = torch.cat([x * 2 - 1, hint, mask], dim=1)  # (N, 5, H, W), gray centred on 0
        h = self.stem(h)                                  # (N, c0, H, W)
        skips = []
        for down in self.down:
            skips.append(h)
            h = down(h)                                   # (N, c_i+1, ceil(H / 2^(i+1)), ...)
        for up in self.up:
            h = up(h, skips.pop())                        # back up to the skip's size
        return self.head(h)                               # (N, 3, H, W) normalised Lab


register("unet")(UNet)


@register("resunet")
class ResUNet(UNet):
    """The same U-Net with residual blocks after each level's first conv."""

    residual = True
