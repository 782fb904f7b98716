"""Classifier training cost against the number of records: time and peak memory.

Usage::

    python benchmarks/bench_classify_scaling.py [--sizes 250,500,1000,2000,4000] [--seed 1]

Simulates the largest size once (``ecgpaper.simulate.make_dataset``: 10 s at 500 Hz,
the default class mix, low noise) into a temporary folder. For each size it trains
``ecgpaper.classify.train_classifier`` on the first records in a fresh Python process,
so that each peak resident set size is that training's own. Prints, per size, the wall
time (total, reading and features, tree fitting), the time per record and the child
process's peak RSS. The issue asks for time and memory that grow linearly with the
records; the per-record time column shows whether they do.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ecgpaper.simulate import make_dataset

_CHILD = r"""
import json, resource, sys, time
import ecgpaper.classify.model as M
records = json.loads(open(sys.argv[1]).read())
stamps = {}
build = M.build_training_set
def timed_build(*a, **k):
    t = time.perf_counter()
    out = build(*a, **k)
    stamps["features_s"] = time.perf_counter() - t
    return out
M.build_training_set = timed_build
t = time.perf_counter()
M.train_classifier(records, sys.argv[2], seed=0)
stamps["train_s"] = time.perf_counter() - t
stamps["fit_s"] = stamps["train_s"] - stamps["features_s"]
stamps["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
used = json.loads(open(sys.argv[2] + "/config.json").read())["records_summary"]["used"]
if used != len(records):
    sys.exit(f"only {used} of {len(records)} records were used for training")
print(json.dumps(stamps))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="250,500,1000,2000,4000",
                        help="comma-separated numbers of training records")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        paths = make_dataset(Path(tmp) / "data", sizes[-1], seed=args.seed, noise_level="low", jobs=2)
        print(f"simulated {len(paths)} records in {time.perf_counter() - t:.1f} s", flush=True)
        records = sorted(str(p) for p in paths)
        print("| records | train s | features s | fit s | ms per record | peak RSS MB |")
        print("|---|---|---|---|---|---|")
        for n in sizes:
            listing = Path(tmp) / f"records_{n}.json"  # a file: argv is too short for 4000
            listing.write_text(json.dumps(records[:n]))
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(listing), str(Path(tmp) / f"model_{n}")],
                capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"training on {n} records failed:\n{out.stderr[-3000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {n} | {r['train_s']:.1f} | {r['features_s']:.1f} | {r['fit_s']:.1f} | "
                  f"{1000 * r['train_s'] / n:.1f} | {r['peak_rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
