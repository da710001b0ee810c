"""The ONNX graph of a colorizer: what it computes, its export, and its parity with PyTorch.

Every model: inputs x (N,1,H,W), hint (N,3,H,W), mask (N,1,H,W) -> output lab (N,3,H,W), with
dynamic batch, height and width and weights inline. The bins colour head adds an output
`confidence` (N,1,H,W) and, with global hints, an input `glob` (N,D).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

import mangacolor

OPSET = 17
PARITY_SHAPES = ((1, 250, 176), (2, 131, 197))  # (N, H, W): portrait, landscape, odd sizes


class ExportError(RuntimeError):
    """A check failed; nothing was written."""


def _inputs(n: int, h: int, w: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, h, w), dtype=np.float32)
    mask = (rng.random((n, 1, h, w)) > 0.98).astype(np.float32)
    hint = (rng.normal(0, 0.5, (n, 3, h, w)) * mask).astype(np.float32)
    return x, hint, mask


class Graph(torch.nn.Module):
    """What the ONNX file computes. Every model: inputs x, hint, mask -> output lab. The bins head
    adds an output `confidence` (N, 1, H, W) and, with global hints, an input `glob` (N, D)."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module
        self.bins = getattr(module, "has_bins", False)
        self.glob = self.bins and _takes_glob(module)

    @property
    def input_names(self) -> list[str]:
        return ["x", "hint", "mask", *(["glob"] if self.glob else [])]

    @property
    def output_names(self) -> list[str]:
        return ["lab", *(["confidence"] if self.bins else [])]

    def forward(self, x, hint, mask, glob=None):
        if not self.bins:
            return self.module(x, hint, mask)
        parts = self.module(x, hint, mask, glob, parts=True)
        return parts["lab"], parts["confidence"]

    def example(self, n: int, h: int, w: int, seed: int = 0) -> dict[str, np.ndarray]:
        feed = dict(zip(("x", "hint", "mask"), _inputs(n, h, w, seed)))
        if self.glob:
            from mangacolor.abbins import global_dim

            g = np.random.default_rng(seed).dirichlet(np.ones(global_dim() - 2), n).astype(np.float32)
            feed["glob"] = np.concatenate([g, np.full((n, 1), 0.2, np.float32), np.ones((n, 1), np.float32)], 1)
        return feed


def _takes_glob(module) -> bool:
    members = getattr(module, "members", [module])
    return all(m.cfg.global_hints for m in members)


def export_onnx(module: torch.nn.Module, path: Path) -> None:
    graph = Graph(module.eval().float().cpu())
    args = tuple(torch.from_numpy(a) for a in graph.example(1, 64, 48).values())
    dyn = {n: {0: "n", 2: "h", 3: "w"} for n in ("x", "hint", "mask", *graph.output_names)} | {"glob": {0: "n"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and constant-folding tracer notes
        torch.onnx.export(graph, args, str(path), input_names=graph.input_names, output_names=graph.output_names,
                          dynamic_axes={k: v for k, v in dyn.items() if k in graph.input_names + graph.output_names},
                          opset_version=OPSET, dynamo=False)
    if any(path.parent.glob("*.data")):
        raise ExportError("the exporter wrote external weight data; weights must be inline")


def parity(path: Path, module: torch.nn.Module) -> float:
    """Max abs error between ONNX Runtime (CPU) and PyTorch over PARITY_SHAPES (every output)."""
    from serving.runtime import make_session

    sess = make_session(path, "cpu")
    graph = Graph(module.eval().float().cpu())
    worst = 0.0
    for i, (n, h, w) in enumerate(PARITY_SHAPES):
        feed = graph.example(n, h, w, seed=i + 1)
        got = sess.run(graph.output_names, feed)
        with torch.no_grad():
            want = graph(*(torch.from_numpy(a) for a in feed.values()))
        want = [t.numpy() for t in (want if isinstance(want, tuple) else (want,))]
        for g, t in zip(got, want):
            if g.shape != t.shape:
                raise ExportError(f"ONNX output {g.shape} != PyTorch {t.shape} for input {(n, 1, h, w)}")
            worst = max(worst, float(np.abs(g - t).max()))
    return worst


def set_metadata(path: Path, meta: dict) -> None:
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, json.dumps(v)
    model.producer_name = "mangacolor"
    model.producer_version = mangacolor.__version__
    onnx.save(model, str(path))
