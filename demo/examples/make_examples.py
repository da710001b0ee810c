"""Make the demo's example pages: python demo/examples/make_examples.py

figure.png and panels.png are line art drawn here (project-made, MIT). character.png is a painted
character made gray, the product's main case: Flare's portrait female12 (CC BY-SA 3.0+, see
LICENSE.md), in the test split of the dataset `make train-default` builds, so the demo shows a page the models
never trained on. It needs the raw Flare portraits: `mangacolor data fetch flare` first.
"""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent
FLARE_PORTRAIT = Path("data/raw/flare/flare-game/portraits/female12.png")


def figure(w: int = 420, h: int = 600) -> Image.Image:
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.ellipse([140, 60, 280, 200], outline="black", width=4)  # head
    d.arc([175, 120, 245, 170], 20, 160, fill="black", width=3)  # smile
    d.ellipse([180, 105, 195, 120], fill="black")
    d.ellipse([225, 105, 240, 120], fill="black")
    d.polygon([(130, 230), (290, 230), (330, 470), (90, 470)], outline="black", width=4)  # dress
    d.line([(130, 240), (60, 380)], fill="black", width=4)
    d.line([(290, 240), (360, 380)], fill="black", width=4)
    d.line([(170, 470), (170, 570)], fill="black", width=4)
    d.line([(250, 470), (250, 570)], fill="black", width=4)
    d.rectangle([10, 10, w - 10, h - 10], outline="black", width=5)
    return im


def panels(w: int = 600, h: int = 420) -> Image.Image:
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([10, 10, 290, 200], outline="black", width=5)
    d.rectangle([310, 10, 590, 200], outline="black", width=5)
    d.rectangle([10, 220, 590, 410], outline="black", width=5)
    d.ellipse([60, 50, 240, 170], outline="black", width=4)
    d.polygon([(350, 180), (450, 40), (550, 180)], outline="black", width=4)
    d.rectangle([60, 300, 540, 380], outline="black", width=4)
    d.ellipse([100, 250, 160, 310], outline="black", width=4)
    return im


def portrait(path: Path = FLARE_PORTRAIT) -> Image.Image:
    """The painted portrait (RGBA, 320 x 320) on white paper, in gray (8-bit L)."""
    rgba = Image.open(path).convert("RGBA")
    paper = Image.new("RGBA", rgba.size, "white")
    paper.alpha_composite(rgba)
    return paper.convert("L")


if __name__ == "__main__":
    figure().save(HERE / "figure.png")
    panels().save(HERE / "panels.png")
    if FLARE_PORTRAIT.exists():
        portrait().save(HERE / "character.png", optimize=True)
    else:
        print(f"{FLARE_PORTRAIT} is missing (run `mangacolor data fetch flare` first): character.png left as it is")
