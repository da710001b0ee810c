"""Anything `mangacolor eval` can score, behind one numpy call signature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mangacolor.contract import gray_gain, gray_shadow
from mangacolor.regions import uses_fill


class TorchPredictor:
    """Wraps a torch generator or ensemble: numpy (x, hint, mask) -> numpy (N, 3, h, w), or
    (N, 4, h, w) with the confidence channel for the bins head (as the exported model gives it)."""

    def __init__(self, module: torch.nn.Module, name: str, device: str = "cpu", meta: dict | None = None,
                 hint_fill: bool | None = None):
        self.module = module.to(device).eval()
        self.name, self.device, self.meta = name, device, meta or {}
        # trained with data.hint_fill: its inputs are prepared with fill=True, as serving will
        self.hint_fill = uses_fill(self.meta) if hint_fill is None else hint_fill
        self.gray_gain, self.gray_shadow = gray_gain(self.meta), gray_shadow(self.meta)

    @torch.no_grad()
    def __call__(self, x: np.ndarray, hint: np.ndarray, mask: np.ndarray, glob: np.ndarray | None = None) -> np.ndarray:
        t = [torch.from_numpy(np.ascontiguousarray(a)).to(self.device) for a in (x, hint, mask)]
        g = None if glob is None else torch.from_numpy(np.ascontiguousarray(glob)).to(self.device)
        if getattr(self.module, "has_bins", False):
            parts = self.module(*t, g, parts=True)
            return torch.cat([parts["lab"], parts["confidence"]], 1).float().cpu().numpy()
        return self.module(*t).float().cpu().numpy()


class OnnxPredictor:
    """An exported model run by ONNX Runtime: the same numbers the service produces."""

    def __init__(self, path: str | Path, name: str, device: str = "auto", variant: str = ""):
        from serving.runtime import load_model

        self.model = load_model(path, device=device, variant=variant, warm=False)
        self.name, self.meta, self.hint_fill = name, self.model.metadata, self.model.hint_fill
        self.gray_gain, self.gray_shadow = self.model.gray_gain, self.model.gray_shadow

    def __call__(self, x: np.ndarray, hint: np.ndarray, mask: np.ndarray, glob: np.ndarray | None = None) -> np.ndarray:
        return self.model(x, hint, mask, glob)


def load_predictor(path: str | Path, device: str = "cpu", name: str | None = None) -> TorchPredictor:
    """A checkpoint folder, an ensemble manifest (.json) or an exported ONNX model."""
    p = Path(path)
    label = name or (p.parent.name + "/" + p.name if p.name in ("best",) or p.name.startswith("step-") else p.stem)
    if p.is_dir() and (p / "meta.json").is_file():
        from training.checkpoint import load_model

        model, meta = load_model(p, device)
        return TorchPredictor(model, label, device, meta)
    if p.suffix == ".json" and p.is_file():
        from training.models.ensemble import load_ensemble

        ens, manifest, metas = load_ensemble(p, device)
        return TorchPredictor(ens, label, device, {"ensemble": manifest, "members": metas})
    if p.suffix == ".onnx" or (p.is_dir() and (p / "model.onnx").is_file()):
        return OnnxPredictor(p, name=name or p.name, device="cpu" if device == "cpu" else "auto")
    raise FileNotFoundError(f"{path} is not a checkpoint folder (with meta.json), an ensemble manifest (.json) "
                            "or an ONNX model")


def member_predictors(pred: TorchPredictor) -> list[TorchPredictor]:
    """The members of an ensemble predictor, each as its own predictor."""
    from training.models.ensemble import Ensemble

    if not isinstance(pred.module, Ensemble):
        return []
    members = [TorchPredictor(m, f"{pred.name} member {i}", pred.device, hint_fill=pred.hint_fill)
               for i, m in enumerate(pred.module.members)]
    for m in members:
        m.parent = pred  # evaluation then combines the members' outputs instead of running them twice
        m.gray_gain, m.gray_shadow = pred.gray_gain, pred.gray_shadow
    return members


def predict_all(predictors: list, batches: dict) -> dict:
    """name -> output of every predictor; `batches` maps hint_fill -> (x, hint, mask). An ensemble whose
    members are all in the list is combined from their outputs (same numbers, members run once)."""
    out = {}
    for pr in predictors:
        # an ensemble of bins heads mixes its members' distributions: it runs as itself
        mixes = getattr(getattr(pr, "module", None), "has_bins", False)
        if mixes or not any(getattr(q, "parent", None) is pr for q in predictors):
            out[pr.name] = pr(*batches[pr.hint_fill])
    for pr in predictors:
        if pr.name not in out:
            members = [q for q in predictors if getattr(q, "parent", None) is pr]
            stacked = torch.stack([torch.from_numpy(out[q.name]) for q in members]).to(pr.device)
            with torch.no_grad():
                out[pr.name] = pr.module.combine(stacked).float().cpu().numpy()
    return out
