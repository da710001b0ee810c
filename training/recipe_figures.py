"""The recipe's report figures: training curves from TensorBoard events, and a before/after strip."""

from __future__ import annotations

from pathlib import Path


def curves_png(run_dirs: dict[str, Path], dest: Path) -> None:
    """TensorBoard scalars (train loss, val loss, val PSNR) of each run drawn as PNG curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = ("train/loss", "val/loss", "val/psnr")
    fig, axes = plt.subplots(1, len(tags), figsize=(15, 4))
    for name, run in run_dirs.items():
        ea = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
        ea.Reload()
        for ax, tag in zip(axes, tags):
            if tag in ea.Tags()["scalars"]:
                ev = ea.Scalars(tag)
                ax.plot([e.step for e in ev], [e.value for e in ev], label=name)
    for ax, tag in zip(axes, tags):
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
