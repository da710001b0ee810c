"""Self-describing, atomically written checkpoints.

A checkpoint is a folder:
    model.safetensors  weights (no pickle), the model config in its metadata
    state.pt           optimizer / scaler / critic / RNG states (loaded with weights_only=True)
    meta.json          step, epoch, configs, data manifest hash, code version, metrics,
                       and the sha256 of the two files above, so corruption is detected

It is written into `<name>.tmp/` and renamed into place: a crash mid-write never
leaves a half checkpoint under a real name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

import mangacolor
from training.models import ModelConfig, build_generator

CKPT_RE = re.compile(r"^step-(\d{8})$")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated or does not match its recorded hashes."""


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{mangacolor.__version__}+{rev}" if rev else mangacolor.__version__


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(dest: Path, model: torch.nn.Module, model_cfg: ModelConfig, state: dict, meta: dict) -> Path:
    """Write a checkpoint folder atomically; returns its path."""
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        cfg_json = json.dumps(_model_cfg_dict(model_cfg))
        save_file(weights, tmp / "model.safetensors", metadata={"model_config": cfg_json})
        torch.save(state, tmp / "state.pt")
        meta = dict(meta, model_config=_model_cfg_dict(model_cfg), code_version=code_version(),
                    files={f: _sha256(tmp / f) for f in ("model.safetensors", "state.pt")})
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        old = dest.with_name(dest.name + ".old")
        if dest.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # e.g. disk full: the previous checkpoint stays
        raise
    return dest


def _model_cfg_dict(cfg: ModelConfig) -> dict:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(cfg)))


def verify(path: Path) -> dict:
    """Read meta.json and check both files against their hashes; raises CheckpointError."""
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
        for name, digest in meta["files"].items():
            if _sha256(path / name) != digest:
                raise CheckpointError(f"{path / name} does not match its recorded sha256 (corrupted or truncated)")
    except (OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path} is not a readable checkpoint: {e}") from None
    return meta


def load_model(path: str | Path, map_location: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the generator from a checkpoint folder (config from the checkpoint, never from flags)."""
    path = Path(path)
    meta = verify(path)
    model = build_generator(ModelConfig(**{k: tuple(v) if isinstance(v, list) else v
                                           for k, v in meta["model_config"].items()}))
    model.load_state_dict(load_file(path / "model.safetensors", device=map_location))
    return model, meta


def load_state(path: Path, map_location: str = "cpu") -> dict:
    """Optimizer/scaler/RNG state; weights_only=True refuses anything that is not plain data."""
    return torch.load(Path(path) / "state.pt", map_location=map_location, weights_only=True)


def list_checkpoints(run_dir: Path) -> list[Path]:
    """step-NNNNNNNN folders of a run, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    return sorted(p for p in run_dir.iterdir() if p.is_dir() and CKPT_RE.match(p.name))


def latest_valid(run_dir: Path, log=print) -> Path | None:
    """Newest checkpoint whose files match their hashes; corrupted ones are reported and skipped."""
    for p in reversed(list_checkpoints(run_dir)):
        try:
            verify(p)
            return p
        except CheckpointError as e:
            log(f"skipping checkpoint: {e}")
    return None


def prune(run_dir: Path, keep_last: int) -> None:
    """Delete all but the newest `keep_last` step checkpoints (`best/` is separate and kept)."""
    for p in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(p, ignore_errors=True)
