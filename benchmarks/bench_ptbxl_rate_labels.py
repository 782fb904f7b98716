"""PTB-XL's TACHY/BRADY labels against the measured heart rate: what any rate rule can reach.

Usage::

    python benchmarks/bench_ptbxl_rate_labels.py [--data ../shared/data]

TACHY and BRADY are facts of the rate (over 100/min, under 60/min), but PTB-XL labels
them only where the cardiologist wrote a rhythm statement (STACH, SVTAC, PSVT; SBRAD).
For each record of ``ptbxl_subset500`` at 500 Hz this measures the heart rate as the
classifier does (``hr_bpm`` of ``extract_features`` on the true signal) and prints, per
class: the labelled records, the records over or under the clinical bound, their
overlap, the F of the clinical rule against the labels, and the best F of any single
heart-rate threshold (the ceiling of every decision made from the rate alone, found on
the labels themselves, so an optimistic one). Both F are also given with no call on the
records labelled AFIB/AFL, as if AF were recognised perfectly: the classifier emits no
TACHY where its AF rule holds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ecgcore.wfdbio import read_signal
from ecgpaper.benchutil import ptbxl_table
from ecgpaper.classify.features import FEATURE_NAMES, extract_features
from ecgpaper.classify.model import RATE_RULES, best_cut


def f_measure(ref: np.ndarray, pred: np.ndarray) -> float:
    """F = 2TP / (2TP + FP + FN); NaN when both are empty.

    >>> f_measure(np.array([True, True, False]), np.array([True, False, True]))
    0.5
    """
    tp = int(np.sum(ref & pred))
    den = 2 * tp + int(np.sum(~ref & pred)) + int(np.sum(ref & ~pred))
    return 2 * tp / den if den else float("nan")


def best_rate_threshold(hr: np.ndarray, ref: np.ndarray, sign: float) -> tuple[float, float]:
    """Best F of the decision ``sign * (hr - t) > 0`` over thresholds t, and t.

    Records without a rate (NaN) are never called positive.

    >>> best_rate_threshold(np.array([50.0, 55.0, 70.0, np.nan]), np.array([True, True, False, False]), -1.0)
    (1.0, 62.5)
    """
    f, cut = best_cut(ref, np.where(np.isfinite(hr), sign * hr, -np.inf))[::-1]
    return f, sign * cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    rows = ptbxl_table(args.data)
    t0 = time.perf_counter()
    hr = np.full(len(rows), np.nan)
    for i, (rec, _, _) in enumerate(rows):
        sig, hdr = read_signal(rec)
        hr[i] = extract_features(sig, hdr.fs_hz, hdr.lead_names)[FEATURE_NAMES.index("hr_bpm")]
    print(f"{len(rows)} records, heart rate measured in {time.perf_counter() - t0:.1f} s; "
          f"{int(np.sum(~np.isfinite(hr)))} without a rate")
    af = np.array(["AFIB/AFL" in labels for _, labels, _ in rows])
    hr_no_af = np.where(af, np.nan, hr)
    print("| class | labelled | beyond the rule's bound | both | beyond the bound, AFIB/AFL | "
          "F of the rule / none on AFIB/AFL | best F of a rate threshold / none on AFIB/AFL |")
    print("|---|---|---|---|---|---|---|")
    for cls, (_, sign, bound) in RATE_RULES.items():
        ref = np.array([cls in labels for _, labels, _ in rows])
        rule = (sign * (hr - bound) > 0) & np.isfinite(hr)
        best_f, best_t = best_rate_threshold(hr, ref, sign)
        best_f_na, best_t_na = best_rate_threshold(hr_no_af, ref, sign)
        print(f"| {cls} | {int(ref.sum())} | {int(rule.sum())} | {int(np.sum(ref & rule))} | "
              f"{int(np.sum(rule & af))} | {f_measure(ref, rule):.3f} / "
              f"{f_measure(ref, rule & ~af):.3f} | {best_f:.3f} ({best_t:.0f}/min) / "
              f"{best_f_na:.3f} ({best_t_na:.0f}/min) |")


if __name__ == "__main__":
    main()
