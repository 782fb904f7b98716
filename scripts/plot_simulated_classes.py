"""Plot one simulated 12-lead ECG per Challenge class at standard paper scale.

Layout: the usual 3 x 4 leads (2.5 s each) plus a 10 s lead II rhythm strip,
25 mm/s, 10 mm/mV, 1 mm / 5 mm grid, a 1 mV calibration pulse at the left.

Usage::

    python scripts/plot_simulated_classes.py [--out docs/simulated_classes] [--seed 7] [--noise low]

Writes ``<out>/<class>.png`` (``/`` and spaces in names become ``_``) and
prints each file with the record's sampled key parameters.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ecgcore.constants import (
    LARGE_SQUARE_MM,
    LEADS_12,
    MM_PER_INCH,
    PAPER_GAIN_MM_PER_MV,
    PAPER_SPEED_MM_PER_S,
    SMALL_SQUARE_MM,
)
from ecgpaper.simulate import SIMULATABLE_CLASSES, simulate_ecg

LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
ROW_MM = 30.0  # height of one lead row
SEG_S = 2.5
CAL_MM = 8.0  # width reserved for the calibration pulse


def file_name(label: str) -> str:
    """File-system name of a class, e.g. ``AFIB/AFL`` -> ``AFIB_AFL``."""
    return label.replace("/", "_").replace(" ", "_")


def describe(params: dict) -> str:
    """One-line summary of a record's key sampled parameters."""
    v = params["variants"]
    bits = [", ".join(params["labels"]), f"{params['rhythm'].replace('_', ' ')} {params['hr_bpm']:.0f}/min"]
    tpl = params["templates"].get("N") or params["templates"].get("F")
    if tpl.get("p") is not None:
        bits.append(f"PR {tpl['pr_ms']:.0f} ms")
    bits.append(f"QRS {tpl['qrs_ms']:.0f} ms")
    bits.append(f"QTc {params['qtc_ms']:.0f} ms")
    bits.append(f"axis {params['qrs_axis_deg']:.0f} deg")
    bits.append(f"SV1+RV5/6 {params['sokolow_lyon_mv']:.1f} mV")
    for key, value in v.items():
        if key in ("q_vector_mv",) or value is None:
            continue
        bits.append(f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}")
    if params["n_pac"]:
        bits.append(f"{params['n_pac']} PAC")
    if params["n_pvc"]:
        bits.append(f"{params['n_pvc']} PVC")
    return " | ".join(bits)


def plot_record(signal_mv: np.ndarray, fs_hz: float, title: str, path: Path, dpi: int = 130) -> None:
    """Draw a 3 x 4 + rhythm-strip ECG on a millimetre grid and save it as PNG."""
    width_mm = CAL_MM + 4 * SEG_S * PAPER_SPEED_MM_PER_S + 4.0
    height_mm = 4 * ROW_MM + 12.0
    fig = plt.figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width_mm)
    ax.set_ylim(0, height_mm)
    ax.axis("off")
    for x in np.arange(0, width_mm + 1e-9, SMALL_SQUARE_MM):
        major = abs(x / LARGE_SQUARE_MM - round(x / LARGE_SQUARE_MM)) < 1e-6
        ax.axvline(x, color="#f08080" if major else "#fbd0d0", lw=0.6 if major else 0.3, zorder=0)
    for y in np.arange(0, height_mm + 1e-9, SMALL_SQUARE_MM):
        major = abs(y / LARGE_SQUARE_MM - round(y / LARGE_SQUARE_MM)) < 1e-6
        ax.axhline(y, color="#f08080" if major else "#fbd0d0", lw=0.6 if major else 0.3, zorder=0)
    mm_per_sample = PAPER_SPEED_MM_PER_S / fs_hz
    n_seg = int(round(SEG_S * fs_hz))
    rows = [list(r) for r in LAYOUT] + [["II"]]
    for r, leads in enumerate(rows):
        y0 = height_mm - 10.0 - ROW_MM * (r + 0.5)
        # Calibration pulse: 1 mV, 0.2 s.
        cx = np.array([1.0, 2.0, 2.0, 2.0 + 0.2 * PAPER_SPEED_MM_PER_S, 2.0 + 0.2 * PAPER_SPEED_MM_PER_S, 7.0])
        cy = y0 + np.array([0, 0, 1, 1, 0, 0]) * PAPER_GAIN_MM_PER_MV
        ax.plot(cx, cy, color="k", lw=0.8)
        for c, lead in enumerate(leads):
            j = LEADS_12.index(lead)
            if len(leads) == 1:
                seg = signal_mv[:, j]
                start = 0
            else:
                start = c * n_seg
                seg = signal_mv[start:start + n_seg, j]
            x = CAL_MM + (start + np.arange(len(seg))) * mm_per_sample
            ax.plot(x, y0 + seg * PAPER_GAIN_MM_PER_MV, color="k", lw=0.7)
            ax.text(CAL_MM + start * mm_per_sample + 1.0, y0 + 9.0, lead, fontsize=7)
            if c > 0:
                xb = CAL_MM + start * mm_per_sample
                ax.plot([xb, xb], [y0 - 3, y0 + 3], color="k", lw=0.8)
    ax.text(2.0, height_mm - 4.0, title, fontsize=6.5, va="center")
    ax.text(width_mm - 2.0, 2.0, "25 mm/s, 10 mm/mV", fontsize=6, ha="right")
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/simulated_classes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noise", default="low")
    parser.add_argument("--fs", type=float, default=500.0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for k, label in enumerate(SIMULATABLE_CLASSES):
        rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(k,)))
        signal, params = simulate_ecg([label], rng, fs_hz=args.fs, duration_s=10.0, noise_level=args.noise)
        path = out / f"{file_name(label)}.png"
        title = describe(params)
        plot_record(signal, args.fs, title, path)
        print(f"{path} ({path.stat().st_size // 1024} KB): {title}")


if __name__ == "__main__":
    main()
