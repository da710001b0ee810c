"""The recipe's report figures: training curves from the runs' metrics.jsonl, and a before/after strip."""

from __future__ import annotations

import json
from pathlib import Path


def curves_png(run_dirs: dict[str, Path], dest: Path) -> None:
    """Train loss, val loss and val PSNR of each run drawn as PNG curves, from the run's metrics.jsonl (the trainer's
    own record: lighter than its TensorBoard folder, which holds images and may stay on the machine that trained)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tags = {"loss": "train/loss", "val/loss": "val/loss", "val/psnr": "val/psnr"}
    fig, axes = plt.subplots(1, len(tags), figsize=(15, 4))
    for name, run in run_dirs.items():
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        for ax, key in zip(axes, tags):
            pts = [(r["step"], r[key]) for r in rows if key in r]
            if key == "loss":  # logged every step: the mean of each 50 steps, at the last step of the 50
                chunks = [pts[i:i + 50] for i in range(0, len(pts), 50)]
                pts = [(c[-1][0], sum(v for _, v in c) / len(c)) for c in chunks]
            if pts:
                ax.plot(*zip(*pts), label=name)
    for ax, tag in zip(axes, tags.values()):
        ax.set_title(tag)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(dest, dpi=90)
    plt.close(fig)


def before_after(model_dir: Path, data: str, dest: Path, n: int = 3) -> None:
    """page | coloured | original, for n OpenClipart (public domain) test images, one input kind each."""
    import numpy as np
    from PIL import Image

    from serving.inference import Colorizer
    from training.data.build import load_manifest
    from training.evaluate.run import make_page, resize_long

    manifest = load_manifest(data)
    from mangacolor.color import chroma

    def colourful(r) -> bool:  # skip near-gray pictures and the odd placeholder graphic
        rgb = np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB").resize((64, 64)))
        return float((chroma(rgb) > 15).mean()) > 0.3

    items = [r for r in manifest["items"] if r["split"] == "test" and r["source"] == "openclipart" and colourful(r)][:n]
    col = Colorizer.load(model_dir, device="cpu")
    rows = []
    for i, (r, kind) in enumerate(zip(items, ("lineart", "screentone", "grayscale"))):
        target = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB")), 320)
        page = make_page(target, None, kind, np.random.default_rng(i))
        out = col.colorize(page, kind).image
        h, w = target.shape[:2]
        row = np.full((330, 3 * 330, 3), 255, np.uint8)
        for j, im in enumerate((page, out, target)):
            row[:h, j * 330: j * 330 + w] = im
        rows.append(row)
    Image.fromarray(np.concatenate(rows)).save(dest)
    (dest.with_suffix(".txt")).write_text("Images: OpenClipart (public domain), test split: " +
                                          ", ".join(r["id"] for r in items) + ". Columns: page, coloured, original.\n")
