"""Every registered generator: shapes, finiteness, init and the size contract."""

from __future__ import annotations

import pytest
import torch

from training.models import GENERATORS, ModelConfig, build_generator
from training.models.critic import PatchCritic

SHAPE = (2, 1, 250, 176)  # portrait, not a multiple of 16: swapped axes or padding bugs fail


def _inputs(n=2, h=250, w=176):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, h, w, generator=g)
    mask = (torch.rand(n, 1, h, w, generator=g) > 0.99).float()
    hint = torch.randn(n, 3, h, w, generator=g) * mask
    return x, hint, mask


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("norm", ["group", "batch", "instance", "none"])
def test_forward_shape_and_finite(name, norm):
    model = build_generator(ModelConfig(name=name, width=8, depth=3, norm=norm))
    with torch.no_grad():
        for p in model.parameters():  # leave the zero head so the whole net is exercised
            p.add_(torch.randn_like(p) * 0.01)
    out = model(*_inputs())
    assert out.shape == (2, 3, 250, 176)
    assert torch.isfinite(out).all()
    out.abs().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_output_at_init_is_out_bias(name):
    cfg = ModelConfig(name=name, width=8, depth=2, out_bias=(0.6, 0.1, -0.2))
    out = build_generator(cfg)(*_inputs(1, 37, 61))
    assert torch.allclose(out, torch.tensor(cfg.out_bias).view(1, 3, 1, 1).expand_as(out))


def test_every_conv_has_a_bias_and_hidden_convs_are_kaiming():
    model = build_generator(ModelConfig(width=16, depth=3))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.bias is not None for c in convs)
    first = model.stem[0].conv.weight
    fan_in = first.shape[1] * first.shape[2] * first.shape[3]
    assert abs(first.std().item() - (2 / fan_in) ** 0.5) < 0.25 * (2 / fan_in) ** 0.5


def test_size_contract_message():
    model = build_generator(ModelConfig(width=8, depth=4))
    with pytest.raises(AssertionError, match="needs at least 16x16"):
        model(*_inputs(1, 12, 40))
    x, hint, mask = _inputs(1, 40, 36)
    with pytest.raises(AssertionError, match="must share N, H and W"):
        model(x, hint[..., :30], mask)


def test_unknown_generator_is_refused():
    with pytest.raises(ValueError, match="registered"):
        build_generator(ModelConfig(name="nope"))


def test_patch_critic_shape():
    x, _, _ = _inputs(2, 64, 48)
    out = PatchCritic(width=8)(x, torch.randn(2, 3, 64, 48))
    assert out.shape == (2, 1, 8, 6)
