"""`mangacolor eval MODEL [MODEL ...]`: score models against the baselines on a split."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mangacolor.contract import KINDS, REFINE_MODES


def configure(p: argparse.ArgumentParser) -> None:
    p.description = ("Score checkpoints, ensembles (manifest .json) or exported ONNX models on a split, next to the "
                     "no-colour, mean-colour, trapped-ball fill and Levin 2004 baselines, per input kind and against "
                     "the number of "
                     "hints. Writes report.md, metrics.json, curve.png, kinds.png and worst.png.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="checkpoint folder, ensemble .json or ONNX model")
    p.add_argument("--data", default="data/datasets/default", help="dataset folder (default: %(default)s)")
    p.add_argument("--split", default="val", choices=["val", "test", "characters"])
    p.add_argument("--size", type=int, default=256, help="long side of evaluated pages (default: %(default)s)")
    p.add_argument("--limit", type=int, default=100, help="images of the split, 0 = all (default: %(default)s)")
    p.add_argument("--protocol", default="hints", choices=["hints", "reference"],
                   help="hints: the hint-count protocol (default); reference: colour each page given another view "
                        "of the same character (training/evaluate/reference_eval.py), next to Welsh 2002")
    p.add_argument("--sources", nargs="+", default=(), metavar="SOURCE",
                   help="only the split's images from these dataset sources (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--refine", default="auto", choices=REFINE_MODES,
                   help="the models' colour solver, as in the product (default: %(default)s: where there are hints)")
    p.add_argument("--solver", nargs="+", default=(), metavar="KEY=VALUE",
                   help="the models' solver settings instead of the product's (mangacolor.solver.SolverConfig), "
                        "e.g. --solver data_weight=0.02 to compare a setting")
    p.add_argument("--hint-counts", type=int, nargs="+", default=None, metavar="N",
                   help="hint counts of the curve (default: 0 1 2 5 8 10 20 32 50)")
    p.add_argument("--kinds", nargs="+", default=KINDS, choices=KINDS, metavar="KIND",
                   help="input kinds to score: lineart, grayscale, screentone (default: all three); each gets the "
                        "same pages and hints as in a run of all three")
    p.add_argument("--baselines", nargs="*", default=None, metavar="NAME",
                   help="baselines to score next to the models (default: all: no colour, mean colour, trapped-ball "
                        "fill, levin 2004; quote names with spaces; none: give the option alone)")
    p.add_argument("--with-members", action="store_true", help="also score each member of an ensemble and report the gain")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="runs/eval", help="report folder (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    from .predictors import load_predictor, member_predictors
    from .report import write_report
    from .run import EvalConfig, evaluate

    preds = [load_predictor(m, args.device) for m in args.models]
    names = [p.name for p in preds]
    if len(set(names)) != len(names):
        for i, p in enumerate(preds):
            p.name = f"{p.name} ({i})"
    if args.protocol == "reference":
        return run_reference(args, preds)
    if args.with_members:
        preds += [m for p in list(preds) for m in member_predictors(p)]
    from .baselines import BASELINES

    if args.baselines is not None and (bad := set(args.baselines) - set(BASELINES)):
        raise ValueError(f"unknown baselines {sorted(bad)}; choose from {list(BASELINES)}")
    cfg = EvalConfig(data=args.data, split=args.split, size=args.size, limit=args.limit, seed=args.seed,
                     refine=args.refine, sources=tuple(args.sources), solver=solver_config(args.solver),
                     kinds=tuple(dict.fromkeys(args.kinds)),
                     baselines=BASELINES if args.baselines is None else tuple(args.baselines),
                     **({"hint_counts": tuple(args.hint_counts)} if args.hint_counts else {}))
    t = time.time()
    res = evaluate(preds, cfg)
    extra = {"seconds": round(time.time() - t, 1)}
    gains = ensemble_gains(res, preds)
    if gains:
        extra["ensemble_gain_db"] = gains
    data = write_report(Path(args.out), res, [p.name for p in preds], cfg, extra)
    print((Path(args.out) / "report.md").read_text())
    print(json.dumps({"report": str(Path(args.out) / "report.md"), "shortfalls": len(data["shortfalls"])}))
    return 0


def solver_config(items: list[str]):
    """['data_weight=0.02', ...] -> the product's SolverConfig with those fields replaced, coerced like any
    config (training.config); ValueError naming the fields for an unknown one or a value of the wrong type."""
    from dataclasses import asdict, fields

    from mangacolor.solver import DEFAULT, SolverConfig
    from training.config import from_dict

    changes = dict(item.partition("=")[::2] for item in items)
    try:
        return from_dict(SolverConfig, asdict(DEFAULT) | changes)
    except ValueError as e:
        keys = ", ".join(f.name for f in fields(DEFAULT))
        raise ValueError(f"--solver takes KEY=VALUE with KEY one of {keys}: {e}") from None


def ensemble_gains(res, preds) -> dict:
    """PSNR of each ensemble minus its best member, on the training hint mix, over all kinds."""
    from .report import aggregate

    agg = aggregate(res.rows)
    out = {}
    for p in preds:
        members = [q.name for q in preds if q.name.startswith(p.name + " member ")]
        if members:
            def overall(name):
                return sum(agg[name][k]["mix"]["psnr"] for k in agg[name]) / len(agg[name])
            out[p.name] = round(overall(p.name) - max(overall(m) for m in members), 3)
    return out


def run_reference(args, preds) -> int:
    from .reference_eval import evaluate_references, write_reference_report

    rows = evaluate_references(preds, args.data, args.split, args.limit, args.size, args.seed, tuple(args.sources))
    print(write_reference_report(Path(args.out), rows, args.split))
    return 0
