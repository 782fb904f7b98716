"""Benchmark of the digitizer on pages this project did not draw (issue 16).

Digitizes the official generator's (ECG-Image-Kit's) sample pages in
``../shared/data/eik_samples`` (``plain/``: no distortion, random grid colours; ``distorted/``:
wrinkles, creases, rotation, noise, colour temperature, JPEG) and scores each against the
masked reference written with it (NaN where the page does not print a lead), with the
Challenge-2024 SNR (alignment + coverage factor).  Prints per page, per set, per lead and per
grid darkness (the luminance of the major grid colour recorded in the page's JSON: dark below
80, medium to 140, light above), the share of leads below 0 dB, the share left NaN and the
seconds per page.

The generator's JSON is used for the grid-darkness groups only; the digitizer sees the image
and the header.  Pages of our own ``ecg_image_kit`` are in ``bench_digitize.py``.

Usage::

    python benchmarks/bench_foreign_pages.py [--data ../shared/data/eik_samples]
        [--model-dir MODEL] [--sets plain,distorted]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ecgcore.wfdbio import read_signal
from ecgpaper.digitize import load_digitizer
from ecgpaper.digitize.api import assemble_leads
from ecgpaper.digitize.load import read_image
from ecgpaper.digitize.pipeline import digitize_image
from ecgpaper.scoring import snr_per_lead

REPO = Path(__file__).resolve().parents[1]  # the repository root

#: Luminance (0-255) bounds of the major grid colour: dark below the first, light above the
#: second.
GRID_LUMA = (80.0, 140.0)


def score_set(folder: Path, digitizer) -> list[dict]:
    """Digitize and score every page of one folder."""
    params = dict(digitizer.params) if digitizer is not None else {}
    centreline = digitizer.centreline if digitizer is not None else None
    rows = []
    for hea in sorted(folder.glob("*.hea")):
        rec = hea.with_suffix("")
        pages = sorted(folder.glob(rec.name + "-0.*g"))
        if not pages:
            continue
        ref, hdr = read_signal(rec)
        meta_path = folder / (rec.name + "-0.json.gz")
        meta = json.loads(gzip.open(meta_path).read()) if meta_path.exists() else {}
        grid = meta.get("grid_line_color_major")
        image = read_image(pages[0])
        t = time.perf_counter()
        ro = digitize_image(image, hdr.fs_hz, hdr.num_samples, params, centreline=centreline)
        dt = time.perf_counter() - t
        est = assemble_leads({k: [v] for k, v in ro.leads.items()}, hdr)
        snr = snr_per_lead(ref, est, hdr.fs_hz)
        nan = np.array([not np.isfinite(est[:, j]).any() for j in range(est.shape[1])])
        rows.append(dict(record=rec.name, snr=snr, nan=nan, seconds=dt,
                         grid=None if grid is None else
                         float(np.dot([0.299, 0.587, 0.114], grid)),
                         layout=ro.info.get("layout"), leads=list(hdr.lead_names)))
    return rows


def summarise(name: str, rows: list[dict]) -> None:
    snr = np.array([r["snr"] for r in rows])
    nan = np.array([r["nan"] for r in rows])
    secs = np.array([r["seconds"] for r in rows])
    print(f"\n## {name}: {len(rows)} pages")
    print("| group | pages | SNR dB | median lead dB | leads < 0 dB | leads NaN | s/page |")
    print("|---|---|---|---|---|---|---|")

    def line(label, sel):
        if not sel.any():
            return
        s = snr[sel]
        print(f"| {label} | {int(sel.sum())} | {np.nanmean(s):.2f} | {np.nanmedian(s):.2f} | "
              f"{100 * np.mean(s < 0):.1f} % | {100 * nan[sel].mean():.1f} % | "
              f"{secs[sel].mean():.2f} |")

    line("all", np.ones(len(rows), bool))
    g = np.array([np.nan if r["grid"] is None else r["grid"] for r in rows])
    lo, hi = GRID_LUMA
    line(f"dark grid (luminance < {lo:.0f})", g < lo)
    line(f"medium grid ({lo:.0f}-{hi:.0f})", (g >= lo) & (g <= hi))
    line(f"light grid (> {hi:.0f})", g > hi)
    leads = rows[0]["leads"]
    print("\nper lead (dB): " + ", ".join(f"{n} {v:.1f}" for n, v in
                                         zip(leads, np.nanmean(snr, axis=0))))
    print("\nper page (dB):")
    for r in rows:
        print(f"  {r['record']} grid {r['grid'] if r['grid'] is None else round(r['grid'])} "
              f"layout {r['layout']} mean {np.nanmean(r['snr']):6.2f} "
              + " ".join(f"{v:5.1f}" for v in r["snr"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=REPO.parent / "shared" / "data" / "eik_samples")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="a trained model folder (default: the classical defaults)")
    ap.add_argument("--sets", default="plain,distorted")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if not args.data.is_dir():
        print(f"{args.data} not found", file=sys.stderr)
        return 2
    digitizer = load_digitizer(args.model_dir) if args.model_dir else None
    print(f"digitizer: {'model ' + str(args.model_dir) if digitizer else 'classical defaults'}")
    for name in args.sets.split(","):
        rows = score_set(args.data / name, digitizer)
        if rows:
            summarise(name, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
