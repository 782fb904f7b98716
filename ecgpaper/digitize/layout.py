"""Layout and lead identification, calibration pulses (stage 4 of the digitizer).

On the deskewed page with a known scale:

1. **Rows.**  A trace row is a long horizontal band that is inked in almost every column
   (text lines have gaps between letters).  The coverage of each image row by ink within
   +-1.5 mm is computed and its peaks with a long unbroken stretch are the row baselines.
2. **Layout.**  The row count names the layout: 2 -> ``2x6``, 3 -> ``3x4``, 4 -> ``3x4+1``,
   6 -> ``3x4+3`` or ``6x2``, 12 -> ``12x1``.  ``3x4+3`` and ``6x2`` are told apart after the
   read-out by lead arithmetic (:func:`choose_six_row_layout`): in the second quarter of the
   page the first three rows are I, II, III on a 6x2 page (I - II + III = 0) but aVR, aVL, aVF
   on a 3x4 page (aVR + aVL + aVF = 0).
3. **Rhythm leads** of ``3x4+1``/``3x4+3`` are identified by matching each quarter of the
   strip against the short leads printed above it in that quarter (the same samples are
   drawn twice), so a rhythm strip other than II is named correctly.
4. **Calibration pulse** (a 1-mV rectangle at the row start): its falling edge fixes the time
   origin of the row (the signal starts where the pulse ends) and its height gives the gain
   in mm/mV.

Lead grids are those of the project's generator (``ecg_image_kit.layout``), which are the
standard clinical arrangements.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import signal as ssignal

from ecgpaper.constants import LAYOUT_GRIDS


__all__ = ["LAYOUT_GRIDS", "ROWS_TO_LAYOUTS", "Panel", "find_rows", "layout_panels",
           "find_calibration_pulse", "choose_six_row_layout", "identify_rhythm_leads"]


#: Layouts compatible with a row count.
ROWS_TO_LAYOUTS: dict[int, tuple[str, ...]] = {2: ("2x6",), 3: ("3x4",), 4: ("3x4+1",),
                                               6: ("3x4+3", "6x2"), 12: ("12x1",)}


@dataclass
class Panel:
    """One printed lead segment in page coordinates.

    Attributes
    ----------
    lead : str
        Canonical lead name.
    row, col : int
        Row index (0 = top) and column index.
    t0_s, t1_s : float
        Time window shown, relative to the row's time origin.
    rhythm : bool
    """

    lead: str
    row: int
    col: int
    t0_s: float
    t1_s: float
    rhythm: bool = False


def find_rows(ink_bin: np.ndarray, px_per_mm: float, min_run_mm: float = 30.0
              ) -> np.ndarray:
    """Baselines (image rows, float) of the trace rows of a deskewed page.

    Parameters
    ----------
    ink_bin : numpy.ndarray
        ``(H, W)`` bool ink mask.
    px_per_mm : float
        Scale (y), pixels per mm.
    min_run_mm : float
        Unused (kept for API stability); rows are recognised by their coverage of every
        quarter of the page width.

    Returns
    -------
    numpy.ndarray
        Sorted baselines in pixels.

    Examples
    --------
    >>> b = np.zeros((400, 800), bool)
    >>> for y0 in (100, 300):
    ...     b[y0:y0 + 2, 50:750] = True
    ...     for x in range(60, 750, 60):
    ...         b[y0 - 30:y0, x] = True  # QRS-like spikes
    >>> find_rows(b, 4.0).round().tolist()
    [100.0, 300.0]
    """
    h, w = ink_bin.shape
    k = max(1, int(round(3.0 * px_per_mm)))
    dil = cv2.dilate(ink_bin.astype(np.uint8), np.ones((2 * k + 1, 1), np.uint8))
    x_a, x_b = int(0.05 * w), int(0.95 * w)
    cov = dil[:, x_a:x_b].mean(axis=1)
    cov_s = np.convolve(cov, np.ones(3) / 3, mode="same")
    peaks, _ = ssignal.find_peaks(cov_s, height=0.15, distance=max(1, int(7 * px_per_mm)))
    out = []
    # a trace row is inked across the page: (almost) every quarter of the width is covered
    quarters = np.array_split(np.arange(x_a, x_b), 4)
    strength = []
    for p in peaks:
        qs = [dil[p, q].mean() for q in quarters]
        if sorted(qs)[1] < 0.25:  # three of four quarters must be inked (one panel may be blank)
            continue
        # an ECG row has deflections (QRS) leaving the +-1.5 mm band; a page edge or a ruled line
        # does not
        a_in, b_in = max(0, p - k // 2), min(h, p + k // 2 + 1)
        a_out, b_out = max(0, p - 2 * k), min(h, p + 2 * k + 1)
        far = ink_bin[a_out:a_in, x_a:x_b].any(axis=0) | ink_bin[b_in:b_out, x_a:x_b].any(axis=0)
        if far.mean() >= 0.01:
            out.append(p)
            strength.append(float(np.mean(qs)))
    if out:
        # text lines and page edges cover the width more sparsely than the trace rows
        ref = float(np.median(strength))
        out = [p for p, st in zip(out, strength) if st >= 0.6 * ref]
    k = max(1, int(round(1.5 * px_per_mm)))
    if not out:
        return np.zeros(0)
    out = np.asarray(out, float)
    # refine each baseline to the median row of ink near the peak
    refined = []
    for p in out:
        a, b = int(max(0, p - k)), int(min(h, p + k + 1))
        ys, _ = np.nonzero(ink_bin[a:b, x_a:x_b])
        refined.append(float(np.median(ys) + a) if ys.size else p)
    return np.asarray(refined)


def layout_panels(layout: str, duration_s: float, rhythm_leads: tuple[str, ...] | None = None
                  ) -> list[Panel]:
    """Panels of a layout.

    Parameters
    ----------
    layout : str
        One of :data:`LAYOUT_GRIDS`.
    duration_s : float
        Time shown per row.
    rhythm_leads : tuple of str or None
        Override the default rhythm leads.

    Returns
    -------
    list of Panel

    Examples
    --------
    >>> p = layout_panels("3x4+1", 10.0)
    >>> len(p), p[3].lead, p[3].t0_s, p[-1].lead, p[-1].rhythm
    (13, 'V4', 7.5, 'II', True)
    """
    if layout not in LAYOUT_GRIDS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts: {sorted(LAYOUT_GRIDS)}")
    grid, rhythm = LAYOUT_GRIDS[layout]
    if rhythm_leads is not None:
        rhythm = tuple(rhythm_leads)
    n_cols = len(grid[0])
    cw = duration_s / n_cols
    out = [Panel(lead, r, c, c * cw, (c + 1) * cw) for r, row in enumerate(grid)
           for c, lead in enumerate(row)]
    out += [Panel(lead, len(grid) + i, 0, 0.0, duration_s, True) for i, lead in enumerate(rhythm)]
    return out


def find_calibration_pulse(y_px: np.ndarray, x_px: np.ndarray, baseline_px: float,
                           px_per_mm_x: float, px_per_mm_y: float
                           ) -> tuple[float, float] | None:
    """Find a calibration pulse at the start of a tracked row.

    Parameters
    ----------
    y_px, x_px : numpy.ndarray
        Tracked trace of the row (NaN where absent).
    baseline_px : float
        Row baseline.
    px_per_mm_x, px_per_mm_y : float
        Scale.

    Returns
    -------
    (x_end_px, height_mm, zero_px) or None
        ``x_end_px`` is where the pulse ends and the signal starts (pulse falling edge + 1 mm);
        ``height_mm`` the pulse height (10 mm for 10 mm/mV); ``zero_px`` the image row of the
        pulse's foot, i.e. 0 mV of the row.
    """
    ok = np.isfinite(y_px)
    if ok.sum() < 10:
        return None
    first = int(np.argmax(ok))
    seg = slice(first, min(y_px.size, first + int(45 * px_per_mm_x)))
    ys = y_px[seg]
    xs = x_px[seg]
    with np.errstate(invalid="ignore"):
        high = (baseline_px - ys) > 3.0 * px_per_mm_y
    d = np.diff(np.r_[0, high.astype(np.int8), 0])
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    width_mm = (ends - starts) / px_per_mm_x
    good = np.nonzero((width_mm >= 3.5) & (width_mm <= 6.5))[0]
    if good.size == 0:
        return None
    s0, e0 = int(starts[good[0]]), int(ends[good[0]])
    m = max(2, int(0.8 * px_per_mm_x))
    before = ys[max(0, s0 - m - 2):max(0, s0 - 2)]
    after = ys[e0 + 2:e0 + 2 + m]
    if not (np.isfinite(before).any() and np.isfinite(after).any()):
        return None
    base, base2 = float(np.nanmedian(before)), float(np.nanmedian(after))
    plateau = np.nanmedian(ys[s0 + 1:e0 - 1]) if e0 - s0 > 3 else np.nanmedian(ys[s0:e0])
    height_mm = (0.5 * (base + base2) - plateau) / px_per_mm_y
    # rise and fall: where the trace crosses half the pulse height (sub-pixel); their midpoint is
    # free of the stroke-width bias, and the signal starts 0.5 w + 1 mm after it
    half = 0.5 * (0.5 * (base + base2) + plateau)
    a = max(0, s0 - 3)
    z = min(ys.size, e0 + 3)

    def crossing(i0: int, i1: int, step: int) -> float | None:
        for i in range(i0, i1, step):
            j = i + step
            if 0 <= j < ys.size and np.isfinite(ys[i]) and np.isfinite(ys[j]):
                if (ys[i] - half) * (ys[j] - half) <= 0 and ys[i] != ys[j]:
                    return float(xs[i] + (xs[j] - xs[i]) * (half - ys[i]) / (ys[j] - ys[i]))
        return None

    x_rise = crossing(a, s0 + 3, 1)
    x_fall = crossing(z - 1, e0 - 4, -1)
    if x_rise is None or x_fall is None:
        return None
    pulse_w = x_fall - x_rise
    centre = 0.5 * (x_rise + x_fall)
    return (float(centre + 0.5 * pulse_w + 1.0 * px_per_mm_x), float(height_mm),
            float(0.5 * (base + base2)))


def _hp(x: np.ndarray) -> np.ndarray:
    """First difference with NaN kept (removes baseline offsets)."""
    return np.diff(x)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 20:
        return float("nan")
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / den) if den > 0 else float("nan")


def _match(a: np.ndarray, b: np.ndarray) -> float:
    """1 - residual energy / energy of the first differences (same scale, no fitting)."""
    da, db = _hp(a), _hp(b)
    ok = np.isfinite(da) & np.isfinite(db)
    if ok.sum() < 20:
        return -1.0
    e = np.sum(da[ok] ** 2)
    return float(1.0 - np.sum((da[ok] - db[ok]) ** 2) / e) if e > 0 else -1.0


def choose_six_row_layout(rows_mv: list[np.ndarray], n_per_row: int) -> str:
    """Tell ``3x4+3`` from ``6x2`` from the read-out of six rows.

    Parameters
    ----------
    rows_mv : list of numpy.ndarray
        Six equally long row read-outs (mV, NaN allowed), time-aligned.
    n_per_row : int
        Samples shown per row.

    Returns
    -------
    str
        ``"3x4+3"`` or ``"6x2"``.
    """
    a, b = int(0.27 * n_per_row), int(0.48 * n_per_row)
    r0, r1, r2 = (_hp(r[a:b]) for r in rows_mv[:3])
    e_6x2 = np.nanmean((r0 - r1 + r2) ** 2)
    e_3x4 = np.nanmean((r0 + r1 + r2) ** 2)
    if not np.isfinite(e_6x2) or not np.isfinite(e_3x4):
        return "3x4+3"
    return "6x2" if e_6x2 < e_3x4 else "3x4+3"


def identify_rhythm_leads(short_rows: list[np.ndarray], rhythm_rows: list[np.ndarray],
                          grid: tuple[tuple[str, ...], ...], default: tuple[str, ...]
                          ) -> tuple[str, ...]:
    """Name each rhythm strip by matching it to the short leads printed above it.

    Parameters
    ----------
    short_rows : list of numpy.ndarray
        Read-outs of the grid rows (time-aligned, same length as the strips).
    rhythm_rows : list of numpy.ndarray
        Read-outs of the rhythm strips.
    grid : tuple of tuple of str
        Lead grid of the short rows.
    default : tuple of str
        Returned for strips that match nothing clearly.

    Returns
    -------
    tuple of str
    """
    out = []
    n_cols = len(grid[0])
    for i, strip in enumerate(rhythm_rows):
        fin = np.nonzero(np.isfinite(strip))[0]
        if fin.size < 20:
            out.append(default[i] if i < len(default) else "II")
            continue
        lo, hi = fin[0], fin[-1] + 1
        n = hi - lo
        dflt = default[i] if i < len(default) else "II"
        scores: dict[str, float] = {}
        for c in range(n_cols):
            a = lo + int(c * n / n_cols) + max(3, n // (10 * n_cols))
            b = lo + int((c + 1) * n / n_cols) - 3
            for r, row in enumerate(short_rows):
                scores[grid[r][c]] = _match(strip[a:b], row[a:b])
        best = max(scores, key=lambda k: scores[k]) if scores else dflt
        # the same samples drawn twice match almost exactly; keep the default unless another
        # lead matches clearly better
        if scores.get(best, -1) < 0.8 or scores.get(dflt, -1) > scores[best] - 0.1:
            best = dflt
        out.append(best)
    return tuple(out)
