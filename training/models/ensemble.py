"""Ensembles: several generators combined in one module (so one ONNX graph runs them all).

Rules:
- "mean": a weighted mean of the members' predictions;
- "confidence": per-pixel weights from member agreement: a member far from the
  consensus at a pixel gets less weight there, softmax(-distance / temperature).
The manifest (JSON) lists members (checkpoint folders, relative to the manifest),
weights and rule; eval, export and serving read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import bins_head

RULES = ("mean", "confidence")


@dataclass(frozen=True)
class EnsembleManifest:
    members: tuple[str, ...]
    weights: tuple[float, ...] = ()
    rule: str = "mean"
    temperature: float = 0.05
    format: int = 1
    notes: dict = field(default_factory=dict)

    def check(self) -> "EnsembleManifest":
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        if self.rule not in RULES:
            raise ValueError(f"unknown ensemble rule {self.rule!r}; use one of {RULES}")
        if self.weights and len(self.weights) != len(self.members):
            raise ValueError(f"{len(self.weights)} weights for {len(self.members)} members")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")
        return self


def read_manifest(path: str | Path) -> EnsembleManifest:
    d = json.loads(Path(path).read_text())
    if d.get("format") != 1 or "members" not in d:
        raise ValueError(f"{path} is not an ensemble manifest (format 1 with 'members')")
    d["members"], d["weights"] = tuple(d["members"]), tuple(d.get("weights", ()))
    return EnsembleManifest(**d).check()


def write_manifest(m: EnsembleManifest, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(asdict(m.check()), indent=1))


def member_paths(manifest_path: str | Path, m: EnsembleManifest) -> list[Path]:
    base = Path(manifest_path).parent
    return [(base / p).resolve() if not Path(p).is_absolute() else Path(p) for p in m.members]


class Ensemble(nn.Module):
    """forward(x, hint, mask) -> (N, 3, H, W): the members' predictions combined by `rule`."""

    def __init__(self, members: list[nn.Module], weights: list[float] | None = None, rule: str = "mean",
                 temperature: float = 0.05):
        super().__init__()
        if rule not in RULES:
            raise ValueError(f"unknown ensemble rule {rule!r}; use one of {RULES}")
        self.members = nn.ModuleList(members)
        w = torch.tensor(weights or [1.0] * len(members), dtype=torch.float32)
        self.register_buffer("weights", (w / w.sum()).view(-1, 1, 1, 1, 1))  # (K, 1, 1, 1, 1)
        self.rule, self.temperature = rule, temperature

    @property
    def has_bins(self) -> bool:
        return all(getattr(m, "has_bins", False) for m in self.members)

    def forward(self, x, hint, mask, glob=None, parts: bool = False):
        if self.has_bins:
            out = self.parts(x, hint, mask, glob)
            return out if parts else out["lab"]
        return self.combine(torch.stack([m(x, hint, mask) for m in self.members]))

    def parts(self, x, hint, mask, glob=None) -> dict:
        """Members with the bins head: Lab combined by the rule, the bin distributions mixed (weighted
        mean of probabilities: members that disagree give a spread, low-confidence mixture)."""
        outs = [m(x, hint, mask, glob, parts=True) for m in self.members]
        lab = self.combine(torch.stack([o["lab"] for o in outs]))
        logits, conf = bins_head.mix([o["logits"] for o in outs], self.weights.view(-1))
        conf = F.interpolate(conf, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return {"lab": lab, "logits": logits, "confidence": conf}

    def combine(self, preds: torch.Tensor) -> torch.Tensor:
        """(K, N, 3, H, W) member predictions -> (N, 3, H, W) by the rule."""
        if self.rule == "mean":
            return (preds * self.weights).sum(0)
        consensus = (preds * self.weights).sum(0, keepdim=True)          # (1, N, 3, H, W)
        dist = (preds - consensus).abs().sum(2, keepdim=True)            # (K, N, 1, H, W)
        w = torch.softmax(-dist / self.temperature + torch.log(self.weights), dim=0)
        return (preds * w).sum(0)


def load_ensemble(path: str | Path, map_location: str = "cpu") -> tuple[Ensemble, EnsembleManifest, list[dict]]:
    """Build the Ensemble module of a manifest; returns (module, manifest, member metas)."""
    from training.checkpoint import load_model

    m = read_manifest(path)
    models, metas = [], []
    for p in member_paths(path, m):
        model, meta = load_model(p, map_location)
        models.append(model.eval())
        metas.append(meta)
    return Ensemble(models, list(m.weights) or None, m.rule, m.temperature).eval(), m, metas
