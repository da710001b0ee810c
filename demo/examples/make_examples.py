"""Draw the demo's example line-art pages (project-made, MIT): python demo/examples/make_examples.py"""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent


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


if __name__ == "__main__":
    figure().save(HERE / "figure.png")
    panels().save(HERE / "panels.png")
