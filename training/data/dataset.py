"""PyTorch Dataset and DataLoader over a built dataset.

Each sample is what the network receives, plus its target:
    x      (1, H, W) float32  line art / grayscale / screentone page, 1 = paper
    hint   (3, H, W) float32  normalised Lab hint colour * mask
    mask   (1, H, W) float32  1 where a hint was drawn (0.5 where it was spread, with hint_fill)
    target (3, H, W) float32  normalised Lab of the colour picture
    kind   ()        int64    index into mangacolor.compose.KINDS

Randomness comes from a generator seeded by (seed, epoch, index), never from
global state, so a sample is the same whichever worker makes it, and a resumed
run sees the same data. Validation and test ignore the epoch: fixed crops and hints.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from mangacolor.color import rgb_to_net, to_gray
from mangacolor.contract import KINDS
from mangacolor.hints import rasterize
from mangacolor.regions import fill_hints

from .build import load_manifest
from .hint_sampling import HintSamplerConfig, sample_hints
from .lineart import random_lineart
from .screentone import random_manga_page


@dataclass(frozen=True)
class DataConfig:
    root: str = "data/datasets/default"
    crop: tuple[int, int] = (256, 256)          # (H, W) of training samples
    scale: tuple[float, float] = (0.8, 1.5)     # long side of the picture, in crop long sides
    kind_probs: tuple[float, float, float] = (0.5, 0.25, 0.25)  # lineart, grayscale, screentone
    p_real_line: float = 0.7                    # use real paired line art when an item has it
    tone_supersample: tuple[float, float] = (1.0, 3.0)  # screentone drawn this much larger, then shrunk
    hints: HintSamplerConfig = field(default_factory=HintSamplerConfig)
    hint_fill: bool = False                     # also spread each hint over its line-closed region (mangacolor.regions)
    # oversampling: the training split lists the images of these sources `repeat` times (the default dataset's
    # painted portraits are 5% of its images but the closest to the characters users colour)
    repeat_sources: tuple[str, ...] = ()
    repeat: int = 1


def _resize(rgb: np.ndarray, hw: tuple[int, int], resample=Image.BICUBIC) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((hw[1], hw[0]), resample))


def _pad_white(rgb: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = rgb.shape[:2]
    ph, pw = max(0, hw[0] - h), max(0, hw[1] - w)
    if ph or pw:
        rgb = np.pad(rgb, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), constant_values=255)
    return rgb


def crop_pair(color: np.ndarray, line: np.ndarray | None, cfg: DataConfig, rng: np.random.Generator):
    """Random scale, crop and flip, drawn once and applied identically to colour and line art."""
    ch, cw = cfg.crop
    h, w = color.shape[:2]
    s = rng.uniform(*cfg.scale) * max(ch, cw) / max(h, w)
    size = (max(1, round(h * s)), max(1, round(w * s)))
    color = _pad_white(_resize(color, size), cfg.crop)
    if line is not None:
        line = _pad_white(_resize(line, size), cfg.crop)
    y = int(rng.integers(0, color.shape[0] - ch + 1))
    x = int(rng.integers(0, color.shape[1] - cw + 1))
    flip = rng.random() < 0.5
    out = []
    for im in (color, line):
        if im is not None:
            im = im[y:y + ch, x:x + cw]
            im = np.ascontiguousarray(im[:, ::-1] if flip else im)
        out.append(im)
    return out[0], out[1]


def make_input(color: np.ndarray, line: np.ndarray | None, kind: str, cfg: DataConfig, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 colour crop -> (H, W) float32 network input of the given kind."""
    if kind == "lineart":
        if line is not None and rng.random() < cfg.p_real_line:
            return to_gray(line)
        return random_lineart(color, rng)
    # manga pages: drawn larger, then area-shrunk as the runtime shrinks a real page
    s = rng.uniform(*cfg.tone_supersample) if kind == "screentone" else 1.0
    big = _resize(color, (round(color.shape[0] * s), round(color.shape[1] * s))) if s > 1.05 else color
    page = random_manga_page(big, rng, screentone=kind == "screentone")
    if page.shape != color.shape[:2]:
        page = np.asarray(Image.fromarray(page).resize((color.shape[1], color.shape[0]), Image.BOX))
    return page.astype(np.float32)


class ColorizationDataset(Dataset):
    """Samples of one split of a built dataset; see the module docstring for the contract."""

    def __init__(self, cfg: DataConfig, split: str, seed: int = 0, fixed: bool | None = None):
        manifest = load_manifest(cfg.root)
        self.root = Path(manifest["root"])
        self.items = [r for r in manifest["items"] if r["split"] == split]
        if not self.items:
            raise ValueError(f"split {split!r} of {cfg.root} is empty")
        if split == "train" and cfg.repeat > 1:
            self.items += [r for r in self.items if r.get("source") in cfg.repeat_sources] * (cfg.repeat - 1)
        self.manifest_hash = manifest["hash"]
        self.cfg, self.split, self.seed = cfg, split, seed
        self.fixed = split != "train" if fixed is None else fixed  # val/test: same crops every epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 0 if self.fixed else self.epoch + 1, index])

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        r = self.items[index]
        color = np.asarray(Image.open(self.root / r["color"]).convert("RGB"))
        line = np.asarray(Image.open(self.root / r["line"]).convert("RGB")) if r["line"] else None
        return color, line

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self.rng(index)
        color, line = crop_pair(*self.load(index), self.cfg, rng)
        kind = int(rng.choice(len(KINDS), p=self.cfg.kind_probs))
        x = make_input(color, line, KINDS[kind], self.cfg, rng)
        hints = sample_hints(color, rng, self.cfg.hints)
        hint, mask = rasterize(hints, (color.shape[1], color.shape[0]), (color.shape[1], color.shape[0]))
        if self.cfg.hint_fill:
            hint, mask = fill_hints(x[None], hint, mask)
        return {
            "x": torch.from_numpy(x[None]),
            "hint": torch.from_numpy(hint),
            "mask": torch.from_numpy(mask),
            "target": torch.from_numpy(rgb_to_net(color)),
            "kind": torch.tensor(kind, dtype=torch.int64),
        }


def seed_worker(worker_id: int) -> None:
    """Seed python, numpy and torch in a loader worker from torch's per-worker seed."""
    s = torch.initial_seed() % 2**32
    random.seed(s)
    np.random.seed(s)


def make_loader(ds: ColorizationDataset, batch_size: int, workers: int = 0, shuffle: bool | None = None,
                seed: int = 0, drop_last: bool | None = None) -> DataLoader:
    """A DataLoader whose order depends only on `seed` and the epoch set on the dataset."""
    shuffle = ds.split == "train" if shuffle is None else shuffle
    g = torch.Generator()
    g.manual_seed(seed)
    return DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        worker_init_fn=seed_worker,
        generator=g,
        drop_last=shuffle if drop_last is None else drop_last,
        persistent_workers=False,
    )
