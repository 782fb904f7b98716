"""Simulator benchmark: dataset speed and agreement with the project's delineation.

Usage::

    python benchmarks/bench_simulate.py [--n 200] [--seeds 10] [--jobs 1] [--real DIR]

1. Times ``make_dataset`` for ``--n`` records of 10 s at 500 Hz (default mix,
   low noise) into a temporary folder.
2. For every label set of the default mix and ``--seeds`` seeds, simulates a
   noise-free record, measures it with ``ecgpaper.delineate.measure_intervals``
   and compares rate, QRS and QT with what the simulator was asked for.
   Prints the median absolute errors and the records outside the tolerances
   of ``tests/test_simulate.py`` (rate within 5 % + 1/min for sinus rhythm,
   QRS within 20 ms except flutter, QT within 40 ms where T is not flat).
3. When ``--real`` (default ``/work/shared/data/ptbxl_subset500``) exists:
   compares 100 simulated NORM records (low noise) with the PTB-XL records
   labelled NORM in sinus rhythm (500 Hz), both measured by the same
   delineation: 10th/50th/90th percentiles of rate, PR, QRS, QT and of
   amplitudes taken from the median beat.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ecgpaper.simulate import DEFAULT_CLASS_MIX, make_dataset, simulate_ecg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--real", default="/work/shared/data/ptbxl_subset500")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = make_dataset(tmp, args.n, seed=1, jobs=args.jobs)
        elapsed = time.perf_counter() - start
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    print(f"make_dataset: {len(paths)} records x 10 s @ 500 Hz, jobs={args.jobs}: "
          f"{elapsed:.2f} s ({1000 * elapsed / max(1, len(paths)):.1f} ms/record, {size_mb:.1f} MB)")

    from ecgpaper.delineate import DELINEATION_METHOD, measure_intervals

    print(f"delineation: {DELINEATION_METHOD[:80]}...")
    err = {"hr": [], "qrs": [], "qt": []}
    outside = []
    n = 0
    for key in DEFAULT_CLASS_MIX:
        labels = key.split("+")
        for seed in range(args.seeds):
            rng = np.random.default_rng([seed, 11])
            x, p = simulate_ecg(labels, rng, noise_level="none")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = measure_intervals(x, 500.0)
            n += 1
            tpl = p["templates"].get("N") or p["templates"]["F"]
            qt = p["qtc_ms"] * (60.0 / p["hr_bpm"]) ** (1.0 / 3.0) + tpl["qt_extra_ms"]
            bad = []
            if p["rhythm"] == "sinus":
                e = m["hr_bpm"] - p["hr_bpm"]
                err["hr"].append(e)
                if not abs(e) <= 0.05 * p["hr_bpm"] + 1:
                    bad.append(f"rate {m['hr_bpm']:.0f}/{p['hr_bpm']:.0f}")
            if p["rhythm"] != "atrial_flutter":
                e = m["qrs_ms"] - tpl["qrs_ms"]
                err["qrs"].append(e)
                if not abs(e) <= 20:
                    bad.append(f"QRS {m['qrs_ms']:.0f}/{tpl['qrs_ms']:.0f}")
            if np.linalg.norm(tpl["t"]["vector_mv"]) >= 0.2:
                e = m["qt_ms"] - qt
                err["qt"].append(e)
                if not abs(e) <= 40:
                    bad.append(f"QT {m['qt_ms']:.0f}/{qt:.0f}")
            if bad:
                outside.append(f"{key} seed {seed}: " + ", ".join(bad))
    for name, values in err.items():
        v = np.asarray(values, dtype=float)
        finite = v[np.isfinite(v)]
        print(f"{name}: n={v.size} NaN={int(np.sum(~np.isfinite(v)))} median error {np.median(finite):+.1f} "
              f"median |error| {np.median(np.abs(finite)):.1f} (bpm or ms)")
    print(f"records with every measurement inside the tolerances: {n - len(outside)}/{n}")
    for line in outside:
        print("  outside:", line)
    if Path(args.real).is_dir():
        compare_with_real(Path(args.real))


def beat_features(x: np.ndarray, fs_hz: float) -> dict:
    """Rate, intervals and median-beat amplitudes of one record (NaN where not measurable)."""
    from ecgcore.constants import LEADS_12
    from ecgpaper.delineate import delineate, measure_intervals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = measure_intervals(x, fs_hz)
        d = delineate(x, fs_hz)
    f = {k: m[k] for k in ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms")}
    nan = float("nan")
    idx = {n: i for i, n in enumerate(LEADS_12)}
    if d.median_beat_mv is None or d.qrs_on is None:
        return {**f, "R_II": nan, "S_V1": nan, "R_V5": nan, "SL_mv": nan, "T_II": nan, "T_V1": nan,
                "T_V2": nan}
    b = d.median_beat_mv
    q = b[d.qrs_on:d.qrs_off + 1]
    f["R_II"] = float(q[:, idx["II"]].max())
    f["S_V1"] = float(-q[:, idx["V1"]].min())
    f["R_V5"] = float(q[:, idx["V5"]].max())
    f["SL_mv"] = f["S_V1"] + max(f["R_V5"], float(q[:, idx["V6"]].max()))
    if d.t_peak is not None:
        f["T_II"] = float(b[d.t_peak, idx["II"]])
        f["T_V1"] = float(b[d.t_peak, idx["V1"]])
        f["T_V2"] = float(b[d.t_peak, idx["V2"]])
    else:
        f["T_II"] = f["T_V1"] = f["T_V2"] = nan
    return f


def compare_with_real(folder: Path, n: int = 100) -> None:
    """Print percentiles of simulated NORM vs real PTB-XL NORM (sinus) features."""
    import csv

    from ecgcore.wfdbio import read_signal

    rows = list(csv.DictReader(open(folder / "labels_superclass.csv", newline="")))
    rows = [r for r in rows if r["diagnostic_superclass"] == "NORM" and r["rhythm"] == "SR"][:n]
    real = []
    for r in rows:
        x, h = read_signal(folder / r["filename_hr"])
        real.append(beat_features(x, h.fs_hz))
    sim = []
    for seed in range(n):
        x, _ = simulate_ecg(["NORM"], np.random.default_rng([seed, 99]), noise_level="low")
        sim.append(beat_features(x, 500.0))
    print(f"\nNORM, simulated (n={len(sim)}) vs PTB-XL NORM+SR records (n={len(real)}), "
          "percentiles 10/50/90 of the delineation's measurements:")
    print(f"{'feature':<8} {'simulated':>22} {'PTB-XL':>22}")
    for key in sim[0]:
        a = np.array([s[key] for s in sim], dtype=float)
        b = np.array([s[key] for s in real], dtype=float)
        pa = np.nanpercentile(a, [10, 50, 90])
        pb = np.nanpercentile(b, [10, 50, 90])
        print(f"{key:<8} {pa[0]:7.2f} {pa[1]:7.2f} {pa[2]:7.2f}  {pb[0]:7.2f} {pb[1]:7.2f} {pb[2]:7.2f}")


if __name__ == "__main__":
    main()
