"""Metrics against known values, baselines, ensembles, evaluation reports, search and distillation."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from mangacolor.cli import main
from mangacolor.color import rgb_to_lab
from mangacolor.hints import Point, rasterize
from mangacolor.pipeline import prepare
from training.evaluate import metrics
from training.evaluate.baselines import levin, trapped_ball_fill, trapped_ball_planes
from training.models import ModelConfig, build_generator
from training.models.ensemble import Ensemble

H, W = 61, 47


def rgb(color, h=H, w=W):
    return np.broadcast_to(np.array(color, np.uint8), (h, w, 3)).copy()


def test_psnr_known_values():
    a = rgb((100, 100, 100))
    assert metrics.psnr(a, a) == 100.0
    assert metrics.psnr(a, rgb((110, 100, 100))) == pytest.approx(10 * np.log10(255**2 / (100 / 3)), abs=1e-9)
    assert metrics.psnr(rgb((0, 0, 0)), rgb((255, 255, 255))) == pytest.approx(0.0, abs=1e-9)


def test_ssim_known_values():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    assert metrics.ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    assert metrics.ssim(img, 255 - img) < 0
    # two flat images: variances vanish and SSIM is the luminance term alone
    c1 = (0.01 * 255) ** 2
    expect = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert metrics.ssim(rgb((100, 100, 100)), rgb((110, 110, 110))) == pytest.approx(expect, abs=1e-5)


def test_colour_metrics_known_values():
    red, gray = rgb((255, 0, 0)), rgb((128, 128, 128))
    lab = rgb_to_lab(np.array([255, 0, 0], np.uint8))
    assert metrics.chroma_error(gray, gray) == pytest.approx(0, abs=1e-4)
    assert metrics.chroma_error(red, gray) == pytest.approx(np.hypot(lab[1], lab[2]), abs=0.05)
    assert metrics.colourfulness(gray) == pytest.approx(0)
    assert metrics.relative_colourfulness(red, red) == pytest.approx(1)
    mask = np.zeros((H, W))
    mask[3, 4] = 1
    assert metrics.hint_error(gray, red, np.zeros((H, W))) is None
    assert metrics.hint_error(red, red, mask) == pytest.approx(0, abs=1e-4)
    assert metrics.hint_error(gray, red, mask) > 50


def two_regions():
    """Line art: a black frame split by a vertical line at column 20; paper elsewhere."""
    page = rgb((255, 255, 255))
    page[:, 20:23] = 0
    page[0:2], page[-2:], page[:, 0:2], page[:, -2:] = 0, 0, 0, 0
    return page


def test_trapped_ball_fill_fills_the_hinted_region_only():
    page = two_regions()
    hints = [Point(8, 30, (230, 40, 40), radius=1)]
    p = prepare(page, hints, work_size=max(H, W))
    out = trapped_ball_fill(page, p, "lineart")
    assert out.shape == page.shape
    left, right = out[10:50, 5:17], out[10:50, 27:42]
    assert np.abs(left.astype(int) - (230, 40, 40)).max() <= 3       # hinted region takes the hint colour
    assert (right == 255).all()                                      # other region stays paper
    assert (out[:, 20:23] == 0).all()                                # lines stay black
    # grayscale composition keeps the page's luminance and adds the hint's chroma
    out_g = trapped_ball_fill(page, p, "grayscale")
    assert out_g[30, 8, 0] > out_g[30, 8, 2] + 50 and (out_g[30, 35] == 255).all()


def test_trapped_ball_planes_without_hints_is_white():
    x = np.ones((1, H, W), np.float32)
    hint, mask = rasterize([], (W, H), (W, H))
    pred = trapped_ball_planes(x, hint, mask)
    assert np.allclose(pred[0], 1) and np.allclose(pred[1:], 0)


def test_levin_spreads_a_hint_and_stops_at_the_line():
    page = two_regions()
    p = prepare(page, [Point(8, 30, (230, 40, 40), radius=1), Point(35, 30, (40, 40, 230), radius=1)],
                work_size=max(H, W))
    out = levin(page, p, "lineart")
    assert out[45, 8, 0] > out[45, 8, 2] + 60      # far from its hint, the left region is still red
    assert out[45, 35, 2] > out[45, 35, 0] + 60    # and the right one blue: the line stops both
    assert np.array_equal(levin(page, prepare(page, [], work_size=max(H, W)), "lineart"), page)  # no hints: no colour


def _members(n=3, seed=0):
    out = []
    for i in range(n):
        torch.manual_seed(seed + i)
        m = build_generator(ModelConfig(width=8, depth=2))
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        out.append(m.eval())
    return out


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 1, 37, 29, generator=g), torch.zeros(2, 3, 37, 29), torch.zeros(2, 1, 37, 29)


@pytest.mark.parametrize("rule", ["mean", "confidence"])
def test_ensemble_of_identical_members_equals_the_member(rule):
    m = _members(1)[0]
    ens = Ensemble([m, copy.deepcopy(m), copy.deepcopy(m)], rule=rule).eval()
    with torch.no_grad():
        assert torch.allclose(ens(*_inputs()), m(*_inputs()), atol=1e-6)


def test_mean_combination_and_weights():
    ms = _members(3)
    x = _inputs()
    with torch.no_grad():
        preds = [m(*x) for m in ms]
        assert torch.allclose(Ensemble(ms).eval()(*x), sum(preds) / 3, atol=1e-6)
        assert torch.allclose(Ensemble(ms, [2, 1, 1]).eval()(*x), (2 * preds[0] + preds[1] + preds[2]) / 4, atol=1e-6)
        conf = Ensemble(ms, rule="confidence").eval()(*x)
    lo, hi = torch.stack(preds).min(0).values, torch.stack(preds).max(0).values
    assert (conf >= lo - 1e-6).all() and (conf <= hi + 1e-6).all()  # a convex combination per pixel


@pytest.mark.parametrize("rule", ["mean", "confidence"])
def test_evaluation_combines_member_outputs_like_the_ensemble(rule):
    """With --with-members, evaluation runs each member once and combines their outputs: same numbers."""
    from training.evaluate.predictors import (
        TorchPredictor,
        member_predictors,
        predict_all,
    )

    ens = TorchPredictor(Ensemble(_members(3), [1, 2, 3], rule=rule), "ens", hint_fill=False)
    preds = [ens, *member_predictors(ens)]
    x = [a.numpy() for a in _inputs()]
    out = predict_all(preds, {False: x})
    assert np.allclose(out["ens"], ens(*x), atol=1e-6)
    assert np.allclose(out["ens member 1"], preds[2](*x))


def test_eval_report_with_ensemble_members(tiny_runs, dataset_dir, tmp_path):
    ens = tmp_path / "ens.json"
    assert main(["ensemble", *map(str, tiny_runs), "--out", str(ens)]) == 0
    args = ["eval", str(ens), str(tiny_runs[0] / "best"), "--with-members", "--data", str(dataset_dir),
            "--limit", "3", "--size", "72"]
    assert main([*args, "--out", str(tmp_path / "r1")]) == 0
    assert main([*args, "--out", str(tmp_path / "r2")]) == 0
    m1 = json.loads((tmp_path / "r1/metrics.json").read_text())
    m2 = json.loads((tmp_path / "r2/metrics.json").read_text())
    assert m1["metrics"] == m2["metrics"]  # fixed seeds: the same numbers every time
    methods = set(m1["metrics"])
    assert {"ens", "no colour", "mean colour", "trapped-ball fill", "levin 2004"} <= methods
    assert {f"ens member {i}" for i in range(3)} <= methods
    assert "ens" in m1["ensemble_gain_db"]
    for kind in ("lineart", "grayscale", "screentone"):
        curve = m1["metrics"]["trapped-ball fill"][kind]
        assert set(curve) == {"mix", "0", "1", "2", "5", "8", "10", "20", "32", "50"}
        assert curve["8"]["hint_de"] >= 0 and "hint_de" not in curve["0"]  # hint dE wherever there are hints
        assert {"psnr", "ssim", "chroma_de", "colourfulness"} <= set(curve["mix"])
    # no hints: trapped-ball fill and Levin are the uncoloured page, exactly
    for b in ("trapped-ball fill", "levin 2004"):
        assert m1["metrics"][b]["lineart"]["0"]["psnr"] == pytest.approx(m1["metrics"]["no colour"]["lineart"]["0"]["psnr"])
    for f in ("report.md", "curve.png", "kinds.png", "worst.png"):
        assert (tmp_path / "r1" / f).stat().st_size > 100
    assert "Where a model does not beat a baseline" in (tmp_path / "r1/report.md").read_text()


def test_search_three_trials_writes_best_config(dataset_dir, tmp_path):
    out = tmp_path / "search"
    assert main(["search", "tiny", f"--data.root={dataset_dir}", "--trials", "3", "--steps", "4",
                 "--fine-trials", "0", "--out", str(out)]) == 0
    rows = (out / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3
    from training.config import load_config

    best = load_config(out / "best.yaml")
    lrs = [float(r.split(",")[2]) for r in rows[1:]]
    assert best.optim.lr in lrs and 1e-4 <= best.optim.lr <= 3e-3
    assert len(set(lrs)) == 3  # a jittered grid: no repeats
    assert (out / "study.db").is_file() and (out / "search.png").is_file()


def test_distill_matches_the_teacher(tiny_runs, dataset_dir, tmp_path):
    """With teacher_weight 1 the student's targets are the teacher's: its bin distribution for the
    cross-entropy, its Lab for the regression."""
    from training.config import load_config
    from training.models import bins_head
    from training.train import Trainer

    ens = tmp_path / "ens.json"
    assert main(["ensemble", *map(str, tiny_runs), "--out", str(ens)]) == 0
    cfg = load_config("tiny", [f"--data.root={dataset_dir}", f"--train.run_dir={tmp_path / 's'}", f"--train.teacher={ens}",
                               "--train.global_hints_p=0"])
    tr = Trainer(cfg)
    b = next(iter(tr.loader(0, 0)))
    loss, _ = tr.objective(tr.model, tr.model, b)
    with torch.no_grad():
        t = tr.teacher(b["x"], b["hint"], b["mask"], None, parts=True)
        s = tr.model(b["x"], b["hint"], b["mask"], None, parts=True)
        want = bins_head.classification_loss(s["logits"], b["target"][:, 1:], tr.model.bins,
                                             bins_head.rebalance_weights(tr.model.prior),
                                             soft=torch.softmax(t["logits"], 1)) + (s["lab_refine"] - t["lab"]).abs().mean()
    assert torch.allclose(loss.detach(), want, atol=1e-5)
    assert main(["distill", str(ens), "tiny", f"--data.root={dataset_dir}", f"--train.run_dir={tmp_path / 'cli'}"]) == 0
    assert (tmp_path / "cli/best/model.safetensors").is_file()


def test_hint_encodings_never_mix_in_ensembles_or_distillation(tiny_runs, dataset_dir, tmp_path, capsys):
    """A plain-encoding member cannot join hint-fill members, and a student must use its teacher's encoding."""
    from training.config import load_config
    from training.train import Trainer

    plain = tmp_path / "plain"
    assert main(["train", "tiny", f"--data.root={dataset_dir}", f"--train.run_dir={plain}", "--data.hint_fill=false"]) == 0
    assert main(["ensemble", str(tiny_runs[0]), str(plain), "--out", str(tmp_path / "mixed.json")]) != 0
    assert "hint_fill" in capsys.readouterr().err and not (tmp_path / "mixed.json").exists()
    cfg = load_config("tiny", [f"--data.root={dataset_dir}", f"--train.run_dir={tmp_path / 's'}",
                               f"--train.teacher={plain / 'best'}"])  # tiny.yaml spreads hints, the teacher does not
    with pytest.raises(ValueError, match="hint_fill"):
        Trainer(cfg)


def test_eval_solver_settings_change_hinted_gray_pages_only(tiny_runs, dataset_dir, tmp_path, capsys):
    args = ["eval", str(tiny_runs[0] / "best"), "--data", str(dataset_dir), "--limit", "2", "--size", "70",
            "--hint-counts", "0", "8", "--baselines"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--solver", "data_weight=50", "--out", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text())["metrics"] for d in "ab")
    name = next(iter(a))
    for kind in ("grayscale", "screentone"):
        assert a[name][kind]["0"]["psnr"] == b[name][kind]["0"]["psnr"]  # no hints: the solver does not run
        assert a[name][kind]["8"]["psnr"] != b[name][kind]["8"]["psnr"]  # a 2500x stronger pull to the network
    assert a[name]["lineart"]["8"]["psnr"] == b[name]["lineart"]["8"]["psnr"]  # line art has its own weights
    capsys.readouterr()
    assert main([*args, "--solver", "data_wieght=1", "--out", str(tmp_path / "c")]) == 2
    assert "KEY one of data_weight" in capsys.readouterr().err


def test_eval_one_kind_scores_the_same_pages_as_all_three(tiny_runs, dataset_dir, tmp_path, capsys):
    args = ["eval", str(tiny_runs[0] / "best"), "--data", str(dataset_dir), "--limit", "2", "--size", "70",
            "--hint-counts", "0", "8", "--baselines", "levin 2004"]
    assert main([*args, "--out", str(tmp_path / "all")]) == 0
    assert main([*args, "--kinds", "screentone", "--out", str(tmp_path / "one")]) == 0
    every, one = (json.loads((tmp_path / d / "metrics.json").read_text())["metrics"] for d in ("all", "one"))
    for method in every:
        assert set(one[method]) == {"screentone"}
        assert one[method]["screentone"] == every[method]["screentone"]  # seeded by kind, not by its place
    assert "kinds screentone." in (tmp_path / "one/report.md").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*args, "--kinds", "manga", "--out", str(tmp_path / "bad")])
    assert "invalid choice: 'manga'" in capsys.readouterr().err
