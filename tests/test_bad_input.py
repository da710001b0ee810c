"""A corpus of hostile, broken and unusual requests against the real server.

Broken requests get their documented 4xx with the {"error", "detail"} body; unusual but valid
images (CMYK, 16-bit, palette with transparency, animations, EXIF rotation) are coloured at
their displayed size. After every request the server is still ready, and at the end its
memory is back near where it started.
"""

from __future__ import annotations

import io
import json
import socket
import time
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from mangacolor.contract import REFINE_MODES

LIMIT_MB = 2  # MANGACOLOR_MAX_UPLOAD_MB in tests/server.py


def png(im: Image.Image, fmt="PNG", **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def page(w=173, h=251) -> Image.Image:
    im = Image.new("RGB", (w, h), "white")
    ImageDraw.Draw(im).rectangle([10, 10, w - 10, h - 10], outline="black", width=3)
    return im


def chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_header(w: int, h: int) -> bytes:
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


def cmyk_jpeg() -> bytes:
    return png(page().convert("CMYK"), "JPEG")


def png16() -> bytes:
    return png(page().convert("L").convert("I;16"))


def palette_transparent() -> bytes:
    im = page().convert("P")
    return png(im, transparency=0)


def animated_gif() -> bytes:
    frames = [page(), Image.new("RGB", (173, 251), "red")]
    return png(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: displayed as 251 x 173
    return png(page(), "JPEG", exif=exif)


def bomb() -> bytes:
    """A few KB that decode to 25 megapixels."""
    return png(Image.new("1", (5000, 5000), 1))


GOOD = png(page())
JPEG = png(page(), "JPEG")
IMG = lambda data, name="a.png", ctype="image/png": {"image": (name, data, ctype)}  # noqa: E731

# name: (files, form data, expected status)
CORPUS = {
    "zero bytes": (IMG(b""), {}, 415),
    "text named .png": (IMG(b"hello, not an image"), {}, 415),
    "pdf named .png": (IMG(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"), {}, 415),
    "truncated png": (IMG(GOOD[: len(GOOD) // 2]), {}, 422),
    "truncated jpeg": (IMG(JPEG[: len(JPEG) // 2], "a.jpg", "image/jpeg"), {}, 422),
    "png with bad crc only header": (IMG(GOOD[:40]), {}, 422),
    "decompression bomb": (IMG(bomb()), {}, 413),
    "20000x20000 header": (IMG(png_header(20000, 20000)), {}, 413),
    "1x1 image": (IMG(png(Image.new("RGB", (1, 1)))), {}, 422),
    "missing image field": ({}, {"mode": "auto"}, 400),
    "image sent as text field": ({}, {"image": "not a file"}, 400),
    "body over the limit": (IMG(b"\x89PNG" + b"0" * (LIMIT_MB * 1024 * 1024 + 10)), {}, 413),
    "malformed hints json": (IMG(GOOD), {"hints": "[{"}, 400),
    "hints not a list": (IMG(GOOD), {"hints": '{"x": 1}'}, 400),
    "hints deeply nested": (IMG(GOOD), {"hints": "[" * 5000 + "]" * 5000}, 400),
    "huge hints json": (IMG(GOOD), {"hints": "[" + ",".join(['{"x":1,"y":1,"color":"#fff"}'] * 40000) + "]"}, 413),
    "too many hints": (IMG(GOOD), {"hints": json.dumps([{"x": 1, "y": 1, "color": "#fff"}] * 1001)}, 400),
    "hint out of bounds": (IMG(GOOD), {"hints": '[{"x": 999, "y": 1, "color": "#fff"}]'}, 400),
    "negative coordinate": (IMG(GOOD), {"hints": '[{"x": -3, "y": 1, "color": "#fff"}]'}, 400),
    "nan coordinate": (IMG(GOOD), {"hints": '[{"x": NaN, "y": 1, "color": "#fff"}]'}, 400),
    "infinite coordinate": (IMG(GOOD), {"hints": '[{"x": Infinity, "y": 1, "color": "#fff"}]'}, 400),
    "string coordinate": (IMG(GOOD), {"hints": '[{"x": "10", "y": 1, "color": "#fff"}]'}, 400),
    "bad colour string": (IMG(GOOD), {"hints": '[{"x": 1, "y": 1, "color": "red"}]'}, 400),
    "missing colour": (IMG(GOOD), {"hints": '[{"x": 1, "y": 1}]'}, 400),
    "negative radius": (IMG(GOOD), {"hints": '[{"x": 1, "y": 1, "color": "#fff", "radius": -2}]'}, 400),
    "stroke with bad points": (IMG(GOOD), {"hints": '[{"points": [[1, 2, 3]], "color": "#fff"}]'}, 400),
    "unknown mode": (IMG(GOOD), {"mode": "watercolour"}, 400),
    "oversized mode field": (IMG(GOOD), {"mode": "x" * 100_000}, 400),
    "unknown quality": (IMG(GOOD), {"quality": "best"}, 400),
    "unknown model": (IMG(GOOD), {"model": "mangacolor:nope"}, 404),
    "path-like model": (IMG(GOOD), {"model": "../../etc/passwd"}, 404),
    "wildcard model": (IMG(GOOD), {"model": "mangacolor:*"}, 404),
    "ensemble quality, none deployed": (IMG(GOOD), {"quality": "ensemble"}, 503),
    "unknown refine": (IMG(GOOD), {"refine": "bogus"}, 400),
    "oversized refine field": (IMG(GOOD), {"refine": "x" * 100_000}, 400),
    "refine, wrong case": (IMG(GOOD), {"refine": "ON"}, 400),
    # unusual but valid: coloured at their displayed size
    "cmyk jpeg": (IMG(cmyk_jpeg(), "a.jpg", "image/jpeg"), {}, 200),
    "16-bit png": (IMG(png16()), {}, 200),
    "palette with transparency": (IMG(palette_transparent()), {}, 200),
    "animated gif": (IMG(animated_gif(), "a.gif", "image/gif"), {}, 200),
    "exif-rotated jpeg": (IMG(exif_rotated(), "a.jpg", "image/jpeg"), {}, 200),
    "webp": (IMG(png(page(), "WEBP"), "a.webp", "image/webp"), {}, 200),
    "bmp": (IMG(png(page(), "BMP"), "a.bmp", "image/bmp"), {}, 200),
    "refine off": (IMG(GOOD), {"refine": "off"}, 200),
    "refine on": (IMG(GOOD), {"refine": "on"}, 200),
    "refine on, hints": (IMG(GOOD), {"refine": "on", "hints": '[{"x": 40, "y": 60, "color": "#c04030"}]'}, 200),
    "refine fill, hints": (IMG(GOOD), {"refine": "fill", "hints": '[{"x": 40, "y": 60, "color": "#c04030"}]'}, 200),
}
SIZES = {"exif-rotated jpeg": (251, 173)}


def rss_mb(pid: int) -> float:
    """Resident memory of the server and all its descendants (MB)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return total


@pytest.fixture(scope="module")
def baseline_memory(server):
    for _ in range(3):  # warm: first requests allocate caches that stay
        httpx.post(f"{server.url}/colorize", files=IMG(GOOD), timeout=60)
    return rss_mb(server.proc.pid)


@pytest.mark.parametrize("name", list(CORPUS))
def test_corpus(server, baseline_memory, name):
    files, data, status = CORPUS[name]
    r = httpx.post(f"{server.url}/colorize", files=files or None, data=data, timeout=60)
    assert r.status_code == status, (name, r.status_code, r.text[:300])
    if status == 200:
        assert r.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(r.content)).size == SIZES.get(name, (173, 251))
    else:
        body = r.json()
        assert set(body) == {"error", "detail"} and body["detail"], body
    assert server.ready()


# A bad reference, sent second after a good one: name: (its bytes, expected status)
BAD_REFERENCES = {
    "not an image": (b"hello, not an image", 415),
    "empty file": (b"", 415),
    "truncated png": (GOOD[: len(GOOD) // 2], 422),
    "too many pixels": (png(Image.new("RGB", (2100, 2000), "white")), 413),  # over MANGACOLOR_MAX_PIXELS=4e6
    "20000x20000 header": (png_header(20000, 20000), 413),
    "decompression bomb": (bomb(), 413),
}


def refs_form(refs: list[bytes]) -> list:
    return [("image", ("a.png", GOOD, "image/png"))] + [("reference", (f"r{i}.png", r, "image/png")) for i, r in enumerate(refs)]


@pytest.mark.parametrize("name", list(BAD_REFERENCES))
def test_a_bad_reference_is_named(server, baseline_memory, name):
    data, status = BAD_REFERENCES[name]
    r = httpx.post(f"{server.url}/colorize", files=refs_form([png(page(61, 83)), data]), timeout=60)
    assert r.status_code == status, (name, r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error", "detail"} and body["detail"].startswith("reference 2: "), body
    assert server.ready()


def test_too_many_references_and_references_over_the_byte_limit(server):
    r = httpx.post(f"{server.url}/colorize", files=refs_form([png(page(61, 83))] * 9), timeout=60)
    assert r.status_code == 400 and r.json()["error"] == "too_many_references", r.text
    assert "at most 8" in r.json()["detail"] and "9" in r.json()["detail"]
    # each reference under the byte limit, all of them together over it: one limit for the whole request
    part = b"\x89PNG" + b"0" * (LIMIT_MB * 1024 * 1024 // 3)
    r = httpx.post(f"{server.url}/colorize", files=refs_form([part] * 4), timeout=60)
    assert r.status_code == 413 and set(r.json()) == {"error", "detail"}, r.text[:300]
    r = httpx.post(f"{server.url}/colorize", files=refs_form([]), data={"reference": "not a file"}, timeout=60)
    assert r.status_code == 400 and r.json()["detail"].startswith("reference 1: "), r.text[:300]
    assert server.ready()


def test_references_share_the_image_byte_budget():
    """Behind the body-limit middleware, the references' reading also keeps to one budget for the request."""
    import asyncio

    from serving.api import ApiError
    from serving.api_references import read_references

    class Upload:
        def __init__(self, data: bytes):
            self.data = data

        async def read(self, n: int) -> bytes:
            return self.data[:n]

    assert asyncio.run(read_references([Upload(b"x" * 40)] * 2, 100, 150)) == [b"x" * 40] * 2
    with pytest.raises(ApiError) as e:
        asyncio.run(read_references([Upload(b"x" * 40)] * 3, 100, 150))
    assert e.value.status == 413 and e.value.detail.startswith("reference 3: ") and "150" in e.value.detail


def test_bad_format_is_a_bad_parameter_that_names_the_choices(server):
    r = httpx.post(f"{server.url}/colorize", files=IMG(GOOD), data={"format": "psd"}, timeout=60)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "bad_parameter" and "format" in body["detail"], body
    assert "png" in body["detail"] and "ora" in body["detail"] and "psd" in body["detail"]
    assert server.ready()


def test_bad_refine_is_a_bad_parameter_that_names_the_choices(server):
    r = httpx.post(f"{server.url}/colorize", files=IMG(GOOD), data={"refine": "bogus"}, timeout=60)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "bad_parameter" and "refine" in body["detail"], body
    assert all(choice in body["detail"] for choice in REFINE_MODES) and "bogus" in body["detail"]
    assert server.ready()


def test_wrong_method_and_route_and_body_type(server):
    for r, status in ((httpx.get(f"{server.url}/colorize", timeout=10), 405),
                      (httpx.post(f"{server.url}/nope", timeout=10), 404),
                      (httpx.post(f"{server.url}/colorize", json={"image": "x"}, timeout=10), 400)):
        assert r.status_code == status and set(r.json()) == {"error", "detail"}
    assert server.ready()


def test_cut_off_and_slow_uploads(server):
    host, port = server.url.split("//")[1].split(":")
    body = b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
    # cut off: promise 100 kB, send 1 kB, hang up
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /colorize HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                  b"Content-Length: 100000\r\n\r\n" + body + GOOD[:1000])
    # slow: the whole request in small pieces, with pauses
    full = body + GOOD + b"\r\n--b--\r\n"
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(b"POST /colorize HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; "
                  b"boundary=b\r\nContent-Length: " + str(len(full)).encode() + b"\r\n\r\n")
        for i in range(0, len(full), len(full) // 5 + 1):
            s.sendall(full[i:i + len(full) // 5 + 1])
            time.sleep(0.2)
        reply = b""
        while chunk_ := s.recv(65536):
            reply += chunk_
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert server.ready()


def test_memory_returns_to_baseline(server, baseline_memory):
    """Runs after the corpus (file order): the server holds no leftovers of the bad requests."""
    for _ in range(3):
        httpx.post(f"{server.url}/colorize", files=IMG(GOOD), timeout=60)
    after = rss_mb(server.proc.pid)
    assert after < baseline_memory + 150, (baseline_memory, after)
    assert len(CORPUS) >= 30
