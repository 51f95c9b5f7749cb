"""Command-line interface: ``brainctrl demo | run | status | validate``."""

import argparse
import logging
import sys

from brainctrl import __version__

__all__ = ["main"]

logger = logging.getLogger("brainctrl")


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="brainctrl",
        description="Network control and network neuroscience analysis of fMRI.",
    )
    parser.add_argument("--version", action="version", version=f"brainctrl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the pipeline on the built-in synthetic cohort")
    demo.add_argument("--out", default="brainctrl_demo", help="output folder")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.set_defaults(func=_cmd_demo)

    validate = sub.add_parser("validate", help="check that every file of a manifest is readable")
    validate.add_argument("manifest", help="path to a data manifest (YAML)")
    validate.add_argument("--root", default=None, help="override the manifest's dataset root")
    validate.set_defaults(func=_cmd_validate)
    return parser


def _cmd_demo(args):
    from brainctrl.pipeline import run_demo

    return run_demo(args.out, verbose=not args.quiet)


def _cmd_validate(args):
    from brainctrl.io import load_manifest, validate_manifest

    manifest = load_manifest(args.manifest, root=args.root)
    problems = validate_manifest(manifest)
    for problem in problems:
        print(problem)
    n_runs = len(manifest.runs()) if hasattr(manifest, "runs") else "?"
    if problems:
        print(f"{len(problems)} problem(s) found in {args.manifest}.")
        return 1
    print(f"{args.manifest}: all {n_runs} run(s) readable.")
    return 0


def main(argv=None):
    """Entry point of the ``brainctrl`` command."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(
        level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
