"""sRGB <-> CIELAB (D65), vectorized, plus the network's normalised Lab space.

The network predicts colour as normalised Lab: L / 100 in [0, 1] and
a / 110, b / 110 in about [-1, 1]. Every conversion between pictures and
tensors goes through `rgb_to_net` / `net_to_rgb`, here and nowhere else.
"""

from __future__ import annotations

import numpy as np

# sRGB (linear) -> XYZ, D65 white, IEC 61966-2-1
_RGB2XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ2RGB = np.linalg.inv(_RGB2XYZ)
_WHITE = _RGB2XYZ.sum(axis=1)  # XYZ of sRGB white (0.95047, 1.0, 1.08883)
_EPS = 216 / 24389
_KAPPA = 24389 / 27

L_SCALE = 100.0
AB_SCALE = 110.0


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb_exact(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


# Pages are big: tables replace the transfer-curve powers (exact for uint8 in,
# < 0.001 of a level off for the 65536-step linear -> sRGB table).
_TO_LINEAR = _srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)
_LUT_STEPS = 65535
_TO_SRGB = _linear_to_srgb_exact(np.arange(_LUT_STEPS + 1) / _LUT_STEPS).astype(np.float32)
_RGB2XYZN = (_RGB2XYZ / _WHITE[:, None]).T.astype(np.float32)  # linear RGB -> XYZ / white, as a right factor
_XYZN2RGB = (_XYZ2RGB * _WHITE[None, :]).T.astype(np.float32)


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(t), (_KAPPA * t + 16) / 116).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB (uint8 0..255 or float 0..1) -> (..., 3) float32 Lab."""
    rgb = np.asarray(rgb)
    lin = _TO_LINEAR[rgb] if rgb.dtype == np.uint8 else _srgb_to_linear(rgb.astype(np.float32)).astype(np.float32)
    f = _f(lin @ _RGB2XYZN)
    out = np.empty(f.shape, np.float32)
    out[..., 0] = 116 * f[..., 1] - 16
    out[..., 1] = 500 * (f[..., 0] - f[..., 1])
    out[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return out


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) Lab -> (..., 3) float32 sRGB in [0, 1] (out-of-gamut clipped)."""
    lab = np.asarray(lab, dtype=np.float32)
    f = np.empty(lab.shape, np.float32)
    f[..., 1] = (lab[..., 0] + 16) / 116
    f[..., 0] = f[..., 1] + lab[..., 1] / 500
    f[..., 2] = f[..., 1] - lab[..., 2] / 200
    f3 = f * f * f
    xyz = np.where(f3 > _EPS, f3, (116 * f - 16) / _KAPPA)
    lin = np.clip(xyz @ _XYZN2RGB, 0.0, 1.0)
    return _TO_SRGB[(lin * _LUT_STEPS + 0.5).astype(np.int32)]


def to_uint8(rgb01: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 with rounding."""
    return np.clip(np.asarray(rgb01) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def rgb_to_net(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> (3, H, W) float32 normalised Lab (the net's colour space)."""
    lab = rgb_to_lab(rgb)
    lab[..., 0] /= L_SCALE
    lab[..., 1:] /= AB_SCALE
    return np.ascontiguousarray(lab.transpose(2, 0, 1))


def net_to_rgb(net: np.ndarray) -> np.ndarray:
    """(3, H, W) normalised Lab -> (H, W, 3) uint8 sRGB."""
    lab = np.asarray(net, dtype=np.float32).transpose(1, 2, 0).copy()
    lab[..., 0] = np.clip(lab[..., 0], 0.0, 1.0) * L_SCALE
    lab[..., 1:] *= AB_SCALE
    return to_uint8(lab_to_rgb(lab))


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) float32 in [0, 1]: the network's gray input channel.

    Rec. 601 luma of the sRGB values, as Pillow's convert("L") and most
    desaturation tools compute it, so a scanned gray page and a page synthesized
    from a colour image give the same numbers.
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114) / 255.0


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) float32 CIE L / 100 in [0, 1]: the gray input channel."""
    return rgb_to_lab(rgb)[..., 0] / L_SCALE


def chroma(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) float32 Lab chroma sqrt(a^2 + b^2)."""
    lab = rgb_to_lab(rgb)
    return np.hypot(lab[..., 1], lab[..., 2])


def parse_hex_color(text: str) -> tuple[int, int, int]:
    """'#rrggbb' (or 'rrggbb', '#rgb') -> (r, g, b); ValueError with a clear message otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"colour must be a string like '#ff8800', got {type(text).__name__}")
    s = text.strip().lstrip("#")
    if len(s) == 3:
        s = "".join(ch * 2 for ch in s)
    if len(s) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in s):
        raise ValueError(f"colour {text[:20]!r} is not a hex colour like '#ff8800'")
    return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)
