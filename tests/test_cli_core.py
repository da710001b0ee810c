"""The core and the serving commands run without torch (a serve-only install, like the Bento)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

# Makes `import torch` fail as it would where only the `serve` extra is installed.
NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch' (serve-only install)")
sys.meta_path.insert(0, NoTorch())
"""


def run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_building_the_parser_and_colorize_help_do_not_import_torch():
    code = """
import sys
from mangacolor import cli
cli.build_parser()
try:
    cli.main(["colorize", "--help"])
except SystemExit:
    pass
print("torch imported:", "torch" in sys.modules)
"""
    r = run(code)
    assert r.returncode == 0, r.stderr
    assert "--refine" in r.stdout and "torch imported: False" in r.stdout


def test_a_serve_only_install_colours_a_page_from_the_cli(tmp_path):
    page = np.full((151, 98, 3), 255, np.uint8)
    page[:, 48:51] = 0                                                   # line art: two regions
    Image.fromarray(page).save(tmp_path / "page.png")
    hints = tmp_path / "hints.json"
    hints.write_text('[{"x": 20, "y": 70, "color": "#d04030", "radius": 4}]')
    code = NO_TORCH + "from mangacolor.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    r = run(code, "colorize", str(tmp_path / "page.png"), "--out", str(tmp_path / "out"), "--model",
            str(ROOT / "models/default"), "--hints", str(hints), "--device", "cpu")
    assert r.returncode == 0, r.stderr + r.stdout
    out = np.asarray(Image.open(tmp_path / "out" / "page.png").convert("RGB"))
    assert out.shape == page.shape
    assert out[70, 20, 0] > out[70, 20, 2] + 60                         # the hint landed, without torch
    r = run(NO_TORCH + "import torch\n")                                 # and the blocker does block
    assert r.returncode != 0 and "serve-only" in r.stderr


def test_the_core_imports_numpy_pillow_and_scipy_only():
    code = """
import importlib, pkgutil, sys
import mangacolor
for m in pkgutil.iter_modules(mangacolor.__path__):
    importlib.import_module("mangacolor." + m.name)
heavy = sorted(n for n in ("torch", "onnxruntime", "bentoml", "gradio", "fastapi", "matplotlib") if n in sys.modules)
print("heavy:", heavy)
"""
    r = run(code)
    assert r.returncode == 0, r.stderr
    assert "heavy: []" in r.stdout, r.stdout
