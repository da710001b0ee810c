"""Character art from the package registries: painted portraits (Debian) and drawn faces (npm).

- wesnoth: hand-painted unit and hero portraits of Battle for Wesnoth, from
  `wesnoth-1.16-data` and the official campaign packages (GPL-2+).
- naev: painted sci-fi character portraits of Naev, from `naev-data`
  (per-file licences: GPL-3, CC BY-SA 3.0, CC BY 3.0, public domain; see COPYRIGHT.txt).
- flare: painted hero portraits of Flare, from `flare-game` (CC BY-SA 3.0+).
- 0ad: rendered and painted unit and hero portraits of 0 A.D. (soldiers, cavalry, heroes on dark
  grounds, the closest to naev's look), from `0ad-data` (CC BY-SA 3.0, Wildfire Games). They lie as
  DDS textures inside the game's public.zip; ships and siege engines are left out.
- dicebear: seeded avatar faces drawn from illustrators' parts (npm `@dicebear/*`),
  rendered with node and rasterized with resvg. Only colour styles; the
  line-only ones (lorelei, notionists) would be dropped as monochrome.

Only character pictures are kept (portrait folders, faces), never tiles, UI or fonts.
Pictures are stored with alpha (the builder composites it on white), long side <= 512 px.
"""

from __future__ import annotations

import fnmatch
import io
import json
import shutil
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm import tqdm

MAX_SIDE = 512
WESNOTH_CAMPAIGNS = ("did", "dm", "dw", "ei", "httt", "l", "low", "nr", "sof", "sota", "sotbe", "thot", "trow",
                     "tsg", "ttb", "utbs")


@dataclass(frozen=True)
class DebArt:
    """Portrait PNGs picked out of Debian packages by path pattern."""

    packages: tuple[str, ...]
    include: tuple[str, ...]        # fnmatch patterns on the path inside the package
    exclude: tuple[str, ...] = ()
    meta: dict | None = None
    archive: str = ""               # a zip inside the package whose members the patterns pick (else its files)


DEB_ART = {
    "wesnoth": DebArt(
        packages=("wesnoth-1.16-data",) + tuple(f"wesnoth-1.16-{c}" for c in WESNOTH_CAMPAIGNS),
        include=("*/images/portraits/*.png", "*/images/story/portraits/*.png"),
        meta={"license": "GPL-2+",
              "url": "https://www.wesnoth.org (Debian packages wesnoth-1.16-data and the wesnoth-1.16-<campaign> set)",
              "attribution": "The Battle for Wesnoth artists (data/core/images/portraits/ARTISTS and the campaigns' "
                             "credits); packaged by Debian"}),
    "naev": DebArt(
        packages=("naev-data",),
        include=("*/dat/gfx/portraits/*.png",),
        exclude=("*/none.png", "*/unknown.png", "*/news.png", "*placeholder*"),  # "portrait missing" cards, a logo
        meta={"license": "per file, all DFSG-free: GPL-3, CC BY-SA 3.0, CC BY 3.0 or public domain (COPYRIGHT.txt)",
              "url": "https://naev.org (Debian package naev-data)",
              "attribution": "Naev artists, per file in the Debian copyright file (COPYRIGHT.txt)"}),
    "flare": DebArt(
        packages=("flare-game",),
        include=("*/mods/*/images/portraits/*.png",),
        meta={"license": "CC BY-SA 3.0+",
              "url": "https://flarerpg.org (Debian package flare-game)",
              "attribution": "Clint Bellanger and the Flare artists (2012-2021)"}),
    "0ad": DebArt(
        packages=("0ad-data",),
        archive="usr/share/games/0ad/mods/public/public.zip",
        include=("art/textures/ui/session/portraits/units/*.dds",),
        exclude=("*ship*", "*siege*"),  # boats and engines, not characters
        meta={"license": "CC BY-SA 3.0",
              "url": "https://play0ad.com (Debian package 0ad-data, 1.4 GB download)",
              "attribution": "Wildfire Games and the 0 A.D. artists (Debian copyright file)"}),
}

DICEBEAR_STYLES = {  # style: (designer, design licence), from each package's LICENSE file
    "adventurer": ("Lisa Wischofsky", "CC BY 4.0"),
    "big-ears": ("The Visual Team", "CC BY 4.0"),
    "micah": ("Micah Lanier", "CC BY 4.0"),
    "personas": ("Draftbit", "CC BY 4.0"),
    "open-peeps": ("Pablo Stanley", "CC0 1.0"),
}
DICEBEAR_VERSION = "9.4.3"
DICEBEAR_META = {
    "license": "CC BY 4.0 (adventurer, big-ears, micah, personas) and CC0 1.0 (open-peeps) designs; generator code MIT",
    "url": "https://www.dicebear.com (npm packages @dicebear/core and @dicebear/<style>)",
    "attribution": "; ".join(f"{s}: {d} ({lic})" for s, (d, lic) in DICEBEAR_STYLES.items())
                   + "; generator by Florian Körner (MIT)",
}

ART_SOURCES = {name: {"name": name, "pairing": "color"} | art.meta for name, art in DEB_ART.items()}
ART_SOURCES["dicebear"] = {"name": "dicebear", "pairing": "color"} | DICEBEAR_META

# Faces of one style share a layout: rendered as they come, their perceptual hashes chain into a
# single split group of thousands. A per-seed scale, shift, tilt, flip and backdrop breaks the chain.
_RENDER_JS = """// node render.mjs OUTDIR N style...: N seeded SVG avatars per DiceBear style
import { createAvatar } from '@dicebear/core';
import { mkdirSync, writeFileSync } from 'node:fs';
const [out, n, ...styles] = process.argv.slice(2);
const BG = ['b6e3f4', 'c0aede', 'd1d4f9', 'ffd5dc', 'ffdfbf', 'c1f0c1', 'f4e1b6', 'e0e0e0'];
for (const style of styles) {
  const mod = await import(`@dicebear/${style}`);
  mkdirSync(`${out}/${style}`, { recursive: true });
  for (let i = 0; i < Number(n); i++) {
    let h = 2166136261;  // FNV-1a of the seed: the variation is reproducible
    for (const c of `${style}-${i}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    const r = (k) => ((h >>> k) & 255) / 255;
    const opts = { seed: `${style}-${i}`, size: 512, flip: r(0) < 0.5, scale: Math.round(70 + 50 * r(8)),
                   translateX: Math.round(-15 + 30 * r(16)), translateY: Math.round(-10 + 25 * r(24)),
                   rotate: Math.round(-12 + 24 * r(4)), backgroundColor: [r(12) < 0.3 ? 'ffffff' : BG[i % BG.length]] };
    writeFileSync(`${out}/${style}/${String(i).padStart(5, '0')}.svg`, createAvatar(mod, opts).toString());
  }
}
"""


def _run(cmd: list[str], cwd: Path) -> None:
    from .fetch import _run as run

    run(cmd, cwd)


def select(paths: list[str], include: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    """The paths matching any include pattern and no exclude pattern, sorted."""
    return sorted(p for p in paths if any(fnmatch.fnmatch(p, g) for g in include)
                  and not any(fnmatch.fnmatch(p, g) for g in exclude))


def shrink(src: Path | io.BytesIO, dst: Path, max_side: int = MAX_SIDE) -> None:
    """Copy a picture as PNG with its alpha, the long side brought down to max_side."""
    im = Image.open(src)
    im.load()
    im = im.convert("RGBA") if im.mode in ("P", "LA", "RGBA", "PA") or "transparency" in im.info else im.convert("RGB")
    im.thumbnail((max_side, max_side), Image.LANCZOS)
    dst.parent.mkdir(parents=True, exist_ok=True)
    im.save(dst.with_suffix(".png"))


def _keep_files(root: Path, art: DebArt, dest: Path) -> int:
    """Shrink the package's PNGs that art's patterns pick into dest, named by their path below images/ or gfx/."""
    found = [str(p.relative_to(root)) for p in root.rglob("*.png")]
    picked = select(found, art.include, art.exclude)
    for rel in tqdm(picked, desc=dest.name, unit="png"):
        short = rel.split("/images/", 1)[-1].split("/gfx/", 1)[-1]  # drop the install prefix
        shrink(root / rel, dest / short)
    return len(picked)


def _keep_archive(archive: Path, art: DebArt, dest: Path) -> int:
    """Shrink the zip members that art's patterns pick (any format Pillow reads, DDS included) into dest as PNG."""
    with zipfile.ZipFile(archive) as z:
        picked = select(z.namelist(), art.include, art.exclude)
        for name in tqdm(picked, desc=dest.name, unit="picture"):
            stem = Path(name).name.split(".")[0]  # "athen_hero_pericles.png.cached.dds" -> "athen_hero_pericles"
            with z.open(name) as f:
                shrink(io.BytesIO(f.read()), dest / f"{stem}.png")
    return len(picked)


def fetch_deb_art(name: str, dest: Path) -> tuple[int, str]:
    """apt-get download the packages of DEB_ART[name]; keep its portraits in dest/<package>/...; (count, version)."""
    art = DEB_ART[name]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        try:
            _run(["apt-get", "download", *art.packages], t)
        except RuntimeError:  # fresh machines have no package lists yet
            _run(["apt-get", "update", "-qq"], t)
            _run(["apt-get", "download", *art.packages], t)
        n, versions = 0, []
        for pkg in art.packages:
            deb = next(t.glob(f"{pkg}_*.deb"))
            versions.append(deb.name.split("_")[1].replace("%3a", ":"))
            x = t / "x" / pkg
            x.mkdir(parents=True)
            _run(["dpkg-deb", "-x", str(deb), str(x)], t)
            deb.unlink()  # 0ad-data's is 1.4 GB: do not hold it twice
            n += _keep_archive(x / art.archive, art, dest / pkg) if art.archive else _keep_files(x, art, dest / pkg)
            copyright_file = x / "usr/share/doc" / pkg / "copyright"
            if copyright_file.is_file() and not (dest / "COPYRIGHT.txt").is_file():
                shutil.copy(copyright_file, dest / "COPYRIGHT.txt")
            shutil.rmtree(x)
    return n, versions[0]


def fetch_dicebear(dest: Path, per_style: int = 800, workers: int = 4) -> tuple[int, str]:
    """npm install the DiceBear styles, render per_style seeded faces each with node, rasterize into dest/<style>/."""
    styles = list(DICEBEAR_STYLES)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "package.json").write_text('{"private": true}')
        (t / "render.mjs").write_text(_RENDER_JS)
        _run(["npm", "install", "--silent", "--no-audit", "--no-fund", f"@dicebear/core@{DICEBEAR_VERSION}",
              *(f"@dicebear/{s}@{DICEBEAR_VERSION}" for s in styles)], t)
        _run(["node", "render.mjs", "svg", str(per_style), *styles], t)
        jobs = []
        for s in styles:
            shutil.copy(t / "node_modules/@dicebear" / s / "LICENSE", dest / f"LICENSE-{s}.txt")
            (dest / s).mkdir(parents=True, exist_ok=True)
            jobs += [(str(p), str(dest / s / (p.stem + ".png")), MAX_SIDE) for p in sorted((t / "svg" / s).glob("*.svg"))]
        from .fetch import _render_svg  # fetch imports this module at its top

        with ProcessPoolExecutor(workers) as pool:
            errors = [e for e in tqdm(pool.map(_render_svg, jobs, chunksize=32), total=len(jobs),
                                      desc="rasterizing dicebear", unit="svg") if e]
    for e in errors:
        print("skipped", e)
    return len(jobs) - len(errors), DICEBEAR_VERSION


def fetch_art(name: str, dest: Path) -> int:
    """Fetch one ART_SOURCES entry into dest (with source.json); returns how many pictures it holds."""
    n, version = fetch_dicebear(dest) if name == "dicebear" else fetch_deb_art(name, dest)
    (dest / "source.json").write_text(json.dumps(ART_SOURCES[name] | {"version": version}, indent=1))
    return n

