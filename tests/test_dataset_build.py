"""The dataset builder on generated sources with planted problems, and the loader's batch contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from mangacolor.color import net_to_rgb, to_gray
from mangacolor.contract import KINDS
from training.data.build import BuildConfig, build, load_manifest
from training.data.clean import hamming_matrix
from training.data.dataset import ColorizationDataset, DataConfig, make_loader
from training.data.sources import read_source


def _dropped(dataset_dir) -> dict[str, str]:
    rows = [json.loads(line) for line in (dataset_dir / "dropped.jsonl").read_text().splitlines()]
    return {r["id"]: r["reason"] for r in rows}


def test_planted_problems_are_dropped_with_reasons(dataset_dir):
    dropped = _dropped(dataset_dir)
    expect = {
        "clips/zz_exact_copy": "exact duplicate of clips/sub/c000",
        "clips/zz_near_copy": "near duplicate of clips/sub/c001",
        "clips/blank": "near blank",
        "clips/tiny": "too small",
        "clips/mono": "near monochrome",
        "clips/corrupt": "unreadable",
        "clips/notes": "unreadable",
    }
    for key, reason in expect.items():
        assert key in dropped, f"{key} was kept"
        assert dropped[key].startswith(reason), (key, dropped[key])
    kept = {r["id"] for r in load_manifest(dataset_dir)["items"]}
    assert not kept & set(expect)
    assert len(dropped) == len(expect), f"good images dropped too: {set(dropped) - set(expect)}"


def test_manifest_counts_pairs_and_card(dataset_dir):
    m = load_manifest(dataset_dir)
    items = {r["id"]: r for r in m["items"]}
    assert len(items) == 24 + 1 + 24  # paired, the lonely colour file, the clips
    paired = [r for r in items.values() if r["line"]]
    assert len(paired) == 24 and items["pairs/lonely"]["line"] is None
    for r in paired:
        colour = Image.open(dataset_dir / r["color"])
        line = Image.open(dataset_dir / r["line"])
        assert colour.size == line.size == (r["width"], r["height"])
    card = json.loads((dataset_dir / "card.json").read_text())
    assert card["totals"]["kept"] == len(items)
    assert card["unpaired_colour_files"]["pairs"] == 1
    assert {s["name"]: s["license"] for s in card["sources"]}["pairs"] == "CC0 (test fixture)"
    assert "CC0 (test fixture)" in (dataset_dir / "card.md").read_text()


def test_manifest_and_card_record_package_and_library_versions(dataset_dir):
    """What a rebuild needs to match: each source's package version and the imaging libraries' versions."""
    import PIL

    m = load_manifest(dataset_dir)
    assert {s["name"]: s["version"] for s in m["sources"]} == {"pairs": "1.2-3test", "clips": ""}
    assert m["built_with"]["pillow"] == PIL.__version__ and m["built_with"]["numpy"] == np.__version__
    md = (dataset_dir / "card.md").read_text()
    assert "| pairs | 1.2-3test |" in md and "| clips | - |" in md
    assert f"pillow {PIL.__version__}" in md


def test_split_is_deterministic_and_never_leaks(sources, dataset_dir, tmp_path):
    a = load_manifest(dataset_dir)
    srcs = [read_source(sources["pairs"]), read_source(sources["clips"])]
    b = build(srcs, BuildConfig(out=str(tmp_path / "again"), workers=1), progress=False)
    assert a["hash"] == b["hash"]
    assert [(r["id"], r["split"]) for r in a["items"]] == [(r["id"], r["split"]) for r in b["items"]]
    splits = {r["split"] for r in a["items"]}
    assert splits == {"train", "val", "test"}
    by_group = {}
    for r in a["items"]:
        by_group.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_group.values())
    # no near-duplicate pair straddles two splits
    hashes = np.array([int(r["phash"], 16) for r in a["items"]], dtype=np.uint64)
    d = hamming_matrix(hashes, slice(0, len(hashes)))
    split = np.array([r["split"] for r in a["items"]])
    close = d <= BuildConfig(out="").clean.group_phash
    assert (split[:, None] == split[None, :])[close].all()
    # another seed gives another split of the same groups
    c = build(srcs, BuildConfig(out=str(tmp_path / "seed1"), workers=1, seed=1), progress=False)
    assert [r["split"] for r in c["items"]] != [r["split"] for r in a["items"]]


CROP = (74, 58)  # (H, W): asymmetric, not a multiple of 8


def _ds(dataset_dir, split="train", **kw):
    cfg = DataConfig(root=str(dataset_dir), crop=CROP, **kw)
    return ColorizationDataset(cfg, split, seed=3)


def test_batch_contract(dataset_dir):
    ds = _ds(dataset_dir)
    batch = next(iter(make_loader(ds, batch_size=6, seed=0)))
    shapes = {k: tuple(v.shape) for k, v in batch.items()}
    assert shapes == {"x": (6, 1, *CROP), "hint": (6, 3, *CROP), "mask": (6, 1, *CROP),
                      "target": (6, 3, *CROP), "kind": (6,)}
    for k in ("x", "hint", "mask", "target"):
        assert batch[k].dtype == torch.float32 and torch.isfinite(batch[k]).all()
    assert batch["x"].min() >= 0 and batch["x"].max() <= 1
    assert set(batch["mask"].unique().tolist()) <= {0.0, 1.0}
    assert (batch["hint"] * (1 - batch["mask"])).abs().max() == 0  # no colour outside the mask
    assert batch["target"][:, 0].min() >= 0 and batch["target"][:, 0].max() <= 1
    assert batch["target"][:, 1:].abs().max() <= 1.2
    assert batch["kind"].min() >= 0 and batch["kind"].max() < len(KINDS)


def test_same_crop_and_flip_for_input_and_target(dataset_dir):
    # real line art of the fixture is the drawing's outlines: under an identical crop the
    # dark input pixels sit on dark target pixels; a shifted or unflipped crop would not
    ds = _ds(dataset_dir, kind_probs=(1.0, 0.0, 0.0), p_real_line=1.0)
    paired = [i for i, r in enumerate(ds.items) if r["line"]]
    hits = []
    for i in paired[:8]:
        s = ds[i]
        ink = s["x"][0].numpy() < 0.3
        target_gray = to_gray(net_to_rgb(s["target"].numpy()))
        if ink.sum() > 20:
            hits.append((target_gray[ink] < 0.3).mean())
    assert hits and np.mean(hits) > 0.9, hits


def test_samples_are_reproducible(dataset_dir):
    train = _ds(dataset_dir)
    a, b = train[2], train[2]
    assert all(torch.equal(a[k], b[k]) for k in a)
    train.set_epoch(1)
    c = train[2]
    assert not torch.equal(a["target"], c["target"]) or not torch.equal(a["x"], c["x"])
    val = _ds(dataset_dir, split="val")
    v0 = val[0]
    val.set_epoch(5)
    assert all(torch.equal(v0[k], val[0][k]) for k in v0)


def test_loader_is_independent_of_worker_count(dataset_dir):
    ds = _ds(dataset_dir)
    one = next(iter(make_loader(ds, batch_size=4, workers=0, seed=7)))
    two = next(iter(make_loader(ds, batch_size=4, workers=2, seed=7)))
    assert all(torch.equal(one[k], two[k]) for k in one)


def test_hints_are_present_in_about_half_the_samples(dataset_dir):
    ds = _ds(dataset_dir)
    with_hints = [ds[i]["mask"].sum().item() > 0 for i in range(len(ds))]
    share = np.mean(with_hints)
    assert 0.3 < share < 0.8, share


def test_data_show_writes_sheet_and_histogram(dataset_dir, tmp_path):
    from mangacolor.cli import main

    out = tmp_path / "sheet.png"
    assert main(["data", "show", "--data", str(dataset_dir), "-n", "3", "--crop", *map(str, CROP), "--out", str(out)]) == 0
    sheet = Image.open(out)
    assert sheet.size[1] > 3 * CROP[0] and sheet.size[0] > 4 * CROP[1]
    assert (tmp_path / "sheet_hist.png").is_file()


def test_build_refuses_an_empty_source(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        build([read_source(tmp_path / "empty")], BuildConfig(out=str(tmp_path / "out"), workers=1), progress=False)


def test_hint_fill_spreads_the_sampled_hints_as_serving_does(dataset_dir):
    """With data.hint_fill the sample's hints are spread over their regions by the same function that
    mangacolor.pipeline.prepare(fill=True) uses; without it they are not."""
    from mangacolor.regions import FILL_MASK, fill_hints

    plain, filled = _ds(dataset_dir), _ds(dataset_dir, hint_fill=True)
    spread = 0
    for i in range(len(plain)):
        a, b = plain[i], filled[i]
        assert torch.equal(a["x"], b["x"]) and torch.equal(a["target"], b["target"])
        assert set(a["mask"].unique().tolist()) <= {0.0, 1.0}
        want = fill_hints(a["x"].numpy(), a["hint"].numpy(), a["mask"].numpy())
        assert np.array_equal(b["hint"].numpy(), want[0]) and np.array_equal(b["mask"].numpy(), want[1])
        spread += int((b["mask"] == FILL_MASK).sum())
    assert spread > 0


def test_repeat_sources_oversample_the_training_split_only(dataset_dir):
    base = _ds(dataset_dir)
    source = base.items[0]["source"]
    n = sum(r["source"] == source for r in base.items)
    more = _ds(dataset_dir, repeat_sources=(source,), repeat=3)
    assert len(more) == len(base) + 2 * n
    assert sum(r["source"] == source for r in more.items) == 3 * n
    assert len(_ds(dataset_dir, "val", repeat_sources=(source,), repeat=3)) == len(_ds(dataset_dir, "val"))
