"""`mangacolor train CONFIG [--section.key=value ...]`: the command line of training/train.py."""

from __future__ import annotations

import argparse
import sys

import torch.distributed as dist

from training.config import format_config, load_config
from training.train import Trainer, TrainingDiverged


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
