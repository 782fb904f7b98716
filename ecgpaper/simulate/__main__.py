"""Command line: write N simulated Challenge-format records.

Examples
--------
``python -m ecgpaper.simulate -o data/sim -n 200 --seed 1 --mix "NORM=0.5,AFIB/AFL=0.5" --jobs 2``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from typing import Sequence

from ecgcore.constants import CLASSES


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m ecgpaper.simulate``."""
    p = argparse.ArgumentParser(
        prog="python -m ecgpaper.simulate",
        description="Simulate labelled 12-lead ECGs (WFDB, Challenge format).",
    )
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("-n", "--num-records", type=int, required=True, help="number of records")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    p.add_argument("--fs", type=float, default=500.0, help="sampling frequency in Hz")
    p.add_argument("--duration", type=float, default=10.0, help="record length in seconds")
    p.add_argument("--mix", default=None,
                   help="class mix, e.g. 'NORM=0.3,AFIB/AFL=0.1,Old MI+STTC=0.05' "
                        "(default: all 11 classes and common combinations)")
    p.add_argument("--noise", default="low", choices=["none", "low", "medium", "high"])
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--write-params", action="store_true",
                   help="also write each record's sampled parameters to sim_NNNNN.sim.json")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; print the label counts. Returns the exit status."""
    from ecgpaper.simulate.simulator import assign_labels, make_dataset, parse_class_mix

    args = build_parser().parse_args(argv)
    try:
        mix = parse_class_mix(args.mix) if args.mix else None
        start = time.perf_counter()
        paths = make_dataset(args.out, args.num_records, args.seed, fs_hz=args.fs,
                             duration_s=args.duration, class_mix=mix, noise_level=args.noise,
                             jobs=args.jobs, write_params=args.write_params)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    label_sets = assign_labels(args.num_records, args.seed, mix)
    per_class = Counter(c for s in label_sets for c in s)
    combos = Counter(", ".join(s) for s in label_sets)
    print(f"wrote {len(paths)} records to {args.out} in {elapsed:.1f} s")
    print("records per class:")
    for c in CLASSES:
        print(f"  {c:<10} {per_class.get(c, 0):6d}")
    print("records per label set:")
    for combo, count in sorted(combos.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {combo:<24} {count:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
