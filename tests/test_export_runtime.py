"""ONNX export checks, the ONNX Runtime path, the pipeline's size contract, and the colorize CLI."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from mangacolor.cli import main
from mangacolor.color import rgb_to_lab
from mangacolor.pipeline import colorize
from serving import runtime
from serving.chapter import colorize_chapter
from serving.inference import Colorizer
from tests.fixtures import drawing
from training import export as export_mod
from training import onnx_graph


def test_export_writes_checked_model_with_metadata(exported, dataset_dir):
    names = sorted(p.name for p in exported.iterdir())
    assert {"model.onnx", "model.fp16.onnx", "model_card.md", "card.json"} <= set(names)
    assert not [n for n in names if n.endswith(".data")]  # weights inline
    m = runtime.load_model(exported, device="cpu")
    assert m.provider == "CPUExecutionProvider"
    meta = m.metadata
    assert meta["preprocessing_version"] == 1 and meta["variant"] == "fp32"
    assert meta["data_manifest_hash"] == [json.loads((dataset_dir / "manifest.json").read_text())["hash"]]
    assert meta["licenses"][0]["license"] == "CC0 (test fixture)"
    assert meta["checks"]["parity_max_abs_err"] <= 1e-4 and not {"kind", "quality"} & set(meta)  # the old names
    card = json.loads((exported / "card.json").read_text())
    assert "psnr_change_db" in card["variants"]["fp16"]
    assert "int8" in card["variants"]  # written with its change, or refused with the reason
    text = (exported / "model_card.md").read_text()
    assert "Training data licences" in text and f"gray gain {meta['gray_gain']}" in text
    assert meta["trained_on"] == ["cpu, amp None"] and "- trained on: cpu, amp None" in text  # where it was trained


def test_model_card_prints_the_evaluation_as_a_table(tmp_path):
    from training.model_card import metrics_table

    curve = {"0": {"psnr": 22.771}, "8": {"psnr": 23.5}, "mix": {"psnr": 1.0}}
    lines = metrics_table({"split": "characters", "metrics": {"fast": {"grayscale": curve}}})
    assert "| fast | grayscale | 22.77 | 23.50 |" in lines and "characters split" in lines[2]
    assert "None attached" in metrics_table(None)[-1]
    dated = metrics_table({"split": "test", "metrics": {"fast": {"grayscale": curve}}}, "0.1.0+abc1234")
    assert "measured at export with code 0.1.0+abc1234" in dated[2]  # a reader knows which code scored it


@pytest.mark.parametrize("shape", [(1, 37, 61), (3, 50, 35), (2, 251, 173)])
def test_dynamic_shapes_match_pytorch(exported, tiny_runs, shape):
    from training.checkpoint import load_model

    n, h, w = shape
    x, hint, mask = onnx_graph._inputs(n, h, w, seed=5)
    onnx_model = runtime.load_model(exported, device="cpu")
    assert onnx_model.gives_confidence and onnx_model.takes_global_hints  # the tiny config has the bins head
    model, _ = load_model(tiny_runs[0] / "best")
    glob = onnx_graph.Graph(model).example(n, h, w, seed=5)["glob"]  # a reference's colours
    for g in (None, glob):
        got = onnx_model(x, hint, mask, g)
        with torch.no_grad():
            parts = model.eval()(*(torch.from_numpy(a) for a in (x, hint, mask)),
                                 None if g is None else torch.from_numpy(g), parts=True)
        want = torch.cat([parts["lab"], parts["confidence"]], 1).numpy()
        assert got.shape == (n, 4, h, w) and np.abs(got - want).max() <= 1e-4
        assert 0 <= got[:, 3].min() and got[:, 3].max() <= 1


def test_ensemble_exports_as_one_graph(tiny_runs, tmp_path):
    from training.evaluate.predictors import load_predictor

    ens = tmp_path / "ens.json"
    assert main(["ensemble", *map(str, tiny_runs), "--rule", "confidence", "--out", str(ens)]) == 0
    out = tmp_path / "ens_model"
    export_mod.export(str(ens), out, variants=())
    m = runtime.load_model(out, device="cpu")
    assert m.metadata["structure"] == "ensemble" and m.metadata["members"] == 3
    x, hint, mask = onnx_graph._inputs(2, 45, 38, seed=9)
    want = load_predictor(ens)(x, hint, mask)  # Lab + the confidence of the members' mixed distribution
    assert want.shape == (2, 4, 45, 38) and np.abs(m(x, hint, mask) - want).max() <= 1e-4


def test_int8_refused_when_it_loses_too_much(tiny_runs, tmp_path, monkeypatch):
    # the rule under test: refuse INT8 when its measured PSNR change is below -limit. With the limit
    # moved to -5 dB an INT8 model must *gain* 5 dB to be kept, which a quantized copy never does.
    monkeypatch.setattr(export_mod, "INT8_MAX_LOSS_DB", -5.0)
    out = tmp_path / "m"
    res = export_mod.export(str(tiny_runs[0] / "best"), out, variants=("int8",), calib=4, checks_limit=3)
    assert "refused" in res["variants"]["int8"] and "loses" in res["variants"]["int8"]["refused"]
    assert not (out / "model.int8.onnx").exists()
    assert "refused" in (out / "model_card.md").read_text()


def test_export_refuses_to_write_when_parity_fails(tiny_runs, tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "PARITY_TOL", -1.0)  # no error is small enough
    with pytest.raises(export_mod.ExportError, match="differs from PyTorch"):
        export_mod.export(str(tiny_runs[0] / "best"), tmp_path / "m", variants=())
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.tmp").exists()


def test_runtime_refuses_corrupt_and_contract_breaking_models(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes(b"\x08\x07garbage" * 100)
    with pytest.raises(runtime.ModelError, match="cannot load"):
        runtime.load_model(bad, device="cpu")

    class Other(torch.nn.Module):
        def forward(self, a):
            return a * 2

    other = tmp_path / "other"
    other.mkdir()
    torch.onnx.export(Other(), (torch.zeros(1, 1, 8, 8),), str(other / "model.onnx"), input_names=["img"],
                      output_names=["out"], dynamo=False)
    with pytest.raises(runtime.ModelError, match="expected inputs"):
        runtime.load_model(other, device="cpu")
    with pytest.raises(runtime.ModelError, match="no model at"):
        runtime.load_model(tmp_path / "missing", device="cpu")


def test_cuda_is_asked_for_only_where_usable():
    if runtime.cuda_usable():
        assert runtime.providers_for("auto")[0][0] == "CUDAExecutionProvider"
    else:
        assert runtime.providers_for("auto") == ["CPUExecutionProvider"]
        with pytest.raises(RuntimeError, match="no usable CUDA"):
            runtime.providers_for("cuda")


@pytest.mark.parametrize("size", [(251, 173), (173, 251), (37, 61), (1201, 1699)])
@pytest.mark.parametrize("kind", ["lineart", "grayscale", "screentone"])
def test_output_has_the_input_size(exported, size, kind):
    m = runtime.load_model(exported, device="cpu")
    h, w = size
    page = np.full((h, w, 3), 255, np.uint8)
    page[h // 3: h // 2, w // 4: w // 2] = 40
    out = colorize(page, m, kind)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


def test_no_colour_shift_with_page_size(exported):
    """The network sees the same working resolution, so a page at 3x size gets the same colours."""
    m = runtime.load_model(exported, device="cpu")
    color, _ = drawing(11, size=(173, 251))
    small = np.asarray(color.convert("L").convert("RGB"))
    big = np.asarray(color.convert("L").convert("RGB").resize((173 * 3, 251 * 3), Image.NEAREST))
    a = colorize(small, m, "grayscale", work_size=128)
    b = colorize(big, m, "grayscale", work_size=128)
    b_small = np.asarray(Image.fromarray(b).resize((173, 251), Image.BOX))
    de = np.linalg.norm(rgb_to_lab(a)[..., 1:] - rgb_to_lab(b_small)[..., 1:], axis=-1)
    assert np.median(de) < 2.0


def _chapter(path, pages):
    with zipfile.ZipFile(path, "w") as z:
        for name, body in pages:
            z.writestr(name, body)


def _png(im) -> bytes:
    b = io.BytesIO()
    im.save(b, "PNG")
    return b.getvalue()


def test_cbz_round_trip_with_a_corrupt_page_and_resume(exported, tmp_path):
    pages = [(f"ch1/p{i}.png", _png(drawing(i, size=(131, 187))[1].convert("L"))) for i in (1, 2, 10)]
    pages.insert(2, ("ch1/p3.png", b"\x89PNG\r\n\x1a\n broken"))
    pages.append(("ch1/p11.png", _png(drawing(4, size=(131, 187))[0])))  # already in colour
    src = tmp_path / "chapter.cbz"
    _chapter(src, pages)
    col = Colorizer.load(exported, device="cpu")

    class Stop(Exception):
        pass

    def interrupt_after_two(i, n, name):
        if i == 2:
            raise Stop

    dst = tmp_path / "out" / "chapter.cbz"
    dst.parent.mkdir()
    with pytest.raises(Stop):
        colorize_chapter(src, dst, col, progress=interrupt_after_two)
    assert not dst.exists()
    rep = colorize_chapter(src, dst, col)
    assert rep.resumed == 2 and rep.pages == 5 and rep.coloured == 1 and rep.skipped_colour == 1  # 2 done before
    assert len(rep.failed) == 1 and "p3.png" in rep.failed[0]
    with zipfile.ZipFile(dst) as z:
        names = z.namelist()
        assert names == ["ch1/p1.png", "ch1/p2.png", "ch1/p3.png", "ch1/p10.png", "ch1/p11.png"]
        out = Image.open(io.BytesIO(z.read("ch1/p10.png")))
        assert out.size == (131, 187) and out.mode == "RGB"
        assert z.read("ch1/p11.png") == pages[-1][1]  # coloured page untouched


def test_colorize_cli_files_folders_and_hints(exported, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    drawing(1, size=(131, 187))[1].save(src / "a.png")
    drawing(2, size=(99, 77))[1].save(src / "sub" / "b.jpg")
    (src / "bad.png").write_text("nope")
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"size": [131, 187], "hints": [{"x": 40, "y": 60, "color": "#ff0000", "radius": 6}]}))
    out = tmp_path / "out"
    rc = main(["colorize", str(src), "--out", str(out), "--model", str(exported), "--hints", str(hints), "--device", "cpu"])
    assert rc == 1  # one bad file, reported
    assert "bad.png: skipped" in capsys.readouterr().out
    a = Image.open(out / "in" / "a.png")
    assert a.size == (131, 187) and Image.open(out / "in" / "sub" / "b.png").size == (99, 77)
    mtime = (out / "in" / "a.png").stat().st_mtime_ns
    main(["colorize", str(src / "a.png"), str(src), "--out", str(out), "--model", str(exported), "--device", "cpu"])
    assert (out / "in" / "a.png").stat().st_mtime_ns == mtime  # finished outputs are not redone


def test_colorize_cli_refine_option(exported, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["colorize", "--help"])
    assert e.value.code == 0
    assert "--refine {auto,on,off,fill}" in capsys.readouterr().out
    src = tmp_path / "a.png"
    drawing(1, size=(131, 187))[1].save(src)
    with pytest.raises(SystemExit) as e:  # argparse refuses it before any model is loaded
        main(["colorize", str(src), "--out", str(tmp_path / "bad"), "--model", str(exported), "--refine", "bogus"])
    assert e.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"size": [131, 187], "hints": [{"x": 40, "y": 60, "color": "#ff0000", "radius": 6}]}))
    outs = {}
    for mode in ("off", "on"):
        rc = main(["colorize", str(src), "--out", str(tmp_path / mode), "--model", str(exported), "--hints", str(hints),
                   "--mode", "lineart", "--refine", mode, "--device", "cpu"])
        assert rc == 0
        outs[mode] = np.asarray(Image.open(tmp_path / mode / "a.png"))
        assert outs[mode].shape == (187, 131, 3)
    assert not np.array_equal(outs["on"], outs["off"])  # the option reaches the pipeline


def test_a_4000x6000_page_in_bounded_memory(exported):
    import tracemalloc

    m = runtime.load_model(exported, device="cpu")
    page = np.full((6000, 4000, 3), 255, np.uint8)
    page[1000:5000:9] = 0
    tracemalloc.start()
    out = colorize(page, m, "grayscale")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == page.shape
    assert peak < 1.2e9, f"peak numpy memory {peak / 1e9:.2f} GB"  # the page itself is 72 MB


def test_server_malloc_settings_apply_on_glibc():
    """The service's memory stays flat only if glibc takes the arena and mmap settings (serving/memory.py)."""
    import platform

    from serving.memory import tame_malloc

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc: the settings do not apply")
    assert tame_malloc() is True



def test_runtime_spreads_hints_for_models_trained_with_hint_fill(tmp_path):
    """A model whose metadata says hint_fill gets each hint spread over its region by the runtime, as in training.
    HintEcho paints hint colours within 15 px; spread, the colour reaches the whole region and no further. The
    solver is off: it spreads hints along flat gray by itself, and this is about what the network receives."""
    from mangacolor.hints import parse_hints
    from tests.hint_echo import export_hint_echo

    H, W = 83, 131
    page = np.full((H, W, 3), 190, np.uint8)
    page[:, 70:72] = 0                                   # a line splits the page into two regions
    hints = parse_hints([{"x": 5, "y": 40, "color": "#d02020"}], size=(W, H))
    for fill in (False, True):
        model = runtime.load_model(export_hint_echo(tmp_path / str(fill), hint_fill=fill), device="cpu")
        lab = rgb_to_lab(colorize(page, model, "grayscale", hints, work_size=W, refine="off"))
        far, other = lab[40, 60], lab[40, 110]            # 55 px from the hint in its region; across the line
        assert far[1] > 15 if fill else abs(far[1]) < 3
        assert abs(other[1]) < 3
