"""U-Net colorizers. Pure: tensors in, tensors out; exports to ONNX as is.

Any input size works (odd sizes too): down-sampling is a stride-2 conv that
rounds up, and each up-sampling resizes to the exact size of its skip, so the
output always has the input's (H, W). The only contract is H, W >= 2**depth.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ModelConfig, bins_head, register

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
    """Encoder-decoder with skips. Heads (cfg.head):
    - "l1": a 1x1 conv to Lab at full size;
    - "bins": logits over the ab bins at a quarter size (bins_head), decoded by the annealed mean and
      upsampled, plus a full-size regression head giving L and a small ab correction (+-0.1, about
      11 ab units: it sharpens edges, it cannot overrule the classifier's colour)."""

    residual = False

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.head not in ("l1", "bins"):
            raise ValueError(f"unknown head {cfg.head!r}; use l1 or bins")
        if cfg.global_hints and cfg.head != "bins":
            raise ValueError("global_hints needs head=bins (the hints are a histogram over its bins)")
        self.cfg = cfg
        chs = [min(cfg.width * 2**i, cfg.max_width) for i in range(cfg.depth + 1)]
        self.stem = level(IN_CHANNELS, chs[0], cfg, self.residual)
        self.down = nn.ModuleList(level(chs[i], chs[i + 1], cfg, self.residual, stride=2) for i in range(cfg.depth))
        self.up = nn.ModuleList(Up(chs[i + 1], chs[i], chs[i], cfg, self.residual) for i in reversed(range(cfg.depth)))
        self.head = nn.Conv2d(chs[0], OUT_CHANNELS, 1, bias=True)  # no activation: Lab is unbounded
        if cfg.head == "bins":
            bins = bins_head.bins_tensor()
            self.cls_level = min(2, cfg.depth)                      # quarter size, or the bottleneck if shallower
            self.cls = nn.Conv2d(chs[self.cls_level], len(bins), 1, bias=True)
            self.register_buffer("bins", bins)                                 # (Q, 2) normalised ab
            self.register_buffer("prior", torch.full((len(bins),), 1.0 / len(bins)))  # set from the data
            self.register_buffer("temperature", torch.tensor(float(cfg.temperature)))
            if cfg.global_hints:
                self.glob = nn.Linear(len(bins) + 2, chs[-1])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming (fan-in, ReLU) for hidden convs; the heads start at zero weight and
        `out_bias` (uniform logits for the bins head), so the output at init is a known
        constant (the sanity check uses it); global hints start with no effect."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        for head in (self.head, getattr(self, "cls", None), getattr(self, "glob", None)):
            if head is not None:
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor(self.cfg.out_bias))
            if self.cfg.head == "bins":
                self.head.bias[1:] = 0  # ab comes from the classifier; the regression only corrects it

    @property
    def has_bins(self) -> bool:
        return self.cfg.head == "bins"

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

    def features(self, x, hint, mask, glob=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> full-size decoder features (N, c0, H, W) and, for the bins head, logits (N, Q, ~H/4, ~W/4)."""
        if not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            self.check_inputs(x, hint, mask)
        h = torch.cat([x * 2 - 1, hint, mask], dim=1)  # (N, 5, H, W), gray centred on 0
        h = self.stem(h)                                  # (N, c0, H, W)
        skips = []
        for down in self.down:
            skips.append(h)
            h = down(h)                                   # (N, c_i+1, ceil(H / 2^(i+1)), ...)
        if hasattr(self, "glob"):                         # the global hints, tiled over the bottleneck;
            g = glob if glob is not None else h.new_zeros(len(h), self.glob.in_features)  # none = zeros, flag 0
            h = h + self.glob(g)[:, :, None, None]
        logits = None
        for i, up in enumerate([None, *self.up]):
            if i:
                h = up(h, skips.pop())                    # back up to the skip's size
            if self.cfg.head == "bins" and len(skips) == self.cls_level:
                logits = self.cls(h)
        return h, logits

    def parts(self, x, hint, mask, glob=None) -> dict:
        """Everything the bins head's loss and export need: lab (N, 3, H, W) as forward gives it,
        lab_refine (the same with the classifier's colour detached, for the regression loss),
        logits (N, Q, h4, w4) and confidence (N, 1, H, W)."""
        feats, logits = self.features(x, hint, mask, glob)
        out = self.head(feats)
        size = x.shape[-2:]
        ab = F.interpolate(bins_head.decode(logits, self.bins, self.temperature), size=size, mode="bilinear",
                           align_corners=False)
        fix = 0.1 * torch.tanh(out[:, 1:])
        conf = F.interpolate(bins_head.confidence(logits), size=size, mode="bilinear", align_corners=False)
        return {"lab": torch.cat([out[:, :1], ab + fix], 1), "lab_refine": torch.cat([out[:, :1], ab.detach() + fix], 1),
                "logits": logits, "confidence": conf}

    def forward(self, x, hint, mask, glob=None, parts: bool = False):
        """-> (N, 3, H, W) normalised Lab; with parts=True (bins head) the dict of `parts`."""
        if self.cfg.head == "bins":
            out = self.parts(x, hint, mask, glob)
            return out if parts else out["lab"]
        return self.head(self.features(x, hint, mask)[0])  # (N, 3, H, W) normalised Lab


register("unet")(UNet)


@register("resunet")
class ResUNet(UNet):
    """The same U-Net with residual blocks after each level's first conv."""

    residual = True
