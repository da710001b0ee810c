"""A training run's checkpoints: save, resume, and start from another run's weights.

The checkpoint format itself (atomic folders, hashes, safetensors) is training/checkpoint.py;
this module decides what a Trainer puts in them and takes back out.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from training import checkpoint as ckpt
from training.config import config_hash, resume_key, to_dict
from training.setup import rng_state, set_rng_state

# the colour head's decoding, tuned after training (`mangacolor temperature`): not part of the weights
DECODING = ("temperature", "gray_gain", "gray_shadow")


def architecture(model_config: dict) -> dict:
    """A model config without its decoding: what two checkpoints must share to swap weights."""
    return {k: v for k, v in model_config.items() if k not in DECODING}


def init_from(model: torch.nn.Module, cfg, path: str, freeze: str) -> None:
    """Load another checkpoint's weights (same model config but for its decoding); freeze="encoder" fixes
    stem and down path."""
    src, meta = ckpt.load_model(path)
    if architecture(meta["model_config"]) != architecture(json.loads(json.dumps(to_dict(cfg.model)))):
        raise ValueError(f"init_from {path} has model config {meta['model_config']}, this run has "
                         f"{to_dict(cfg.model)}: set --model.* to match the checkpoint")
    model.load_state_dict(src.state_dict())
    if freeze == "encoder":
        for part in (model.stem, model.down):
            for p in part.parameters():
                p.requires_grad_(False)


def resume(tr) -> None:
    """Continue `tr` (a Trainer) from the newest valid checkpoint of its run folder, bit-exactly."""
    last = ckpt.latest_valid(tr.run_dir, log=tr.log)
    if last is None:
        tr.log(f"no checkpoint in {tr.run_dir} to resume from; starting fresh")
        return
    model, meta = ckpt.load_model(last, map_location=str(tr.device))
    if meta["resume_key"] != resume_key(tr.cfg):
        raise ValueError(f"{last} was written with another model, data or optimizer config; "
                         f"resume with the run's own config.yaml ({tr.run_dir / 'config.yaml'})")
    tr.model.load_state_dict(model.state_dict())
    state = ckpt.load_state(last, map_location=str(tr.device))
    tr.opt.load_state_dict(state["opt"])
    tr.scaler.load_state_dict(state["scaler"])
    if tr.critic is not None:
        tr.critic.load_state_dict(state["critic"])
        tr.critic_opt.load_state_dict(state["critic_opt"])
    set_rng_state(state["rng"])
    tr.step, tr.best, tr.bad_vals = meta["step"], meta["best"], meta["bad_vals"]
    tr.log(f"resumed from {last} at step {tr.step}")


def device_name(device: torch.device) -> str:
    """'cpu', or 'cuda (NVIDIA H100 80GB HBM3)': what the model card says a model was trained on."""
    return f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else str(device)


def save(tr, metrics: dict | None = None, best: bool = False) -> Path:
    """Write step-NNNNNNNN/ (and best/ when `best`), then prune to train.keep_last."""
    state = {"opt": tr.opt.state_dict(), "scaler": tr.scaler.state_dict(), "rng": rng_state()}
    if tr.critic is not None:
        state |= {"critic": tr.critic.state_dict(), "critic_opt": tr.critic_opt.state_dict()}
    meta = {"step": tr.step, "epoch": tr.step // tr.steps_per_epoch, "best": tr.best,
            "bad_vals": tr.bad_vals, "metrics": metrics or {}, "config": to_dict(tr.cfg),
            "config_hash": config_hash(tr.cfg), "resume_key": resume_key(tr.cfg),
            "data_manifest_hash": tr.train_ds.manifest_hash,
            "device": device_name(tr.device), "amp": str(tr.amp)}
    try:
        path = ckpt.save_checkpoint(tr.run_dir / f"step-{tr.step:08d}", tr.model, tr.cfg.model, state, meta)
        if best:
            ckpt.save_checkpoint(tr.run_dir / "best", tr.model, tr.cfg.model, state, meta)
    except OSError as e:  # e.g. ENOSPC: the half-written folder is gone, earlier checkpoints are intact
        last = ckpt.latest_valid(tr.run_dir, log=tr.log)
        raise RuntimeError(f"could not write the step {tr.step} checkpoint ({e.strerror or e}); "
                           f"the last good checkpoint is {last or 'none'}. Free disk space and "
                           f"rerun with --resume.") from None
    ckpt.prune(tr.run_dir, tr.cfg.train.keep_last)
    return path
