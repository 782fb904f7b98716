#!/usr/bin/env python
"""Run the models: ``python run_model.py -d DATA -m MODEL -o OUTPUT [-v] [-f]``.

Same command line and outputs as the Challenge's script (which replaces this one): for each
record under DATA, ``team_code.run_models`` gives a signal and labels, written under OUTPUT
with the same sub-folders (OUTPUT must not be, lie inside, or contain DATA: that is refused
with exit status 2). With ``-f`` a failing record is logged with its traceback, counted, and
written without signal or labels; a summary of failures ends the run.

``--report DIR`` (ours, optional) also writes page overlays and an ``index.html`` there
(:mod:`ecgpaper.report`; needs matplotlib).

``--jobs J`` (ours, optional; default 1, records one after another as the Challenge's
script) runs the records in J worker processes (0: one per CPU) with one torch thread each;
the outputs are byte-identical, the summary's counts and the errors it logs the same.
"""

import argparse
import logging
import sys

from ecgpaper.runner import check_folders, run_folder, worker_start_method
from team_code import load_models, run_models


def get_parser():
    parser = argparse.ArgumentParser(description="Digitize and classify ECG images.")
    parser.add_argument("-d", "--data_folder", type=str, required=True)
    parser.add_argument("-m", "--model_folder", type=str, required=True)
    parser.add_argument("-o", "--output_folder", type=str, required=True)
    parser.add_argument("-f", "--allow_failures", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--report", metavar="DIR",
                        help="also write page overlays and index.html to DIR (needs matplotlib)")
    parser.add_argument("--jobs", type=_jobs, default=1, metavar="J",
                        help="records in J worker processes (0: one per CPU; default 1)")
    return parser


def _jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per CPU) or more, got {value}")
    return value


def run(args):
    try:  # an output folder that overlaps the data folder: one line, before anything is written
        check_folders(args.data_folder, args.output_folder)
    except ValueError as exc:
        print(f"run_model.py: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    jobs = getattr(args, "jobs", 1)
    if getattr(args, "report", None):  # ours: overlays and index.html (ecgpaper.report)
        if jobs != 1:
            print("run_model.py: error: --report draws the records one after another; "
                  "leave out --jobs", file=sys.stderr)
            raise SystemExit(2)
        from ecgpaper.report.run import run_and_report

        return run_and_report(args, load_models, "run_model.py")
    summary = run_folder(args.data_folder, args.model_folder, args.output_folder, load_models,
                         run_models, allow_failures=args.allow_failures, verbose=args.verbose,
                         jobs=jobs, start_method=worker_start_method())
    print(summary.text())
    return summary


if __name__ == "__main__":
    run(get_parser().parse_args(sys.argv[1:]))
