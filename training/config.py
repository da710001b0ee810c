"""Frozen dataclass configs, loaded from YAML and overridden by dotted keys.

    cfg = load_config("training/configs/default.yaml", ["--train.steps=100", "--model.width=16"])

Unknown keys fail with the closest valid name; every run prints its config in
full and saves it beside its checkpoints.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from training.data.dataset import DataConfig
from training.models import ModelConfig

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 0.0       # max global grad norm; 0 = off
    accum_steps: int = 1         # gradient accumulation: micro-batches per optimizer step
    decay_frac: float = 0.0      # final share of steps with linear decay to 0; 0 = constant LR


@dataclass(frozen=True)
class GANConfig:
    enabled: bool = False        # the seed: start with one loss; turn on when eval says it helps
    loss: str = "lsgan"          # "lsgan" | "hinge"
    weight: float = 0.01         # adversarial weight next to L1
    lr: float = 1e-4
    width: int = 32


@dataclass(frozen=True)
class TrainConfig:
    run_dir: str = "runs/default"
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"          # "auto" | "cpu" | "cuda" | "cuda:1"
    amp: str = "auto"             # "auto" (bf16 on CUDA, off on CPU) | "bf16" | "fp16" | "off"
    channels_last: bool = True    # CUDA only
    batch_size: int = 16          # global batch (split across DDP processes)
    steps: int = 3000             # optimizer steps
    workers: int = 2
    log_every: int = 20
    val_every: int = 250
    val_batches: int = 16         # cap on validation batches per evaluation
    image_every: int = 250
    hist_every: int = 250
    ckpt_every: int = 250
    keep_last: int = 3
    early_stop_patience: int = 0  # validations without improvement before stopping; 0 = off
    teacher: str = ""             # ensemble manifest or checkpoint to distill from (`mangacolor distill`)
    teacher_weight: float = 1.0   # loss = w * L1(student, teacher) + (1 - w) * L1(student, ground truth)
    global_hints_p: float = 0.25  # model.global_hints: share of samples given their target's global hints
    init_from: str = ""           # checkpoint to start from (transfer learning)
    freeze: str = "none"          # "none" | "encoder" (with init_from)
    progress: bool = True


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    gan: GANConfig = field(default_factory=GANConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def check(self) -> "Config":
        """Cross-field checks that fail fast with a message."""
        if self.train.batch_size % self.optim.accum_steps:
            raise ValueError(f"train.batch_size {self.train.batch_size} must be divisible by "
                             f"optim.accum_steps {self.optim.accum_steps}")
        if self.train.freeze not in ("none", "encoder"):
            raise ValueError(f"train.freeze must be 'none' or 'encoder', got {self.train.freeze!r}")
        if self.train.freeze != "none" and not self.train.init_from:
            raise ValueError("train.freeze needs train.init_from (a checkpoint to transfer from)")
        if self.train.amp not in ("auto", "bf16", "fp16", "off"):
            raise ValueError(f"train.amp must be auto, bf16, fp16 or off, got {self.train.amp!r}")
        if self.gan.loss not in ("lsgan", "hinge"):
            raise ValueError(f"gan.loss must be lsgan or hinge, got {self.gan.loss!r}")
        if abs(sum(self.data.kind_probs) - 1) > 1e-6:
            raise ValueError(f"data.kind_probs {self.data.kind_probs} must add up to 1")
        if self.data.repeat < 1:
            raise ValueError(f"data.repeat must be at least 1 (1: every image once), got {self.data.repeat}")
        min_side = 2 ** self.model.depth
        if min(self.data.crop) < min_side:
            raise ValueError(f"data.crop {self.data.crop} is smaller than the {min_side} px "
                             f"a depth-{self.model.depth} U-Net needs")
        return self


def _coerce(tp, value, path: str):
    """Turn YAML / command-line values into the field's declared type."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{path} must be a mapping")
        return from_dict(tp, value, path)
    if origin is tuple:
        args = typing.get_args(tp)
        if isinstance(value, str):
            value = yaml.safe_load(f"[{value}]" if not value.startswith("[") else value)
        value = list(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, path) for v in value)
        if len(value) != len(args):
            raise ValueError(f"{path} needs {len(args)} values, got {value}")
        return tuple(_coerce(a, v, path) for a, v in zip(args, value))
    if origin in (typing.Union, types.UnionType):
        return value
    if tp is bool:
        if isinstance(value, str):
            if value.lower() in ("true", "1", "yes", "on"):
                return True
            if value.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError(f"{path} must be true or false, got {value!r}")
        return bool(value)
    if tp in (int, float, str):
        try:
            v = tp(value)
        except (TypeError, ValueError):
            raise ValueError(f"{path} must be {tp.__name__}, got {value!r}") from None
        if tp is int and isinstance(value, float) and v != value:
            raise ValueError(f"{path} must be an integer, got {value!r}")
        return v
    return value


def from_dict(cls, data: dict, path: str = ""):
    """Build dataclass `cls` from a nested dict; unknown keys raise with a suggestion."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {'.'.join(filter(None, [path, close[0]]))!r}?" if close else ""
            raise ValueError(f"unknown config key {where!r}{hint}")
        kwargs[key] = _coerce(hints[key], value, where)
    return cls(**kwargs)


def to_dict(cfg) -> dict:
    """Plain nested dict (tuples become lists) for YAML, JSON and checkpoints."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _set_dotted(d: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise ValueError(f"cannot set {dotted}: {k} is not a section")
    d[keys[-1]] = value


def parse_overrides(items: list[str]) -> dict:
    """['--train.steps=100', 'model.width=16'] -> nested dict of YAML-parsed values."""
    out: dict = {}
    for item in items:
        s = item[2:] if item.startswith("--") else item
        if "=" not in s:
            raise ValueError(f"override {item!r} must look like --section.key=value")
        key, raw = s.split("=", 1)
        _set_dotted(out, key, yaml.safe_load(raw) if raw else "")
    return out


def _merge(base: dict, new: dict) -> dict:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v
    return base


def resolve_config_path(name: str | Path) -> Path:
    """A path, or the name of a file in training/configs/ ('default', 'tiny.yaml')."""
    p = Path(name)
    if p.is_file():
        return p
    for cand in (CONFIG_DIR / p.name, CONFIG_DIR / f"{p.name}.yaml"):
        if cand.is_file():
            return cand
    known = ", ".join(sorted(c.stem for c in CONFIG_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"config {name} not found (bundled configs: {known})")


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> Config:
    """YAML file (or bundled config name) + dotted overrides -> checked Config."""
    data = yaml.safe_load(resolve_config_path(path).read_text()) or {} if path else {}
    data = _merge(data, parse_overrides(overrides or []))
    return from_dict(Config, data).check()


def config_hash(cfg) -> str:
    """Short stable hash of a config (recorded in checkpoints and exported models)."""
    return hashlib.sha256(json.dumps(to_dict(cfg), sort_keys=True).encode()).hexdigest()[:16]


def resume_key(cfg: Config) -> str:
    """What must not change across a resume: model, data, optimizer, GAN, seed and batch.
    Step count, intervals, workers and progress may change (e.g. to train longer)."""
    d = to_dict(cfg)
    d["train"] = {k: d["train"][k] for k in ("seed", "batch_size")}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def save_config(cfg, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))


def format_config(cfg) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False).rstrip()
