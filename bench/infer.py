"""Inference latency in one run on one machine: PyTorch eager vs ONNX Runtime fp32 vs INT8.

    python bench/infer.py [--config default] [--checkpoint CKPT] [--reps 5]

Network latency at 512x512 and at the working size of a 1200x1700 page
(512x362, padded to 512x368), batch 1 and 8; then the whole pipeline on a
1200x1700 page (load-free: gray, model, full-resolution composition), which is
what a user waits for. Ratios are measured in this same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, save  # noqa: E402


def median_time(fn, reps: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def build(args) -> torch.nn.Module:
    if args.checkpoint:
        from training.checkpoint import load_model

        return load_model(args.checkpoint)[0].eval()
    from training.config import load_config
    from training.models import build_generator

    torch.manual_seed(0)
    model = build_generator(load_config(args.config).model).eval()
    with torch.no_grad():  # an untrained head is all zeros; give it weights so every layer computes
        torch.nn.init.normal_(model.head.weight, std=0.01)
    return model


def quantize(fp32: Path, dst: Path, shapes) -> None:
    """INT8 variant calibrated on synthetic pages (the bench must not need a dataset)."""
    import onnxruntime as ort

    from mangacolor.abbins import no_global_hints
    from training.export import quantize_qdq

    rng = np.random.default_rng(0)
    names = {i.name for i in ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"]).get_inputs()}
    extra = {"glob": no_global_hints()} if "glob" in names else {}  # models with global hints: none given
    quantize_qdq(fp32, dst, [{"x": (rng.random((1, 1, h, w)) > 0.1).astype(np.float32),
                              "hint": np.zeros((1, 3, h, w), np.float32), "mask": np.zeros((1, 1, h, w), np.float32)}
                             | extra for h, w in shapes])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="default")
    p.add_argument("--checkpoint", default="")
    p.add_argument("--onnx", default="", help="time this exported model folder instead of exporting the config's")
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)

    from mangacolor.pipeline import colorize
    from serving.runtime import OnnxColorizer, make_session, model_file
    from training.export import export_onnx

    model = build(args)
    tmp = Path(tempfile.mkdtemp())
    if args.onnx:
        folder = Path(args.onnx)
    else:
        folder = tmp
        export_onnx(model, tmp / "model.onnx")
        quantize(tmp / "model.onnx", tmp / "model.int8.onnx", [(368, 512)] * 4)
    sessions = {v: OnnxColorizer(model_file(folder, s), make_session(model_file(folder, s), "cpu"), {})
                for v, s in (("ORT fp32", ""), ("ORT INT8", "int8")) if model_file_exists(folder, s)}
    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}")
    results = {"model": args.checkpoint or args.onnx or f"config {args.config} (untrained weights)", "rows": []}
    for label, (h, w) in (("512x512", (512, 512)), ("page 1200x1700 at working size", (512, 368))):
        for n in (1, 8):
            x = np.random.default_rng(0).random((n, 1, h, w), dtype=np.float32)
            hint, mask = np.zeros((n, 3, h, w), np.float32), np.zeros((n, 1, h, w), np.float32)
            tx = [torch.from_numpy(a) for a in (x, hint, mask)]
            row = {"input": label, "shape": [n, 1, h, w]}
            with torch.no_grad():
                row["PyTorch eager"] = median_time(lambda: model(*tx), args.reps)
            for v, s in sessions.items():
                row[v] = median_time(lambda s=s: s(x, hint, mask), args.reps)
            row["ORT fp32 speed-up over eager"] = row["PyTorch eager"] / row["ORT fp32"]
            if "ORT INT8" in row:
                row["INT8 speed-up over ORT fp32"] = row["ORT fp32"] / row["ORT INT8"]
            results["rows"].append(row)
            print(" | ".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in row.items()))
    page = np.full((1700, 1200, 3), 255, np.uint8)
    page[200:1500:7, :] = 0  # some ink
    for v, s in sessions.items():
        t = median_time(lambda s=s: colorize(page, s, "grayscale"), args.reps)
        results[f"full page 1200x1700 {v} (s)"] = t
        print(f"full page 1200x1700, {v}: median {t:.3f} s")
    print("wrote", save("infer", results))
    return 0


def model_file_exists(folder: Path, variant: str) -> bool:
    return (folder / (f"model.{variant}.onnx" if variant else "model.onnx")).is_file()


if __name__ == "__main__":
    sys.exit(main())
