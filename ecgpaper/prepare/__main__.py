"""Command line of the data preparation tools.

Examples
--------
``python -m ecgpaper.prepare ptbxl -i PTBXL_DIR -o OUT [--rate 500|100] [--folds 1,2]``
``python -m ecgpaper.prepare cinc -i CINC_DIR -o OUT``
``python -m ecgpaper.prepare images -d DIR``
``python -m ecgpaper.prepare hidden -i IN -o OUT``
"""

from __future__ import annotations

import argparse
import logging
import sys


def _folds(text: str) -> list[int]:
    try:
        folds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--folds wants comma-separated integers, not {text!r}") from exc
    if not folds:
        raise argparse.ArgumentTypeError("--folds is empty")
    return folds


def get_parser() -> argparse.ArgumentParser:
    """The argument parser (sub-commands ``ptbxl``, ``cinc``, ``images``, ``hidden``)."""
    parser = argparse.ArgumentParser(
        prog="python -m ecgpaper.prepare",
        description="Prepare PhysioNet Challenge 2024 data folders.")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ptbxl", help="PTB-XL → Challenge training records with the 11 labels")
    p.add_argument("-i", "--input", required=True,
                   help="PTB-XL root (ptbxl_database.csv, scp_statements.csv, records500/)")
    p.add_argument("-o", "--output", required=True, help="output folder (sub-folders mirrored)")
    p.add_argument("--rate", type=int, choices=(500, 100), default=500, help="records500 or records100 (default 500)")
    p.add_argument("--folds", type=_folds, default=None, help="only these strat_folds, e.g. 1,2,3")
    p.add_argument("--statements-12sl", default=None, help="PTB-XL+ 12sl_statements.csv (for Acute MI)")
    p.add_argument("--snomed-12sl", default=None, help="PTB-XL+ 12slv23ToSNOMED.csv (for Acute MI)")

    p = sub.add_parser("cinc", help="CinC 2020/2021 records (.mat + #Dx SNOMED) → Challenge records")
    p.add_argument("-i", "--input", required=True)
    p.add_argument("-o", "--output", required=True)

    p = sub.add_parser("images", help="add/rewrite '# Image:' lines from the image files beside records")
    p.add_argument("-d", "--data", required=True, help="folder of records and images (changed in place)")

    p = sub.add_parser("hidden", help="hidden test folder: headers without signals/labels/demographics + images")
    p.add_argument("-i", "--input", required=True)
    p.add_argument("-o", "--output", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0: done; 1: done, but some records failed (listed in the summary);
    2: nothing done (bad arguments or inputs).
    """
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from ecgpaper import prepare

    try:
        if args.command == "ptbxl":
            counts = prepare.prepare_ptbxl(args.input, args.output, rate_hz=args.rate, folds=args.folds,
                                           statements_12sl=args.statements_12sl,
                                           snomed_12sl=args.snomed_12sl, quiet=args.quiet)
            return int(counts["failed"] > 0)
        if args.command == "cinc":
            counts = prepare.prepare_cinc(args.input, args.output, quiet=args.quiet)
            return int(counts["failed"] > 0)
        if args.command == "images":
            prepare.add_image_lines(args.data, quiet=args.quiet)
            return 0
        if args.command == "hidden":
            written = prepare.make_hidden(args.input, args.output, quiet=args.quiet)
            return int(written < len(prepare.find_records(args.input)))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover (argparse enforces the sub-command)


if __name__ == "__main__":
    sys.exit(main())
