"""The recipe's report figures: training curves from the runs' metrics.jsonl, and a before/after of test portraits."""

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


# Flare's portraits are CC BY-SA 3.0+, which lets the README show them with credit; the product's main case is a
# painted character made gray, so that is what the figure shows, from the test split (never trained or tuned on).
FIGURE_SOURCES = ("flare",)


def before_after(model_dir: Path, data: str, dest: Path, n: int = 3, sources: tuple[str, ...] = FIGURE_SOURCES,
                 hints: int = 8) -> None:
    """page | no hints | `hints` hints (marked) | original, for up to n test-split pictures of `sources` made gray,
    coloured by the fast model through the product's pipeline; dest.txt names them and their licences."""
    import numpy as np
    from PIL import Image, ImageDraw

    from serving.inference import Colorizer
    from training.data.build import load_manifest
    from training.data.hint_sampling import HintSamplerConfig, sample_n_hints
    from training.evaluate.run import make_page, resize_long

    manifest = load_manifest(data)
    items = [r for r in manifest["items"] if r["split"] == "test" and r["source"] in sources][:n]
    if not items:
        raise ValueError(f"the test split of {data} has no pictures from {sources}")
    col, cell = Colorizer.load(model_dir, device="cpu"), 330
    rows = []
    for i, r in enumerate(items):
        target = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB")), cell - 10)
        page = make_page(target, None, "grayscale", np.random.default_rng(i))
        given = sample_n_hints(target, hints, np.random.default_rng([i, 7]), HintSamplerConfig(p_stroke=0.0))
        hinted = Image.fromarray(col.colorize(page, "grayscale", given).image)
        draw = ImageDraw.Draw(hinted)
        for hint in given:  # where each hint was, in its colour, ringed so that it shows on any ground
            x, y = hint.x, hint.y
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=tuple(hint.color), outline=(0, 0, 0))
            draw.ellipse((x - 5, y - 5, x + 5, y + 5), outline=(255, 255, 255))
        h, w = target.shape[:2]
        row = np.full((cell, 4 * cell, 3), 255, np.uint8)
        for j, im in enumerate((page, col.colorize(page, "grayscale").image, np.asarray(hinted), target)):
            row[:h, j * cell: j * cell + w] = im
        rows.append(row)
    Image.fromarray(np.concatenate(rows)).save(dest)
    credit = {s["name"]: s["license"] + (f", {s['attribution']}" if s.get("attribution") else "")
              for s in manifest["sources"]}  # CC BY-SA asks for the authors' names beside the licence
    used = sorted({r["source"] for r in items})
    dest.with_suffix(".txt").write_text(
        "Test-split pictures made gray: " + ", ".join(r["id"] for r in items) + " ("
        + "; ".join(f"{s}: {credit.get(s, 'unknown')}" for s in used) + "). Columns: page, coloured with no hints, "
        f"coloured with {hints} hints sampled from the original (marked), original. Model: {Path(model_dir).name}.\n")
