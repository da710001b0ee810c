"""Dataset sources: a folder of illustrations plus where it came from and its licence.

A source folder is either
- paired: `color/` and `line/` subfolders, files matched by relative path
  without extension (real line art drawn for each colour picture), or
- colour-only: images anywhere below it (line art and manga pages are
  synthesized on the fly by the loader).
An optional `source.json` beside them records name, pairing ("paired" or "color"),
licence, url, attribution and the package version it came from;
`mangacolor data fetch` writes one for each public source it brings in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}
UNKNOWN_LICENSE = "unknown (user-provided: check before redistributing)"


@dataclass(frozen=True)
class Source:
    name: str
    root: str
    pairing: str         # "paired" | "color"
    license: str = UNKNOWN_LICENSE
    url: str = ""
    attribution: str = ""
    version: str = ""    # the npm or Debian package version fetched, "" for a user's own folder

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Item:
    key: str                 # "<source>/<relative path without extension>"
    source: str
    color: str               # absolute path of the colour picture
    line: str | None = None  # absolute path of its real line art, if paired


def read_source(path: str | Path, license: str | None = None, name: str | None = None) -> Source:
    """Describe the source folder at `path` (reads its source.json when present)."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"source folder {path} does not exist")
    meta = {}
    if (root / "source.json").is_file():
        meta = json.loads((root / "source.json").read_text())
    found = "paired" if (root / "color").is_dir() and (root / "line").is_dir() else "color"
    return Source(
        name=_safe_name(name or meta.get("name") or root.name),
        root=str(root),
        pairing=pairing_of(meta, found),
        license=license or meta.get("license", UNKNOWN_LICENSE),
        url=meta.get("url", ""),
        attribution=meta.get("attribution", ""),
        version=meta.get("version", ""),
    )


def pairing_of(meta: dict, default: str) -> str:
    """A source.json's pairing; sources fetched before the rename wrote it as "kind"."""
    return meta.get("pairing", meta.get("kind", default))


def _safe_name(name: str) -> str:
    clean = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    if not clean:
        raise ValueError(f"source name {name!r} has no usable characters")
    return clean


def _images_below(folder: Path) -> dict[str, Path]:
    """Relative path without extension -> file, for every image file below `folder`."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTS and p.is_file():
            out[str(p.relative_to(folder).with_suffix(""))] = p
    return out


def list_items(src: Source) -> tuple[list[Item], int]:
    """All items of a source, sorted by key, and how many colour files had no line art."""
    root = Path(src.root)
    if src.pairing == "paired":
        colors, lines = _images_below(root / "color"), _images_below(root / "line")
        unpaired = sum(1 for k in colors if k not in lines)
        items = [Item(f"{src.name}/{k}", src.name, str(p), str(lines[k]) if k in lines else None) for k, p in colors.items()]
        return items, unpaired
    return [Item(f"{src.name}/{k}", src.name, str(p)) for k, p in _images_below(root).items()], 0
