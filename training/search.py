"""`mangacolor search CONFIG --trials N`: hyperparameter search with Optuna, coarse to fine.

Coarse: N short runs. The learning rate (and width) are drawn by Optuna's QMC
sampler, a scrambled Sobol sequence on log scales: a grid whose points are
randomly shifted, as the seed recommends, with none of a plain grid's repeats.
Unpromising trials are pruned at their intermediate validations (median rule).
Fine: the best few settings' neighbourhood (lr within x2) gets longer runs.
The study lives in a database (SQLite by default; any SQLAlchemy URL lets
several machines share one study). Outputs: results.md, results.csv,
search.png and best.yaml, ready for `mangacolor train`.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import warnings
from dataclasses import replace
from pathlib import Path

from training.config import Config, load_config, save_config

WIDTHS = (16, 24, 32)


def _trial_config(base: Config, out: Path, name: str, lr: float, width: int, steps: int) -> Config:
    t = base.train
    return replace(
        base,
        model=replace(base.model, width=width),
        optim=replace(base.optim, lr=lr),
        train=replace(t, run_dir=str(out / name), steps=steps, val_every=max(1, steps // 4), ckpt_every=steps,
                      image_every=max(steps, t.image_every), hist_every=max(steps, t.hist_every),
                      log_every=max(1, min(t.log_every, steps)), keep_last=1, progress=False, early_stop_patience=0),
    ).check()


def _objective(base: Config, out: Path, steps: int, lr_range, widths):
    import optuna

    from training.train import Trainer

    def objective(trial: "optuna.Trial") -> float:
        lr = trial.suggest_float("lr", *lr_range, log=True)
        width = trial.suggest_categorical("width", list(widths))
        cfg = _trial_config(base, out, f"{trial.study.study_name}-{trial.number:03d}", lr, width, steps)

        def report(step: int, val: dict) -> None:
            trial.report(val["val/loss"], step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"val loss {val['val/loss']:.4f} at step {step}")

        summary = Trainer(cfg, on_validation=report).fit()
        if not math.isfinite(summary["best_val_loss"]):
            raise optuna.TrialPruned("diverged")
        return summary["best_val_loss"]

    return objective


def search(base: Config, trials: int, steps: int, fine_trials: int, fine_steps: int, out: Path,
           storage: str, name: str, seed: int = 0, lr_range=(1e-4, 3e-3), widths: tuple[int, ...] = WIDTHS) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # QMCSampler
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    coarse = optuna.create_study(study_name=f"{name}-coarse", storage=storage, load_if_exists=True, direction="minimize",
                                 sampler=optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed),
                                 pruner=pruner)
    todo = trials - len([t for t in coarse.trials if t.state.is_finished()])  # a resumed study runs only what is left
    if todo > 0:
        coarse.optimize(_objective(base, out, steps, lr_range, widths), n_trials=todo, catch=(RuntimeError,))
    studies = [("coarse", coarse)]
    best = _completed(coarse)[:max(1, fine_trials)]
    if fine_trials and best:
        top = best[0]
        fine_range = (top.params["lr"] / 2, top.params["lr"] * 2)
        fine = optuna.create_study(study_name=f"{name}-fine", storage=storage, load_if_exists=True, direction="minimize",
                                   sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
        for t in best:  # start from the best coarse settings, then let TPE explore around them
            fine.enqueue_trial(t.params, skip_if_exists=True)
        todo = fine_trials - len([t for t in fine.trials if t.state.is_finished()])
        if todo > 0:
            fine.optimize(_objective(base, out, fine_steps, fine_range, (top.params["width"],)), n_trials=todo,
                          catch=(RuntimeError,))
        studies.append(("fine", fine))
    return _write_results(base, studies, out, storage)


def _completed(study) -> list:
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return sorted(done, key=lambda t: t.value)


def _write_results(base: Config, studies, out: Path, storage: str) -> dict:
    rows = []
    for stage, study in studies:
        for t in study.trials:
            rows.append({"stage": stage, "trial": t.number, "lr": t.params.get("lr"), "width": t.params.get("width"),
                         "val_loss": t.value, "state": t.state.name})
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    final_stage, final = studies[-1]
    done = _completed(final) or _completed(studies[0][1])
    if not done:
        raise RuntimeError("no trial completed; see the errors above")
    bp = done[0].params
    best = replace(base, model=replace(base.model, width=bp["width"]), optim=replace(base.optim, lr=bp["lr"])).check()
    save_config(best, out / "best.yaml")
    lines = ["# Hyperparameter search", "", f"Storage: `{storage}`. Best ({final_stage}): lr {bp['lr']:.3g}, width "
             f"{bp['width']}, val L1 {done[0].value:.4f}. Config: `best.yaml`.", "",
             "| stage | trial | lr | width | val L1 | state |", "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["stage"] != "coarse", r["val_loss"] if r["val_loss"] is not None else 9e9)):
        v = f"{r['val_loss']:.4f}" if r["val_loss"] is not None else "-"
        lr = f"{r['lr']:.3g}" if r["lr"] else "-"
        lines.append(f"| {r['stage']} | {r['trial']} | {lr} | {r['width']} | {v} | {r['state']} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    _plot(rows, out / "search.png")
    return {"best": bp, "best_val_loss": done[0].value, "rows": rows}


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for stage, marker in (("coarse", "o"), ("fine", "^")):
        pts = [r for r in rows if r["stage"] == stage and r["val_loss"] is not None]
        if pts:
            sc = ax.scatter([r["lr"] for r in pts], [r["val_loss"] for r in pts], c=[r["width"] for r in pts],
                            marker=marker, cmap="viridis", label=stage, vmin=min(WIDTHS), vmax=max(WIDTHS))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("best val L1")
    ax.legend()
    if rows:
        fig.colorbar(sc, ax=ax, label="width")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def configure(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[1].replace("\n", " ")
    p.add_argument("config", help="base YAML config: a path or a bundled name")
    p.add_argument("--trials", type=int, default=12, help="coarse trials (default: %(default)s)")
    p.add_argument("--steps", type=int, default=200, help="steps per coarse trial (default: %(default)s)")
    p.add_argument("--fine-trials", type=int, default=3, help="longer trials around the best (default: %(default)s)")
    p.add_argument("--fine-steps", type=int, default=600, help="steps per fine trial (default: %(default)s)")
    p.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS),
                   help="model widths to try (default: %(default)s); one value searches the learning rate only")
    p.add_argument("--lr-range", type=float, nargs=2, default=[1e-4, 3e-3], metavar=("LO", "HI"))
    p.add_argument("--storage", default="", help="Optuna storage URL (default: sqlite in --out)")
    p.add_argument("--study", default="search", help="study name; an existing study is resumed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/search")
    p.epilog = "Base config keys can be overridden as --section.key=value."
    p.set_defaults(func=run, overrides=[], takes_overrides=True)


def run(args) -> int:
    base = load_config(args.config, args.overrides)
    search(base, args.trials, args.steps, args.fine_trials, args.fine_steps, Path(args.out), args.storage,
                 args.study, args.seed, tuple(args.lr_range), tuple(args.widths))
    print((Path(args.out) / "results.md").read_text())
    print(f"best config: {Path(args.out) / 'best.yaml'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from mangacolor.cli import main as cli_main

    return cli_main(["search", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
