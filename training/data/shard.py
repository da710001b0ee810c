"""`mangacolor data shard`: a small copy of a built dataset that travels to a GPU machine.

A lent GPU machine receives the repository and at most a few tens of MB beside it (the device tool's limit), but
the default dataset is ~330 MB of 512 px PNGs. Training never needs that much: a sample's picture is scaled so
its long side is 0.8-1.5 crop long sides (`DataConfig.scale`), so 192 px crops read at most 288 px of it. The shard
keeps the training split whole and a slice of validation (enough for the trainer's validation batches), each
picture shrunk to `max_side` and stored as lossy WebP, with the manifest rewritten to point at the new files.
Test and characters stay home: evaluation runs on the full-quality dataset.

Item ids, sources, splits and licences are the original dataset's; `manifest["shard"]` records what was done and
the original's hash, and the shard's own hash covers both (the pixels differ from the original's).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from .build import load_manifest


@dataclass(frozen=True)
class ShardConfig:
    data: str = "data/datasets/default"
    out: str = "data/shards/default"
    max_side: int = 256      # long side of stored pictures: 192 px crops read up to 288 px, 128 px crops 192 px
    quality: int = 90        # WebP quality (lossy); 100 with lossless=True keeps pixels exactly
    lossless: bool = False
    val_limit: int = 512     # validation pictures kept (evenly spaced by id); 0: all
    max_mb: float = 60.0     # refuse to write a shard larger than this
    workers: int = 0         # processes, 0 = all cores

    def __post_init__(self):
        if self.max_side < 32 or not 1 <= self.quality <= 100 or self.val_limit < 0 or self.max_mb <= 0:
            raise ValueError(f"shard settings out of range: max_side >= 32, quality in 1..100, val_limit >= 0, "
                             f"max_mb > 0; got {self}")


def select(items: list[dict], val_limit: int) -> list[dict]:
    """The whole training split and `val_limit` validation items spread evenly over their ids."""
    train = [r for r in items if r["split"] == "train"]
    val = sorted((r for r in items if r["split"] == "val"), key=lambda r: r["id"])
    if val_limit and len(val) > val_limit:
        val = [val[i * len(val) // val_limit] for i in range(val_limit)]
    return train + val


def _shrink(job: tuple[Path, Path, ShardConfig]) -> int:
    """Re-encode one picture; returns the bytes written."""
    src, dst, cfg = job
    im = Image.open(src)
    im = im.convert("L" if im.mode in ("L", "1") else "RGB")
    im.thumbnail((cfg.max_side, cfg.max_side), Image.LANCZOS)
    dst.parent.mkdir(parents=True, exist_ok=True)
    im.save(dst, "WEBP", quality=cfg.quality, lossless=cfg.lossless, method=4)
    return dst.stat().st_size


def make_shard(cfg: ShardConfig, progress: bool = True) -> dict:
    """Write the shard at cfg.out; returns its manifest. Raises ValueError when it exceeds cfg.max_mb."""
    src = load_manifest(cfg.data)
    root, out = Path(src["root"]), Path(cfg.out)
    if out.resolve() == root.resolve():
        raise ValueError(f"the shard's folder {out} is the dataset itself: choose another --out")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    items, jobs = [], []
    for r in select(src["items"], cfg.val_limit):
        r = dict(r)
        for k in ("color", "line"):
            if r.get(k):
                new = str(Path(r[k]).with_suffix(".webp"))
                jobs.append((root / r[k], tmp / new, cfg))
                r[k] = new
        items.append(r)
    with ProcessPoolExecutor(cfg.workers or os.cpu_count() or 1) as pool:
        sizes = list(tqdm(pool.map(_shrink, jobs, chunksize=32), total=len(jobs), desc="shard", unit="img",
                          disable=not progress))
    mb = sum(sizes) / 1e6
    if mb > cfg.max_mb:
        shutil.rmtree(tmp)
        raise ValueError(f"the shard would be {mb:.1f} MB, over --max-mb {cfg.max_mb:g}: lower --max-side, "
                         f"--quality or --val-limit")
    shard = asdict(cfg) | {"of": src["hash"], "mb": round(mb, 2)}
    manifest = {k: v for k, v in src.items() if k not in ("root", "items", "hash")}
    manifest |= {"items": items, "shard": shard}
    body = json.dumps([shard, [(r["id"], r["split"]) for r in items]], sort_keys=True)
    manifest["hash"] = hashlib.sha256(body.encode()).hexdigest()
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    for f in ("card.md", "card.json"):  # the sources' licences travel with their pictures
        if (root / f).is_file():
            shutil.copy2(root / f, tmp / f)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return manifest
