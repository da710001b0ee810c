"""`mangacolor ensemble` and `mangacolor distill`.

    mangacolor ensemble runs/seed0 runs/seed1 runs/seed2 --rule confidence --out runs/ensemble.json
    mangacolor ensemble --snapshots runs/seed0 --last 3 --out runs/snapshots.json
    mangacolor distill runs/ensemble.json default --train.run_dir=runs/student
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _checkpoint_of(path: str) -> Path:
    """A run folder means its best/ checkpoint; a checkpoint folder is itself."""
    p = Path(path)
    if (p / "meta.json").is_file():
        return p
    if (p / "best" / "meta.json").is_file():
        return p / "best"
    raise FileNotFoundError(f"{path} is neither a checkpoint folder nor a run folder with best/")


def configure(p: argparse.ArgumentParser) -> None:
    p.description = ("Write an ensemble manifest: members from different runs (seeds) and/or the last snapshots of one "
                     "run, combined by a weighted mean or by per-pixel confidence (member agreement). eval, export "
                     "and the service read the manifest.")
    p.add_argument("members", nargs="*", metavar="MEMBER", help="checkpoint folders or run folders (their best/)")
    p.add_argument("--snapshots", default="", metavar="RUN", help="also add the newest step checkpoints of RUN")
    p.add_argument("--last", type=int, default=3, help="how many snapshots with --snapshots (default: %(default)s)")
    p.add_argument("--rule", default="mean", choices=["mean", "confidence"])
    p.add_argument("--weights", type=float, nargs="*", default=[], help="one weight per member (default equal)")
    p.add_argument("--temperature", type=float, default=0.05, help="softness of the confidence rule")
    p.add_argument("--out", required=True, help="manifest to write, e.g. runs/ensemble.json")
    p.set_defaults(func=run)


def run(args) -> int:
    from mangacolor.regions import uses_fill
    from training.checkpoint import list_checkpoints, verify
    from training.models.ensemble import EnsembleManifest, write_manifest

    paths = [_checkpoint_of(m) for m in args.members]
    if args.snapshots:
        snaps = list_checkpoints(Path(args.snapshots))[-args.last:]
        if not snaps:
            raise FileNotFoundError(f"{args.snapshots} has no step checkpoints")
        paths += snaps
    if not paths:
        raise ValueError("name at least one member, or --snapshots RUN")
    metas = [verify(p) for p in paths]  # verifies every member's hashes too
    configs = {str(m["model_config"]) for m in metas}
    if len({uses_fill(m) for m in metas}) > 1:
        raise ValueError("members disagree on data.hint_fill: one ensemble input cannot suit them all")
    out = Path(args.out)
    rel = [os.path.relpath(p.resolve(), out.resolve().parent) for p in paths]
    m = EnsembleManifest(members=tuple(rel), weights=tuple(args.weights), rule=args.rule,
                         temperature=args.temperature, notes={"distinct_model_configs": len(configs)})
    write_manifest(m, out)
    print(f"wrote {out}: {len(paths)} members, rule {args.rule}")
    return 0


def configure_distill(p: argparse.ArgumentParser) -> None:
    p.description = ("Train one student to match an ensemble's outputs (the seed's 'dark knowledge'): a fast mode at "
                     "single-model cost. Same trainer and options as `mangacolor train`; the teacher's predictions "
                     "replace the ground truth in the loss (mix with --train.teacher_weight).")
    p.add_argument("teacher", help="ensemble manifest (.json) or checkpoint to distill")
    p.add_argument("config", nargs="?", default="default", help="student's YAML config (default: %(default)s)")
    p.add_argument("--resume", action="store_true")
    p.epilog = "Config keys can be overridden as --section.key=value, e.g. --model.width=16."
    p.set_defaults(func=run_distill, overrides=[], takes_overrides=True)


def run_distill(args) -> int:
    from training.train_cli import run as train_run

    args.overrides = [*args.overrides, f"--train.teacher={args.teacher}"]
    return train_run(args)


def main(argv: list[str] | None = None) -> int:
    from mangacolor.cli import main as cli_main

    return cli_main(["ensemble", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
