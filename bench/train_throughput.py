"""Training throughput (images/s) of a config: optimizer steps on in-memory batches
of the config's crop size, so the figure is the model's, not the disk's.

    python bench/train_throughput.py [CONFIG] [--steps N] [--loader]

On CPU it measures fp32; with a GPU it measures fp32 and AMP (bf16, channels_last)
in the same run and prints the ratio. --loader also times the real DataLoader.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, save  # noqa: E402
from training import losses  # noqa: E402
from training.config import load_config  # noqa: E402
from training.models import build_generator  # noqa: E402
from training.setup import autocast  # noqa: E402


def step_throughput(cfg, device: torch.device, amp: torch.dtype | None, channels_last: bool, steps: int,
                    warmup: int = 3) -> float:
    torch.manual_seed(0)
    model = build_generator(cfg.model).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    b, (h, w) = cfg.train.batch_size, cfg.data.crop
    x = torch.rand(b, 1, h, w, device=device).contiguous(memory_format=fmt)
    hint = torch.zeros(b, 3, h, w, device=device).contiguous(memory_format=fmt)
    mask = torch.zeros(b, 1, h, w, device=device).contiguous(memory_format=fmt)
    target = torch.rand(b, 3, h, w, device=device)
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        with autocast(device, amp):
            loss = losses.l1(model(x, hint, mask), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return b * steps / (time.perf_counter() - t0)


def loader_throughput(cfg, batches: int) -> float:
    from training.data.dataset import ColorizationDataset, make_loader

    ds = ColorizationDataset(cfg.data, "train")
    it = iter(make_loader(ds, batch_size=cfg.train.batch_size, workers=cfg.train.workers))
    next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return cfg.train.batch_size * batches / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", nargs="?", default="default")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--loader", action="store_true", help="also time the real DataLoader (needs the dataset)")
    args, overrides = p.parse_known_args(argv)
    cfg = load_config(args.config, overrides)
    res = {"config": args.config, "batch": cfg.train.batch_size, "crop": list(cfg.data.crop),
           "model": f"{cfg.model.name} width {cfg.model.width} depth {cfg.model.depth}"}
    print(f"machine: {machine()}\nconfig {args.config}: {res['model']}, batch {res['batch']}, crop {res['crop']}")
    res["cpu_fp32_images_per_s"] = step_throughput(cfg, torch.device("cpu"), None, False, args.steps)
    print(f"CPU fp32: {res['cpu_fp32_images_per_s']:.2f} images/s")
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        res["gpu"] = torch.cuda.get_device_name(0)
        res["gpu_fp32_images_per_s"] = step_throughput(cfg, dev, None, False, args.steps * 5)
        res["gpu_amp_bf16_cl_images_per_s"] = step_throughput(cfg, dev, torch.bfloat16, True, args.steps * 5)
        res["gpu_amp_over_fp32"] = res["gpu_amp_bf16_cl_images_per_s"] / res["gpu_fp32_images_per_s"]
        print(f"GPU fp32: {res['gpu_fp32_images_per_s']:.1f} images/s; AMP bf16 + channels_last: "
              f"{res['gpu_amp_bf16_cl_images_per_s']:.1f} images/s; ratio {res['gpu_amp_over_fp32']:.2f}x")
    else:
        print("no CUDA device here: GPU figures skipped")
    if args.loader:
        res["loader_images_per_s"] = loader_throughput(cfg, max(3, args.steps))
        print(f"DataLoader ({cfg.train.workers} workers): {res['loader_images_per_s']:.1f} images/s")
    print("wrote", save("train_throughput", res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
