"""Helpers that several benchmark scripts share (``benchmarks/``), so no script imports another.

Only what more than one script needs: the PTB-XL subset's table of records, labels and folds,
and the cached classifier features of those records.
"""

from __future__ import annotations

import ast
import csv
import time
from pathlib import Path

import numpy as np

from ecgcore.wfdbio import read_signal
from ecgpaper.classify.augment import mask_3x4
from ecgpaper.classify.features import (FEATURE_NAMES, WORK_FS_HZ, extract_features, resample_nan,
                                        to_standard_leads)
from ecgpaper.classify.model import record_views


def ptbxl_table(data: Path):
    """(record path, labels, strat_fold) of the 500-Hz PTB-XL subset, labels per spec 3.2."""
    from ecgpaper.prepare.ptbxl import load_scp_statements, ptbxl_labels

    root = data / "ptbxl_subset500"
    scp = load_scp_statements(root / "scp_statements.csv")
    rows = []
    with open(root / "ptbxl_database.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            codes = ast.literal_eval(row["scp_codes"])
            rows.append((str(root / row["filename_hr"]), ptbxl_labels(codes, scp),
                         int(float(row["strat_fold"]))))
    return rows


def features_cached(rows, cache: Path, views, seed: int):
    """Training views, true-signal and 3x4-masked features of every record (cached in .npz)."""
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        if z["train"].shape == (len(rows), len(views), len(FEATURE_NAMES)):
            return z["train"], z["true"], z["masked"]
    seeds = np.random.SeedSequence(seed).spawn(len(rows))
    train, true, masked = [], [], []
    t0 = time.perf_counter()
    for i, (rec, _, _) in enumerate(rows):
        sig, hdr = read_signal(rec)
        train.append(record_views(sig, hdr.fs_hz, hdr.lead_names, np.random.default_rng(seeds[i]),
                                  views))
        true.append(extract_features(sig, hdr.fs_hz, hdr.lead_names))
        x = resample_nan(to_standard_leads(sig, hdr.lead_names), hdr.fs_hz, WORK_FS_HZ)
        masked.append(extract_features(mask_3x4(x), WORK_FS_HZ, None))
    print(f"features of {len(rows)} records in {time.perf_counter() - t0:.1f} s "
          f"({len(views)} training views + true + masked each)")
    train, true, masked = np.stack(train), np.stack(true), np.stack(masked)
    np.savez(cache, train=train, true=true, masked=masked)
    return train, true, masked
