"""`mangacolor colorize INPUT... --out DIR`: colour files, folders and CBZ/ZIP chapters.

Runs ONNX Runtime on the shared pipeline, no torch. Pages keep their exact size.
Finished outputs are never redone, so a rerun after an interruption resumes.
A bad page is reported and skipped; the rest is still written; the exit status
is 1 when any page failed.

References (--reference) are coloured pictures of the same characters: every page
is coloured like them. --use-coloured-pages makes a chapter's pages that are
already in colour (a CBZ/ZIP's, or the images of one folder) references for the
rest; they are listed, and left untouched. Put --reference after the inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mangacolor.contract import MODES, REFINE_MODES, WORK_SIZE
from mangacolor.reference import MAX_REFERENCES

ARCHIVES = (".cbz", ".zip")


def configure(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = (__doc__.split("\n\n")[i].replace("\n", " ") for i in (1, 2))
    # "*", not "+": without inputs run() says why (often a --reference before them took their names)
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="image files, folders of images, or .cbz/.zip chapters")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default="models/default", help="exported model folder (default: %(default)s)")
    p.add_argument("--variant", default="", choices=["", "fp16", "int8"], help="model variant (default: fp32)")
    p.add_argument("--mode", default="auto", choices=MODES)
    p.add_argument("--hints", default=None, help="hints JSON (a saved hint set is rescaled to each page)")
    p.add_argument("--refine", default="auto", choices=REFINE_MODES,
                   help="colour solver: hints land exactly and colour stops at lines (auto: when there are hints or references; "
                        "fill: as auto, and on line art a hint on the background fills all of it)")
    p.add_argument("--skip-colored", action="store_true", help="leave pages that are already in colour untouched")
    p.add_argument("--reference", nargs="+", action="extend", default=[], metavar="PICTURE",
                   help=f"coloured pictures of the same characters (at most {MAX_REFERENCES}; PNG, JPEG, WebP, BMP or "
                        "GIF, with the pages' size limits): every page is coloured like them")
    p.add_argument("--use-coloured-pages", action="store_true",
                   help="in a chapter (a CBZ/ZIP, or the images of one folder), use the pages already in colour as "
                        f"references for the rest, after any --reference, at most {MAX_REFERENCES} in all (the ones used "
                        "are listed); implies --skip-colored")
    p.add_argument("--layers", action="store_true",
                   help="also write each coloured image as layers, NAME.ora (OpenRaster: Krita, MyPaint, GIMP 3): the "
                        "lines or the page, and a colour layer to repaint; chapters stay CBZ")
    p.add_argument("--work-size", type=int, default=WORK_SIZE, help="long side the network sees (default: %(default)s)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=run)


def expand(inputs: list[str], out: Path) -> list[tuple[str, Path, Path]]:
    """(job, source, destination) for every input, job "chapter" or "image"; folders expand to their images and chapters."""
    from .chapter import PAGE_EXTS, natural_key

    jobs = []
    for raw in inputs:
        src = Path(raw)
        if src.is_dir():
            files = sorted((p for p in src.rglob("*") if p.suffix.lower() in PAGE_EXTS + ARCHIVES),
                           key=lambda p: natural_key(str(p.relative_to(src))))
            for f in files:
                rel = f.relative_to(src)
                job = "chapter" if f.suffix.lower() in ARCHIVES else "image"
                dst = out / src.name / (rel.with_suffix(".cbz") if job == "chapter" else rel.with_suffix(".png"))
                jobs.append((job, f, dst))
        elif src.is_file():
            job = "chapter" if src.suffix.lower() in ARCHIVES else "image"
            jobs.append((job, src, out / (src.stem + (".cbz" if job == "chapter" else ".png"))))
        else:
            raise FileNotFoundError(f"input {raw} does not exist")
    return jobs


def run(args) -> int:
    from mangacolor.contract import read_hint_set

    from .inference import Colorizer
    from .references import load_references

    if not args.inputs:
        raise ValueError("no inputs: give image files, folders or .cbz/.zip chapters" + (
            f"; --reference takes every name after it ({', '.join(args.reference)}), so put the inputs "
            "first: mangacolor colorize PAGE... --out DIR --reference PICTURE..." if args.reference else ""))
    hints, hint_size = None, None
    if args.hints:
        hints, hint_size = read_hint_set(Path(args.hints).read_text())
    given = load_references(args.reference)  # before the model loads: a bad reference fails at once
    args.skip_colored = args.skip_colored or args.use_coloured_pages  # pages in colour are references, kept as they are
    jobs = expand(args.inputs, Path(args.out))
    if not jobs:
        raise ValueError("no images or chapters found in the inputs")
    colorizer = Colorizer.load(args.model, device=args.device, variant=args.variant)
    print(f"model {colorizer.model.path} on {colorizer.model.provider}; {len(jobs)} job(s)")
    if given:
        print("references: " + ", ".join(r.name for r in given))
    references = ReferencesFor(given, args.use_coloured_pages, jobs)
    if args.layers and any(job == "chapter" for job, _, _ in jobs):
        print("--layers: written for image files; chapters are written as CBZ only")
    failed = 0
    bar = tqdm(jobs, unit="file", desc="colorize")
    for job, src, dst in bar:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists() and not (args.layers and job == "image" and not dst.with_suffix(".ora").exists()):
            bar.write(f"{dst} exists: skipped (done earlier)")
            continue
        handle = _chapter if job == "chapter" else _image
        failed += handle(src, dst, colorizer, args, hints, hint_size, references(job, src, bar.write), bar.write)
    print(f"done: {len(jobs)} job(s), {failed} failure(s)")
    return 1 if failed else 0


class ReferencesFor:
    """The references of each job: the given ones, and with --use-coloured-pages the pages in colour of its
    chapter (a CBZ/ZIP's own pages, or the images of the same folder), found once per chapter and listed.
    The same chapter always gives the same references, so a resumed chapter is coloured as it began."""

    def __init__(self, given: list, use_pages: bool, jobs: list[tuple[str, Path, Path]]):
        self.given, self.use_pages, self.jobs, self.found = given, use_pages, jobs, {}

    def __call__(self, job: str, src: Path, say) -> list[np.ndarray]:
        from .references import coloured_images, coloured_pages, pick

        if not self.use_pages:
            return [r.rgb for r in self.given]
        key = src if job == "chapter" else src.parent
        if key not in self.found:
            room = MAX_REFERENCES - len(self.given)
            if job == "chapter":
                pages = coloured_pages(src, room)
            else:
                pages = coloured_images([s for j, s, _ in self.jobs if j == "image" and s.parent == key], room)
            used, line = pick(self.given, pages)
            say(f"{key.name}: {line}")
            self.found[key] = [r.rgb for r in used]
        return self.found[key]


def _chapter(src: Path, dst: Path, colorizer, args, hints, hint_size, refs, say) -> int:
    """Colour one CBZ/ZIP with a page progress bar; returns the number of failures."""
    from .chapter import ChapterError, colorize_chapter

    pages = tqdm(total=0, unit="page", desc=src.name, leave=False)

    def progress(i, n, name):
        pages.total, pages.n = n, i
        pages.refresh()

    try:
        report = colorize_chapter(src, dst, colorizer, args.mode, hints, hint_size, args.skip_colored,
                                  args.work_size, progress, refine=args.refine, references=refs)
    except ChapterError as e:
        say(f"{src}: {e}")
        return 1
    finally:
        pages.close()
    say(f"{src.name} -> {dst}: {report.summary()}")
    return len(report.failed)


def _image(src: Path, dst: Path, colorizer, args, hints, hint_size, refs, say) -> int:
    """Colour one image file; returns 1 if it could not be read or coloured."""
    from mangacolor.contract import fit_hints
    from mangacolor.image_io import ImageError, encode_png, load_image, write_atomic
    from mangacolor.layers import to_ora

    redo = dst.exists()  # only for its missing layers (see main)
    try:
        rgb = load_image(src)
        res = colorizer.colorize(rgb, args.mode, fit_hints(hints, hint_size, (rgb.shape[1], rgb.shape[0])),
                                 args.work_size, args.skip_colored, refine=args.refine, references=refs)
        if redo and res.skipped:  # in colour already: it has no layers, and its copy is there
            say(f"{dst} exists: skipped (done earlier; in colour already, so no layers)")
            return 0
        png = encode_png(res.image)  # once, for the PNG and the layers' merged image
        if args.layers and not res.skipped:  # before the PNG, whose presence means "done"
            write_atomic(dst.with_suffix(".ora"), to_ora(rgb, res.image, res.kind, png))
        write_atomic(dst, png)
    except (ImageError, ValueError) as e:
        say(f"{src}: skipped: {e}")
        return 1
    extra = " + .ora layers" if args.layers and not res.skipped else ""
    copied = "already in colour, copied" + (" without layers" if args.layers else "")
    say(f"{src} -> {dst}{extra} ({copied if res.skipped else res.kind})")
    return 0
