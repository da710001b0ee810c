"""Faults: training killed with SIGKILL and resumed, a full disk during a checkpoint write,
a chapter run killed mid-way and resumed."""

from __future__ import annotations

import errno
import io
import signal
import subprocess
import sys
import zipfile

import torch
from safetensors.torch import load_file

from mangacolor.cli import main
from tests.fixtures import drawing
from tests.server import REPO, wait_for
from training import checkpoint as ckpt


def test_sigkill_mid_training_then_resume_matches_uninterrupted(dataset_dir, tmp_path):
    args = ["tiny", f"--data.root={dataset_dir}", "--train.steps=30", "--train.ckpt_every=3", "--train.val_every=15",
            "--train.hist_every=1000", "--train.image_every=1000", "--train.keep_last=20"]
    assert main(["train", *args, f"--train.run_dir={tmp_path / 'full'}"]) == 0
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "mangacolor.cli", "train", *args, f"--train.run_dir={run}"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: (run / "step-00000006").is_dir() or proc.poll() is not None, timeout=120)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [p.name for p in ckpt.list_checkpoints(run)]
    assert "step-00000030" not in done, "the run finished before it could be killed"
    assert main(["train", *args, f"--train.run_dir={run}", "--resume"]) == 0
    a, b = load_file(tmp_path / "full/step-00000030/model.safetensors"), load_file(run / "step-00000030/model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_full_disk_during_checkpoint_write_keeps_the_previous_one(dataset_dir, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    assert main(["train", "tiny", f"--data.root={dataset_dir}", f"--train.run_dir={run}", "--train.steps=3"]) == 0
    before = ckpt.verify(run / "step-00000003")["files"]

    def full_disk(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", full_disk)
    rc = main(["train", "tiny", f"--data.root={dataset_dir}", f"--train.run_dir={run}", "--resume"])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and "step-00000003" in err
    assert ckpt.verify(run / "step-00000003")["files"] == before
    assert not list(run.glob("*.tmp")) and [p.name for p in ckpt.list_checkpoints(run)] == ["step-00000003"]


def test_chapter_killed_mid_way_resumes_without_redoing_pages(exported, tmp_path):
    src = tmp_path / "ch.cbz"
    with zipfile.ZipFile(src, "w") as z:
        for i in range(12):
            b = io.BytesIO()
            drawing(i, size=(400, 560))[1].save(b, "PNG")
            z.writestr(f"p{i:02d}.png", b.getvalue())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mangacolor.cli", "colorize", str(src), "--out", str(out), "--model", str(exported),
           "--device", "cpu", "--work-size", "1024"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / ".ch.cbz.parts"
    assert wait_for(lambda: len([p for p in parts.glob("*.png")]) >= 3 or proc.poll() is not None, timeout=120)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = list(parts.glob("*.png"))
    assert 3 <= len(finished) < 12, "the chapter finished before it could be killed"
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{len(finished)} done in an earlier run" in r.stdout
    with zipfile.ZipFile(out / "ch.cbz") as z:
        assert z.namelist() == [f"p{i:02d}.png" for i in range(12)]
