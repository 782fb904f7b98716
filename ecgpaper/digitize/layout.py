"""Layout and lead identification, calibration pulses (stage 4 of the digitizer).

On the deskewed page with a known scale:

1. **Rows.**  A trace row is a long horizontal band that is inked in almost every column
   (text lines have gaps between letters).  The coverage of each image row by ink within
   +-3 mm is computed and its peaks that look like a trace (see :func:`find_row_candidates`:
   not a page edge, a crease, a stamp or a word) are the row candidates; the pipeline picks
   the evenly spaced ones.
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
from typing import NamedTuple

import cv2
import numpy as np
from scipy import signal as ssignal

from ecgcore.constants import LAYOUT_GRIDS

from .trace import falloff_extent


__all__ = ["LAYOUT_GRIDS", "ROWS_TO_LAYOUTS", "Panel", "find_rows", "find_row_candidates",
           "layout_panels",
           "find_calibration_pulse", "Pulse", "pulse_rise_foot", "refine_pulse_edge",
           "choose_six_row_layout", "identify_rhythm_leads"]


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
        Sorted baselines in pixels (see :func:`find_row_candidates` for their strengths).

    Examples
    --------
    >>> b = np.zeros((400, 800), bool)
    >>> x = np.arange(50, 750)
    >>> for y0 in (100, 300):
    ...     b[np.round(y0 + 3 * np.sin(x / 15.0)).astype(int), x] = True  # P/T-like waves
    ...     for x1 in range(60, 750, 60):
    ...         b[y0 - 30:y0, x1] = True  # QRS-like spikes
    >>> find_rows(b, 4.0).round().tolist()
    [99.0, 299.0]
    """
    return find_row_candidates(ink_bin, px_per_mm)[0]


def find_row_candidates(ink_bin: np.ndarray, px_per_mm: float, min_blob_mm2: float = 0.6
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate trace rows and their strength (share of the page width they ink).

    Ink specks (connected blobs smaller than ``min_blob_mm2``: noise, JPEG ringing, dust) are
    dropped first: on a noisy page they put ink within +-3 mm of every row, and every band of
    the page would look like a trace.  A candidate is then a peak of the share of columns
    inked within +-3 mm that

    * covers at least three of the four quarters of the width (one panel may be blank),
    * has deflections leaving +-1.5 mm (a page edge or a ruled line has none),
    * has ink on its centre line: at least 3 % of the pixels within +-1.5 mm (a peak whose ink
      all lies 1.5-3 mm away is the edge of something else: the page border, a header line),
    * is not solid: the inked columns are not filled over most of the +-1.5 mm band (the dark
      background beyond a page edge, a stamp's frame, a stain's rim),
    * is not a ruled straight line (ink centre within 1 px of one row in > 93 % of the inked
      columns: a crease, a scanner band, a page edge),
    * is not much sparser than the other candidates (text lines, marks), and
    * is not within 11 mm of a candidate inked across > 1.1 x as much of the width (rows are
      >= ~14 mm apart).

    Parameters
    ----------
    ink_bin : numpy.ndarray
        ``(H, W)`` bool ink mask.
    px_per_mm : float
        Scale (y), pixels per mm.
    min_blob_mm2 : float
        Smallest connected ink blob (8-connected, mm^2) that counts; 0 keeps every pixel.

    Returns
    -------
    baselines : numpy.ndarray
        Sorted baselines in pixels (median row of the ink near each peak).
    strength : numpy.ndarray
        Mean share of the width inked within +-3 mm, per baseline.
    coverage : numpy.ndarray
        ``(H,)`` share of the width inked within +-3 mm of every image row, zero within 3 mm
        of peaks rejected for their shape (evidence for a row that the lattice fit adds where
        no candidate was kept: a weak trace, not a page edge or a crease).
    """
    h, w = ink_bin.shape
    if min_blob_mm2 > 0:
        n_lab, labels, stats, _ = cv2.connectedComponentsWithStats(
            ink_bin.astype(np.uint8), connectivity=8)
        keep = stats[:, cv2.CC_STAT_AREA] >= min_blob_mm2 * px_per_mm * px_per_mm
        keep[0] = False  # background
        ink_bin = keep[labels]
    k = max(1, int(round(3.0 * px_per_mm)))
    dil = cv2.dilate(ink_bin.view(np.uint8) if ink_bin.dtype == bool else ink_bin.astype(np.uint8),
                     np.ones((2 * k + 1, 1), np.uint8))
    x_a, x_b = int(0.05 * w), int(0.95 * w)
    cov = dil[:, x_a:x_b].mean(axis=1)
    cov_s = np.convolve(cov, np.ones(3) / 3, mode="same")
    peaks, _ = ssignal.find_peaks(cov_s, height=0.15, distance=max(1, int(7 * px_per_mm)))
    out = []
    # a trace row is inked across the page: (almost) every quarter of the width is covered
    quarters = np.array_split(np.arange(x_a, x_b), 4)
    strength = []
    evidence = cov_s.copy()  # coverage with the peaks of non-trace shapes blanked
    rows_ink = ink_bin[:, x_a:x_b].sum(axis=1)
    for p in peaks:
        # the coverage plateau is 6 mm wide and sparse ink near it can tilt its top off a flat
        # trace: then centre the candidate in the middle of the plateau
        a_in, b_in = max(0, p - k // 2), min(h, p + k // 2 + 1)
        if rows_ink[a_in:b_in].sum() < 0.03 * (b_in - a_in) * (x_b - x_a):
            lo_, hi_ = max(0, p - k), min(h, p + k + 1)
            top = np.nonzero(cov_s[lo_:hi_] >= 0.9 * cov_s[p])[0]
            p = lo_ + int(round(0.5 * (top[0] + top[-1])))  # middle of the plateau
            if any(abs(p - o) < 2.0 * px_per_mm for o in out):
                continue  # two peaks of one trace
        qs = [dil[p, q].mean() for q in quarters]
        if sorted(qs)[1] < 0.25:  # three of four quarters must be inked (one panel may be blank)
            continue
        a_in, b_in = max(0, p - k // 2), min(h, p + k // 2 + 1)
        band = ink_bin[a_in:b_in, x_a:x_b]
        per_col = band.sum(axis=0)
        inked = per_col[per_col > 0]
        density = float(per_col.mean()) / max(1, b_in - a_in)
        thick = float(np.median(inked)) if inked.size else 0.0
        shape_ok = True
        if density < 0.03:
            shape_ok = False  # no trace on the centre line
        elif density > 0.5 or thick > 0.6 * (b_in - a_in):
            shape_ok = False  # solid: background beyond the page edge, a stamp, a stain
        else:
            # a ruled straight line (crease, scanner band, page edge) keeps its ink centre
            # within 1 px in (nearly) every column; P and T waves and baseline wander move a
            # trace's
            has = per_col > 0
            centre = (band * np.arange(a_in, b_in)[:, None]).sum(axis=0)[has] / per_col[has]
            if float(np.mean(np.abs(centre - np.median(centre)) <= 1.0)) > 0.93:
                shape_ok = False
        if not shape_ok:
            evidence[max(0, p - k):p + k + 1] = 0.0
            continue
        # an ECG row has deflections (QRS) leaving the +-1.5 mm band; a page edge or a ruled line
        # does not
        a_out, b_out = max(0, p - 2 * k), min(h, p + 2 * k + 1)
        far = ink_bin[a_out:a_in, x_a:x_b].any(axis=0) | ink_bin[b_in:b_out, x_a:x_b].any(axis=0)
        if far.mean() < 0.01:
            evidence[max(0, p - k):p + k + 1] = 0.0
            continue
        out.append(p)
        strength.append(float(np.mean(qs)))
    if out:
        # text lines and page edges cover the width more sparsely than the trace rows
        ref = float(np.median(strength))
        keep = [i for i, st in enumerate(strength) if st >= 0.6 * ref]
        # trace rows are >= ~14 mm apart (12x1 on a letter page): of two candidates closer
        # than 11 mm the one inked across clearly more of the width is kept (a stamp or a word
        # next to a row loses); near-ties are left to the lattice fit of the layout
        keep = sorted(keep, key=lambda i: -strength[i])
        chosen: list[int] = []
        for i in keep:
            if all(abs(out[i] - out[j]) >= 11.0 * px_per_mm or strength[i] >= 0.9 * strength[j]
                   for j in chosen):
                chosen.append(i)
        chosen.sort()
        out = [out[i] for i in chosen]
        strength = [strength[i] for i in chosen]
    k = max(1, int(round(1.5 * px_per_mm)))
    if not out:
        return np.zeros(0), np.zeros(0), evidence
    # refine each baseline to the median row of ink near the peak
    refined = []
    for p in out:
        a, b = int(max(0, p - k)), int(min(h, p + k + 1))
        ys, _ = np.nonzero(ink_bin[a:b, x_a:x_b])
        refined.append(float(np.median(ys) + a) if ys.size else float(p))
    return np.asarray(refined), np.asarray(strength), evidence


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


class Pulse(NamedTuple):
    """A calibration pulse found by :func:`find_calibration_pulse` (image pixels)."""

    x_start_px: float   #: falling edge + 1 mm (where a 1-mm foot would end)
    height_mm: float    #: plateau height above the foot
    zero_px: float      #: image row of the flat stretch after the fall
    x_fall_px: float    #: falling edge at half height
    x_rise_px: float    #: rising edge at half height
    plateau_px: float   #: image row of the flat top


def find_calibration_pulse(y_px: np.ndarray, x_px: np.ndarray, baseline_px: float,
                           px_per_mm_x: float, px_per_mm_y: float, search_mm: float = 60.0
                           ) -> Pulse | None:
    """Find a calibration pulse at the start of a tracked row.

    The pulse is a flat top 3.5-6.5 mm wide and 3-25 mm above the row, ending in a fall to a
    flat 1-mm foot at the row's 0 mV (the generator's and the usual clinical drawing: the
    signal starts 1 mm after the falling edge).  Only the top and the fall are required, so
    ink before the pulse (a page edge, a shadow, a mark tracked into the row) does not hide
    it; every candidate in the first ``search_mm`` of the tracked row is tried in order.

    Parameters
    ----------
    y_px, x_px : numpy.ndarray
        Tracked trace of the row (NaN where absent).
    baseline_px : float
        Row baseline.
    px_per_mm_x, px_per_mm_y : float
        Scale.
    search_mm : float
        Length of the row start searched, from the first tracked column.

    Returns
    -------
    Pulse or None
        ``x_start_px`` is the falling edge at half height + 1 mm (the end of a 1-mm foot;
        where the signal starts is decided by the caller); ``height_mm`` the pulse height
        (10 mm for 10 mm/mV) above ``zero_px``, the image row of the trace just after the fall
        (the foot, or the signal's first samples when the pulse has none); ``x_fall_px`` and
        ``x_rise_px`` the two edges at half height; ``plateau_px`` the row of the flat top.

    Examples
    --------
    >>> x = np.arange(200.0); y = np.full(200, 100.0); y[20:45] = 50.0  # 5 px/mm: 5 mm wide
    >>> [round(v, 1) for v in find_calibration_pulse(y, x, 100.0, 5.0, 5.0)]
    [49.5, 10.0, 100.0, 44.5, 19.5, 50.0]
    """
    ok = np.isfinite(y_px)
    if ok.sum() < 10:
        return None
    first = int(np.argmax(ok))
    stop = min(y_px.size, first + int(search_mm * px_per_mm_x))
    ys = y_px[first:stop]
    xs = x_px[first:stop]
    with np.errstate(invalid="ignore"):
        hgt = (baseline_px - ys) / px_per_mm_y
        high = hgt > 3.0
    d = np.diff(np.r_[0, high.astype(np.int8), 0])
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    m_foot = max(2, int(round(0.8 * px_per_mm_x)))
    tail = max(2, int(round(2.0 * px_per_mm_x)))
    for s0, e0 in zip(starts, ends):
        if (e0 - s0) / px_per_mm_x < 3.5:
            continue
        # flat top ending at the fall: walk back from the end while within 0.8 mm of the level
        level = float(np.nanmedian(hgt[max(s0, e0 - tail):e0]))
        flat = np.abs(hgt[s0:e0] - level) < 0.8
        # the blurred falling edge may leave up to ~1 mm of samples between the top and 3 mm
        j = e0 - s0 - 1
        lim = max(0, e0 - s0 - 1 - int(round(1.0 * px_per_mm_x)))
        while j > lim and not flat[j]:
            j -= 1
        first_flat = j + 1
        while j >= 0:
            if flat[j]:
                first_flat = j
            elif not (j > 0 and flat[j - 1] and first_flat == j + 1):
                break  # two misses in a row (a single noisy column is bridged)
            j -= 1
        s_flat = s0 + first_flat
        width_mm = (e0 - s_flat) / px_per_mm_x
        if not 3.5 <= width_mm <= 6.5:
            continue
        foot = ys[e0 + 1:e0 + 1 + m_foot]
        if foot.size < m_foot or np.isfinite(foot).sum() < 0.6 * m_foot:
            continue
        base = float(np.nanmedian(foot))
        with np.errstate(invalid="ignore"):
            if np.mean(np.abs(foot - base) < 0.8 * px_per_mm_y) < 0.5:
                continue  # no flat foot (a corner glitch of the read-out is tolerated)
        plateau = float(np.nanmedian(ys[s_flat:e0]))
        height_mm = (base - plateau) / px_per_mm_y
        if not 3.0 <= height_mm <= 25.0:
            continue
        # falling edge: where the trace crosses half the pulse height (sub-pixel)
        half = 0.5 * (base + plateau)
        x_fall = None
        for i in range(min(ys.size - 1, e0 + 1), max(s_flat, e0 - 4), -1):
            j = i - 1
            if np.isfinite(ys[i]) and np.isfinite(ys[j]) and (ys[i] - half) * (ys[j] - half) <= 0 \
                    and ys[i] != ys[j]:
                x_fall = float(xs[j] + (xs[i] - xs[j]) * (half - ys[j]) / (ys[i] - ys[j]))
                break
        if x_fall is None:
            x_fall = float(xs[e0 - 1]) + 0.5
        x_rise = float(xs[s_flat]) - 0.5
        for i in range(s_flat, max(0, s_flat - 4), -1):
            j = i - 1
            if np.isfinite(ys[i]) and np.isfinite(ys[j]) and (ys[i] - half) * (ys[j] - half) <= 0 \
                    and ys[i] != ys[j]:
                x_rise = float(xs[j] + (xs[i] - xs[j]) * (half - ys[j]) / (ys[i] - ys[j]))
                break
        return Pulse(float(x_fall + 1.0 * px_per_mm_x), float(height_mm), base, float(x_fall),
                     x_rise, plateau)
    return None


def refine_pulse_edge(ink: np.ndarray, x_edge_px: float, top_px: float, foot_px: float,
                      px_per_mm_x: float) -> float | None:
    """Sub-pixel column of a pulse's vertical edge: ink-weighted centroid across the stroke.

    The tracked centre line crosses half the pulse height somewhere inside the vertical
    stroke (biased by the read-out at the corners); the stroke itself is symmetric about its
    centre, so the ink-weighted mean column over the middle half of its height is unbiased.

    Parameters
    ----------
    ink : numpy.ndarray
        ``(H, W)`` ink darkness of the (rectified) page.
    x_edge_px : float
        Approximate column of the edge.
    top_px, foot_px : float
        Image rows of the pulse top and foot.
    px_per_mm_x : float
        Scale.

    Returns
    -------
    float or None
        Refined column, or None when the stroke is not found near ``x_edge_px``.

    Examples
    --------
    >>> ink = np.zeros((100, 60), np.float32); ink[20:81, 30] = 1.0; ink[20:81, 31] = 0.5
    >>> round(refine_pulse_edge(ink, 31.0, 20.0, 80.0, 4.0), 3)
    30.333
    """
    h, w = ink.shape
    ya, yb = sorted((top_px, foot_px))
    span = yb - ya
    r0, r1 = int(np.ceil(ya + 0.25 * span)), int(np.floor(ya + 0.75 * span)) + 1
    half = max(2, int(round(0.6 * px_per_mm_x)))
    c0, c1 = int(round(x_edge_px)) - half, int(round(x_edge_px)) + half + 1
    if r1 - r0 < 3 or c0 < 0 or c1 > w or r0 < 0 or r1 > h:
        return None
    band = ink[r0:r1, c0:c1].astype(np.float64)
    prof = np.median(band, axis=0)  # a crossing QRS or a speck in one row does not count
    prof = prof - min(prof[0], prof[-1])
    prof = np.clip(prof, 0.0, None)
    if prof.sum() <= 0 or prof.max() < 0.3 * float(band.max()):
        return None
    cols = np.arange(c0, c1, dtype=np.float64)
    # keep the main stroke: the columns around the peak while the ink keeps falling off.
    # Its faint anti-aliased tails count: cutting them at a fixed share of the peak drops a
    # tail on one side only and moves the centroid by up to 0.1 px (0.25 samples at 500 Hz)
    lo, hi = (int(v[0]) for v in falloff_extent(prof[None, :], np.array([np.argmax(prof)])))
    wgt = prof[lo:hi + 1]
    return float(np.sum(wgt * cols[lo:hi + 1]) / np.sum(wgt))


def pulse_rise_foot(ink: np.ndarray, x_rise_px: float, plateau_px: float, threshold: float,
                    px_per_mm_x: float, px_per_mm_y: float, max_mm: float = 30.0
                    ) -> float | None:
    """Image row of a pulse's 0 mV: the lower end of its rising stroke.

    A pulse rises from the row's 0 mV; what follows its fall is a foot at 0 mV on some
    printers and the signal's first samples on others (ECG-Image-Kit), so the rising side is
    the reference that every pulse shape shares.  The stroke is followed down from the plateau
    in the columns around ``x_rise_px`` (the darkest of them per row) while it stays inked; its
    end, less half the stroke's width (the line cap), is the 0 mV row.

    Parameters
    ----------
    ink : numpy.ndarray
        ``(H, W)`` ink darkness of the (rectified) page.
    x_rise_px : float
        Column of the rising edge.
    plateau_px : float
        Row of the pulse top.
    threshold : float
        Ink level of strokes.
    px_per_mm_x, px_per_mm_y : float
        Scale.
    max_mm : float
        Longest stroke followed.

    Returns
    -------
    float or None
        The row, or None when no vertical stroke is found there.

    Examples
    --------
    >>> ink = np.zeros((200, 60), np.float32); ink[50:151, 29:32] = 1.0
    >>> round(pulse_rise_foot(ink, 30.0, 51.0, 0.5, 4.0, 4.0), 1)
    149.0
    """
    h, w = ink.shape
    half = max(1, int(round(0.25 * px_per_mm_x)))
    c0, c1 = int(round(x_rise_px)) - half, int(round(x_rise_px)) + half + 1
    r0 = int(round(plateau_px + 1.0 * px_per_mm_y))
    r1 = min(h, int(round(plateau_px + max_mm * px_per_mm_y)))
    if c0 < 0 or c1 > w or r0 < 0 or r1 - r0 < 3:
        return None
    col = ink[r0:r1, c0:c1].max(axis=1) > threshold
    if not col[0]:
        return None
    # the stroke ends at its first gap longer than a pixel
    gap = np.nonzero(~col[:-1] & ~col[1:])[0]
    end = int(gap[0]) if gap.size else col.size
    if end >= col.size:
        return None  # ran on into other ink: no clean end
    mid = r0 + end // 2
    width = float(np.sum(ink[mid, c0 - half:c1 + half] > threshold)) \
        if c0 - half >= 0 and c1 + half <= w else 0.0
    return float(r0 + end - 1) - 0.5 * max(0.0, width - 1.0)


#: Rhythm-strip naming: smoothing window (s), share of the largest residuals left out, and how
#: much smaller than the default lead's another lead's residual must be to name the strip.
MATCH_SMOOTH_S, MATCH_TRIM, MATCH_MARGIN = 0.01, 0.1, 1.5


def copy_residual_mv(a: np.ndarray, b: np.ndarray, smooth: int = 1, trim: float = MATCH_TRIM
                     ) -> float:
    """How far apart two read-outs of (supposedly) the same samples are, in mV.

    Both are smoothed by a moving average of ``smooth`` samples (the read-out noise of each
    sample would otherwise dominate), their difference loses its median (the rows' baselines
    are fixed independently), and the root mean square of what is left is taken over all but
    the ``trim`` share of largest residuals (a short misread stretch in either read-out does
    not hide an otherwise exact copy).

    Two read-outs of the same printed samples differ by read-out noise only, a few
    hundredths of a mV; two different leads differ by their own signals, even when their
    shapes are alike (II and aVF, V5 and V6).  A measure relative to the signal's energy (a
    correlation, a normalised residual) cannot tell a copy from a similar lead, and a plain
    first difference at the sampling rate measures mostly noise.

    Returns
    -------
    float
        Trimmed RMS residual in mV; ``inf`` with fewer than 20 samples finite in both.

    Examples
    --------
    >>> t = np.arange(1000) / 500
    >>> ii = np.sin(2 * np.pi * 1.2 * t) ** 15
    >>> noisy = ii + 0.01 * np.random.default_rng(0).standard_normal(t.size) + 0.3
    >>> round(copy_residual_mv(ii, noisy, smooth=5), 3), round(copy_residual_mv(ii, 0.5 * ii), 3)
    (0.003, 0.13)
    """
    if smooth > 1:
        box = np.ones(int(smooth)) / int(smooth)
        a, b = np.convolve(a, box, "valid"), np.convolve(b, box, "valid")  # NaN spreads
    d = a - b
    d = d[np.isfinite(d)]
    if d.size < 20:
        return float("inf")
    r = np.sort(np.abs(d - np.median(d)))
    r = r[:max(1, int(round((1.0 - trim) * r.size)))]
    return float(np.sqrt(np.mean(r * r)))


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
    # each row less its median (its 0-mV level may be off by a little): first differences
    # would weigh the read-out noise of blurred pages above the waves themselves
    r0, r1, r2 = (r[a:b] - np.nanmedian(r[a:b]) if np.isfinite(r[a:b]).any() else r[a:b]
                  for r in rows_mv[:3])
    e_6x2 = np.nanmean((r0 - r1 + r2) ** 2)
    e_3x4 = np.nanmean((r0 + r1 + r2) ** 2)
    if not np.isfinite(e_6x2) or not np.isfinite(e_3x4):
        return "3x4+3"
    return "6x2" if e_6x2 < e_3x4 else "3x4+3"


def identify_rhythm_leads(short_rows: list[np.ndarray], rhythm_rows: list[np.ndarray],
                          grid: tuple[tuple[str, ...], ...], default: tuple[str, ...],
                          fs_hz: float) -> tuple[str, ...]:
    """Name each rhythm strip by matching it to the short leads printed above it.

    In every column, the strip is compared with each short lead printed in that column by
    :func:`copy_residual_mv`: the lead printed twice leaves only read-out noise.

    Parameters
    ----------
    short_rows : list of numpy.ndarray
        Read-outs of the grid rows (time-aligned, same length as the strips, mV).
    rhythm_rows : list of numpy.ndarray
        Read-outs of the rhythm strips.
    grid : tuple of tuple of str
        Lead grid of the short rows.
    default : tuple of str
        The layout's usual rhythm leads; a strip keeps its default unless another lead is a
        clearly closer copy (``MATCH_MARGIN`` times smaller residual).
    fs_hz : float
        Sampling rate of the read-outs.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> t = np.arange(5000) / 500
    >>> ecg = {k: a * np.sin(2 * np.pi * 1.1 * t + p) ** 21 for k, a, p in
    ...        (("I", 0.5, 0.0), ("II", 1.0, 0.1), ("III", 0.6, 0.2))}
    >>> grid = (("I",), ("II",), ("III",))
    >>> identify_rhythm_leads([ecg["I"], ecg["II"], ecg["III"]], [ecg["III"] + 0.2], grid,
    ...                       ("II",), 500.0)
    ('III',)
    """
    out = []
    n_cols = len(grid[0])
    smooth = max(1, int(round(MATCH_SMOOTH_S * fs_hz)))
    for i, strip in enumerate(rhythm_rows):
        dflt = default[i] if i < len(default) else "II"
        fin = np.nonzero(np.isfinite(strip))[0]
        if fin.size < 20:
            out.append(dflt)
            continue
        lo, hi = fin[0], fin[-1] + 1
        n = hi - lo
        resid: dict[str, float] = {}
        for c in range(n_cols):
            a = lo + int(c * n / n_cols) + max(3, n // (10 * n_cols))
            b = lo + int((c + 1) * n / n_cols) - 3
            for r, row in enumerate(short_rows):
                resid[grid[r][c]] = copy_residual_mv(strip[a:b], row[a:b], smooth)
        best = min(resid, key=lambda k: resid[k]) if resid else dflt
        if not np.isfinite(resid.get(best, np.inf)) or \
                MATCH_MARGIN * resid[best] > resid.get(dflt, np.inf):
            best = dflt
        out.append(best)
    return tuple(out)
