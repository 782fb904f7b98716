"""Placing read-outs on the header's time axis (stage 6 of the digitizer).

A printed lead segment shows the window ``[t0_s, t1_s)`` of the record; pixel column ``x`` of
the row shows time ``(x - x0_px) / px_per_s``.  Each output sample ``i`` (time ``i / fs_hz``)
inside the window is read from the per-column centre line by linear interpolation (the
column rate at 200 DPI is ~197 columns/s, so 100, 250, 500 or 1000 Hz headers are all served
from the same read-out).  Samples outside every printed window are unknown: ``fill="nan"``
leaves them NaN (free under a masked reference, Challenge §4.3), ``fill="template"`` estimates
them from the beat times of a full-length rhythm strip and the lead's own median beat.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as ssignal
from scipy.ndimage import label as ndlabel
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

__all__ = ["FILL_METHODS", "place_segment", "flicker_mask", "excursion_mask", "fill_template", "detect_beats"]

FILL_METHODS = ("nan", "template")


def place_segment(x_px: np.ndarray, y_px: np.ndarray, x0_px: float, px_per_s: float,
                  baseline_px: float, px_per_mv: float, t0_s: float, t1_s: float,
                  fs_hz: float, num_samples: int, max_gap_px: float = 12.0) -> np.ndarray:
    """Resample one printed segment to the header's rate, NaN outside its window.

    Parameters
    ----------
    x_px, y_px : numpy.ndarray
        ``(n,)`` column positions and centre-line rows (NaN where missing) of the row.
    x0_px : float
        Column of time 0 of the row.
    px_per_s, px_per_mv : float
        Horizontal and vertical scale.
    baseline_px : float
        Row of 0 mV.
    t0_s, t1_s : float
        Printed window.
    fs_hz : float
        Output rate.
    num_samples : int
        Output length.
    max_gap_px : float
        Gaps of missing columns longer than this stay NaN.

    Returns
    -------
    numpy.ndarray
        ``(num_samples,)`` float64 in mV.

    Examples
    --------
    >>> x = np.arange(100.0); y = 50 - 0.1 * x
    >>> s = place_segment(x, y, 0.0, 10.0, 50.0, 10.0, 0.0, 5.0, 10.0, 100)
    >>> float(s[20]), bool(np.isnan(s[60]))
    (0.2, True)
    """
    out = np.full(int(num_samples), np.nan)
    i0 = max(0, int(np.ceil(t0_s * fs_hz - 1e-6)))
    i1 = min(int(num_samples), int(np.ceil(t1_s * fs_hz - 1e-6)))
    if i1 <= i0:
        return out
    ok = np.isfinite(y_px)
    if ok.sum() < 2:
        return out
    xs, ys = x_px[ok], y_px[ok]
    t = np.arange(i0, i1) / fs_hz
    xq = x0_px + t * px_per_s
    val = np.interp(xq, xs, ys, left=np.nan, right=np.nan)
    # gaps: distance to the nearest finite column on each side
    j = np.searchsorted(xs, xq)
    left = xs[np.clip(j - 1, 0, xs.size - 1)]
    right = xs[np.clip(j, 0, xs.size - 1)]
    gap = right - left
    val[gap > max_gap_px] = np.nan
    out[i0:i1] = (baseline_px - val) / px_per_mv
    return out


def _bridge_gaps(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``x`` with its NaN samples (``~ok``) linearly interpolated from the finite ones (held
    flat beyond the first and last); ``ok`` must hold at least one True."""
    idx = np.nonzero(ok)[0]
    return np.interp(np.arange(x.size), idx, x[idx])


def flicker_mask(x_mv: np.ndarray, fs_hz: float, max_excess_mv: float,
                 window_s: float = 0.1, median_s: float = 0.02) -> np.ndarray:
    """Samples where a read-out flickers between two strokes instead of following one.

    When the tracker alternates between the trace and other ink (a crease, a wrinkle's
    shadow, the next row's trace), the read-out swings by millivolts every few samples.  An
    ECG does not: a median filter over ``median_s`` (shorter than a QRS complex) followed by a
    mean over as many samples keeps its waves and removes such swings.  The path length the filter removes, summed over
    ``window_s``, is a few tenths of a millivolt on a faithful read-out (up to ~2 mV at a
    tall, narrow R peak) and tens of millivolts where the read-out flickers.

    Parameters
    ----------
    x_mv : numpy.ndarray
        ``(n,)`` read-out of one panel, NaN where untracked.
    fs_hz : float
        Its sampling rate; rates below 250 Hz are checked as they are (coarser).
    max_excess_mv : float
        Path length removed by the median filter per window above which the window is
        flagged.
    window_s, median_s : float
        Window and median-filter lengths.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` bool, True for the flagged samples (each flagged window dilated by half a
        window on each side).

    Examples
    --------
    >>> fs = 500.0; t = np.arange(1000) / fs; x = 0.2 * np.sin(2 * np.pi * t)
    >>> x[400:500:2] += 1.5                  # 0.2 s of swinging between two strokes
    >>> m = flicker_mask(x, fs, 6.0)
    >>> bool(m[:300].any()), bool(m[420:480].all())
    (False, True)
    """
    x = np.asarray(x_mv, float)
    n = x.size
    ok = np.isfinite(x)
    out = np.zeros(n, bool)
    k = int(median_s * fs_hz) | 1
    w = max(2, int(round(window_s * fs_hz)))
    if ok.sum() < max(w, 3) or k < 3:
        return out
    xi = _bridge_gaps(x, ok)
    # a median keeps waves and drops short swings; the mean after it drops strict alternation
    # (a median window of it is half one stroke, half the other)
    med = uniform_filter1d(ssignal.medfilt(xi, k), k)
    removed = np.abs(np.diff(xi)) - np.abs(np.diff(med))
    per_window = uniform_filter1d(np.r_[removed, 0.0], w) * w
    flagged = (per_window > max_excess_mv) & ok
    if flagged.any():
        out = np.convolve(flagged.astype(float), np.ones(w + 1), mode="same") > 0
    return out


def swing_mask(x_mv: np.ndarray, fs_hz: float, max_ratio: float, min_path_mv: float,
               window_s: float = 0.1, pad_s: float = 0.02) -> np.ndarray:
    """Samples where a read-out hops back and forth instead of following one wave.

    :func:`flicker_mask` flags millivolts of swinging; a read-out that hops between the
    trace and speckle, grid residue or a shadow's texture swings by tenths of a millivolt,
    which stays below it.  Within ``window_s`` (0.1 s) an ECG rises and falls a few times at
    most: its path length is one to three times the range it spans (a small polyphasic QRS
    complex reaches about three), while a read-out hopping over a flat stretch travels its
    small range many times.  A window whose path exceeds ``max_ratio`` times its range and
    ``min_path_mv`` (a faithful baseline's pixel steps stay far below) starts a flagged
    stretch; the stretch grows over the neighbouring windows that pass half of both bounds
    (hysteresis: the hopping read-out's weaker stretches around it go too).

    Parameters
    ----------
    x_mv : numpy.ndarray
        ``(n,)`` read-out of one panel, NaN where untracked.
    fs_hz : float
        Its sampling rate.
    max_ratio : float
        Path length per window, as a multiple of the window's range, above which a window
        starts a stretch.
    min_path_mv : float
        Smallest path length per window that can start a stretch.
    window_s, pad_s : float
        Window length, and the margin added to each side of a flagged stretch.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` bool, True for the flagged samples.

    Examples
    --------
    >>> fs = 500.0; t = np.arange(1250) / fs
    >>> x = np.where(np.abs(t - 0.5) < 0.04, 1.2 * np.sin(np.pi * (t - 0.46) / 0.08), 0.0)
    >>> x[800:900] += 0.15 * np.sign(np.sin(2 * np.pi * t[800:900] / 0.016))  # hopping
    >>> m = swing_mask(x, fs, 4.0, 1.0)
    >>> bool(m[:700].any()), bool(m[800:900].all())
    (False, True)
    """
    x = np.asarray(x_mv, float)
    n = x.size
    ok = np.isfinite(x)
    w = max(3, int(round(window_s * fs_hz)))
    if ok.sum() < w:
        return np.zeros(n, bool)
    xi = _bridge_gaps(x, ok)
    path = uniform_filter1d(np.abs(np.diff(xi, prepend=xi[0])), w) * w
    span = maximum_filter1d(xi, w) - minimum_filter1d(xi, w)
    strong = (path > min_path_mv) & (path > max_ratio * span)
    if not strong.any():
        return np.zeros(n, bool)
    weak = strong | ((path > 0.5 * min_path_mv) & (path > 0.5 * max_ratio * span))
    lab, _ = ndlabel(weak)
    hit = np.unique(lab[strong])
    flagged = np.isin(lab, hit[hit > 0])
    pad = max(0, int(round(pad_s * fs_hz)))
    return (np.convolve(flagged.astype(float), np.ones(2 * pad + 1), mode="same") > 0) & ok


def island_mask(x_mv: np.ndarray, fs_hz: float, min_offset_mv: float,
                min_piece_s: float = 0.03, max_piece_s: float = 0.3,
                max_step_mv: float | None = None, reach_s: float = 0.5) -> np.ndarray:
    """Short flat pieces of a read-out that sit far from the pieces around them.

    Where the tracker loses the trace, the read-out breaks into pieces (NaN gaps between
    them, or steps of more than ``max_step_mv`` from one sample to the next, where the path
    ran down a crease or a grid line's residue).  A piece that followed other ink (the next
    row, a label, a page edge) lies at its own level: it is flagged when it is between
    ``min_piece_s`` and ``max_piece_s`` long, its level (median) differs from the level of
    every neighbouring piece within ``reach_s`` (the median of that piece's nearest 50 ms; with
    no neighbour that near, the median of the rest of the read-out when it spans ``reach_s``)
    by more than ``min_offset_mv``, and it is flat (its 10-90 % spread is under half that
    difference).  A QRS complex whose thin strokes broke leaves a piece that is shorter or
    not flat, and is kept.

    Parameters
    ----------
    x_mv : numpy.ndarray
        ``(n,)`` read-out of one panel, NaN where untracked.
    fs_hz : float
        Its sampling rate.
    min_offset_mv : float
        Smallest level difference to every neighbour.
    min_piece_s, max_piece_s : float
        Pieces outside these lengths are kept.
    max_step_mv : float or None
        A step between two samples larger than this also splits pieces; None = ``min_offset_mv``.
    reach_s : float
        Neighbouring pieces farther than this are not compared.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` bool, True for the samples of flagged pieces.

    Examples
    --------
    >>> x = np.zeros(1250); x[600:700] = -2.0      # 0.2 s on a crease 2 mV below
    >>> x[560:600] = np.nan                          # ... reached over a gap
    >>> m = island_mask(x, 500.0, 0.5)
    >>> bool(m[600:700].all()), bool(m[:560].any() or m[700:].any())
    (True, False)
    >>> y = np.zeros(1250); y[700:1150] = np.nan; y[1150:] = 1.5   # alone after 0.9 s of gap
    >>> m = island_mask(y, 500.0, 0.5)
    >>> bool(m[1150:].all()), bool(m[:700].any())
    (True, False)
    """
    x = np.asarray(x_mv, float)
    n = x.size
    out = np.zeros(n, bool)
    ok = np.isfinite(x)
    if ok.sum() < 3:
        return out
    step = min_offset_mv if max_step_mv is None else max_step_mv
    start = ok & ~np.r_[False, ok[:-1]]
    start[1:] |= ok[1:] & ok[:-1] & (np.abs(np.diff(np.where(ok, x, 0.0))) > step)
    # a piece ends (exclusive) before a NaN or before the next piece's start
    stop = ok & (~np.r_[ok[1:], False] | np.r_[start[1:], False])
    starts, ends = np.nonzero(start)[0], np.nonzero(stop)[0] + 1
    k = max(1, int(round(0.05 * fs_hz)))
    lo, hi, reach = min_piece_s * fs_hz, max_piece_s * fs_hz, reach_s * fs_hz
    for i, (s, e) in enumerate(zip(starts, ends)):
        if not lo <= e - s <= hi:
            continue
        piece = x[s:e]
        level = float(np.median(piece))
        offs = []
        if i > 0 and s - ends[i - 1] <= reach:
            offs.append(abs(level - float(np.median(x[max(starts[i - 1], ends[i - 1] - k):ends[i - 1]]))))
        if i + 1 < len(starts) and starts[i + 1] - e <= reach:
            offs.append(abs(level - float(np.median(x[starts[i + 1]:min(ends[i + 1], starts[i + 1] + k)]))))
        if not offs:
            # no neighbour within reach (a piece alone at a panel's end after a long gap):
            # the level of the rest of the read-out stands in for the neighbours'
            rest = np.r_[x[:s][ok[:s]], x[e:][ok[e:]]]
            if rest.size < reach:
                continue
            offs.append(abs(level - float(np.median(rest))))
        spread = float(np.percentile(piece, 90) - np.percentile(piece, 10))
        if min(offs) > min_offset_mv and spread < 0.5 * min(offs):
            out[s:e] = True
    return out


def excursion_mask(x_mv: np.ndarray, cuts: np.ndarray, fs_hz: float, min_step_mv: float,
                   min_piece_s: float = 0.12, max_share: float = 0.5) -> np.ndarray:
    """Stretches the tracker followed on other ink, between jumps of the tracked path.

    A trace is one connected stroke; where the tracked path jumps over a gap (``cuts``), it
    may have left the trace for a crease, a shadow's edge or the next row's trace.  A piece
    between two jumps that steps away by more than ``min_step_mv`` and back by about as much
    in the other direction, or a piece at the panel's edge that steps away and ends there,
    while its level lies that far from the rest of the panel, is not the trace.  Pieces
    shorter than ``min_piece_s`` (a QRS complex whose thin strokes broke) or longer than
    ``max_share`` of the panel are kept.

    Parameters
    ----------
    x_mv : numpy.ndarray
        ``(n,)`` read-out of one panel, NaN where untracked.
    cuts : numpy.ndarray
        Sample indices (into ``x_mv``) where the tracked path jumped.
    fs_hz : float
        Sampling rate.
    min_step_mv : float
        Smallest step at a jump, and distance from the panel's level, that marks a piece.
    min_piece_s, max_share : float
        Pieces outside these lengths are kept.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` bool, True for the samples of rejected pieces.

    Examples
    --------
    >>> x = np.zeros(1000); x[400:600] = 1.0          # off the trace for 0.4 s at 500 Hz
    >>> m = excursion_mask(x, np.array([400, 600]), 500.0, 0.3)
    >>> bool(m[400:600].all()), bool(m[:400].any() or m[600:].any())
    (True, False)
    """
    x = np.asarray(x_mv, float)
    n = x.size
    out = np.zeros(n, bool)
    cuts = np.unique(np.asarray(cuts, int))
    cuts = cuts[(cuts > 0) & (cuts < n)]
    if cuts.size == 0 or not np.isfinite(x).any():
        return out
    # the read-out bridges a jump's gap by interpolation: levels are compared clear of it
    g, k = max(1, int(round(0.02 * fs_hz))), max(2, int(round(0.03 * fs_hz)))
    cuts = cuts[np.r_[True, np.diff(cuts) > g]]

    def step(c: int) -> float:
        before, after = x[max(0, c - g - k):max(0, c - g)], x[c + g:c + g + k]
        if not (np.isfinite(before).any() and np.isfinite(after).any()):
            return 0.0
        return float(np.nanmedian(after) - np.nanmedian(before))

    bounds = np.r_[0, cuts, n]
    steps = [step(int(c)) for c in cuts]
    for i in range(bounds.size - 1):
        a, z = int(bounds[i]), int(bounds[i + 1])
        if z - a < min_piece_s * fs_hz or z - a > max_share * n:
            continue
        piece = x[a:z]
        rest = np.r_[x[:a], x[z:]]
        if not (np.isfinite(piece).any() and np.isfinite(rest).any()):
            continue
        away = float(np.nanmedian(piece) - np.nanmedian(rest))
        if abs(away) <= min_step_mv:
            continue
        s_in = steps[i - 1] if i > 0 else None        # step into the piece
        s_out = steps[i] if i < len(steps) else None  # step out of it
        big_in = s_in is not None and abs(s_in) > min_step_mv and np.sign(s_in) == np.sign(away)
        big_out = s_out is not None and abs(s_out) > min_step_mv and np.sign(s_out) == -np.sign(away)
        if (s_in is None or big_in) and (s_out is None or big_out) and (big_in or big_out):
            if s_in is not None and s_out is not None and \
                    not 0.5 < abs(s_out) / max(abs(s_in), 1e-9) < 2.0:
                continue
            out[a:z] = True
    return out


def hold_panel_edges(seg: np.ndarray, i0: int, i1: int, n_hold: int,
                     n_hold_end: int | None = None) -> np.ndarray:
    """Replace the first and last ``n_hold`` samples of a panel by their inner neighbour.

    Where one lead's panel ends and the next begins, the trace meets the separator mark
    that pages print there (a short vertical bar across the baseline; ``ecg_image_kit``
    draws one at the start of every panel after the first of a row) or simply ends, so the
    read-out's first and last few samples of a panel sit on the bar or on the stroke's end
    (on PTB-XL pages: mean error 0.15 and 0.09 mV at the first two samples at 500 Hz, 0.09
    mV at the last, against 0.01 mV inside).  Holding the value
    of the first sample inside the panel errs by the signal's change over ``n_hold``
    samples only.  Only a finite run that starts at ``i0`` (ends at ``i1 - 1``) is changed;
    untracked samples stay NaN.

    Parameters
    ----------
    seg : numpy.ndarray
        ``(num_samples,)`` read-out of one panel, NaN outside it (changed in place).
    i0, i1 : int
        The panel's first and one-past-last sample.
    n_hold : int
        Samples held at each end (at the start only when ``n_hold_end`` is given).
    n_hold_end : int or None
        Samples held at the end; ``n_hold`` when None.

    Returns
    -------
    numpy.ndarray
        ``seg``.

    Examples
    --------
    >>> s = np.array([np.nan, 0.9, 0.1, 0.2, 0.3, 0.4, -0.8, np.nan])
    >>> hold_panel_edges(s, 1, 7, 1).tolist()[1:7]
    [0.1, 0.1, 0.2, 0.3, 0.4, 0.4]
    """
    n_end = n_hold if n_hold_end is None else n_hold_end
    if i1 - i0 <= n_hold + n_end + 1:
        return seg
    if n_hold > 0 and np.isfinite(seg[i0:i0 + n_hold + 1]).all():
        seg[i0:i0 + n_hold] = seg[i0 + n_hold]
    if n_end > 0 and np.isfinite(seg[i1 - n_end - 1:i1]).all():
        seg[i1 - n_end:i1] = seg[i1 - n_end - 1]
    return seg


def detect_beats(x_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """R-peak-like beat times (sample indices) of one lead; NaN samples are ignored.

    Parameters
    ----------
    x_mv : numpy.ndarray
        ``(n,)`` signal.
    fs_hz : float
        Sampling rate.

    Returns
    -------
    numpy.ndarray
        Sample indices of beats.

    Examples
    --------
    >>> fs = 100.0; x = np.zeros(1000); x[50::80] = 1.0
    >>> detect_beats(x, fs)[:3].tolist()
    [50, 130, 210]
    """
    x = np.asarray(x_mv, float)
    ok = np.isfinite(x)
    if ok.sum() < fs_hz:
        return np.zeros(0, int)
    xi = _bridge_gaps(x, ok)
    d = np.abs(np.gradient(xi))
    k = max(1, int(0.05 * fs_hz))
    e = np.convolve(d, np.ones(k) / k, mode="same")
    peaks, _ = ssignal.find_peaks(e, height=0.35 * np.percentile(e, 99),
                                  distance=max(1, int(0.3 * fs_hz)))
    # snap to the largest absolute deviation from the median nearby
    med = np.median(xi)
    out = []
    for p in peaks:
        a, b = max(0, p - k * 2), min(x.size, p + k * 2 + 1)
        out.append(a + int(np.argmax(np.abs(xi[a:b] - med))))
    return np.asarray(sorted(set(out)), int)


def fill_template(signal_mv: np.ndarray, fs_hz: float, beats: np.ndarray) -> np.ndarray:
    """Estimate the unprinted samples of each lead from beat times and the lead's own beats.

    Parameters
    ----------
    signal_mv : numpy.ndarray
        ``(n, leads)`` with NaN where not printed.
    fs_hz : float
        Sampling rate.
    beats : numpy.ndarray
        Beat sample indices over the whole record (e.g. from a rhythm strip).

    Returns
    -------
    numpy.ndarray
        Copy with NaN samples replaced where an estimate exists (the lead's median level
        between beats, its median beat around each beat).
    """
    out = np.array(signal_mv, float, copy=True)
    n = out.shape[0]
    pre, post = int(0.25 * fs_hz), int(0.45 * fs_hz)
    for j in range(out.shape[1]):
        x = out[:, j]
        known = np.isfinite(x)
        if known.sum() < 0.5 * fs_hz or known.all():
            continue
        segs = [x[b - pre:b + post] for b in beats
                if b - pre >= 0 and b + post <= n and known[b - pre:b + post].all()]
        level = float(np.median(x[known]))
        est = np.full(n, level)
        if segs:
            tpl = np.median(np.stack(segs), axis=0)
            tpl = tpl - np.median(np.r_[tpl[:pre // 3], tpl[-pre // 3:]]) + level
            for b in beats:
                a, z = b - pre, b + post
                ta, tz = max(0, -a), (post + pre) - max(0, z - n)
                est[max(0, a):min(n, z)] = tpl[ta:tz]
        out[~known, j] = est[~known]
    return out
