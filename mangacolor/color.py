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


_TINY = np.float32(1e-30)


def _cbrt(t: np.ndarray) -> np.ndarray:
    """float32 cube root of t >= 0 as exp(log(t) / 3): vectorized, 5x faster than np.cbrt,
    within 5e-7 of it (L within 1e-4)."""
    out = np.log(np.maximum(t, _TINY))
    out *= np.float32(1 / 3)
    return np.exp(out, out=out)


def _f(t: np.ndarray) -> np.ndarray:
    """CIE f(t) (XYZ / white -> Lab's cube-root space), float32, any shape."""
    t = np.asarray(t, dtype=np.float32)
    out = _cbrt(t)
    low = t <= _EPS  # the dark end (L < 8): few pixels, patched instead of a where() over the page
    if low.any():
        out[low] = (_KAPPA * t[low] + 16) / 116
    return out


def _f_inv(f: np.ndarray) -> np.ndarray:
    """Inverse of `_f`: Lab's cube-root space -> XYZ / white, float32."""
    out = f * f
    out *= f
    low = out <= _EPS
    if low.any():
        out[low] = (116 * f[low] - 16) / _KAPPA
    return out


# A gray pixel (R = G = B = v) has Y / Yn = linear(v) and f(Y / Yn) a function of v alone:
# gray pages take both from 256-entry tables instead of converting every pixel.
_GRAY_Y = _srgb_to_linear(np.arange(256) / 255.0)
_GRAY_FY = np.where(_GRAY_Y > _EPS, np.cbrt(_GRAY_Y), (_KAPPA * _GRAY_Y + 16) / 116).astype(np.float32)
_GRAY_Y = _GRAY_Y.astype(np.float32)
# to_uint8 of the linear -> sRGB table: one gather gives the final byte
_TO_SRGB8 = np.clip(_TO_SRGB * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _mix(lin: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(N, 3) planes mixed by the 3 weights `m` -> (N,). Element-wise, not a matmul: BLAS splits an
    (N, 3) x (3, 3) product over threads, which stalls when other work holds the cores."""
    out = lin[:, 0] * m[0]
    out += lin[:, 1] * m[1]
    out += lin[:, 2] * m[2]
    return out


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB (uint8 0..255 or float 0..1) -> (..., 3) float32 Lab."""
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        lin = np.take(_TO_LINEAR, rgb)
    else:
        lin = _srgb_to_linear(rgb.astype(np.float32)).astype(np.float32)
    flat = lin.reshape(-1, 3)
    fx, fy, fz = (_f(_mix(flat, _RGB2XYZN[:, c])) for c in range(3))
    out = np.empty(flat.shape, np.float32)
    np.multiply(fy, 116, out=out[:, 0])
    out[:, 0] -= 16
    np.subtract(fx, fy, out=out[:, 1])
    out[:, 1] *= 500
    np.subtract(fy, fz, out=out[:, 2])
    out[:, 2] *= 200
    return out.reshape(lin.shape)


def gray_levels(rgb: np.ndarray) -> np.ndarray | None:
    """(H, W, 3) uint8 -> its (H, W) levels when every pixel is neutral (R = G = B), else None."""
    r = rgb[..., 0]
    if np.array_equal(r, rgb[..., 1]) and np.array_equal(r, rgb[..., 2]):
        return r
    return None


def lightness_f(rgb: np.ndarray, gray: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(..., 3) uint8 sRGB -> (f(Y), Y) planes, float32, with Y relative to white: all of Lab's
    lightness (L = 116 f(Y) - 16) without a and b. `gray`: the pixels' levels when they are
    neutral (see `gray_levels`), which makes this two table look-ups."""
    if gray is not None:
        return np.take(_GRAY_FY, gray), np.take(_GRAY_Y, gray)
    lin = np.take(_TO_LINEAR, rgb)
    y = _mix(lin.reshape(-1, 3), _RGB2XYZN[:, 1]).reshape(lin.shape[:-1])
    return _f(y), y


_XYZN2INDEX = _XYZN2RGB * np.float32(_LUT_STEPS)  # XYZ / white -> linear RGB, scaled to the tables' steps


def _srgb_index(xr: np.ndarray, yr: np.ndarray, zr: np.ndarray):
    """XYZ / white planes -> per channel, the index into the 65536-step linear -> sRGB tables.
    Out of gamut needs no clip here: indices are clamped by take(mode="clip")."""
    for c in range(3):
        m = _XYZN2INDEX[:, c]
        lin = xr * m[0]
        lin += yr * m[1]
        lin += zr * m[2]
        lin += 0.5
        yield c, lin.astype(np.int32)  # rounded; below 0 and above 65535 clamp in the look-up


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) Lab -> (..., 3) float32 sRGB in [0, 1] (out-of-gamut clipped)."""
    lab = np.asarray(lab, dtype=np.float32)
    flat = lab.reshape(-1, 3)  # planes of at least one dimension, also for a single colour
    fy = (flat[:, 0] + 16) / 116
    out = np.empty(flat.shape, np.float32)
    for c, idx in _srgb_index(_f_inv(fy + flat[:, 1] / 500), _f_inv(fy), _f_inv(fy - flat[:, 2] / 200)):
        out[:, c] = np.take(_TO_SRGB, idx, mode="clip")
    return out.reshape(lab.shape)


def f_to_rgb8(fx: np.ndarray, y: np.ndarray, fz: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Lab in cube-root form, planes f(X), Y, f(Z) (relative to white) -> (..., 3) uint8 sRGB,
    into `out` when given. Equal to to_uint8(lab_to_rgb(lab)) for fx = fy + a / 500,
    fz = fy - b / 200, y = f_inv(fy), without a float RGB image in between."""
    if out is None:
        out = np.empty(fx.shape + (3,), np.uint8)
    for c, idx in _srgb_index(_f_inv(fx), y, _f_inv(fz)):
        out[..., c] = np.take(_TO_SRGB8, idx, mode="clip")
    return out


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


# Rec. 601 luma of a neutral pixel, computed exactly as to_gray computes it (same float32 steps)
_LEVELS = np.arange(256, dtype=np.float32)
_GRAY_LUMA = (_LEVELS * 0.299 + _LEVELS * 0.587 + _LEVELS * 0.114) / 255.0
_GRAY_CHUNK = 1 << 16  # pixels per step: a step's float copy stays in the CPU cache


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W) float32 in [0, 1]: the network's gray input channel.

    Rec. 601 luma of the sRGB values, as Pillow's convert("L") and most
    desaturation tools compute it, so a scanned gray page and a page synthesized
    from a colour image give the same numbers.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim < 2:
        rgb = rgb.astype(np.float32)
        return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114) / 255.0
    px = rgb.reshape(-1, 3)
    out = np.empty(len(px), np.float32)
    for i in range(0, len(px), _GRAY_CHUNK):  # in steps, with no whole-page float copy
        part = px[i:i + _GRAY_CHUNK]
        r = part[:, 0]
        if np.array_equal(r, part[:, 1]) and np.array_equal(r, part[:, 2]):  # neutral: a table look-up
            np.take(_GRAY_LUMA, r, out=out[i:i + _GRAY_CHUNK], mode="clip")
        else:
            f = part.astype(np.float32)
            out[i:i + _GRAY_CHUNK] = (f[:, 0] * 0.299 + f[:, 1] * 0.587 + f[:, 2] * 0.114) / 255.0
    return out.reshape(rgb.shape[:-1])


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
