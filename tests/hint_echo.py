"""A transparent stand-in network for service tests: it paints each hint's colour around
the hint and keeps the input's lightness. Exported with the real contract and metadata, it
lets a test check that the service puts hints where the client said, independent of how
well some trained model follows them."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F


class HintEcho(torch.nn.Module):
    def __init__(self, spread: int = 15):
        super().__init__()
        self.spread = spread

    def forward(self, x, hint, mask):
        k = 2 * self.spread + 1
        num = F.avg_pool2d(hint * mask, k, stride=1, padding=self.spread)
        den = F.avg_pool2d(mask, k, stride=1, padding=self.spread)
        ab = num[:, 1:] / (den + 1e-6)
        return torch.cat([x, ab], dim=1)  # (N, 3, H, W): L from the input, a/b from nearby hints


def export_hint_echo(folder: Path, name: str = "echo", hint_fill: bool = False) -> Path:
    from mangacolor import PREPROCESSING_VERSION
    from training.export import export_onnx, set_metadata

    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(HintEcho(), folder / "model.onnx")
    set_metadata(folder / "model.onnx", {"name": name, "version": name, "variant": "fp32", "structure": "single",
                                         "preprocessing_version": PREPROCESSING_VERSION, "hint_fill": hint_fill})
    return folder
