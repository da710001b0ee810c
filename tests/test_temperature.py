"""`mangacolor temperature`: the decoding grid (T, gray gain, gray shadow) is scored, picked and written back."""

from __future__ import annotations

import json
import shutil

import numpy as np

from mangacolor.cli import main
from training.evaluate.predictors import load_predictor
from training.evaluate.temperature import FLOOR, MARGIN, Memo, pick


class _Counting:
    name, hint_fill, gray_gain, gray_shadow = "fake", False, 1.0, 0.0

    def __init__(self):
        self.calls = 0

    def __call__(self, x, hint, mask):
        self.calls += 1
        return np.zeros((x.shape[0], 3, *x.shape[-2:]), np.float32) + x.mean()


def test_memo_runs_the_model_once_per_input_and_passes_settings_through():
    pred = _Counting()
    memo = Memo(pred)
    x, h, m = np.ones((1, 1, 13, 21), np.float32), np.zeros((1, 3, 13, 21), np.float32), np.zeros((1, 1, 13, 21), np.float32)
    a, b = memo(x, h, m), memo(x.copy(), h, m)
    assert pred.calls == 1 and (a == b).all()
    memo(x * 0.5, h, m)
    assert pred.calls == 2
    memo.gray_shadow = 25.0
    assert pred.gray_shadow == 25.0 and memo.name == "fake"


def test_temperature_scores_the_grid_and_writes_the_pick_into_the_checkpoint(tiny_runs, dataset_dir, tmp_path):
    ckpt = tmp_path / "best"
    shutil.copytree(tiny_runs[1] / "best", ckpt)
    out = tmp_path / "t.json"
    assert main(["temperature", str(ckpt), "--data", str(dataset_dir), "--limit", "3", "--grid", "0.5",
                 "--gains", "0.6", "1.0", "--shadows", "0", "30", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    keys = {(r["temperature"], r["gray_gain"], r["gray_shadow"]) for r in report["table"]}
    assert keys == {(0.5, g, s) for g in (0.6, 1.0) for s in (0.0, 30.0)}
    picked = report["picked"]
    assert (picked["temperature"], picked["gray_gain"], picked["gray_shadow"]) in keys
    pred = load_predictor(ckpt)
    assert (pred.gray_gain, pred.gray_shadow) == (picked["gray_gain"], picked["gray_shadow"])
    fading = [r["grayscale"]["colourfulness"] for r in report["table"] if r["gray_gain"] == 1.0]
    assert fading[1] <= fading[0] + 1e-9   # the shadow only ever takes colour away


def test_the_pick_keeps_a_margin_above_the_colourfulness_floor_when_it_can():
    def row(psnr, colour):
        return {"grayscale": {"psnr": psnr, "chroma_de": 5.0, "colourfulness": colour},
                "lineart": {"psnr": 10.0, "chroma_de": 7.0, "colourfulness": 0.6}}

    gray = {"psnr": 25.0, "chroma_de": 6.0}
    at_floor, above, harmful = (0.7, 0.6, 25.0), (0.7, 0.8, 40.0), (0.3, 1.0, 0.0)
    table = {at_floor: row(26.4, FLOOR["grayscale"] + 0.01), above: row(26.3, FLOOR["grayscale"] + MARGIN),
             harmful: row(24.0, 0.9)}
    assert pick(table, gray) == above                      # a little PSNR for colour that holds on other pictures
    del table[above]
    assert pick(table, gray) == at_floor                   # none clears the margin: the floor alone
    del table[at_floor]
    assert pick(table, gray) == harmful                    # nothing does no harm: the best grayscale PSNR
