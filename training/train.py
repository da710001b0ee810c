"""`mangacolor train CONFIG [--section.key=value ...]`: train a colorizer.

Adam at a constant LR (optional final decay), the head's objective
(training/objective.py: L1 on Lab, or rebalanced ab-bin cross-entropy), optional
PatchGAN critic; AMP and channels_last on CUDA; exact resume; early stopping;
TensorBoard logs (training/run_log.py) of losses, PSNR, LR, throughput, images,
histograms, dead ReLUs, per-layer gradient norms and update/weight ratios;
checkpoints through training/run_state.py. Multi-GPU or multi-process through
torchrun (DistributedDataParallel).
"""

from __future__ import annotations

import json
import math
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader
from tqdm import tqdm

from training import checkpoint as ckpt
from training import losses, monitor, run_state
from training.config import Config, save_config
from training.data.dataset import ColorizationDataset, seed_worker
from training.data.sampler import EpochBatchSampler
from training.models import build_generator
from training.models.critic import PatchCritic
from training.objective import Objective, measure_prior
from training.run_log import RunLog
from training.setup import amp_dtype, autocast, init_distributed, pick_device, seed_everything


class TrainingDiverged(RuntimeError):
    """Loss or gradients became NaN/Inf; the last good checkpoint is left as it was."""


def lr_at(step: int, cfg: Config) -> float:
    """Constant LR, then a linear decay to 0 over the final `decay_frac` of the steps."""
    total, frac = cfg.train.steps, cfg.optim.decay_frac
    start = total * (1 - frac)
    if frac <= 0 or step < start:
        return cfg.optim.lr
    return cfg.optim.lr * max(0.0, (total - step) / (total - start))


def load_teacher(path: str, cfg: Config, device: torch.device) -> torch.nn.Module:
    """The frozen teacher of a distillation run (ensemble manifest or checkpoint)."""
    from training.evaluate.predictors import load_predictor

    teacher = load_predictor(path, str(device))
    if teacher.hint_fill != cfg.data.hint_fill:  # both see the student's batch: one hint encoding
        raise ValueError(f"the teacher was trained with data.hint_fill={teacher.hint_fill}; "
                         f"set --data.hint_fill={str(teacher.hint_fill).lower()} for the student")
    return teacher.module.requires_grad_(False)


class Trainer:
    def __init__(self, cfg: Config, resume: bool = False, on_validation=None):
        """`on_validation(step, metrics)` is called after each validation (e.g. to report to Optuna)."""
        self.cfg = cfg
        self.on_validation = on_validation
        t = cfg.train
        self.device = pick_device(t.device)
        self.dist = init_distributed(self.device)
        seed_everything(t.seed + self.dist.rank, t.deterministic)
        self.amp = amp_dtype(t.amp, self.device)
        self.channels_last = t.channels_last and self.device.type == "cuda"
        self.run_dir = Path(t.run_dir)

        self.train_ds = ColorizationDataset(cfg.data, "train", seed=t.seed)
        self.val_ds = ColorizationDataset(cfg.data, "val", seed=t.seed)
        self.sampler = EpochBatchSampler(len(self.train_ds), t.batch_size, t.seed, self.dist.rank, self.dist.world)
        self.steps_per_epoch = len(self.train_ds) // t.batch_size

        self.model = build_generator(cfg.model).to(self.device)
        if t.init_from:
            run_state.init_from(self.model, cfg, t.init_from, t.freeze)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(params, lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=cfg.optim.weight_decay)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)
        self.critic = self.critic_opt = None
        if cfg.gan.enabled:
            self.critic = PatchCritic(cfg.gan.width).to(self.device)
            self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.gan.lr, betas=(0.5, 0.999))
        self.net = DDP(self.model) if self.dist.world > 1 else self.model
        self.teacher = load_teacher(t.teacher, cfg, self.device) if t.teacher else None
        self.objective = Objective(cfg, self.teacher)
        self.step, self.best, self.bad_vals = 0, math.inf, 0
        if resume:
            run_state.resume(self)
        if cfg.model.head == "bins" and not t.init_from and self.step == 0:
            with torch.no_grad():  # class rebalancing needs the data's colour prior; it travels in the checkpoint
                self.model.prior.copy_(measure_prior(self.train_ds, seed=t.seed).to(self.device))
        self.runlog = RunLog(self.run_dir, self.dist.main)
        self.val_fixed = self._fixed_val_batch()

    # ------------------------------------------------------------------ set-up helpers

    def _fixed_val_batch(self) -> dict:
        n = min(4, len(self.val_ds))
        items = [self.val_ds[i] for i in range(n)]
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}

    def log(self, msg: str) -> None:
        if self.dist.main:
            tqdm.write(msg) if self.cfg.train.progress else print(msg, flush=True)

    def _to_device(self, batch: dict) -> dict:
        out = {}
        for k, v in batch.items():
            v = v.to(self.device, non_blocking=True)
            if self.channels_last and v.ndim == 4:
                v = v.contiguous(memory_format=torch.channels_last)
            out[k] = v
        return out

    def loader(self, epoch: int, start: int) -> DataLoader:
        self.train_ds.set_epoch(epoch)
        self.sampler.set_epoch(epoch, start)
        g = torch.Generator()
        g.manual_seed(self.cfg.train.seed)
        return DataLoader(self.train_ds, batch_sampler=self.sampler, num_workers=self.cfg.train.workers,
                          worker_init_fn=seed_worker, generator=g, pin_memory=self.device.type == "cuda")

    # ------------------------------------------------------------------ one step

    def train_step(self, batch: dict, watch: bool) -> tuple[float, dict]:
        cfg = self.cfg
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.step, cfg)
        self.opt.zero_grad(set_to_none=True)
        n_micro = cfg.optim.accum_steps
        micro = {k: v.chunk(n_micro) for k, v in batch.items()}
        total = 0.0
        for i in range(n_micro):
            mb = {k: v[i] for k, v in micro.items()}
            sync = i == n_micro - 1 or self.dist.world == 1
            ctx = self.net.no_sync() if not sync else nullcontext()
            with ctx, autocast(self.device, self.amp):
                loss, pred = self.objective(self.net, self.model, mb)
                if self.critic is not None:
                    loss = loss + cfg.gan.weight * losses.generator_adv_loss(cfg.gan.loss, self.critic(mb["x"], pred.float()))
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"loss is {loss.item()} at step {self.step}")
            self.scaler.scale(loss / n_micro).backward()
            total += loss.item() / n_micro
            if self.critic is not None:
                self._critic_step(mb, pred.detach())
        self.scaler.unscale_(self.opt)
        clip = cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else float("inf")
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        if not torch.isfinite(gnorm) and not self.scaler.is_enabled():
            raise TrainingDiverged(f"gradient norm is {gnorm.item()} at step {self.step}")
        extra = {}
        if watch:
            extra["grad_norms"] = monitor.layer_grad_norms(self.model)
            before = monitor.snapshot(self.model)
        self.scaler.step(self.opt)
        self.scaler.update()
        if watch:
            extra["update_ratio"] = monitor.update_ratios(before, self.model)
        self.step += 1
        return self._mean_across_ranks(total), extra | {"grad_norm": float(gnorm)}

    def _critic_step(self, mb: dict, fake: torch.Tensor) -> None:
        self.critic_opt.zero_grad(set_to_none=True)
        with autocast(self.device, self.amp):
            d = losses.critic_loss(self.cfg.gan.loss, self.critic(mb["x"], mb["target"]), self.critic(mb["x"], fake.float()))
        d.backward()
        self.critic_opt.step()

    def _mean_across_ranks(self, value: float) -> float:
        if self.dist.world == 1:
            return value
        t = torch.tensor([value], device=self.device)
        dist.all_reduce(t)
        return float(t) / self.dist.world

    # ------------------------------------------------------------------ validation and checkpoints

    @torch.no_grad()
    def validate(self) -> dict:
        self.model.eval()
        t = self.cfg.train
        n = min(len(self.val_ds), t.val_batches * t.batch_size)
        loader = DataLoader(torch.utils.data.Subset(self.val_ds, range(n)), batch_size=t.batch_size,
                            num_workers=t.workers, worker_init_fn=seed_worker)
        tot_l1 = tot_psnr = count = 0.0
        for batch in loader:
            b = self._to_device(batch)
            with autocast(self.device, self.amp):
                loss, pred = self.objective.validation_loss(self.model, b)
            k = b["x"].shape[0]
            tot_l1 += loss.item() * k
            tot_psnr += losses.psnr_lab(pred, b["target"]).sum().item()
            count += k
        self.model.train()
        return {"val/loss": tot_l1 / count, "val/psnr": tot_psnr / count}

    def save(self, metrics: dict | None = None, best: bool = False) -> Path:
        return run_state.save(self, metrics, best)

    # ------------------------------------------------------------------ the loop

    def fit(self) -> dict:
        t = self.cfg.train
        if self.dist.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.cfg, self.run_dir / "config.yaml")
        self.runlog.open()
        bar = tqdm(total=t.steps, initial=self.step, desc="train", unit="step",
                   disable=not (t.progress and self.dist.main), dynamic_ncols=True)
        stop_reason, last_val = "finished", {}
        self._window = (time.time(), self.step)  # images/s over each logging window
        self.model.train()
        try:
            while self.step < t.steps and stop_reason == "finished":
                epoch, start = divmod(self.step, self.steps_per_epoch)
                for batch in self.loader(epoch, start):
                    watch = (self.step + 1) % t.hist_every == 0
                    loss, extra = self.train_step(self._to_device(batch), watch)
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}")
                    if self.dist.main:
                        self._log_step(loss, extra, watch)
                    if self.step % t.val_every == 0 or self.step == t.steps:
                        last_val = self.validate()
                        stop_reason = self._after_validation(last_val)
                    elif self.step % t.ckpt_every == 0 and self.dist.main:
                        self.save()
                    if self.step >= t.steps or stop_reason != "finished":
                        break
        except TrainingDiverged as e:
            last = ckpt.latest_valid(self.run_dir, log=self.log)
            raise TrainingDiverged(f"{e}. Training stopped; the last good checkpoint is {last or 'none'} "
                                   f"(nothing was written after the bad step). Try a lower optim.lr "
                                   f"or set optim.grad_clip.") from None
        finally:
            bar.close()
            self.runlog.close()
        summary = {"steps": self.step, "stop": stop_reason, "best_val_loss": self.best, **last_val}
        self.log(json.dumps(summary))
        return summary

    def _log_step(self, loss: float, extra: dict, watch: bool) -> None:
        t = self.cfg.train
        row = {"step": self.step, "loss": loss, "lr": lr_at(self.step - 1, self.cfg)}
        if self.step % t.log_every == 0 or self.step == t.steps:
            (t0, s0), now = self._window, time.time()
            row["images_per_s"] = (self.step - s0) * t.batch_size / max(now - t0, 1e-9)
            self.runlog.scalars(row, self.step)
            self._window = (now, self.step)
        self.runlog.row(row)
        if watch:
            self.runlog.watch(self.model, self._to_device(self.val_fixed), extra, self.step)
        if self.step % t.image_every == 0:
            self.runlog.images(self.model, self._to_device(self.val_fixed), self.val_fixed, self.step)

    def _after_validation(self, val: dict) -> str:
        improved = val["val/loss"] < self.best - 1e-6
        if improved:
            self.best, self.bad_vals = val["val/loss"], 0
        else:
            self.bad_vals += 1
        if self.dist.main:
            self.runlog.scalars(val, self.step)
            self.runlog.row({"step": self.step, **val}, flush=True)
            self.save(val, best=improved)
            self.log(f"step {self.step}: val loss {val['val/loss']:.4f}, val PSNR {val['val/psnr']:.2f} dB"
                     + (" (best)" if improved else ""))
        if self.on_validation is not None:
            self.on_validation(self.step, val)
        p = self.cfg.train.early_stop_patience
        return "early stop" if p and self.bad_vals >= p else "finished"


def main(argv: list[str] | None = None) -> int:
    """Same as `mangacolor train ...` (the CLI is training/train_cli.py); `torchrun -m training.train` runs this."""
    from mangacolor.cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
