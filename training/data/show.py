"""`mangacolor data show`: what enters the network, decoded back from the tensors.

The seed's advice: visualize right before the net. The contact sheet is drawn
from the very batch a DataLoader yields, so a bug in cropping, colour space or
hint encoding shows up here before it costs a training run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mangacolor.color import net_to_rgb, to_uint8
from mangacolor.contract import KINDS


def decode_sample(x: np.ndarray, hint: np.ndarray, mask: np.ndarray, target: np.ndarray) -> list[np.ndarray]:
    """Tensors of one sample -> [input, hints over the input, mask, target] as (H, W, 3) uint8."""
    gray = np.repeat(to_uint8(x[0])[..., None], 3, axis=2)
    hint_rgb = net_to_rgb(hint)
    over = (gray * 0.35 + 160).astype(np.uint8)  # faded input so hints stand out
    m = mask[0] > 0
    over[m] = hint_rgb[m]
    mask_rgb = np.repeat(to_uint8(mask[0])[..., None], 3, axis=2)
    return [gray, over, mask_rgb, net_to_rgb(target)]


def contact_sheet(batch: dict, pad: int = 4) -> Image.Image:
    """A grid: one row per sample, columns input | hints | mask | target, kind labelled."""
    rows = []
    n = batch["x"].shape[0]
    for i in range(n):
        tiles = decode_sample(*(batch[k][i].numpy() for k in ("x", "hint", "mask", "target")))
        h, w = tiles[0].shape[:2]
        row = np.full((h + 2 * pad, len(tiles) * (w + pad) + pad, 3), 255, np.uint8)
        for j, t in enumerate(tiles):
            row[pad:pad + h, pad + j * (w + pad): pad + j * (w + pad) + w] = t
        rows.append(row)
    sheet = Image.fromarray(np.concatenate(rows, axis=0))
    draw = ImageDraw.Draw(sheet)
    h = batch["x"].shape[2] + 2 * pad
    for i in range(n):
        n_hint = int(batch["mask"][i].sum())
        draw.text((pad + 2, i * h + pad + 2), f"{KINDS[int(batch['kind'][i])]} | hint px {n_hint}", fill=(220, 0, 0))
    return sheet


def histogram(batch: dict, path: Path) -> None:
    """Histogram of the values of every input and target plane, to catch scale bugs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    planes = {
        "x (gray input)": batch["x"].numpy().ravel(),
        "hint L (masked)": batch["hint"][:, 0][batch["mask"][:, 0] > 0].numpy(),
        "hint a,b (masked)": batch["hint"][:, 1:][batch["mask"][:, 0:1].expand(-1, 2, -1, -1) > 0].numpy(),
        "target L": batch["target"][:, 0].numpy().ravel(),
        "target a,b": batch["target"][:, 1:].numpy().ravel(),
    }
    fig, axes = plt.subplots(1, len(planes), figsize=(4 * len(planes), 3))
    for ax, (name, v) in zip(axes, planes.items()):
        if v.size:
            ax.hist(v, bins=50)
            ax.set_title(f"{name}\nmin {v.min():.2f} max {v.max():.2f} mean {v.mean():.2f}", fontsize=8)
        else:
            ax.set_title(f"{name}\n(empty)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def show(root: str, split: str, out: str, n: int = 8, seed: int = 0, crop: tuple[int, int] = (256, 256)) -> list[Path]:
    """Write a contact sheet and a value histogram of one batch; returns the two paths."""
    from .dataset import ColorizationDataset, DataConfig, make_loader

    ds = ColorizationDataset(DataConfig(root=root, crop=crop), split, seed=seed)
    batch = next(iter(make_loader(ds, batch_size=min(n, len(ds)), shuffle=True, seed=seed, drop_last=False)))
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    contact_sheet(batch).save(out_path)
    hist_path = out_path.with_name(out_path.stem + "_hist.png")
    histogram(batch, hist_path)
    return [out_path, hist_path]
