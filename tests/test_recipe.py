"""The default-model recipe as data (training/recipe.py): its plan and its resumable runner."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mangacolor.cli import COMMANDS
from training.recipe import PROFILES, Profile, plan, run_steps


def test_the_plan_names_every_step_once_and_only_real_commands(tmp_path):
    prof = PROFILES["cpu"]
    steps = plan(prof, tmp_path, "data/x", tmp_path / "models")
    names = [s.name for s in steps]
    assert len(set(names)) == len(names) and len({s.done for s in steps}) == len(steps)
    assert all(s.argv[0] in COMMANDS for s in steps)
    members = [n for n in names if n.startswith("member")]
    assert len(members) == prof.members * len(prof.member_cycles)   # every member, every learning-rate cycle
    assert names.index("ensemble") > max(names.index(m) for m in members) and names[-1] == "export ensemble"


def test_profile_cycles_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        Profile(overrides=(), search_trials=1, search_steps=1, search_widths=(16,), fine_trials=0, fine_steps=1,
                member_cycles=(600, 300), student_steps=1)


def test_run_steps_resumes_and_stops_at_a_failure(tmp_path):
    prof = dataclasses.replace(PROFILES["cpu"], member_cycles=(600, 1800))  # two cycles per member
    steps = plan(prof, tmp_path, "data/x", tmp_path / "models")[:6]
    calls = []

    def fake(argv, fail_at=None):
        calls.append(argv)
        if argv[0] == fail_at:
            return 3
        for s in steps:  # a command that writes its own marker (sanity, lr-find, search) does so
            if s.argv == tuple(argv[: len(s.argv)]) and not s.touch:
                (tmp_path / s.done).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / s.done).write_text("{}")
        return 0

    (tmp_path / "member0").mkdir()                                      # an interrupted member: resumed
    with pytest.raises(RuntimeError, match="member 1 to step 600"):
        run_steps(steps, tmp_path, {}, lambda argv: fake(argv, fail_at=None if "--train.seed=1" not in argv else "train"))
    assert [c[0] for c in calls] == ["sanity", "lr-find", "search", "train", "train", "train"]
    assert calls[3][-1] == "--resume" and "--resume" not in calls[5]
    assert (tmp_path / "member0/done-600").exists() and (tmp_path / "member0/done-1800").exists()
    times = json.loads((tmp_path / "recipe_times.json").read_text())
    assert set(times) == {"sanity", "lr-find", "search", "member 0 to step 600", "member 0 to step 1800"}
    calls.clear()
    run_steps(steps, tmp_path, times, fake)                              # rerun: only what is left
    assert len(calls) == 1 and "--train.seed=1" in calls[0] and (tmp_path / "member1/done-600").exists()


def test_the_plan_tunes_the_temperature_scores_characters_and_varies_members(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"items": [{"split": "train"}, {"split": "characters"}]}))
    steps = {s.name: s for s in plan(PROFILES["cpu"], tmp_path, str(data), tmp_path / "models")}
    assert {"temperature ensemble", "temperature student", "eval characters"} <= set(steps)
    assert "characters" in steps["eval characters"].argv
    assert "reference" in steps["eval reference"].argv and "characters" in steps["eval reference"].argv
    assert "--model.name=resunet" in steps["member 1 to step 400"].argv
    assert "--model.name=resunet" not in steps["member 0 to step 400"].argv
    (data / "manifest.json").write_text(json.dumps({"items": [{"split": "train"}]}))
    prof = dataclasses.replace(PROFILES["cpu"], portrait_steps=200)
    steps = {s.name: s for s in plan(prof, tmp_path, str(data), tmp_path / "models")}
    assert "member 0 portraits" not in steps  # a dataset without painted portraits: no fine-tuning on them
    assert "eval characters" not in {s.name for s in plan(PROFILES["cpu"], tmp_path, str(data), tmp_path / "models")}


def test_members_are_fine_tuned_on_portraits_when_the_dataset_has_them(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    items = [{"split": "train", "source": "wesnoth"}, {"split": "train", "source": "openmoji"}]
    (data / "manifest.json").write_text(json.dumps({"items": items}))
    assert "member 0 portraits" not in {s.name for s in plan(PROFILES["cpu"], tmp_path, str(data), tmp_path / "m")}
    steps = plan(dataclasses.replace(PROFILES["cpu"], portrait_steps=200), tmp_path, str(data), tmp_path / "models")
    names = [s.name for s in steps]
    tune = {s.name: s for s in steps}["member 1 portraits"]
    assert names.index("member 1 portraits") > names.index("member 1 to step 400")
    assert f"--train.init_from={tmp_path / 'member1' / 'best'}" in tune.argv
    assert "--data.repeat_sources=[wesnoth]" in tune.argv and "--model.name=resunet" in tune.argv
    ensemble, distill = {s.name: s for s in steps}["ensemble"], {s.name: s for s in steps}["distill"]
    assert str(tmp_path / "member0-portraits") in ensemble.argv and str(tmp_path / "member0") not in ensemble.argv
    assert f"--train.init_from={tmp_path / 'member0-portraits' / 'best'}" in distill.argv


def test_until_stops_after_a_step_with_the_lengths_asked_for(tmp_path, monkeypatch):
    """The lent-GPU path: train up to the student there (--until distill), with step counts that fit its time."""
    from training import recipe

    calls = []
    monkeypatch.setattr(recipe, "mc", lambda argv: calls.append(argv) or 0)
    out = tmp_path / "recipe"
    args = ["--profile", "gpu", "--data", str(tmp_path / "data"), "--out", str(out), "--member-steps", "700",
            "--student-steps", "90"]
    assert recipe.main([*args, "--until", "distill"]) == 0          # publish (which needs the evaluations) never ran
    assert [c[0] for c in calls] == ["sanity", "lr-find", "search", "train", "train", "ensemble", "distill"]
    assert all("--train.steps=700" in c for c in calls[3:5]) and "--train.steps=90" in calls[-1]
    times = json.loads((out / "recipe_times.json").read_text())
    assert times["profile"] == "gpu" and set(times["step_devices"]) == {
        "sanity", "lr-find", "search", "member 0 to step 700", "member 1 to step 700", "ensemble", "distill"}
    assert (out / "member1/done-700").exists() and (out / "student/done").exists()
    with pytest.raises(SystemExit):                                    # a step the plan does not have
        recipe.main([*args, "--until", "member 0 to step 400"])


def test_training_curves_come_from_metrics_jsonl_without_tensorboard(tmp_path):
    """A run copied back from another machine without its tb/ folder still gets its curves."""
    from PIL import Image

    from training.recipe_figures import curves_png

    run = tmp_path / "member0"
    run.mkdir()
    rows = [{"step": s, "loss": 5.0 - s / 100, "lr": 1e-3} for s in range(1, 131)] + [{"step": 130, "val/loss": 3.9,
                                                                                         "val/psnr": 16.1}]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    curves_png({"member0": run}, tmp_path / "curves.png")
    assert Image.open(tmp_path / "curves.png").size[0] > 600 and not (run / "tb").exists()


def test_before_after_shows_test_pictures_made_gray_with_and_without_hints(exported, dataset_dir, tmp_path):
    """The README's figure: one row per test picture of the named source (page, no hints, hints, original)."""
    from PIL import Image

    from training.data.build import load_manifest
    from training.recipe_figures import before_after

    dest = tmp_path / "before_after.png"
    before_after(exported, str(dataset_dir), dest, n=2, sources=("clips",))
    tests = [r["id"] for r in load_manifest(dataset_dir)["items"] if r["split"] == "test" and r["source"] == "clips"]
    assert tests
    assert Image.open(dest).size == (4 * 330, min(2, len(tests)) * 330)
    text = dest.with_suffix(".txt").read_text()
    assert all(i in text for i in tests[:2]) and "clips: CC0 (test fixture)" in text and "8 hints" in text
    with pytest.raises(ValueError, match="no pictures"):
        before_after(exported, str(dataset_dir), dest, sources=("flare",))
