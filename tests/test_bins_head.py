"""The ab-bin colour head: bins, soft encoding, rebalancing, decoding, confidence, global hints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mangacolor.abbins import ab_bins, global_dim, global_hints, nearest_bin, no_global_hints
from mangacolor.color import AB_SCALE, rgb_to_net
from training.evaluate.temperature import pick
from training.models import ModelConfig, bins_head, build_generator


def test_bins_cover_the_srgb_gamut_and_only_it():
    bins = ab_bins() * AB_SCALE
    assert 200 < len(bins) < 330
    assert [0.0, 0.0] in bins.tolist()                      # gray
    assert (np.abs(bins) <= 110).all()
    # saturated sRGB primaries land in a bin within half a bin's diagonal
    prim = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]], np.uint8)
    ab = rgb_to_net(prim)[1:].transpose(1, 2, 0)[0]          # (4, 2)
    d = np.linalg.norm(ab_bins()[nearest_bin(ab)] - ab, axis=1) * AB_SCALE
    assert (d <= 5 * math.sqrt(2) + 1e-3).all()


def test_soft_encoding_is_a_distribution_on_the_nearest_bins():
    bins = bins_head.bins_tensor()
    ab = torch.tensor([0.31, -0.22]).view(1, 2, 1, 1).expand(2, 2, 3, 5)
    q = bins_head.soft_encode(ab, bins)
    assert q.shape == (2, len(bins), 3, 5)
    assert torch.allclose(q.sum(1), torch.ones(2, 3, 5))
    assert ((q > 0).sum(1) == bins_head.NEIGHBOURS).all()
    assert q.argmax(1).unique().item() == bins_head.nearest(ab, bins).unique().item()


def test_rebalance_weights_average_one_under_the_prior_and_favour_rare_bins():
    prior = torch.rand(len(ab_bins())) ** 4
    prior /= prior.sum()
    w = bins_head.rebalance_weights(prior)
    assert torch.isclose((prior * w).sum(), torch.tensor(1.0))
    assert w[prior.argmin()] > w[prior.argmax()]


def test_annealed_mean_goes_from_the_mean_to_the_mode():
    bins = bins_head.bins_tensor()
    logits = torch.zeros(1, len(bins), 2, 3)
    far = int(torch.linalg.norm(bins, dim=1).argmax())
    logits[:, far] = 3.0
    mean = bins_head.decode(logits, bins, 1.0)
    mode = bins_head.decode(logits, bins, 0.01)
    assert torch.allclose(mode[0, :, 0, 0], bins[far], atol=1e-3)
    assert mean[0].norm(dim=0).max() < mode[0].norm(dim=0).min()  # the mean is less saturated
    conf = bins_head.confidence(logits)
    assert conf.shape == (1, 1, 2, 3) and ((0 <= conf) & (conf <= 1)).all()
    assert bins_head.confidence(torch.zeros(1, len(bins), 1, 1)).item() == pytest.approx(0, abs=1e-5)


def test_global_hints_of_a_reference_match_those_taken_from_a_training_target():
    """The service computes them with numpy from a reference; training with torch from the target."""
    img = np.zeros((44, 36, 3), np.uint8)
    img[:, :18] = (200, 40, 40)
    img[:22, 18:] = (40, 160, 60)
    img[22:, 18:] = 255                                        # paper: left out of both
    img[20:24, :] = 0                                          # ink: left out of both
    ref = global_hints([img], max_side=11)                     # 4x4 boxes, as training's area resize
    assert ref.shape == (global_dim(),) and ref[-1] == 1 and ref[:-2].sum() == pytest.approx(1, abs=1e-5)
    target = torch.from_numpy(rgb_to_net(img))[None]
    got = bins_head.target_global_hints(target, bins_head.bins_tensor(), torch.tensor([True]))[0].numpy()
    # blocks that mix two colours may fall in neighbouring bins (sRGB vs Lab averaging): compare the
    # pure colours' bins and the histograms' mean colour
    assert set(np.argsort(got[:-2])[-2:]) == set(np.argsort(ref[:-2])[-2:])
    assert np.abs(got[:-2] @ ab_bins() - ref[:-2] @ ab_bins()).max() < 0.02
    assert got[-2] == pytest.approx(ref[-2], rel=0.1)
    none = bins_head.target_global_hints(target, bins_head.bins_tensor(), torch.tensor([False]))
    assert (none == 0).all() and (no_global_hints(2) == 0).all()


def test_no_global_hints_equals_zeros_in_the_network():
    model = build_generator(ModelConfig(width=8, depth=3, max_width=16, head="bins", global_hints=True)).eval()
    for layer in (model.glob, model.cls, model.head):  # heads start at zero: give them weights
        torch.nn.init.normal_(layer.weight, std=0.1)
        torch.nn.init.normal_(layer.bias, std=0.1)
    x, hint, mask = torch.rand(2, 1, 37, 29), torch.zeros(2, 3, 37, 29), torch.zeros(2, 1, 37, 29)
    with torch.no_grad():
        a = model(x, hint, mask)
        b = model(x, hint, mask, torch.zeros(2, global_dim()))
        c = model(x, hint, mask, torch.from_numpy(np.tile(global_hints([np.full((9, 7, 3), (30, 90, 200), np.uint8)]), (2, 1))))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert a.shape == (2, 3, 37, 29)


def test_decoding_pick_does_no_harm_first_then_prefers_psnr_among_colourful_enough():
    def row(p, c, de):
        return {"grayscale": {"psnr": p, "colourfulness": c, "chroma_de": de},
                "lineart": {"psnr": p - 10, "colourfulness": c, "chroma_de": de}}

    gray = {"psnr": 20.0, "chroma_de": 10.0}
    table = {(0.2, 1.0): row(19, 0.9, 12),     # colourful but worse than gray: harm
             (0.5, 0.6): row(21, 0.6, 9),       # no harm, colourful enough
             (0.5, 0.8): row(20.5, 0.7, 9.5),   # no harm, colourful enough, lower PSNR
             (1.0, 0.4): row(22, 0.3, 8)}       # best PSNR but not colourful enough
    assert pick(table, gray) == (0.5, 0.6)
    del table[(0.5, 0.6)], table[(0.5, 0.8)]
    assert pick(table, gray) == (1.0, 0.4)      # none colourful enough: the one that does no harm
    assert pick({(0.2, 1.0): row(19, 0.9, 12), (0.5, 1.0): row(19.5, 0.2, 11)}, gray) == (0.5, 1.0)  # all harm: best PSNR


@pytest.mark.parametrize("members", [1, 2])
def test_exported_bins_head_keeps_its_softmaxes_on_the_last_axis_after_onnxruntime_optimises_it(tmp_path, members):
    """ONNX Runtime's optimizer moves transposes through softmaxes and sums: done for the confidence's
    entropy, that put a softmax back on the bins' middle axis, where its CPU kernel is several times
    slower (bins_head._last). The graph it actually runs must have every softmax on the last axis."""
    import onnx
    import onnxruntime as ort

    from training.models.ensemble import Ensemble
    from training.onnx_graph import Graph, export_onnx

    cfg = ModelConfig(width=8, depth=3, max_width=16, head="bins", global_hints=True)
    nets = [build_generator(cfg).eval() for _ in range(members)]
    model = nets[0] if members == 1 else Ensemble(nets).eval()
    export_onnx(model, tmp_path / "model.onnx")
    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), so, providers=["CPUExecutionProvider"])
    softmaxes = [n for n in onnx.load(str(tmp_path / "optimised.onnx")).graph.node if n.op_type == "Softmax"]
    # each member's annealed mean, and the distribution the confidence is the entropy of (an ensemble's: its mix)
    assert len(softmaxes) == 2 * members
    axes = [onnx.helper.get_attribute_value(a) for n in softmaxes for a in n.attribute if a.name == "axis"]
    assert axes == [-1] * len(softmaxes), axes
    feed = Graph(model).example(1, 45, 38)  # and it still gives what torch gives
    got = sess.run(None, feed)
    with torch.no_grad():
        want = Graph(model)(*(torch.from_numpy(a) for a in feed.values()))
    for g, t in zip(got, want):
        np.testing.assert_allclose(g, t.numpy(), atol=1e-4)
