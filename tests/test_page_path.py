"""The fast page path (bench/page.py) against the plain formulas it replaces: PNG writer,
banded composition, gray tables. Portrait, odd sizes, pages taller than one band."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from mangacolor import image_io
from mangacolor.color import AB_SCALE, lab_to_rgb, rgb_to_lab, to_gray, to_uint8
from mangacolor.compose import compose, gray_input, working_size
from mangacolor.image_io import encode_png, load_image

H, W = 301, 203  # taller than several 64-row bands, neither a multiple of 64 nor of 16


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, each CRC checked."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", png[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + data), kind
        out.append((kind, data))
        pos += 12 + n
    return out


def _page(rng, neutral: bool) -> np.ndarray:
    g = rng.integers(0, 256, (H, W), dtype=np.uint8)
    page = np.repeat(g[..., None], 3, axis=2)
    if not neutral:
        page[H // 2:, : W // 3] = rng.integers(0, 256, (H - H // 2, W // 3, 3), dtype=np.uint8)
    return page


@pytest.mark.parametrize("shape", [(H, W, 3), (H, W), (H, W, 1), (H, W, 4), (H, W, 2), (1, 1, 3), (3, 700, 3)])
@pytest.mark.parametrize("pieces", [1, 3])
def test_encode_png_round_trips_and_is_one_valid_zlib_stream(shape, pieces, monkeypatch):
    monkeypatch.setattr(image_io, "_PNG_PIECES", pieces)
    monkeypatch.setattr(image_io, "_PNG_PIECE_BYTES", 1000)  # small enough to split these images
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    a[: shape[0] // 2] //= 32  # some smooth rows too
    for level in (0, 1, 6, 9):
        png = encode_png(a, level)
        back = np.asarray(Image.open(io.BytesIO(png)))
        assert back.reshape(a.shape).tolist() == a.tolist(), (shape, level)
        chunks = _chunks(png)
        assert [k for k, _ in chunks][0] == b"IHDR" and chunks[-1][0] == b"IEND"
        width, height = struct.unpack(">II", chunks[0][1][:8])
        assert (height, width) == shape[:2]
        raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))  # checks the Adler-32 too
        assert len(raw) == shape[0] * (1 + a[0].size)


def test_encode_png_falls_back_to_pillow_for_other_dtypes():
    a = (np.arange(H * W, dtype=np.uint16).reshape(H, W) * 7)
    back = np.asarray(Image.open(io.BytesIO(encode_png(a))))
    assert back.astype(np.uint16).tolist() == a.tolist()


def test_load_image_gray_png_is_its_rgb_conversion():
    g = np.random.default_rng(1).integers(0, 256, (H, W), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(g).save(buf, format="PNG")
    rgb = load_image(buf.getvalue())
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8 and rgb.flags.c_contiguous
    assert np.array_equal(rgb, np.asarray(Image.fromarray(g).convert("RGB")))


@pytest.mark.parametrize("neutral", [True, False])
def test_to_gray_is_exactly_the_luma_formula(neutral):
    page = _page(np.random.default_rng(2), neutral)
    f = page.astype(np.float32)
    want = (f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114) / 255.0
    assert np.array_equal(to_gray(page), want)
    assert np.array_equal(to_gray(page[::2, 1::3]), want[::2, 1::3])  # any layout


@pytest.mark.parametrize("size", [(128, 86), (600, 400)])  # down (BOX) and up (BICUBIC)
def test_gray_input_of_a_neutral_page_matches_the_general_path(size):
    page = _page(np.random.default_rng(3), True)
    tinted = page.copy()
    tinted[0, 0, 0] ^= 1  # one non-neutral pixel sends the page down the general path
    a, b = gray_input(page, size), gray_input(tinted, size)
    assert a.shape == (1, *size) and a.dtype == np.float32
    assert np.abs(a - b).max() < 0.01 and np.median(np.abs(a - b)) < 1e-6


def _compose_reference(original: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The plain formula: the page's Lab with a, b replaced by the upsampled prediction."""
    ab = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(p)).resize(original.shape[1::-1], Image.BILINEAR))
                   for p in pred[1:]]) * AB_SCALE
    lab = rgb_to_lab(original)
    lab[..., 1], lab[..., 2] = ab[0], ab[1]
    return to_uint8(lab_to_rgb(lab))


@pytest.mark.parametrize("neutral", [True, False])
def test_compose_gray_matches_the_plain_formula(neutral):
    rng = np.random.default_rng(4)
    page = _page(rng, neutral)
    h, w = working_size(H, W, 96)
    pred = np.stack([rng.random((h, w)), rng.uniform(-0.6, 0.6, (h, w)), rng.uniform(-0.6, 0.6, (h, w))]).astype(np.float32)
    out, ref = compose(page, pred, "grayscale"), _compose_reference(page, pred)
    diff = np.abs(out.astype(int) - ref)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_compose_lineart_matches_the_plain_formula():
    rng = np.random.default_rng(5)
    page = _page(rng, False)
    h, w = working_size(H, W, 96)
    pred = np.stack([rng.random((h, w)), rng.uniform(-0.5, 0.5, (h, w)), rng.uniform(-0.5, 0.5, (h, w))]).astype(np.float32)
    from mangacolor.color import net_to_rgb

    layer = np.asarray(Image.fromarray(net_to_rgb(pred)).resize((W, H), Image.BICUBIC)).astype(np.float32)
    ref = to_uint8(layer * page.astype(np.float32) / (255.0 * 255.0))
    diff = np.abs(compose(page, pred, "lineart").astype(int) - ref)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-2


def test_encode_png_works_in_a_forked_child():
    import multiprocessing as mp

    a = np.random.default_rng(6).integers(0, 256, (700, 600, 3), dtype=np.uint8)  # big enough for pieces
    want = encode_png(a, 1)  # the parent's pool exists now
    with mp.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(encode_png, (a, 1)).get(timeout=60)
    assert got == want


def test_line_art_lines_come_from_the_page_alone_without_a_halo():
    """A network that repeats the page's lines in its own lightness (as the bundled ones do) must not draw them
    a second time: upsampled to the page, its copy of a line was a dark halo beside every line."""
    from scipy import ndimage

    from mangacolor.pipeline import finish, prepare, run_model

    page = np.full((603, 419, 3), 255, np.uint8)  # 3x the working size below; asymmetric
    for top, left in ((40, 30), (330, 60)):
        page[top:top + 200, left:left + 300] = 0
        page[top + 3:top + 197, left + 3:left + 297] = 255  # 3 px outlines

    def repeats_the_lines(x, hint, mask):  # lightness = the gray input, a warm colour everywhere
        return np.concatenate([x, np.full_like(x, 0.25), np.full_like(x, 0.2)], axis=1)

    p = prepare(page, [], work_size=201)
    pred = run_model(repeats_the_lines, p)[0]
    lines = page[..., 0] < 128
    dist = ndimage.distance_transform_edt(~lines)
    beside, far = (dist >= 1) & (dist < 4), dist >= 12  # paper next to a line, and paper away from them

    def lightness(reach: int) -> tuple[float, float]:
        out = rgb_to_lab(finish(page, pred, p, "lineart", "off", line_reach=reach))[..., 0]
        return float(out[beside].mean()), float(out[far].mean())

    old_beside, old_far = lightness(-1)
    new_beside, new_far = lightness(1)
    assert old_far - old_beside > 10  # the halo, before: the stand-in is a fair model of the problem
    assert abs(new_far - new_beside) < 2 and abs(new_far - old_far) < 1  # gone; the fill colour unchanged
