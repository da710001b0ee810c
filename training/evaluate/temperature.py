"""`mangacolor temperature MODEL`: tune the bins head's decoding on validation: its annealed-mean
temperature T and its chroma on gray pages (a gain, and the shadow L* below which it fades to none).

Low T decodes the most likely bin (vivid, wrong where the model is unsure); T = 1 the mean of
the distribution (safe: low chroma where it is spread). The gray gain scales the chroma the model
proposes for gray pages (grayscale, screentone; mangacolor.contract.gray_gain): below 1 when its
colours are often wrong, so that a page without hints is not made worse than leaving it gray
(line art keeps its colour: its paper has no gray to fall back on). The shadow fades that chroma to
none from L* = shadow down to black: dark pixels are nearly neutral, and on every validation source the
prior's colour there did more harm than leaving them gray (docs/training.md, "Shadows"). Each (T, gain, shadow) is scored
through the product's pipeline with no hints, next to leaving the page gray, on validation images
(`--sources`: the recipe passes the drawn portraits, the closest to the characters users colour).
The pick, in order:
1. no harm and colour: grayscale PSNR >= gray, chroma dE < gray, colourfulness ratio >= 0.5 on
   grayscale and >= 0.4 on line art, each with a margin of 0.05; among these the best mean PSNR of both kinds;
2. the same without the margin;
3. no harm: the most colourful candidate that does no harm;
4. else the best grayscale PSNR.
All three are written into the checkpoint(s): a student's folder, or every member of an ensemble, so
evaluation and export decode with them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

GRID = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
GAINS = (0.4, 0.6, 0.8, 1.0)
SHADOWS = (0.0, 25.0, 40.0)  # L*; 0 = no fading
FLOOR = {"grayscale": 0.5, "lineart": 0.4}
# Colourfulness kept above the floor on validation, for the pictures it did not see: 40 portraits are few, and a
# pick right at the floor fell below it on other character art (the 0ad run of docs/training.md: its student
# 0.51 on validation, 0.44 on the characters; with this margin it would have picked 0.59 for 0.03 dB less).
MARGIN = 0.05
METRICS = ("psnr", "colourfulness", "chroma_de")


def bins_modules(module) -> list:
    return [m for m in getattr(module, "members", [module]) if getattr(m, "has_bins", False)]


def set_temperature(module, t: float) -> None:
    for m in bins_modules(module):
        m.temperature.fill_(t)


def score(pred, cfg, kinds: tuple[str, ...], baselines: tuple[str, ...] = ()) -> dict:
    """{method: {kind: {psnr, colourfulness, chroma_de}}} at 0 hints, for the predictor and the baselines."""
    from dataclasses import replace

    from .report import aggregate
    from .run import evaluate

    agg = aggregate(evaluate([pred], replace(cfg, kinds=kinds, baselines=baselines), progress=False).rows)
    return {name: {k: {m: agg[name][k]["0"][m] for m in METRICS} for k in kinds} for name in (pred.name, *baselines)}


def no_harm(row: dict, gray: dict) -> bool:
    g = row["grayscale"]
    return g["psnr"] >= gray["psnr"] and g["chroma_de"] < gray["chroma_de"]


def pick(table: dict[tuple, dict], gray: dict) -> tuple:
    """The key of `table` ((T, gain, shadow)) by the rule of the module's docstring; `gray`: grayscale
    scores of leaving the page gray."""
    safe = [c for c, r in table.items() if no_harm(r, gray)]
    for margin in (MARGIN, 0.0):
        vivid = [c for c in safe if all(table[c][k]["colourfulness"] >= f + margin for k, f in FLOOR.items())]
        if vivid:
            return max(vivid, key=lambda c: np.mean([table[c][k]["psnr"] for k in FLOOR]))
    if safe:
        return max(safe, key=lambda c: min(table[c][k]["colourfulness"] / f for k, f in FLOOR.items()))
    return max(table, key=lambda c: table[c]["grayscale"]["psnr"])


class Memo:
    """A predictor that runs its model once per input: the gain and shadow change only the decoding after
    it, so the (gain, shadow) grid of one temperature costs one model run per page."""

    def __init__(self, pred):
        self.pred, self.cache = pred, {}

    def __getattr__(self, name):  # name, module, hint_fill, gray_gain, gray_shadow: the predictor's
        return getattr(self.pred, name)

    def __setattr__(self, name, value):
        if name in ("pred", "cache"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.pred, name, value)

    def __call__(self, *arrays):
        key = tuple(hash(a.tobytes()) for a in arrays if a is not None)
        if key not in self.cache:
            self.cache[key] = self.pred(*arrays)
        return self.cache[key]


def tune(pred, cfg, temperatures, gains, shadows=(0.0,), log=print) -> tuple[dict, dict]:
    """Scores every (T, gain, shadow): line art once per T (gain and shadow leave it alone), gray pages
    per (gain, shadow), from one model run per T. Returns ({(T, gain, shadow): {kind: scores}}, grayscale
    scores of leaving the page gray)."""
    gray = None
    table = {}
    for t in temperatures:
        set_temperature(pred.module, t)
        memo = Memo(pred)
        for i, (g, sh) in enumerate((g, sh) for g in gains for sh in shadows):
            memo.gray_gain, memo.gray_shadow = g, sh
            kinds = tuple(FLOOR) if i == 0 else ("grayscale",)
            s = score(memo, cfg, kinds, ("no colour",) if gray is None else ())
            gray = gray or s["no colour"]["grayscale"]
            row = s[pred.name]
            table[(t, g, sh)] = row | ({} if i == 0 else {"lineart": table[(t, gains[0], shadows[0])]["lineart"]})
            log(f"T={t:<5} gain={g:<4} shadow={sh:<4} " + "  ".join(
                f"{k}: {r['psnr']:.2f} dB, colourfulness {r['colourfulness']:.2f}, dE {r['chroma_de']:.1f}"
                for k, r in table[(t, g, sh)].items()))
    return table, gray


def write_back(path: Path, module, **decoding) -> list[str]:
    """Rewrite the checkpoint(s) behind `path` with new decoding settings (temperature, gray_gain, gray_shadow) in
    their model config; weights otherwise unchanged."""
    from dataclasses import replace

    from training import checkpoint as ckpt
    from training.models.ensemble import member_paths, read_manifest

    folders = member_paths(path, read_manifest(path)) if path.suffix == ".json" else [path]
    written = []
    for folder, m in zip(folders, bins_modules(module)):
        _, meta = ckpt.load_model(folder)
        m.cfg = replace(m.cfg, **decoding)
        meta = {k: v for k, v in meta.items() if k not in ("files", "model_config", "code_version")}
        ckpt.save_checkpoint(folder, m, m.cfg, ckpt.load_state(folder), meta)
        written.append(str(folder))
    return written


def configure(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[1].replace("\n", " ")
    p.add_argument("model", help="checkpoint folder or ensemble manifest (.json) with the bins head")
    p.add_argument("--data", default="data/datasets/default")
    p.add_argument("--split", default="val")
    p.add_argument("--sources", nargs="+", default=(), metavar="SOURCE",
                   help="only the split's images from these sources (default: all)")
    p.add_argument("--limit", type=int, default=24, help="validation images (default: %(default)s)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--grid", type=float, nargs="+", default=list(GRID), help="candidate temperatures")
    p.add_argument("--gains", type=float, nargs="+", default=list(GAINS), help="candidate chroma gains on gray pages")
    p.add_argument("--shadows", type=float, nargs="+", default=list(SHADOWS),
                   help="candidate L* below which gray pages' chroma fades to none (0: no fading)")
    p.add_argument("--out", default="", help="also write the table and the pick to this JSON file")
    p.add_argument("--dry-run", action="store_true", help="report only; leave the checkpoints as they are")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from training.run_state import DECODING

    from .predictors import load_predictor
    from .run import EvalConfig

    pred = load_predictor(args.model, "cpu")
    if not bins_modules(pred.module):
        print(f"error: {args.model} has no bins head: nothing to tune")
        return 2
    cfg = EvalConfig(data=args.data, split=args.split, size=args.size, limit=args.limit, hint_counts=(0,),
                     sources=tuple(args.sources))
    with torch.no_grad():
        table, gray = tune(pred, cfg, args.grid, args.gains, args.shadows, lambda s: print(s, flush=True))
    picked = dict(zip(DECODING, map(float, pick(table, gray))))  # (T, gain, shadow), as the table keys
    print(f"left gray: {gray['psnr']:.2f} dB, dE {gray['chroma_de']:.1f}; picked T={picked['temperature']}, "
          f"gray gain={picked['gray_gain']}, gray shadow={picked['gray_shadow']}")
    set_temperature(pred.module, picked["temperature"])
    written = [] if args.dry_run else write_back(Path(args.model), pred.module, **picked)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"picked": picked, "left_gray": gray,
                                              "table": [dict(zip(DECODING, k)) | v
                                                        for k, v in table.items()],
                                              "written": written}, indent=1))
    return 0
