"""`mangacolor data fetch`: bring public illustration sets in from the package registries.

- openmoji: `npm pack openmoji@OPENMOJI_VERSION` (CC BY-SA 4.0). Each emoji has a colour SVG and a
  black line-art SVG drawn by hand: real pairs. Both are rasterized with resvg.
- openclipart: Debian's `openclipart-png` (public domain), colour clip art;
  line art and manga pages are synthesized from it by the loader.
- wesnoth, naev, flare, dicebear: character art (painted portraits, drawn faces);
  see fetch_art.py.

Each lands in data/raw/<name>/ with a source.json that the builder and the
dataset card read. Nothing here talks to anything but npm and apt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from .fetch_art import ART_SOURCES, fetch_art

# Pinned, like DiceBear's: an unpinned `npm pack` takes whatever is newest, and a new OpenMoji release moves
# pictures between perceptual-hash groups and so between splits. 17.0.0 has been npm's latest since May 2026: the
# bundled models' data used it.
OPENMOJI_VERSION = "17.0.0"

SOURCES = {
    "openmoji": {
        "name": "openmoji",
        "pairing": "paired",
        "license": "CC BY-SA 4.0",
        "url": "https://openmoji.org (npm package openmoji)",
        "attribution": "OpenMoji, the open-source emoji and icon project. License: CC BY-SA 4.0",
    },
    "openclipart": {
        "name": "openclipart",
        "pairing": "color",
        "license": "Public domain (CC0 / Public Domain Dedication)",
        "url": "https://openclipart.org (Debian package openclipart-png)",
        "attribution": "Open Clip Art Library contributors; per-image authors in the Debian package",
    },
}


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise RuntimeError(f"`{cmd[0]}` is not installed; it is needed to fetch this source") from None
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"`{' '.join(cmd)}` failed:\n{e.stderr.strip()[-2000:]}") from None


def _render_svg(args: tuple[str, str, int]) -> str | None:
    import resvg_py

    src, dst, size = args
    try:
        png = resvg_py.svg_to_bytes(svg_path=src, width=size, height=size, skip_system_fonts=True)
        Path(dst).write_bytes(bytes(png))
        return None
    except Exception as e:  # one broken SVG must not stop the fetch
        return f"{src}: {e}"


def fetch_openmoji(dest: Path, size: int = 512, workers: int = 2) -> int:
    """npm pack openmoji (pinned); rasterize color/ and black/ SVGs into dest/color and dest/line."""
    with tempfile.TemporaryDirectory() as tmp:
        _run(["npm", "pack", f"openmoji@{OPENMOJI_VERSION}", "--silent"], Path(tmp))
        tgz = next(Path(tmp).glob("openmoji-*.tgz"))
        version = tgz.stem.split("-", 1)[1]
        with tarfile.open(tgz) as tf:
            tf.extractall(tmp, filter="data")
        pkg = Path(tmp) / "package"
        jobs = []
        for sub, out in (("color", "color"), ("black", "line")):
            (dest / out).mkdir(parents=True, exist_ok=True)
            for svg in sorted((pkg / sub / "svg").glob("*.svg")):
                jobs.append((str(svg), str(dest / out / (svg.stem + ".png")), size))
        with ProcessPoolExecutor(workers) as pool:
            errors = [e for e in tqdm(pool.map(_render_svg, jobs, chunksize=32), total=len(jobs),
                                      desc="rasterizing openmoji", unit="svg") if e]
        shutil.copy(pkg / "LICENSE.txt", dest / "LICENSE.txt")
    for e in errors:
        print("skipped", e)
    _write_source(dest, "openmoji", version)
    return len(jobs) - len(errors)


def fetch_openclipart(dest: Path) -> int:
    """apt-get download openclipart-png; unpack its PNGs into dest/ (category folders kept)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _run(["apt-get", "download", "openclipart-png"], Path(tmp))
        except RuntimeError:  # fresh machines have no package lists yet
            _run(["apt-get", "update", "-qq"], Path(tmp))
            _run(["apt-get", "download", "openclipart-png"], Path(tmp))
        deb = next(Path(tmp).glob("openclipart-png*.deb"))
        version = deb.name.split("_")[1]
        _run(["dpkg-deb", "-x", str(deb), "x"], Path(tmp))
        root = Path(tmp) / "x/usr/share/openclipart/png"
        files = sorted(root.rglob("*.png"))
        for p in tqdm(files, desc="unpacking openclipart", unit="png"):
            out = dest / p.relative_to(root)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, out)
        copyright_file = Path(tmp) / "x/usr/share/doc/openclipart-png/copyright"
        if copyright_file.is_file():
            shutil.copy(copyright_file, dest / "COPYRIGHT.txt")
    _write_source(dest, "openclipart", version)
    return len(files)


def _write_source(dest: Path, name: str, version: str) -> None:
    meta = SOURCES[name] | {"version": version}
    (dest / "source.json").write_text(json.dumps(meta, indent=1))


def fetch(name: str, raw_dir: str | Path = "data/raw") -> Path:
    """Fetch a named public source into raw_dir/<name>; returns its folder."""
    if name not in SOURCES and name not in ART_SOURCES:
        raise ValueError(f"unknown source {name!r}; choose from {sorted(SOURCES | ART_SOURCES)}")
    dest = Path(raw_dir) / name
    dest.mkdir(parents=True, exist_ok=True)
    if name in ART_SOURCES:
        n = fetch_art(name, dest)
    else:
        n = fetch_openmoji(dest) if name == "openmoji" else fetch_openclipart(dest)
    print(f"{name}: {n} files in {dest}")
    return dest
