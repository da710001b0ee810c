"""`mangacolor train CONFIG [--section.key=value ...]`: train a colorizer.

Adam at a constant LR (optional final decay), L1 on normalised Lab, optional
PatchGAN critic; AMP and channels_last on CUDA; exact resume; early stopping;
TensorBoard logs of losses, PSNR, LR, throughput, images, histograms, dead
ReLUs, per-layer gradient norms and update/weight ratios. Multi-GPU or
multi-process through torchrun (DistributedDataParallel).
"""

from __future__ import annotations

import argparse
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
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from training import checkpoint as ckpt
from training import losses, monitor
from training.config import (
    Config,
    config_hash,
    format_config,
    load_config,
    resume_key,
    save_config,
    to_dict,
)
from training.data.dataset import ColorizationDataset, seed_worker
from training.data.sampler import EpochBatchSampler
from training.models import build_generator
from training.models.critic import PatchCritic
from training.objective import Objective, measure_prior
from training.setup import (
    amp_dtype,
    autocast,
    init_distributed,
    pick_device,
    rng_state,
    seed_everything,
    set_rng_state,
)


class TrainingDiverged(RuntimeError):
    """Loss or gradients became NaN/Inf; the last good checkpoint is left as it was."""


def lr_at(step: int, cfg: Config) -> float:
    """Constant LR, then a linear decay to 0 over the final `decay_frac` of the steps."""
    total, frac = cfg.train.steps, cfg.optim.decay_frac
    start = total * (1 - frac)
    if frac <= 0 or step < start:
        return cfg.optim.lr
    return cfg.optim.lr * max(0.0, (total - step) / (total - start))


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
            self._init_from(t.init_from, t.freeze)
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
        self.teacher = None
        if t.teacher:
            from training.evaluate.predictors import load_predictor

            teacher = load_predictor(t.teacher, str(self.device))
            if teacher.hint_fill != cfg.data.hint_fill:  # both see the student's batch: one hint encoding
                raise ValueError(f"the teacher was trained with data.hint_fill={teacher.hint_fill}; "
                                 f"set --data.hint_fill={str(teacher.hint_fill).lower()} for the student")
            self.teacher = teacher.module.requires_grad_(False)

        self.objective = Objective(cfg, self.teacher)
        self.step, self.best, self.bad_vals = 0, math.inf, 0
        if resume:
            self._resume()
        if cfg.model.head == "bins" and not t.init_from and self.step == 0:
            with torch.no_grad():  # class rebalancing needs the data's colour prior; it travels in the checkpoint
                self.model.prior.copy_(measure_prior(self.train_ds, seed=t.seed).to(self.device))
        self.writer = SummaryWriter(str(self.run_dir / "tb")) if self.dist.main else None
        self.val_fixed = self._fixed_val_batch()

    # ------------------------------------------------------------------ set-up helpers

    def _init_from(self, path: str, freeze: str) -> None:
        src, meta = ckpt.load_model(path)
        if meta["model_config"] != json.loads(json.dumps(to_dict(self.cfg.model))):
            raise ValueError(f"init_from {path} has model config {meta['model_config']}, this run has "
                             f"{to_dict(self.cfg.model)}: set --model.* to match the checkpoint")
        self.model.load_state_dict(src.state_dict())
        if freeze == "encoder":
            for part in (self.model.stem, self.model.down):
                for p in part.parameters():
                    p.requires_grad_(False)

    def _resume(self) -> None:
        last = ckpt.latest_valid(self.run_dir, log=self.log)
        if last is None:
            self.log(f"no checkpoint in {self.run_dir} to resume from; starting fresh")
            return
        model, meta = ckpt.load_model(last, map_location=str(self.device))
        if meta["resume_key"] != resume_key(self.cfg):
            raise ValueError(f"{last} was written with another model, data or optimizer config; "
                             f"resume with the run's own config.yaml ({self.run_dir / 'config.yaml'})")
        self.model.load_state_dict(model.state_dict())
        state = ckpt.load_state(last, map_location=str(self.device))
        self.opt.load_state_dict(state["opt"])
        self.scaler.load_state_dict(state["scaler"])
        if self.critic is not None:
            self.critic.load_state_dict(state["critic"])
            self.critic_opt.load_state_dict(state["critic_opt"])
        set_rng_state(state["rng"])
        self.step, self.best, self.bad_vals = meta["step"], meta["best"], meta["bad_vals"]
        self.log(f"resumed from {last} at step {self.step}")

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
        state = {"opt": self.opt.state_dict(), "scaler": self.scaler.state_dict(), "rng": rng_state()}
        if self.critic is not None:
            state |= {"critic": self.critic.state_dict(), "critic_opt": self.critic_opt.state_dict()}
        meta = {"step": self.step, "epoch": self.step // self.steps_per_epoch, "best": self.best,
                "bad_vals": self.bad_vals, "metrics": metrics or {}, "config": to_dict(self.cfg),
                "config_hash": config_hash(self.cfg), "resume_key": resume_key(self.cfg),
                "data_manifest_hash": self.train_ds.manifest_hash,
                "device": str(self.device), "amp": str(self.amp)}
        try:
            path = ckpt.save_checkpoint(self.run_dir / f"step-{self.step:08d}", self.model, self.cfg.model, state, meta)
            if best:
                ckpt.save_checkpoint(self.run_dir / "best", self.model, self.cfg.model, state, meta)
        except OSError as e:  # e.g. ENOSPC: the half-written folder is gone, earlier checkpoints are intact
            last = ckpt.latest_valid(self.run_dir, log=self.log)
            raise RuntimeError(f"could not write the step {self.step} checkpoint ({e.strerror or e}); "
                               f"the last good checkpoint is {last or 'none'}. Free disk space and "
                               f"rerun with --resume.") from None
        ckpt.prune(self.run_dir, self.cfg.train.keep_last)
        return path

    # ------------------------------------------------------------------ the loop

    def fit(self) -> dict:
        t = self.cfg.train
        if self.dist.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(self.cfg, self.run_dir / "config.yaml")
        metrics_file = open(self.run_dir / "metrics.jsonl", "a") if self.dist.main else None
        bar = tqdm(total=t.steps, initial=self.step, desc="train", unit="step",
                   disable=not (t.progress and self.dist.main), dynamic_ncols=True)
        stop_reason, last_val = "finished", {}
        window_t, window_imgs = time.time(), 0
        self.model.train()
        try:
            while self.step < t.steps and stop_reason == "finished":
                epoch, start = divmod(self.step, self.steps_per_epoch)
                for batch in self.loader(epoch, start):
                    watch = (self.step + 1) % t.hist_every == 0
                    loss, extra = self.train_step(self._to_device(batch), watch)
                    window_imgs += t.batch_size
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}")
                    if self.dist.main:
                        row = {"step": self.step, "loss": loss, "lr": lr_at(self.step - 1, self.cfg)}
                        if self.step % t.log_every == 0 or self.step == t.steps:
                            dt = time.time() - window_t
                            row["images_per_s"] = window_imgs / max(dt, 1e-9)
                            self._scalars(row)
                            window_t, window_imgs = time.time(), 0
                        metrics_file.write(json.dumps(row) + "\n")
                        if watch:
                            self._watch(extra)
                        if self.step % t.image_every == 0:
                            self._images()
                    if self.step % t.val_every == 0 or self.step == t.steps:
                        last_val = self.validate()
                        stop_reason = self._after_validation(last_val, metrics_file)
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
            if metrics_file:
                metrics_file.close()
            if self.writer:
                self.writer.close()
        summary = {"steps": self.step, "stop": stop_reason, "best_val_loss": self.best, **last_val}
        self.log(json.dumps(summary))
        return summary

    def _after_validation(self, val: dict, metrics_file) -> str:
        improved = val["val/loss"] < self.best - 1e-6
        if improved:
            self.best, self.bad_vals = val["val/loss"], 0
        else:
            self.bad_vals += 1
        if self.dist.main:
            self._scalars(val)
            metrics_file.write(json.dumps({"step": self.step, **val}) + "\n")
            metrics_file.flush()
            self.save(val, best=improved)
            self.log(f"step {self.step}: val loss {val['val/loss']:.4f}, val PSNR {val['val/psnr']:.2f} dB"
                     + (" (best)" if improved else ""))
        if self.on_validation is not None:
            self.on_validation(self.step, val)
        p = self.cfg.train.early_stop_patience
        return "early stop" if p and self.bad_vals >= p else "finished"

    def _scalars(self, row: dict) -> None:
        names = {"loss": "train/loss", "lr": "lr", "images_per_s": "images_per_s"}
        for k, v in row.items():
            if k != "step":
                self.writer.add_scalar(names.get(k, k), v, self.step)

    def _watch(self, extra: dict) -> None:
        with torch.no_grad(), monitor.ActivationProbe(self.model) as probe:
            b = self._to_device(self.val_fixed)
            self.model(b["x"], b["hint"], b["mask"])
        monitor.log_histograms(self.writer, self.model, probe, self.step)
        for n, v in extra["grad_norms"].items():
            self.writer.add_scalar(f"grad_norm/{n}", v, self.step)
        for n, v in extra["update_ratio"].items():
            self.writer.add_scalar(f"update_ratio/{n}", v, self.step)

    def _images(self) -> None:
        self.model.eval()
        with torch.no_grad():
            b = self._to_device(self.val_fixed)
            pred = self.model(b["x"], b["hint"], b["mask"]).float()
        self.model.train()
        self.writer.add_image("val/grid", monitor.image_grid(self.val_fixed, pred), self.step, dataformats="HWC")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="YAML config: a path or a bundled name (default, tiny)")
    p.add_argument("--resume", action="store_true", help="continue train.run_dir from its newest valid checkpoint")
    p.epilog = ("Any config key can be overridden as --section.key=value, e.g. --train.steps=500 "
                "--optim.lr=1e-3 --model.width=16 --data.root=data/datasets/mine. Unknown keys fail.")
    p.set_defaults(func=run, overrides=[], takes_overrides=True)


def run(args) -> int:
    cfg = load_config(args.config, args.overrides)
    trainer = Trainer(cfg, resume=args.resume)
    if trainer.dist.main:
        print(format_config(cfg))
        print(f"device {trainer.device}, autocast {trainer.amp}, channels_last {trainer.channels_last}, "
              f"{trainer.dist.world} process(es), {len(trainer.train_ds)} train / {len(trainer.val_ds)} val samples")
    try:
        trainer.fit()
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Same as `mangacolor train ...`."""
    from mangacolor.cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
