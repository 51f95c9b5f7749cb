"""Command-line interface: ``brainctrl demo | run | status | validate``.

Exit codes: 0 when everything finished, 1 when some unit failed or a file is
missing (details in ``OUT/status.parquet`` and ``brainctrl status OUT``), 2 for
a usage or configuration error, or an output folder in use by another run.
"""

import argparse
import logging
import sys
from pathlib import Path

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

    demo = sub.add_parser("demo", help="run the whole pipeline on the built-in synthetic cohort")
    demo.add_argument(
        "--out", default="brainctrl_demo", help="output folder (default: %(default)s)"
    )
    demo.add_argument("--n-subjects", type=int, default=None, help="size of the synthetic cohort")
    demo.add_argument("--executor", choices=("serial", "processes", "dask"), default=None)
    demo.add_argument("--n-jobs", type=int, default=None, help="workers for processes/dask")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="run the pipeline described by a YAML config")
    run.add_argument("config", help="pipeline config (YAML); see `brainctrl demo` for an example")
    run.add_argument("--out", default=None, help="output folder (default: config's output_dir)")
    run.add_argument("--overwrite", action="store_true", help="redo finished units")
    run.add_argument(
        "--participant-label",
        nargs="+",
        default=None,
        metavar="ID",
        help="only the per-run stage of these subjects (e.g. one SLURM array task)",
    )
    run.add_argument(
        "--group", action="store_true", help="only the cohort stages (after per-subject jobs)"
    )
    run.add_argument("--executor", choices=("serial", "processes", "dask"), default=None)
    run.add_argument("--n-jobs", type=int, default=None, help="workers for processes/dask")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.set_defaults(func=_cmd_run)

    status = sub.add_parser("status", help="summarise progress and failures of an output folder")
    status.add_argument("out", help="output folder of `brainctrl run`")
    status.set_defaults(func=_cmd_status)

    validate = sub.add_parser(
        "validate",
        help="read every run of a manifest and check a config against the data",
        description="Read every run through the loader `brainctrl run` uses (header, shape, "
        "orientation, finite values, constant regions) and, with --config, check the config "
        "against the data (control set, phenotype columns and subjects, design sizes, "
        "windows and brain states). One line per problem; exit status 1 when any is an error.",
    )
    validate.add_argument(
        "manifest",
        nargs="?",
        default=None,
        help="path to a data manifest (YAML); default: the manifest of --config",
    )
    validate.add_argument("--config", default=None, help="pipeline config (YAML) to check too")
    validate.add_argument("--root", default=None, help="override the manifest's dataset root")
    validate.add_argument(
        "--n-jobs", type=int, default=1, help="runs read in parallel (default: %(default)s)"
    )
    validate.set_defaults(func=_cmd_validate)
    return parser


def _executor_override(args):
    if args.executor is None and args.n_jobs is None:
        return None
    return {"kind": args.executor or "processes", "n_jobs": args.n_jobs or 1}


def _exit_code(status):
    failed = status[status["status"] == "failed"] if len(status) else status
    if len(failed):
        print(f"{len(failed)} unit(s) failed; see `brainctrl status` for details.")
        return 1
    return 0


def _cmd_demo(args):
    from brainctrl.pipeline import run_demo

    status = run_demo(
        args.out,
        n_subjects=args.n_subjects,
        verbose=not args.quiet,
        executor=_executor_override(args),
    )
    print(f"Report: {(Path(args.out) / 'results' / 'report.html').resolve()}")
    return _exit_code(status)


def _cmd_run(args):
    import dataclasses

    from brainctrl.pipeline import PipelineConfig, run_pipeline

    config = PipelineConfig.from_yaml(args.config)
    override = _executor_override(args)
    if override:
        config.executor = dataclasses.replace(config.executor, **override)
    status = run_pipeline(
        config,
        out_dir=args.out,
        overwrite=args.overwrite,
        participant_labels=args.participant_label,
        group_only=args.group,
        verbose=not args.quiet,
    )
    return _exit_code(status)


def _store_status(out):
    from brainctrl.pipeline._store import read_status

    return read_status(out)


def _cmd_status(args):
    import pandas as pd

    from brainctrl.pipeline import pipeline_status
    from brainctrl.pipeline._store import active_runs

    running = active_runs(args.out) if Path(args.out).is_dir() else []
    for holder in running:
        print(f"in progress: brainctrl run ({holder}); the counts below are so far.")
    counts, failed = pipeline_status(args.out)
    if len(counts) == 0:
        print(f"{args.out}: no units recorded yet.")
        return 0
    print(counts.to_string())
    table = _store_status(args.out)
    skipped = table[table["status"] == "skipped"] if len(table) else table
    if len(skipped):
        with pd.option_context("display.max_colwidth", 200, "display.width", 200):
            print("\nSkipped:")
            print(skipped[["stage", "unit", "reason"]].to_string(index=False))
    if len(failed):
        with pd.option_context("display.max_colwidth", 200, "display.width", 200):
            print("\nFailed units:")
            print(failed[["stage", "unit", "error"]].to_string(index=False))
        return 1
    return 0


def _cmd_validate(args):
    from brainctrl.exceptions import BrainctrlError
    from brainctrl.io import load_manifest
    from brainctrl.pipeline import PipelineConfig, check_dataset

    config = None
    try:  # a config or manifest that cannot be read is a finding like the others
        if args.config is not None:
            config = PipelineConfig.from_yaml(args.config)
        manifest_path = args.manifest or (config.manifest if config is not None else None)
        if manifest_path is None:
            print("brainctrl validate: give a MANIFEST, a --config, or both.", file=sys.stderr)
            return 2
        manifest = load_manifest(manifest_path, root=args.root)
    except BrainctrlError as exc:
        print(f"error: {exc}")
        print("nothing else was checked; 1 error(s).")
        return 1
    problems, summaries = check_dataset(manifest, config, load="all", n_jobs=args.n_jobs)
    for problem in problems:
        print(problem)
    errors = [p for p in problems if p.level == "error"]
    readable = sum(s.error is None for s in summaries)
    checked = f" and config {args.config}" if config is not None else ""
    print(
        f"{manifest_path}{checked}: {readable} of {len(summaries)} run(s) readable; "
        f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)."
    )
    return 1 if errors else 0


def main(argv=None):
    """Entry point of the ``brainctrl`` command."""
    from brainctrl.exceptions import BrainctrlError
    from brainctrl.pipeline._preflight import PreflightError

    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    root = logging.getLogger()
    existing = set(root.handlers)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # --quiet quiets the terminal only: the run's log file keeps brainctrl's INFO lines
    logging.getLogger("brainctrl").setLevel(logging.INFO)
    for handler in set(root.handlers) - existing:
        handler.setLevel(logging.WARNING if getattr(args, "quiet", False) else logging.NOTSET)
    try:
        return args.func(args)
    except PreflightError as exc:
        print(
            f"brainctrl {args.command}: the config does not fit the data; nothing was computed:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except BrainctrlError as exc:
        print(f"brainctrl {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
