"""The trainer through its real CLI on the tiny config: checkpoints, TensorBoard events,
exact resume, corruption fallback, NaN stop, early stopping, transfer learning, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from mangacolor.cli import main
from training import checkpoint as ckpt
from training.config import load_config
from training.train import Trainer, TrainingDiverged


def train(dataset_dir, run_dir, *extra) -> int:
    return main(["train", "tiny", f"--data.root={dataset_dir}", f"--train.run_dir={run_dir}", *extra])


def losses_of(run_dir) -> list[float]:
    rows = [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def weights(path) -> dict:
    return load_file(Path(path) / "model.safetensors")


def test_run_writes_checkpoints_config_and_events(dataset_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    assert train(dataset_dir, run) == 0
    names = sorted(p.name for p in run.iterdir())
    assert names == ["best", "config.yaml", "metrics.jsonl", "step-00000003", "step-00000006", "tb"]
    meta = ckpt.verify(run / "step-00000006")
    for key in ("step", "model_config", "config", "data_manifest_hash", "code_version", "files", "metrics"):
        assert key in meta
    assert meta["step"] == 6 and meta["data_manifest_hash"] == json.loads((dataset_dir / "manifest.json").read_text())["hash"]
    model, _ = ckpt.load_model(run / "step-00000006")
    assert model.cfg.width == 16  # rebuilt from the checkpoint's own config
    state = ckpt.load_state(run / "step-00000006")
    assert {"opt", "scaler", "rng"} <= set(state)
    assert load_config(run / "config.yaml").train.steps == 6

    ea = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0, "images": 0, "histograms": 0})
    ea.Reload()
    tags = ea.Tags()
    for t in ("train/loss", "val/loss", "val/psnr", "lr", "images_per_s"):
        assert t in tags["scalars"], t
    assert any(t.startswith("dead_relu/") for t in tags["scalars"])
    assert any(t.startswith("grad_norm/") for t in tags["scalars"])
    assert any(t.startswith("update_ratio/") for t in tags["scalars"])
    assert "val/grid" in tags["images"]
    assert any(t.startswith("preact/") for t in tags["histograms"])
    assert any(t.startswith("grads/") for t in tags["histograms"])
    assert [e.step for e in ea.Scalars("val/loss")] == [3, 6]


def test_resume_matches_uninterrupted_run(dataset_dir, tmp_path):
    assert train(dataset_dir, tmp_path / "full") == 0
    assert train(dataset_dir, tmp_path / "cut", "--train.steps=3") == 0
    assert train(dataset_dir, tmp_path / "cut", "--resume") == 0
    a, b = weights(tmp_path / "full/step-00000006"), weights(tmp_path / "cut/step-00000006")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert losses_of(tmp_path / "full") == losses_of(tmp_path / "cut")


def test_resume_skips_a_corrupted_checkpoint(dataset_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert train(dataset_dir, run, "--train.keep_last=3") == 0
    blob = run / "step-00000006" / "model.safetensors"
    blob.write_bytes(blob.read_bytes()[:100])  # truncated
    assert train(dataset_dir, run, "--resume", "--train.steps=9") == 0
    out = capsys.readouterr().out
    assert "does not match its recorded sha256" in out and "resumed from" in out and "step-00000003" in out
    assert ckpt.verify(run / "step-00000009")["step"] == 9


def test_resume_refuses_another_model_config(dataset_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert train(dataset_dir, run, "--train.steps=3") == 0
    assert train(dataset_dir, run, "--resume", "--model.width=8") == 2
    assert "another model, data or optimizer config" in capsys.readouterr().err


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(dataset_dir, tmp_path):
    cfg = load_config("tiny", [f"--data.root={dataset_dir}", f"--train.run_dir={tmp_path / 'run'}", "--train.steps=3"])
    Trainer(cfg).fit()
    good = tmp_path / "run/step-00000003"
    before = ckpt.verify(good)["files"]
    cfg6 = load_config("tiny", [f"--data.root={dataset_dir}", f"--train.run_dir={tmp_path / 'run'}"])
    trainer = Trainer(cfg6, resume=True)
    with torch.no_grad():
        trainer.model.head.bias[0] = float("nan")
    with pytest.raises(TrainingDiverged, match=r"loss is nan at step 3.*last good checkpoint is .*step-00000003"):
        trainer.fit()
    assert ckpt.verify(good)["files"] == before
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "run")] == ["step-00000003"]


def test_early_stopping(dataset_dir, tmp_path, capsys):
    # with lr 0 the validation loss never improves after the first evaluation
    assert train(dataset_dir, tmp_path / "run", "--optim.lr=0", "--train.val_every=1",
                 "--train.early_stop_patience=2", "--train.steps=50") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["stop"] == "early stop" and summary["steps"] == 3


def test_unknown_config_key_fails_with_suggestion(dataset_dir, tmp_path, capsys):
    assert train(dataset_dir, tmp_path / "run", "--train.stepz=3") == 2
    assert "did you mean 'train.steps'" in capsys.readouterr().err


def test_init_from_with_frozen_encoder(dataset_dir, tmp_path):
    assert train(dataset_dir, tmp_path / "src", "--train.steps=3") == 0
    src = tmp_path / "src/step-00000003"
    assert train(dataset_dir, tmp_path / "ft", "--train.steps=3", f"--train.init_from={src}", "--train.freeze=encoder") == 0
    a, b = weights(src), weights(tmp_path / "ft/step-00000003")
    enc = [k for k in a if k.startswith(("stem.", "down."))]
    dec = [k for k in a if k.startswith(("up.", "head."))]
    assert enc and all(torch.equal(a[k], b[k]) for k in enc)
    assert any(not torch.equal(a[k], b[k]) for k in dec)


def test_init_from_ignores_decoding_but_not_architecture(dataset_dir, tmp_path, capsys):
    # the temperature and gray gain are tuned after training: a fine-tune may start from a tuned checkpoint
    assert train(dataset_dir, tmp_path / "src", "--train.steps=2", "--model.temperature=0.7", "--model.gray_gain=0.6") == 0
    src = tmp_path / "src/step-00000002"
    assert train(dataset_dir, tmp_path / "ft", "--train.steps=2", f"--train.init_from={src}") == 0
    assert train(dataset_dir, tmp_path / "wide", "--train.steps=2", f"--train.init_from={src}", "--model.width=12") == 2
    assert "set --model.* to match" in capsys.readouterr().err


def test_sanity_suite_passes_on_tiny(dataset_dir, tmp_path, capsys):
    rc = main(["sanity", "tiny", f"--data.root={dataset_dir}", "--json", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert rc == 0, out
    checks = json.loads((tmp_path / "s.json").read_text())
    assert [c["passed"] for c in checks] == [True] * 4 and len(checks) == 4


def test_lr_find_writes_plot_and_suggestion(dataset_dir, tmp_path):
    assert main(["lr-find", "tiny", f"--data.root={dataset_dir}", "--steps", "25", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "lr_find.json").read_text())
    assert 1e-6 <= res["suggested"] <= 1 and (tmp_path / "lr_find.png").stat().st_size > 1000
    assert res["lrs"] == sorted(res["lrs"])


def test_ddp_two_processes_match_one(dataset_dir, tmp_path):
    """2 CPU processes on gloo with the same global batch follow the single-process loss curve."""
    steps = "--train.steps=4"
    assert train(dataset_dir, tmp_path / "single", steps) == 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "training.train", "tiny", f"--data.root={dataset_dir}", f"--train.run_dir={tmp_path / 'ddp'}", steps]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    assert r.returncode == 0, r.stderr[-3000:]
    single, ddp = losses_of(tmp_path / "single"), losses_of(tmp_path / "ddp")
    assert len(single) == len(ddp) == 4
    assert max(abs(a - b) for a, b in zip(single, ddp)) < 1e-4, (single, ddp)


def test_repeat_below_one_fails_with_a_message(dataset_dir, tmp_path, capsys):
    assert train(dataset_dir, tmp_path / "run", "--data.repeat=0") == 2
    assert "data.repeat must be at least 1" in capsys.readouterr().err
