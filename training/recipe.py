"""`make train-default`: train, evaluate and export the bundled default models, reproducibly.

    python -m training.recipe [--profile cpu|gpu] [--data data/datasets/default] [--out runs/recipe]
                              [--member-steps N] [--student-steps N] [--until STEP]

1. sanity and lr-find on the recipe config (results go into the model card);
2. a short search, then K ensemble members with the best config (different seeds), each
   trained in the profile's learning-rate cycles (a profile may then fine-tune them with the dataset's painted
   portraits oversampled: `portrait_steps`);
3. distill the ensemble into a student that starts from member 0; tune the colour head's decoding
   temperature and gray gain of both on validation; evaluate members, ensemble and student on the test split and
   on the held-out characters split next to every baseline;
4. export: the student (fp32, fp16, INT8) to models/default, the ensemble (fp32) to
   models/default-ensemble, each with its card, the evaluation report and the
   training curves.
Every step writes its output before the next starts and is skipped when that output
exists, so an interrupted recipe resumes where it stopped (training steps resume
from their last checkpoint).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from mangacolor.cli import main as mc

from .recipe_figures import before_after, curves_png

PORTRAIT_SOURCES = ("wesnoth", "flare")  # the default dataset's painted portraits (training/data/fetch_art.py)
PORTRAIT_REPEAT = 8  # in the portrait fine-tuning: 324 portraits x 8 against 6,640 other training images


@dataclass(frozen=True)
class Profile:
    overrides: tuple[str, ...]   # on top of training/configs/default.yaml
    search_trials: int
    search_steps: int
    search_widths: tuple[int, ...]  # model widths the search may pick: only those the profile's time affords
    fine_trials: int
    fine_steps: int
    # Each member trains in cycles: to the first step count, then resumed to the next, and so on. The
    # learning rate decays to 0 at the end of each cycle and restarts (warm restarts, Loshchilov & Hutter 2017).
    member_cycles: tuple[int, ...]
    student_steps: int
    # then each member is fine-tuned this many steps with the portraits listed PORTRAIT_REPEAT times (0: not).
    # Off in both profiles: on CPU, 200 steps left validation's portraits as they were and made the held-out
    # characters worse without hints (docs/training.md, "Portrait fine-tuning")
    portrait_steps: int = 0
    members: int = 3
    eval_limit: int = 150
    val_batches: int = 16        # validation batches of members and student (each a full synthesis of its pages)
    eval_hint_counts: tuple[int, ...] = ()  # the evaluations' hint curve (default: eval's full curve)
    eval_members: bool = True    # also score each member (and the ensemble's gain over the best one)
    test_limit: int = 0          # images of the test split (0: eval_limit)
    # Member i adds member_overrides[i % len]: different architectures on top of different seeds
    # (data order, initialisation), so the members err in different places and averaging helps.
    member_overrides: tuple[tuple[str, ...], ...] = ((), ("--model.name=resunet",))

    def __post_init__(self):
        if not self.member_cycles or list(self.member_cycles) != sorted(set(self.member_cycles)):
            raise ValueError(f"member_cycles must be increasing step counts, got {self.member_cycles}")


PROFILES = {
    # CPU: a narrower net on smaller crops, two members of different architectures and short runs, so the whole
    # recipe fits in about an hour on 2 cores
    "cpu": Profile(overrides=("--model.width=16", "--data.crop=[128,128]", "--train.workers=2"),
                   search_trials=3, search_steps=40, search_widths=(16,), fine_trials=1, fine_steps=100,
                   member_cycles=(400,), student_steps=200, members=2, eval_limit=60, val_batches=4,
                   eval_hint_counts=(0, 8, 32), eval_members=True, test_limit=30),
    # GPU: the CPU profile's models (width 16: the bundled ONNX files stay under 40 MB) and evaluation, trained
    # many times longer on larger crops. Sized for a lent machine's 10-minute commands: train there on a shard
    # (`mangacolor data shard`) with `--until distill`, then run the recipe again here on the full dataset to tune,
    # evaluate and export (docs/training.md, "Training on a lent GPU"). The lengths are those that fit one command on
    # an H100 (2026-11-24); --member-steps/--student-steps fit them to the time another machine gives.
    "gpu": Profile(overrides=("--model.width=16", "--data.crop=[192,192]", "--train.workers=14"),
                   search_trials=4, search_steps=150, search_widths=(16,), fine_trials=1, fine_steps=300,
                   member_cycles=(3500,), student_steps=1750, members=2, eval_limit=60, val_batches=16,
                   eval_hint_counts=(0, 8, 32), eval_members=True, test_limit=30),
}


@dataclass(frozen=True)
class Step:
    """One `mangacolor` command of the recipe and the file that says it is done."""

    name: str
    done: str                      # path under the recipe folder; present = the step is done, skipped on rerun
    argv: tuple[str, ...]          # the `mangacolor` command line
    touch: bool = False            # the command writes no marker of its own: `done` is touched after it succeeds
    resume: str = ""               # a run folder: when it exists, --resume continues an interrupted step


def plan(prof: Profile, out: Path, data: str, models: Path) -> list[Step]:
    """The recipe as data: every step, in order, with its command and its output."""
    base = ("default", f"--data.root={data}", *prof.overrides)
    best = str(out / "search" / "best.yaml")
    steps = [
        Step("sanity", "sanity.json", ("sanity", *base, "--overfit-steps", "300", "--baseline-steps", "30",
                                       "--json", str(out / "sanity.json"))),
        Step("lr-find", "lr_find/lr_find.json", ("lr-find", *base, "--steps", "80", "--out", str(out / "lr_find"))),
        Step("search", "search/best.yaml", ("search", *base, "--trials", str(prof.search_trials), "--steps",
                                            str(prof.search_steps), "--fine-trials", str(prof.fine_trials),
                                            "--fine-steps", str(prof.fine_steps), "--widths",
                                            *map(str, prof.search_widths), "--out", str(out / "search"))),
    ]
    members = [out / f"member{seed}" for seed in range(prof.members)]
    steps += member_steps(prof, members, best)
    portraits = sorted(split_sources(data, "train") & set(PORTRAIT_SOURCES))
    if prof.portrait_steps and portraits:
        steps += portrait_steps(prof, members, best, portraits)
        members = [portrait_run(m) for m in members]
    ens, student, report = out / "ensemble.json", out / "student", out / "eval_test"
    evals = ((("--hint-counts", *map(str, prof.eval_hint_counts)) if prof.eval_hint_counts else ())
             + (("--with-members",) if prof.eval_members else ()))
    every = max(50, prof.student_steps // 8)
    steps += [
        Step("ensemble", "ensemble.json", ("ensemble", *map(str, members), "--rule", "mean", "--out", str(ens))),
        # The student has the members' architecture and starts from member 0's weights: distillation then
        # only has to close the gap to the ensemble, in a third of the steps the members took.
        Step("distill", "student/done", ("distill", str(ens), best, f"--train.run_dir={student}", "--train.seed=100",
                                         f"--train.steps={prof.student_steps}", f"--train.init_from={members[0] / 'best'}",
                                         "--train.progress=false", f"--train.val_every={every}",
                                         f"--train.ckpt_every={every}", "--train.early_stop_patience=0",
                                         f"--train.val_batches={prof.val_batches}"),
             touch=True, resume=str(student)),
    ]
    steps += decoding_steps(data, out, {"ensemble": ens, "student": student / "best"})
    steps += characters_steps(prof, data, out, (str(ens), str(student / "best")), evals)
    steps += [
        Step("eval", "eval_test/metrics.json", ("eval", str(ens), str(student / "best"), "--data", data,
                                                "--split", "test", "--limit", str(prof.test_limit or prof.eval_limit),
                                                "--size", "256",
                                                *evals, "--out", str(report))),
        Step("export student", "exported_student", ("export", str(student / "best"), "--out", str(models / "default"),
                                                     "--name", "default", "--metrics", str(report / "metrics.json"),
                                                     "--data", data), touch=True),
        Step("export ensemble", "exported_ensemble", ("export", str(ens), "--out", str(models / "default-ensemble"),
                                                       "--name", "default-ensemble", "--variants", "--metrics",
                                                       str(report / "metrics.json"), "--data", data), touch=True),
    ]
    return steps


def characters_steps(prof: Profile, data: str, out: Path, models: tuple[str, ...], evals: tuple[str, ...]) -> list[Step]:
    """The held-out source of drawn characters (data build --holdout), when the dataset has one: the hint
    protocol, and colouring from a reference picture of the same character (training/evaluate/reference_eval.py)."""
    if not has_split(data, "characters"):
        return []
    common = ("--data", data, "--split", "characters", "--limit", str(prof.eval_limit), "--size", "256",
              "--out", str(out / "eval_characters"))
    return [Step("eval characters", "eval_characters/metrics.json", ("eval", *models, *evals, *common)),
            Step("eval reference", "eval_characters/reference.json", ("eval", *models, "--protocol", "reference", *common))]


def decoding_steps(data: str, out: Path, models: dict[str, Path]) -> list[Step]:
    """The colour head's decoding (temperature, gray gain) of each model, tuned on validation and written
    into its checkpoints: on the drawn portraits of validation when the dataset has them (the closest to
    the characters users colour; 74 in the default dataset), else on all of validation."""
    portraits = split_sources(data, "val") & set(PORTRAIT_SOURCES)
    tune = ("--data", data, "--split", "val", "--limit", "40", "--grid", "0.3", "0.5", "0.7",
            *(("--sources", *sorted(portraits)) if portraits else ()))
    return [Step(f"temperature {name}", f"temperature_{name}.json",
                 ("temperature", str(path), *tune, "--out", str(out / f"temperature_{name}.json")))
            for name, path in models.items()]


def member_argv(prof: Profile, best: str, run: Path, seed: int, steps: int, every: int, *extra: str) -> tuple[str, ...]:
    """The `train` command of member `seed` into `run`: its seed and architecture, quiet, checkpointed every `every`
    steps, no early stop."""
    return ("train", best, f"--train.run_dir={run}", f"--train.seed={seed}", f"--train.steps={steps}", *extra,
            "--train.progress=false", f"--train.val_every={every}", f"--train.ckpt_every={every}",
            "--train.early_stop_patience=0", f"--train.val_batches={prof.val_batches}",
            *prof.member_overrides[seed % len(prof.member_overrides)])


def member_steps(prof: Profile, members: list[Path], best: str) -> list[Step]:
    """Each member trained in the profile's learning-rate cycles, resumable, with its own seed and overrides."""
    return [Step(f"member {seed} to step {end}", f"member{seed}/done-{end}",
                 member_argv(prof, best, run, seed, end, max(50, (end - start) // 8)), touch=True, resume=str(run))
            for seed, run in enumerate(members)
            for start, end in zip((0, *prof.member_cycles), prof.member_cycles)]


def portrait_run(member: Path) -> Path:
    """Where a member's portrait fine-tuning goes: member0 -> member0-portraits."""
    return member.with_name(member.name + "-portraits")


def portrait_steps(prof: Profile, members: list[Path], best: str, portraits: list[str]) -> list[Step]:
    """Each member fine-tuned from its best checkpoint into its portrait_run, with the portraits oversampled:
    a learning-rate cycle of its own that leans the colour prior towards drawn characters."""
    extra = (f"--data.repeat_sources=[{','.join(portraits)}]", f"--data.repeat={PORTRAIT_REPEAT}")
    return [Step(f"member {seed} portraits", f"{portrait_run(run).name}/done",
                 member_argv(prof, best, portrait_run(run), seed, prof.portrait_steps, max(50, prof.portrait_steps // 4),
                             f"--train.init_from={run / 'best'}", *extra),
                 touch=True, resume=str(portrait_run(run)))
            for seed, run in enumerate(members)]


def split_sources(data: str, split: str) -> set[str]:
    """The sources with images in a split of the dataset (empty when there is no manifest yet)."""
    f = Path(data) / "manifest.json"
    return {r.get("source", "") for r in json.loads(f.read_text())["items"] if r["split"] == split} if f.is_file() else set()


def has_split(data: str, split: str) -> bool:
    return bool(split_sources(data, split))


def run_steps(steps: list[Step], out: Path, log: dict, command=mc, device: str = "") -> None:
    """Run each step not done yet, timing it (and naming the `device` it ran on) into out/recipe_times.json;
    a failing step stops the recipe."""
    for st in steps:
        marker = out / st.done
        if marker.exists():
            print(f"== {st.name}: done earlier ({marker})")
            continue
        print(f"== {st.name}")
        t = time.time()
        argv = [*st.argv, *(["--resume"] if st.resume and Path(st.resume).exists() else [])]
        rc = command(argv)
        if rc not in (0, None):
            raise RuntimeError(f"recipe step {st.name} failed with status {rc}")
        if st.touch:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        log[st.name] = round(time.time() - t, 1)
        if device:  # a recipe may train on a lent GPU and evaluate here: say where each step ran
            log.setdefault("step_devices", {})[st.name] = device
        (out / "recipe_times.json").write_text(json.dumps(log, indent=1))


def main(argv: list[str] | None = None) -> int:
    import torch

    from .run_state import device_name

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", choices=sorted(PROFILES), default="gpu" if torch.cuda.is_available() else "cpu")
    p.add_argument("--data", default="data/datasets/default")
    p.add_argument("--out", default="runs/recipe")
    p.add_argument("--models", default="models")
    p.add_argument("--member-steps", type=int, default=0, metavar="N",
                   help="train each member N steps in one cycle instead of the profile's cycles")
    p.add_argument("--student-steps", type=int, default=0, metavar="N", help="distill N steps instead of the profile's")
    p.add_argument("--until", metavar="STEP", default="",
                   help="stop after this step (e.g. distill: train on a GPU machine, evaluate and export elsewhere)")
    args = p.parse_args(argv)
    prof, out, data = PROFILES[args.profile], Path(args.out), args.data
    if args.member_steps:
        prof = replace(prof, member_cycles=(args.member_steps,))
    if args.student_steps:
        prof = replace(prof, student_steps=args.student_steps)
    models = Path(args.models)
    steps = plan(prof, out, data, models)
    names = [st.name for st in steps]
    if args.until and args.until not in names:
        p.error(f"--until {args.until!r} is not a step of this plan; its steps: {', '.join(names)}")
    out.mkdir(parents=True, exist_ok=True)
    log = json.loads((out / "recipe_times.json").read_text()) if (out / "recipe_times.json").exists() else {}
    device = device_name(torch.device("cuda" if torch.cuda.is_available() else "cpu"))  # as checkpoints name it
    log["device"], log["profile"] = device, args.profile
    run_steps(steps[: names.index(args.until) + 1] if args.until else steps, out, log, command=mc, device=device)
    if args.until:
        print(f"stopped after {args.until}; run the recipe again with the same --out to go on")
        return 0
    publish(prof, out, data, models)
    print(json.dumps(log, indent=1))
    return 0


def publish(prof: Profile, out: Path, data: str, models: Path) -> None:
    """Copy the evaluation, sanity, times, LR sweep, search and training curves beside both models."""
    report = out / "eval_test"
    members = [out / f"member{seed}" for seed in range(prof.members)]
    runs = [r for r in members + ([portrait_run(m) for m in members] if prof.portrait_steps else [])
            if (r / "metrics.jsonl").is_file()]
    for dest in (models / "default", models / "default-ensemble"):
        ev = dest / "eval"
        ev.mkdir(exist_ok=True)
        for f in ("report.md", "metrics.json", "curve.png", "kinds.png", "worst.png"):
            shutil.copy(report / f, ev / f)
        chars = out / "eval_characters"
        if chars.is_dir():  # datasets built without a characters split have none
            shutil.copytree(chars, ev / "characters", dirs_exist_ok=True)
        for f in ("temperature_ensemble.json", "temperature_student.json"):
            if (out / f).is_file():
                shutil.copy(out / f, ev / f)
        for f in ("sanity.json", "recipe_times.json"):
            shutil.copy(out / f, ev / f)
        shutil.copy(out / "lr_find" / "lr_find.png", ev / "lr_find.png")
        shutil.copy(out / "search" / "results.md", ev / "search.md")
        curves_png({m.name: m for m in runs} | {"student": out / "student"}, ev / "training_curves.png")
    before_after(models / "default", data, models / "default" / "eval" / "before_after.png")


if __name__ == "__main__":
    sys.exit(main())
