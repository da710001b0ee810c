"""`mangacolor lr-find CONFIG`: an exponential learning-rate sweep (Smith 2017).

The LR grows geometrically from --start to --end over --steps steps of real
training; the smoothed loss is plotted against the LR on a log axis. The
suggestion is the LR of steepest descent of the smoothed loss, a safe point
below the minimum; the sweep stops early once the loss runs away.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from training import losses
from training.config import load_config
from training.data.dataset import ColorizationDataset, make_loader
from training.models import build_generator
from training.setup import pick_device, seed_everything


def lr_sweep(cfg, start: float, end: float, steps: int, smooth: float = 0.9) -> dict:
    """Returns {'lrs', 'losses' (smoothed), 'raw', 'suggested'}."""
    device = pick_device(cfg.train.device)
    seed_everything(cfg.train.seed)
    model = build_generator(cfg.model).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=start, betas=cfg.optim.betas)
    ds = ColorizationDataset(cfg.data, "train", seed=cfg.train.seed)
    factor = (end / start) ** (1 / max(1, steps - 1))
    lrs, raw, sm = [], [], []
    avg, best, it = 0.0, math.inf, None
    for i in range(steps):
        if it is None:
            ds.set_epoch(i)
            it = iter(make_loader(ds, batch_size=cfg.train.batch_size, seed=cfg.train.seed + i))
        try:
            b = next(it)
        except StopIteration:
            it = None
            continue
        lr = start * factor**i
        for g in opt.param_groups:
            g["lr"] = lr
        b = {k: v.to(device) for k, v in b.items()}
        loss = losses.l1(model(b["x"], b["hint"], b["mask"]), b["target"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg = smooth * avg + (1 - smooth) * loss.item()
        s = avg / (1 - smooth ** (len(raw) + 1))  # bias-corrected running mean
        lrs.append(lr), raw.append(loss.item()), sm.append(s)
        best = min(best, s)
        if not math.isfinite(s) or s > 4 * best:
            break
    return {"lrs": lrs, "losses": sm, "raw": raw, "suggested": suggest(lrs, sm)}


def suggest(lrs: list[float], sm: list[float]) -> float:
    """LR at the steepest descent of loss vs log LR, ignoring the noisy first and runaway last tenth."""
    if len(lrs) < 5:
        return lrs[int(np.argmin(sm))] / 10 if lrs else float("nan")
    lo, hi = len(lrs) // 10, len(lrs) - max(1, len(lrs) // 10)
    grad = np.gradient(np.array(sm), np.log10(np.array(lrs)))
    return float(lrs[lo + int(np.argmin(grad[lo:hi]))])


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result["lrs"], result["raw"], alpha=0.3, label="loss")
    ax.plot(result["lrs"], result["losses"], label="smoothed")
    ax.axvline(result["suggested"], color="r", ls="--", label=f"suggested {result['suggested']:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("L1 loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config: a path or a bundled name (default, tiny)")
    p.add_argument("--start", type=float, default=1e-6)
    p.add_argument("--end", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--out", default="runs/lr_find", help="folder for lr_find.png and lr_find.json")
    p.epilog = "Config keys can be overridden as --section.key=value."
    p.set_defaults(func=run, overrides=[], takes_overrides=True)


def run(args) -> int:
    cfg = load_config(args.config, args.overrides)
    result = lr_sweep(cfg, args.start, args.end, args.steps)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lr_find.json").write_text(json.dumps(result, indent=1))
    plot(result, out / "lr_find.png")
    print(f"swept {len(result['lrs'])} steps from {args.start:g} to {result['lrs'][-1]:.3g}; "
          f"suggested lr {result['suggested']:.3g}; plot {out / 'lr_find.png'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Same as `mangacolor lr-find ...`."""
    from mangacolor.cli import main as cli_main

    return cli_main(["lr-find", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
