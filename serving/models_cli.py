"""`mangacolor deploy | promote | rollback | models`: the model store side of redeploying."""

from __future__ import annotations

import argparse
import json

from mangacolor.contract import ROLES


def configure_deploy(p: argparse.ArgumentParser) -> None:
    p.description = ("Validate an exported model folder (contract, metadata, a smoke run of every variant) and import "
                     "it into the BentoML model store. A corrupt or contract-breaking model is refused and nothing "
                     "changes. Add --promote to make it live at once.")
    p.add_argument("folder", help="exported model folder, e.g. models/mine")
    p.add_argument("--role", choices=ROLES, default=None, help="default: ensemble for ensembles, else fast")
    p.add_argument("--promote", action="store_true")
    p.set_defaults(func=_deploy)


def configure_promote(p: argparse.ArgumentParser) -> None:
    p.description = "Make a deployed model live; a running service switches to it without a restart."
    p.add_argument("tag", help="deployed model tag, e.g. mangacolor:mine-20261121-120000")
    p.add_argument("--role", choices=ROLES, default=None)
    p.set_defaults(func=_promote)


def configure_rollback(p: argparse.ArgumentParser) -> None:
    p.description = "Return a role to the model that was live before the current one."
    p.add_argument("--role", choices=ROLES, default="fast")
    p.set_defaults(func=_rollback)


def configure_models(p: argparse.ArgumentParser) -> None:
    p.description = "List deployed models and which one is live per role."
    p.set_defaults(func=_models)


def _deploy(args) -> int:
    from .registry import deploy, promote

    tag = deploy(args.folder, args.role)
    print(f"deployed {tag}")
    if args.promote:
        promote(tag, args.role)
        print(f"promoted {tag}")
    return 0


def _promote(args) -> int:
    from .registry import promote

    print(json.dumps(promote(args.tag, args.role), indent=1))
    return 0


def _rollback(args) -> int:
    from .registry import rollback

    print(json.dumps(rollback(args.role), indent=1))
    return 0


def _models(args) -> int:
    from .registry import list_models, read_state

    print(json.dumps({"models": list_models(), "live": read_state()}, indent=1))
    return 0
