"""Character-art sources without the network: path selection, shrinking with alpha, and the held-out split."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from training.data.build import HOLDOUT_SPLIT, BuildConfig, build, load_manifest
from training.data.fetch_art import ART_SOURCES, DEB_ART, _keep_archive, select, shrink
from training.data.sources import read_source


def test_portrait_selection_keeps_only_portraits():
    paths = ["usr/share/games/wesnoth/1.16/data/core/images/portraits/elves/archer.png",
             "usr/share/games/wesnoth/1.16/data/core/images/units/elves/archer.png",
             "usr/share/games/wesnoth/1.16/data/core/images/terrain/grass.png",
             "usr/share/naev/dat/gfx/portraits/neutral/unknown.png",
             "usr/share/naev/dat/gfx/portraits/neutral/male1.png"]
    wes = DEB_ART["wesnoth"]
    assert select(paths, wes.include, wes.exclude) == [paths[0]]
    naev = DEB_ART["naev"]
    assert select(paths, naev.include, naev.exclude) == [paths[4]]


def test_0ad_portraits_come_out_of_the_game_archive_as_png_without_ships_or_siege(tmp_path):
    """0ad-data keeps its portraits as DDS textures inside public.zip: picked by pattern, decoded, saved as PNG."""
    units = "art/textures/ui/session/portraits/units/"
    members = {units + "athen_hero_pericles.png.cached.dds": (150, 90, 60),
               units + "han/han_infantry_archer.png.cached.dds": (40, 60, 160),
               units + "athen_ship_trireme.png.cached.dds": (0, 0, 255),
               units + "cart_siege_ballista.png.cached.dds": (0, 255, 0),
               "art/textures/ui/session/portraits/technologies/bronze.png.cached.dds": (255, 0, 0)}
    with zipfile.ZipFile(tmp_path / "public.zip", "w") as z:
        for name, colour in members.items():
            buf = io.BytesIO()
            Image.new("RGB", (67, 45), colour).save(buf, "DDS")
            z.writestr(name, buf.getvalue())
    n = _keep_archive(tmp_path / "public.zip", DEB_ART["0ad"], tmp_path / "out")
    assert n == 2 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["athen_hero_pericles.png",
                                                                             "han_infantry_archer.png"]
    im = Image.open(tmp_path / "out" / "athen_hero_pericles.png")
    assert im.format == "PNG" and im.size == (67, 45) and im.convert("RGB").getpixel((5, 7)) == (150, 90, 60)


def test_every_art_source_records_a_licence():
    for name, meta in ART_SOURCES.items():
        assert meta["name"] == name and meta["license"] and meta["url"] and meta["attribution"]


def test_every_source_names_its_pairing():
    from training.data.fetch import SOURCES

    assert {m["pairing"] for m in ART_SOURCES.values()} == {"color"} and SOURCES["openmoji"]["pairing"] == "paired"
    assert not any("kind" in m for m in [*ART_SOURCES.values(), *SOURCES.values()])


@pytest.mark.parametrize("written, want", [({"pairing": "color"}, "color"),
                                           ({"kind": "color"}, "color"),  # fetched before the rename
                                           ({}, "paired")])               # found from the color/ and line/ folders
def test_a_source_json_pairing_is_read_under_old_and_new_names(tmp_path, written, want):
    for sub in ("color", "line"):
        (tmp_path / sub).mkdir()
    (tmp_path / "source.json").write_text(json.dumps({"name": "s", "license": "CC0 (test)"} | written))
    assert read_source(tmp_path).pairing == want


def test_shrink_keeps_alpha_and_caps_the_long_side(tmp_path):
    rgba = np.zeros((900, 600, 4), np.uint8)
    rgba[200:700, 100:500] = (200, 40, 40, 255)  # opaque red figure on a transparent ground
    Image.fromarray(rgba).save(tmp_path / "big.png")
    shrink(tmp_path / "big.png", tmp_path / "out" / "big.png", max_side=512)
    im = Image.open(tmp_path / "out" / "big.png")
    assert im.size == (341, 512) and im.mode == "RGBA"


def _source(root, name, colour, n=8):
    rng = np.random.default_rng(sum(map(ord, name)))
    root.mkdir(parents=True)
    for i in range(n):
        a = np.full((96, 80, 4), 0, np.uint8)  # transparent ground: the builder puts it on white
        y, x = rng.integers(5, 40, 2)
        a[y:y + 40 + i * 3, x:x + 30, :3] = colour
        a[y:y + 40 + i * 3, x:x + 30, 3] = 255
        a[rng.integers(0, 96, 300), rng.integers(0, 80, 300)] = (*rng.integers(0, 255, 3), 255)
        Image.fromarray(a).save(root / f"f{i}.png")
    (root / "source.json").write_text(json.dumps({"name": name, "license": "CC0 (test)"}))
    return read_source(root)


def test_holdout_source_becomes_the_characters_split(tmp_path):
    srcs = [_source(tmp_path / "a", "a", (30, 120, 200)), _source(tmp_path / "b", "b", (200, 60, 30))]
    m = build(srcs, BuildConfig(out=str(tmp_path / "ds"), workers=1, holdout=("b",)), progress=False)
    held = [r for r in m["items"] if r["source"] == "b"]
    assert held and all(r["split"] == HOLDOUT_SPLIT for r in held)
    assert all(r["split"] != HOLDOUT_SPLIT for r in m["items"] if r["source"] == "a")
    img = np.asarray(Image.open(tmp_path / "ds" / held[0]["color"]))
    assert img[0, 0].tolist() == [255, 255, 255]  # alpha composited on white
    card = json.loads((tmp_path / "ds" / "card.json").read_text())
    assert card["counts"]["b"][HOLDOUT_SPLIT] == len(held)
    assert "characters split: b" in (tmp_path / "ds" / "card.md").read_text()
    assert load_manifest(tmp_path / "ds")["config"]["holdout"] == ["b"]
    with pytest.raises(ValueError, match="not among the sources"):
        build(srcs, BuildConfig(out=str(tmp_path / "ds2"), workers=1, holdout=("c",)), progress=False)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("fetch", ["openmoji", "dicebear"])
def test_npm_sources_ask_for_a_pinned_version(tmp_path, monkeypatch, fetch):
    """An unpinned `npm pack` takes the newest release, which moves pictures between splits on a rebuild."""
    from training.data import fetch as fetch_mod
    from training.data import fetch_art

    asked = []

    def fake_run(cmd, cwd):
        asked.append(cmd)
        raise _Stop

    monkeypatch.setattr(fetch_mod, "_run", fake_run)
    monkeypatch.setattr(fetch_art, "_run", fake_run)
    with pytest.raises(_Stop):
        {"openmoji": fetch_mod.fetch_openmoji, "dicebear": fetch_art.fetch_dicebear}[fetch](tmp_path)
    packages = [a for a in asked[0] if not a.startswith("-") and a not in ("npm", "pack", "install")]
    assert packages and all("@" in p.lstrip("@") for p in packages), asked[0]
