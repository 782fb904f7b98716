"""Make the ecg_image_kit gallery: one page per layout, grid style, distortion and preset.

Pages are rendered at their real settings (200 DPI unless the setting says
otherwise) from a synthetic 12-lead signal (no real data in the repo), then
downscaled and palette-quantised so each PNG stays small. Writes
``docs/gallery/*.png`` and ``docs/gallery/README.md``.

Usage: ``python scripts/make_gallery.py [--out docs/gallery] [--width 800]``
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ecg_image_kit import RenderConfig, preset, render
from ecgcore.constants import LEADS_12

ROOT = Path(__file__).resolve().parents[1]  # the repository root


def synthetic_ecg(fs: float = 500.0, duration_s: float = 10.0, seed: int = 0) -> np.ndarray:
    """A plausible 12-lead sinus rhythm (sum of Gaussian waves per beat), (n, 12) mV."""
    rng = np.random.default_rng(seed)
    n = int(fs * duration_s)
    t = np.arange(n) / fs
    beats = np.cumsum(60.0 / (72 + rng.normal(0, 2, 20)))
    # per lead: amplitudes of P, Q, R, S, T
    amps = {
        "I": (0.10, -0.05, 0.70, -0.10, 0.20), "II": (0.15, -0.08, 1.10, -0.15, 0.30),
        "III": (0.05, -0.05, 0.45, -0.10, 0.10), "aVR": (-0.12, 0.05, -0.85, 0.10, -0.25),
        "aVL": (0.03, -0.03, 0.30, -0.05, 0.05), "aVF": (0.10, -0.06, 0.75, -0.12, 0.20),
        "V1": (0.08, 0.0, 0.25, -0.90, -0.05), "V2": (0.10, 0.0, 0.50, -1.30, 0.25),
        "V3": (0.10, -0.05, 0.90, -0.80, 0.35), "V4": (0.10, -0.10, 1.40, -0.40, 0.40),
        "V5": (0.10, -0.10, 1.30, -0.25, 0.35), "V6": (0.10, -0.08, 1.00, -0.15, 0.30),
    }
    centres = (-0.16, -0.025, 0.0, 0.025, 0.26)
    widths = (0.025, 0.010, 0.011, 0.012, 0.05)
    sig = np.zeros((n, 12))
    for j, lead in enumerate(LEADS_12):
        for b in beats:
            for a, c, w in zip(amps[lead], centres, widths):
                sig[:, j] += a * np.exp(-((t - b - c) / w) ** 2)
        sig[:, j] += 0.05 * np.sin(2 * np.pi * 0.25 * t + j) + 0.008 * rng.standard_normal(n)
    return sig


PAGES: list[tuple[str, object]] = [
    *((f"layout_{name.replace('+', 'p')}", RenderConfig(layout=name)) for name in
      ("3x4", "3x4+1", "3x4+3", "6x2", "12x1", "2x6")),
    *((f"grid_{style}", RenderConfig(grid_style=style)) for style in ("random_color", "bw", "dotted", "none")),
    ("grid_orange_blue_trace", RenderConfig(grid_color="orange", trace_color="darkblue", line_width_pt=1.0)),
    ("speed_50mm_gain_20mm", RenderConfig(mm_per_s=50.0, mm_per_mv=20.0, layout="6x2")),
    ("a4_portrait_12x1", RenderConfig(paper="a4", orientation="portrait", layout="12x1", mm_per_mv=5.0)),
    ("dist_rotation", RenderConfig(rotation_deg=5.0)),
    ("dist_perspective", RenderConfig(perspective=0.05)),
    ("dist_crop_pad", RenderConfig(crop=0.06, pad=0.08, background_color=(60, 55, 50))),
    ("dist_wrinkles", RenderConfig(wrinkles=1.0)),
    ("dist_creases", RenderConfig(creases=3)),
    ("dist_stains", RenderConfig(stains=3)),
    ("dist_shadow", RenderConfig(shadow=0.8)),
    ("dist_lighting", RenderConfig(lighting=0.6)),
    ("dist_color_temperature", RenderConfig(color_temperature_k=3500.0)),
    ("dist_noise", RenderConfig(noise_std=12.0)),
    ("dist_salt_pepper", RenderConfig(salt_pepper=0.01)),
    ("dist_blur", RenderConfig(blur_sigma_px=2.0)),
    ("dist_jpeg", RenderConfig(jpeg_quality=15)),
    ("dist_banding", RenderConfig(banding=1.0)),
    ("dist_handwriting", RenderConfig(handwriting=8)),
    ("dist_stamps", RenderConfig(stamps=2)),
    ("dist_overlap_large_amplitude", RenderConfig(layout="12x1", mm_per_mv=20.0)),
    ("preset_clean", preset("clean")),
    ("preset_moderate", preset("moderate")),
    ("preset_heavy", preset("heavy")),
]


def small_png(img: np.ndarray, width: int, colors: int = 32, limit_kb: int = 95) -> bytes:
    """Downscale an RGB page to ``width`` px and palette-quantise it under ``limit_kb``."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (width, int(round(h * width / w))), interpolation=cv2.INTER_AREA)
    pil = Image.fromarray(small)
    while True:
        buf = io.BytesIO()
        pil.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(buf, "PNG", optimize=True)
        if buf.tell() <= limit_kb * 1024 or colors <= 8:
            return buf.getvalue()
        colors //= 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "docs" / "gallery"))
    ap.add_argument("--width", type=int, default=720)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sig = synthetic_ecg()
    lines = ["# ecg_image_kit gallery", "",
             "Made by `python scripts/make_gallery.py` from a synthetic 12-lead signal; pages rendered at "
             "their real settings, then downscaled to 720 px and palette-quantised for size.", "",
             "| file | settings changed from the clean default |", "|---|---|"]
    total = 0
    for name, cfg in PAGES:
        res = render(sig, 500.0, LEADS_12, cfg, seed=7)
        data = small_png(res.image, args.width)
        (out / f"{name}.png").write_bytes(data)
        total += len(data)
        changed = {k: v for k, v in cfg.to_dict().items() if v != RenderConfig().to_dict()[k]}
        lines.append(f"| [{name}.png]({name}.png) | `{changed}` |")
    # masks of one clean page, coloured per lead
    res = render(sig, 500.0, LEADS_12, "moderate", seed=7, with_masks=True)
    rng = np.random.default_rng(0)
    palette = np.vstack([[0, 0, 0], rng.integers(60, 255, (255, 3))]).astype(np.uint8)
    trace = palette[res.trace_mask]
    centre = palette[cv2.dilate(res.centerline_mask, np.ones((2, 2), np.uint8))]
    for name, img in (("masks_trace", trace), ("masks_centerline", centre)):
        data = small_png(img, args.width)
        (out / f"{name}.png").write_bytes(data)
        total += len(data)
        lines.append(f"| [{name}.png]({name}.png) | `with_masks=True` on preset_moderate (seed 7), labels coloured |")
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(PAGES) + 2} images, {total / 1024:.0f} KB in all, to {out}")


if __name__ == "__main__":
    main()
