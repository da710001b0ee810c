"""`mangacolor temperature MODEL`: tune the bins head's annealed-mean temperature on validation.

Low T decodes the most likely bin (vivid, wrong where the model is unsure); T = 1 the mean of
the distribution (safe: low chroma where it is spread). Each candidate is scored through the
product's pipeline with no hints on grayscale pages and line art; the pick is the best mean
PSNR among the candidates whose colourfulness ratio reaches the floor on both kinds (0.5 on
grayscale, 0.4 on line art: colour, not sepia), or the most colourful one when none does.
The chosen T is written into the checkpoint(s): a student's folder, or every member of an
ensemble, so evaluation and export decode with it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

GRID = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
FLOOR = {"grayscale": 0.5, "lineart": 0.4}


def bins_modules(module) -> list:
    return [m for m in getattr(module, "members", [module]) if getattr(m, "has_bins", False)]


def set_temperature(module, t: float) -> None:
    for m in bins_modules(module):
        m.temperature.fill_(t)


def score(pred, data: str, split: str, limit: int, size: int) -> dict:
    """{kind: {psnr, colourfulness, chroma_de}} at 0 hints."""
    from .report import aggregate
    from .run import EvalConfig, evaluate

    cfg = EvalConfig(data=data, split=split, size=size, limit=limit, hint_counts=(0,),
                     kinds=tuple(FLOOR), baselines=())
    agg = aggregate(evaluate([pred], cfg, progress=False).rows)[pred.name]
    return {k: {m: agg[k]["0"][m] for m in ("psnr", "colourfulness", "chroma_de")} for k in FLOOR}


def pick(table: dict[float, dict]) -> float:
    ok = [t for t, r in table.items() if all(r[k]["colourfulness"] >= f for k, f in FLOOR.items())]
    if ok:
        return max(ok, key=lambda t: np.mean([table[t][k]["psnr"] for k in FLOOR]))
    return max(table, key=lambda t: min(table[t][k]["colourfulness"] / f for k, f in FLOOR.items()))


def write_back(path: Path, module, t: float) -> list[str]:
    """Rewrite the checkpoint(s) behind `path` with temperature t (weights otherwise unchanged)."""
    from dataclasses import replace

    from training import checkpoint as ckpt
    from training.models.ensemble import member_paths, read_manifest

    folders = member_paths(path, read_manifest(path)) if path.suffix == ".json" else [path]
    written = []
    for folder, m in zip(folders, bins_modules(module)):
        _, meta = ckpt.load_model(folder)
        cfg = replace(m.cfg, temperature=float(t))
        m.cfg = cfg
        meta = {k: v for k, v in meta.items() if k not in ("files", "model_config", "code_version")}
        ckpt.save_checkpoint(folder, m, cfg, ckpt.load_state(folder), meta)
        written.append(str(folder))
    return written


def configure(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[1].replace("\n", " ")
    p.add_argument("model", help="checkpoint folder or ensemble manifest (.json) with the bins head")
    p.add_argument("--data", default="data/datasets/default")
    p.add_argument("--split", default="val")
    p.add_argument("--limit", type=int, default=24, help="validation images (default: %(default)s)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--grid", type=float, nargs="+", default=list(GRID), help="candidate temperatures")
    p.add_argument("--out", default="", help="also write the table and the pick to this JSON file")
    p.add_argument("--dry-run", action="store_true", help="report only; leave the checkpoints as they are")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from .predictors import load_predictor

    pred = load_predictor(args.model, "cpu")
    if not bins_modules(pred.module):
        print(f"error: {args.model} has no bins head: nothing to tune")
        return 2
    table = {}
    with torch.no_grad():
        for t in args.grid:
            set_temperature(pred.module, t)
            table[t] = score(pred, args.data, args.split, args.limit, args.size)
            print(f"T={t:<5} " + "  ".join(f"{k}: {r['psnr']:.2f} dB, colourfulness {r['colourfulness']:.2f}, "
                                           f"dE {r['chroma_de']:.1f}" for k, r in table[t].items()), flush=True)
    best = pick(table)
    print(f"picked T={best}")
    set_temperature(pred.module, best)
    written = [] if args.dry_run else write_back(Path(args.model), pred.module, best)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"picked": best, "table": {str(k): v for k, v in table.items()},
                                              "written": written}, indent=1))
    return 0
