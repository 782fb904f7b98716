"""``python -m ecgpaper.report run|evaluate ...``: the reports without the entry scripts.

``run -d DATA -m MODEL -o OUTPUT -r DIR [-f] [-v]`` is ``run_model.py ... --report DIR``;
``evaluate -d REF -o OUTPUT -r DIR [evaluate_model.py options]`` is
``evaluate_model.py ... --report DIR``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from ecgpaper import runner


def _load_models(model_folder, verbose):
    return runner.load(model_folder)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["evaluate"]:
        from ecgpaper.scoring.evaluate import main as evaluate_main

        rest = ["--report" if a in ("-r",) else a for a in argv[1:]]
        return evaluate_main(rest)
    ap = argparse.ArgumentParser(prog="python -m ecgpaper.report",
                                 description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the models and write the run report")
    run.add_argument("-d", "--data_folder", required=True)
    run.add_argument("-m", "--model_folder", required=True)
    run.add_argument("-o", "--output_folder", required=True)
    run.add_argument("-r", "--report", required=True, metavar="DIR")
    run.add_argument("-f", "--allow_failures", action="store_true")
    run.add_argument("-v", "--verbose", action="store_true")
    sub.add_parser("evaluate", help="evaluate_model.py's options, with -r/--report DIR")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from .run import run_and_report

    try:
        runner.check_folders(args.data_folder, args.output_folder)
    except ValueError as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return 2
    run_and_report(args, _load_models, ap.prog)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
