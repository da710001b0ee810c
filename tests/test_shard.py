"""`mangacolor data shard`: a small WebP copy of a dataset's training data that trains like the original."""

from __future__ import annotations

import pytest
from PIL import Image

from mangacolor.cli import main
from training.data.build import load_manifest
from training.data.dataset import ColorizationDataset, DataConfig
from training.data.shard import ShardConfig, make_shard


def test_shard_keeps_training_shrinks_pictures_and_trains(dataset_dir, tmp_path):
    out = tmp_path / "shard"
    assert main(["data", "shard", "--data", str(dataset_dir), "--out", str(out), "--max-side", "40",
                 "--val-limit", "2", "--workers", "1"]) == 0
    src, sh = load_manifest(dataset_dir), load_manifest(out)
    ids = {split: [r["id"] for r in src["items"] if r["split"] == split] for split in ("train", "val")}
    assert sorted(r["id"] for r in sh["items"] if r["split"] == "train") == sorted(ids["train"])
    assert len([r for r in sh["items"] if r["split"] == "val"]) == min(2, len(ids["val"]))
    assert {r["split"] for r in sh["items"]} <= {"train", "val"}     # test and characters stay home
    lines = 0
    for r in sh["items"]:
        for k in ("color", "line"):
            if r.get(k):
                im = Image.open(out / r[k])
                assert im.format == "WEBP" and max(im.size) <= 40
                lines += k == "line"
    assert lines, "the fixture's paired line art travels too"
    assert sh["shard"]["of"] == src["hash"] and sh["hash"] != src["hash"]
    assert (out / "card.md").read_text() == (dataset_dir / "card.md").read_text()  # the licences
    b = ColorizationDataset(DataConfig(root=str(out), crop=(37, 53)), "train")[0]
    assert b["x"].shape == (1, 37, 53) and b["target"].shape == (3, 37, 53)


def test_a_shard_over_its_size_limit_writes_nothing(dataset_dir, tmp_path):
    out = tmp_path / "shard"
    with pytest.raises(ValueError, match="over --max-mb"):
        make_shard(ShardConfig(data=str(dataset_dir), out=str(out), max_mb=1e-4, workers=1), progress=False)
    assert not out.exists() and not (tmp_path / "shard.tmp").exists()


def test_a_shard_never_replaces_its_dataset(dataset_dir):
    with pytest.raises(ValueError, match="the dataset itself"):
        make_shard(ShardConfig(data=str(dataset_dir), out=str(dataset_dir), workers=1), progress=False)
    with pytest.raises(ValueError, match="out of range"):
        ShardConfig(quality=0)
