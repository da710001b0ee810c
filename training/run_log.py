"""What a training run writes besides checkpoints: TensorBoard events (`tb/`) and `metrics.jsonl`.

Only the main process writes (under DDP the others get a RunLog that does nothing).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from training import monitor

SCALAR_NAMES = {"loss": "train/loss", "lr": "lr", "images_per_s": "images_per_s"}


class RunLog:
    def __init__(self, run_dir: Path, main: bool):
        self.run_dir, self.main = Path(run_dir), main
        self.writer = SummaryWriter(str(self.run_dir / "tb")) if main else None
        self.metrics = None

    def open(self) -> None:
        if self.main:
            self.metrics = open(self.run_dir / "metrics.jsonl", "a")

    def row(self, row: dict, flush: bool = False) -> None:
        """One line of metrics.jsonl (a training step or a validation)."""
        if self.metrics:
            self.metrics.write(json.dumps(row) + "\n")
            if flush:
                self.metrics.flush()

    def scalars(self, row: dict, step: int) -> None:
        if self.writer:
            for k, v in row.items():
                if k != "step":
                    self.writer.add_scalar(SCALAR_NAMES.get(k, k), v, step)

    @torch.no_grad()
    def watch(self, model: torch.nn.Module, batch: dict, extra: dict, step: int) -> None:
        """Histograms of weights, gradients and pre-activations (on `batch`), per-layer gradient
        norms and update/weight ratios."""
        if not self.writer:
            return
        with monitor.ActivationProbe(model) as probe:
            model(batch["x"], batch["hint"], batch["mask"])
        monitor.log_histograms(self.writer, model, probe, step)
        for n, v in extra["grad_norms"].items():
            self.writer.add_scalar(f"grad_norm/{n}", v, step)
        for n, v in extra["update_ratio"].items():
            self.writer.add_scalar(f"update_ratio/{n}", v, step)

    @torch.no_grad()
    def images(self, model: torch.nn.Module, batch: dict, cpu_batch: dict, step: int) -> None:
        """The fixed validation batch as a grid: input | hints | prediction | target."""
        if not self.writer:
            return
        was_training = model.training
        model.eval()
        pred = model(batch["x"], batch["hint"], batch["mask"]).float()
        model.train(was_training)
        self.writer.add_image("val/grid", monitor.image_grid(cpu_batch, pred), step, dataformats="HWC")

    def close(self) -> None:
        if self.metrics:
            self.metrics.close()
            self.metrics = None
        if self.writer:
            self.writer.close()
