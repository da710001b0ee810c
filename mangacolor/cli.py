"""The `mangacolor` command: one entry point, one subcommand per job.

A subcommand's module is imported only when that command runs (or shows its --help),
so `mangacolor --help` is fast and the serving commands never import torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> ("module" or "module:function" that configures the parser, one-line help)
COMMANDS = {
    "data": ("training.data.cli", "fetch, build and inspect datasets"),
    "train": ("training.train_cli", "train a colorizer from a YAML config"),
    "sanity": ("training.sanity", "pre-training checks: init loss, baseline, overfit, batch independence"),
    "lr-find": ("training.lr_find", "exponential learning-rate sweep with a plot and a suggestion"),
    "eval": ("training.evaluate.cli", "score models against baselines per input kind and hint count"),
    "temperature": ("training.evaluate.temperature", "tune the colour head's decoding temperature on validation"),
    "search": ("training.search", "random hyperparameter search (Optuna): coarse short runs, then longer fine runs"),
    "ensemble": ("training.ensemble_cli", "write an ensemble manifest from runs or snapshots"),
    "distill": ("training.ensemble_cli:configure_distill", "train one fast student to match an ensemble"),
    "export": ("training.export", "checked ONNX export with fp16 and INT8 variants and a model card"),
    "colorize": ("serving.colorize_cli", "colour image files, folders and CBZ/ZIP chapters with an exported model"),
    "deploy": ("serving.models_cli:configure_deploy", "validate an exported model and import it into the model store"),
    "promote": ("serving.models_cli:configure_promote", "make a deployed model live in the running service"),
    "rollback": ("serving.models_cli:configure_rollback", "return to the previously live model"),
    "models": ("serving.models_cli:configure_models", "list deployed models and the live ones"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the options of `command` only: its module is the only one imported, so
    `mangacolor colorize` in a serve-only install (no torch) never imports the training side."""
    p = argparse.ArgumentParser(
        prog="mangacolor",
        description="Colour manga pages and line art: build datasets, train, evaluate, export and serve.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        if name == command:
            mod, _, fn = module.partition(":")
            getattr(importlib.import_module(mod), fn or "configure")(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    # commands that take config overrides (--section.key=value) receive the unknown arguments
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not getattr(args, "takes_overrides", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = extra
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
