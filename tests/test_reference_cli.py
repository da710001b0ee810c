"""`mangacolor colorize --reference` and `--use-coloured-pages`: pages take their references' colours,
bad references stop the command with a message (exit 2), a chapter's pages in colour become references
and an interrupted chapter resumes with the same ones. The stand-in network (tests/hint_echo.py)
proposes no colour of its own, so every colour seen comes from the references."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mangacolor.cli import main
from mangacolor.reference import MAX_REFERENCES
from serving import chapter
from serving.references import Reference, coloured_pages, pick
from tests.hint_echo import export_hint_echo
from tests.imaging import FIG_H, FIG_W, figure, gray_page, like_the_figure

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def echo(tmp_path_factory) -> str:
    return str(export_hint_echo(tmp_path_factory.mktemp("echo")))


def save(rgb: np.ndarray, path: Path) -> Path:
    Image.fromarray(rgb).save(path)
    return path


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def colorize(echo: str, *args: str) -> int:
    return main(["colorize", *args, "--model", echo, "--device", "cpu"])


def test_a_page_is_coloured_like_its_reference(echo, tmp_path, capsys):
    page = save(gray_page(figure()), tmp_path / "page.png")                        # 83 x 61
    ref = save(np.ascontiguousarray(figure()[:, ::-1]), tmp_path / "hero.png")     # facing the other way
    assert colorize(echo, str(page), "--out", str(tmp_path / "plain")) == 0
    assert colorize(echo, str(page), "--out", str(tmp_path / "out"), "--reference", str(ref)) == 0
    assert "references: hero.png" in capsys.readouterr().out
    plain = np.asarray(Image.open(tmp_path / "plain" / "page.png").convert("RGB"))
    out = np.asarray(Image.open(tmp_path / "out" / "page.png").convert("RGB"))
    assert out.shape == (FIG_H, FIG_W, 3)
    assert not like_the_figure(plain) and like_the_figure(out)


@pytest.mark.parametrize("problem", ["missing", "not an image", "a folder", "nine"])
def test_a_bad_reference_stops_before_any_work(echo, tmp_path, capsys, problem):
    page = save(gray_page(figure()), tmp_path / "page.png")
    good = save(figure(), tmp_path / "good.png")
    (tmp_path / "notes.png").write_text("not a picture")
    refs, message = {"missing": ([tmp_path / "gone.png"], "gone.png does not exist"),
                     "not an image": ([good, tmp_path / "notes.png"], "notes.png cannot be used: not an image"),
                     "a folder": ([tmp_path], "is not a file"),
                     "nine": ([good] * (MAX_REFERENCES + 1), f"at most {MAX_REFERENCES} references, got 9")}[problem]
    rc = main(["colorize", str(page), "--out", str(tmp_path / "out"), "--model", str(tmp_path / "no-model"),
               "--reference", *map(str, refs)])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: reference" if problem != "nine" else "error: at most")
    assert not (tmp_path / "out").exists()                                       # checked before the model loads


def test_references_before_the_inputs_get_a_message_that_says_to_swap_them(tmp_path, capsys):
    page = save(gray_page(figure()), tmp_path / "page.png")
    ref = save(figure(), tmp_path / "hero.png")
    rc = main(["colorize", "--out", str(tmp_path / "out"), "--reference", str(ref), str(page)])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no inputs") and "page.png" in err and "put the inputs first" in err
    assert not (tmp_path / "out").exists()


def test_the_command_line_says_what_is_wrong_without_a_traceback(tmp_path):
    page = save(gray_page(figure()), tmp_path / "page.png")
    r = subprocess.run([sys.executable, "-m", "mangacolor.cli", "colorize", str(page), "--out", str(tmp_path / "out"),
                        "--reference", str(tmp_path / "gone.png")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "error: reference" in r.stderr and "does not exist" in r.stderr
    assert "Traceback" not in r.stderr


def test_help_explains_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--reference PICTURE [PICTURE ...]" in text and "--use-coloured-pages" in text
    assert f"at most {MAX_REFERENCES}" in text and "implies --skip-colored" in text


def test_a_chapter_uses_its_page_in_colour_and_resumes_with_it(echo, tmp_path, capsys, monkeypatch):
    cover = png(np.ascontiguousarray(figure()[:, ::-1]))
    pages = [("ch/p1.png", png(gray_page(figure()))), ("ch/p2.png", cover), ("ch/p3.png", png(gray_page(figure())))]
    src = tmp_path / "chapter.cbz"
    with zipfile.ZipFile(src, "w") as z:
        for name, body in pages:
            z.writestr(name, body)
    write_part = chapter._write_part

    def stop_after_the_first_page(path, body):
        write_part(path, body)
        raise KeyboardInterrupt

    monkeypatch.setattr(chapter, "_write_part", stop_after_the_first_page)
    args = [str(src), "--out", str(tmp_path / "out"), "--use-coloured-pages"]
    assert colorize(echo, *args) == 130                                           # interrupted after p1
    monkeypatch.setattr(chapter, "_write_part", write_part)
    assert colorize(echo, *args) == 0
    text = capsys.readouterr().out
    assert text.count("references: p2.png (page in colour)") == 2                 # found again: the same ones
    assert "1 coloured, 1 already in colour, 1 done in an earlier run" in text
    with zipfile.ZipFile(tmp_path / "out" / "chapter.cbz") as z:
        assert z.namelist() == ["ch/p1.png", "ch/p2.png", "ch/p3.png"]
        assert z.read("ch/p2.png") == cover                                       # the page in colour is kept
        for name in ("ch/p1.png", "ch/p3.png"):                                   # before and after it
            assert like_the_figure(np.asarray(Image.open(io.BytesIO(z.read(name))).convert("RGB"))), name


def test_a_folder_of_pages_uses_its_images_in_colour(echo, tmp_path, capsys):
    folder = tmp_path / "ch2"
    folder.mkdir()
    save(gray_page(figure()), folder / "01.png")
    save(figure(), folder / "02.png")
    assert colorize(echo, str(folder), "--out", str(tmp_path / "out"), "--use-coloured-pages") == 0
    assert "ch2: references: 02.png (page in colour)" in capsys.readouterr().out
    assert like_the_figure(np.asarray(Image.open(tmp_path / "out" / "ch2" / "01.png").convert("RGB")))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "ch2" / "02.png")), figure())


def test_given_references_come_first_and_the_total_is_capped(tmp_path):
    src = tmp_path / "c.cbz"
    with zipfile.ZipFile(src, "w") as z:
        for i in range(4):
            z.writestr(f"{i}.png", png(figure() if i else gray_page(figure())))
    given = [Reference(f"g{i}.png", figure()) for i in range(MAX_REFERENCES - 2)]
    found = coloured_pages(src, 2)
    assert [r.name for r in found] == ["1.png", "2.png", "3.png"]                 # one more: some are left out
    used, line = pick(given, found)
    assert len(used) == MAX_REFERENCES and used[-1].name == "2.png"
    assert "g0.png (given)" in line and "2.png (page in colour)" in line and "3.png (page" not in line
    assert "left out" in line
    assert coloured_pages(tmp_path / "missing.cbz", 2) == [] and pick([], [])[1] == "references: none (no page in colour found)"
