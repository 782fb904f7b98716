"""Training feature extraction (``build_training_set``) with 1 and with J worker processes.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_classify_jobs.py [--records 100] [--jobs 2] [--repeats 2]

Prepares the PTB-XL subset as Challenge training records once
(``ecgpaper.prepare.ptbxl.prepare_ptbxl`` into ``--prepared``, reused when present), then
extracts the training features of the first ``--records`` records (3 augmented views each,
as ``train_classifier`` does) with ``jobs=1`` and ``jobs=J``, alternately ``--repeats``
times, so that both see the same machine load.  Prints each wall time and CPU time (this
process and its workers), the speed-up of the medians, whether the outputs are identical,
and the load average before and after.
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import time
from pathlib import Path

import numpy as np

from ecgpaper.classify.model import DEFAULT_PARAMS, build_training_set


def _cpu_s() -> float:
    """CPU seconds of this process and of its finished child processes."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--prepared", default="/tmp/bench_classify_jobs_ptbxl")
    ap.add_argument("--records", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "ptbxl_subset500").is_dir():
        data = Path("/work/shared/data")
    prepared = Path(args.prepared)
    if not prepared.is_dir():
        from ecgpaper.prepare.ptbxl import prepare_ptbxl

        prepare_ptbxl(data / "ptbxl_subset500", prepared, quiet=True)
    records = sorted(p[:-4] for p in glob.glob(str(prepared / "records500" / "*" / "*.hea")))
    records = records[: args.records]
    print(f"{len(records)} prepared PTB-XL records, {len(DEFAULT_PARAMS['views'])} views each; "
          f"{os.cpu_count()} CPUs; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; "
          f"load average before {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    times: dict[int, list[float]] = {1: [], args.jobs: []}
    cpu: dict[int, list[float]] = {1: [], args.jobs: []}
    outputs = {}
    for _ in range(args.repeats):
        for jobs in (1, args.jobs):
            t, c = time.perf_counter(), _cpu_s()
            out = build_training_set(records, DEFAULT_PARAMS["views"], seed=0, jobs=jobs)
            times[jobs].append(time.perf_counter() - t)
            cpu[jobs].append(_cpu_s() - c)
            outputs[jobs] = out
            print(f"jobs={jobs}: {times[jobs][-1]:.1f} s wall, {cpu[jobs][-1]:.1f} s CPU "
                  f"(this process and its workers) ({out[4]})", flush=True)
    same = all(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
               for a, b in zip(outputs[1][:4], outputs[args.jobs][:4]))
    t1, tj = float(np.median(times[1])), float(np.median(times[args.jobs]))
    print(f"median jobs=1 {t1:.1f} s, jobs={args.jobs} {tj:.1f} s: speed-up {t1 / tj:.2f}x "
          f"({1000 * tj / len(records):.0f} ms per record); outputs identical: {same}")
    print(f"load average after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
