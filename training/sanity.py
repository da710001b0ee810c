"""`mangacolor sanity CONFIG`: the seed's checks before any long run, with numbers.

1. loss at init: the head starts at zero weight and `out_bias`, so the L1 loss
   at init must equal mean |target - out_bias| on the same batch;
2. input-independent baseline: the same short run with inputs zeroed must end
   worse than the real run (otherwise the net ignores its input);
3. overfit one batch of a few samples to near-zero loss;
4. batch independence: the gradient of sample i's loss with respect to sample
   j's input is zero for j != i (a mixing bug, e.g. a wrong reshape, fails it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from training import losses
from training.config import Config, load_config
from training.data.dataset import ColorizationDataset, make_loader
from training.models import build_generator
from training.objective import Objective
from training.setup import pick_device, seed_everything


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def _batch(cfg: Config, split: str, n: int, seed: int, device) -> dict:
    ds = ColorizationDataset(cfg.data, split, seed=seed, fixed=True)
    b = next(iter(make_loader(ds, batch_size=min(n, len(ds)), shuffle=False, drop_last=False)))
    return {k: v.to(device) for k, v in b.items()}


def _fresh(cfg: Config, device, seed: int):
    torch.manual_seed(seed)
    return build_generator(cfg.model).to(device)


def check_init_loss(cfg: Config, batch: dict, device) -> Check:
    """L1 head: the loss at init is mean |target - out_bias|. Bins head: uniform logits, so the
    cross-entropy is log Q, plus the L1 of (out_bias L, mean bin centre) to the target."""
    model = _fresh(cfg, device, cfg.train.seed)
    with torch.no_grad():
        measured = Objective(cfg).validation_loss(model, batch)[0].item()
    const = list(cfg.model.out_bias)
    if cfg.model.head == "bins":
        const[1:] = model.bins.mean(0).tolist()
    predicted = (batch["target"] - torch.tensor(const, device=device).view(1, 3, 1, 1)).abs().mean().item()
    if cfg.model.head == "bins":
        predicted += math.log(len(model.bins))
    ok = abs(measured - predicted) <= 1e-4 * max(1.0, predicted)
    return Check("loss at init", ok, f"measured {measured:.5f}, predicted from the heads' init {predicted:.5f}")


def _train(cfg: Config, batches: list[dict], steps: int, lr: float, device,
           zero_inputs: bool = False) -> tuple[torch.nn.Module, list[float]]:
    """Adam on the training objective; returns the model and the L1 of its Lab output at each step."""
    model = _fresh(cfg, device, cfg.train.seed)
    objective = Objective(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist = []
    for i in range(steps):
        b = batches[i % len(batches)]
        if zero_inputs:
            b = b | {k: torch.zeros_like(b[k]) for k in ("x", "hint", "mask")}
        loss, pred = objective(model, model, b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        hist.append(losses.l1(pred.detach(), b["target"]).item())
    return model, hist


def check_input_independent(cfg: Config, device, steps: int) -> Check:
    ds = ColorizationDataset(cfg.data, "train", seed=cfg.train.seed)
    loader = make_loader(ds, batch_size=cfg.train.batch_size, seed=cfg.train.seed)
    batches = []
    for b in loader:
        batches.append({k: v.to(device) for k, v in b.items()})
        if len(batches) == min(steps, 32):
            break
    val = _batch(cfg, "val", 4 * cfg.train.batch_size, cfg.train.seed, device)
    result = {}
    for zero in (False, True):
        model, _ = _train(cfg, batches, steps, cfg.optim.lr, device, zero_inputs=zero)
        with torch.no_grad():
            x, hint, mask = (val[k] for k in ("x", "hint", "mask"))
            if zero:
                x, hint, mask = torch.zeros_like(x), torch.zeros_like(hint), torch.zeros_like(mask)
            result[zero] = losses.l1(model(x, hint, mask), val["target"]).item()
    ok = result[False] < result[True]
    return Check("beats input-independent baseline", ok,
                 f"val L1 after {steps} steps: real inputs {result[False]:.4f}, zeroed inputs {result[True]:.4f}")


def check_overfit(cfg: Config, batch: dict, device, steps: int, lr: float) -> Check:
    _, hist = _train(cfg, [batch], steps, lr, device)
    # near zero: a mean error under 3 L units; and well below the start (the bins head starts from the
    # mean bin colour, nearer the data than the L1 head's gray, so its start is lower: 0.15, not 0.1)
    ok = hist[-1] < 0.15 * hist[0] and hist[-1] < 0.03
    return Check(f"overfit one batch of {batch['x'].shape[0]}", ok,
                 f"L1 {hist[0]:.4f} -> {hist[-1]:.4f} in {steps} steps at lr {lr:g}")


def check_batch_independence(cfg: Config, batch: dict, device) -> Check:
    if cfg.model.norm == "batch":
        return Check("batch independence", True, "not applicable: batch norm mixes samples by design (train mode)")
    model = _fresh(cfg, device, cfg.train.seed)
    with torch.no_grad():  # the zero-initialised head would block every input gradient
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    x = batch["x"].clone().requires_grad_(True)
    hint = batch["hint"].clone().requires_grad_(True)
    out = model(x, hint, batch["mask"])
    i = 1
    losses.l1(out[i], batch["target"][i]).backward()
    leak = max(x.grad[torch.arange(len(x)) != i].abs().max().item(), hint.grad[torch.arange(len(x)) != i].abs().max().item())
    own = x.grad[i].abs().max().item()
    ok = leak == 0.0 and own > 0
    return Check("batch independence", ok, f"max |d loss_{i} / d input_j|, j != {i}: {leak:.3g}; own gradient {own:.3g}")


def run_sanity(cfg: Config, overfit_steps: int = 300, baseline_steps: int = 60, overfit_lr: float = 3e-3) -> list[Check]:
    device = pick_device(cfg.train.device)
    seed_everything(cfg.train.seed)
    small = _batch(cfg, "train", 3, cfg.train.seed, device)
    batch = _batch(cfg, "train", cfg.train.batch_size, cfg.train.seed, device)
    return [
        check_init_loss(cfg, batch, device),
        check_input_independent(cfg, device, baseline_steps),
        check_overfit(cfg, small, device, overfit_steps, overfit_lr),
        check_batch_independence(cfg, small, device),
    ]


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config: a path or a bundled name (default, tiny)")
    p.add_argument("--overfit-steps", type=int, default=300)
    p.add_argument("--baseline-steps", type=int, default=60)
    p.add_argument("--overfit-lr", type=float, default=3e-3)
    p.add_argument("--json", default="", help="also write the results to this JSON file")
    p.epilog = "Config keys can be overridden as --section.key=value. Exit status 1 when a check fails."
    p.set_defaults(func=run, overrides=[], takes_overrides=True)


def run(args) -> int:
    cfg = load_config(args.config, args.overrides)
    checks = run_sanity(cfg, args.overfit_steps, args.baseline_steps, args.overfit_lr)
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{'PASS' if c.passed else 'FAIL'}  {c.name:<{width}}  {c.detail}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([c.__dict__ for c in checks], indent=1))
    return 0 if all(c.passed for c in checks) else 1


def main(argv: list[str] | None = None) -> int:
    """Same as `mangacolor sanity ...`."""
    from mangacolor.cli import main as cli_main

    return cli_main(["sanity", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
