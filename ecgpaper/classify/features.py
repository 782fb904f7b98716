"""Clinical features of a 12-lead record for classification.

All features come from :mod:`ecgpaper.delineate` (beats, median beat,
fiducials) and are NaN where a lead or a wave is missing, so the same code
serves full records, 3x4-masked pages and digitized signals with NaN leads.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from scipy.signal import resample_poly

from ecgcore.constants import LEADS_12, canonical_lead_name
from ecgpaper.delineate import delineate, fill_nan_hold

#: Sampling rate the features are computed at.
WORK_FS_HZ: float = 250.0

_GLOBAL = (
    "hr_bpm", "rr_ms", "rr_cv", "rmssd_rel", "rr_min_rel", "rr_max_rel", "frac_premature",
    "frac_short_long", "n_beats", "qrs_ms", "qt_ms", "qtc_ms", "pr_ms", "p_amp_mv",
    "t_amp_mv", "p_corr", "qrs_corr_min", "frac_odd_beats", "odd_amp_rel", "odd_premature",
    "axis_deg", "sokolow_mv", "cornell_mv", "qrs_amp_sum_mv", "st_dev_max_mv", "st_dev_min_mv",
    "t_neg_count", "n_leads", "hf_resid_rel", "drr_frac", "p_strip_mv", "rr_cv_np", "p_corr_np",
    "frac_premature_abrupt", "vent_premature",
)
_STRIP_PREFERENCE = ("II", "V1", "I", "V5", "III", "aVF", "V2", "V6", "V4", "V3", "aVR", "aVL")
#: An RR interval shorter than this fraction of the median ends a premature beat.
PREMATURE_REL = 0.85
#: Bigeminal when the premature intervals and the pauses each vary less than this
#: (:func:`bigeminy_cv`), the AF rule's bound on ``rr_cv_np``.
BIGEMINY_CV_MAX = 0.10
#: Premature intervals followed by a pause that :func:`bigeminy_cv` needs (with 3, up to 2 %
#: of random AF-like RR series looked bigeminal; with 4, under 1 %).
BIGEMINY_MIN_PAIRS = 4
_PER_LEAD = ("r_mv", "s_mv", "q_mv", "qrs_area_mvms", "st_mv", "t_mv", "p_mv", "term_mv",
             "r_time_ms", "q_ms")

#: Names of the feature vector, in order.
FEATURE_NAMES: tuple[str, ...] = _GLOBAL + tuple(
    f"{f}_{lead}" for lead in LEADS_12 for f in _PER_LEAD
)


def to_standard_leads(signal_mv: np.ndarray, lead_names: Sequence[str] | None) -> np.ndarray:
    """Reorder a signal to :data:`LEADS_12` (NaN columns for absent leads).

    Parameters
    ----------
    signal_mv : ndarray, shape (n, leads)
    lead_names : sequence of str or None
        Names of the columns (any case); ``None`` means the 12 standard leads in order.

    Returns
    -------
    ndarray, shape (n, 12)

    Examples
    --------
    >>> x = np.ones((3, 2))
    >>> to_standard_leads(x, ["v1", "II"])[0]
    array([nan,  1., nan, nan, nan, nan,  1., nan, nan, nan, nan, nan])
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if lead_names is None:
        if x.shape[1] != 12:
            raise ValueError(f"lead_names needed for a signal with {x.shape[1]} leads")
        lead_names = LEADS_12
    out = np.full((x.shape[0], 12), np.nan)
    for j, name in enumerate(lead_names):
        lead = canonical_lead_name(str(name))
        if lead in LEADS_12 and j < x.shape[1]:
            out[:, LEADS_12.index(lead)] = x[:, j]
    return out


def resample_nan(signal_mv: np.ndarray, fs_hz: float, target_hz: float = WORK_FS_HZ) -> np.ndarray:
    """Resample ``(n, leads)`` to ``target_hz``, keeping NaN gaps as NaN."""
    if abs(fs_hz - target_hz) < 1e-6:
        return np.asarray(signal_mv, dtype=np.float64)
    from fractions import Fraction

    frac = Fraction(target_hz / fs_hz).limit_denominator(1000)
    finite = np.isfinite(signal_mv)
    y = resample_poly(fill_nan_hold(signal_mv), frac.numerator, frac.denominator, axis=0)
    n_out = y.shape[0]
    src = np.minimum((np.arange(n_out) * fs_hz / target_hz).round().astype(int), len(signal_mv) - 1)
    y[~finite[src]] = np.nan
    return y


def rr_cv_without_premature(rr_ms: np.ndarray) -> float:
    """Coefficient of variation of RR intervals not touched by a premature beat.

    A premature beat (an interval shorter than :data:`PREMATURE_REL` times the median)
    and the pause after it are left out, so that isolated PACs/PVCs in an otherwise
    regular rhythm do not count as irregularity, while atrial fibrillation, irregular
    between any two beats, stays irregular.  Bigeminy, where every interval touches a
    premature beat, is regularly irregular: its value is then :func:`bigeminy_cv` when
    that is lower.

    Parameters
    ----------
    rr_ms : ndarray, shape (n,)
        Successive RR intervals (any unit).

    Returns
    -------
    float
        Standard deviation over mean of the kept intervals; NaN when fewer than 3 are kept
        and the rhythm is not bigeminal.

    Examples
    --------
    >>> rr = np.array([600, 610, 400, 800, 600, 605, 595, 600.0])  # one PAC + pause
    >>> round(rr_cv_without_premature(rr), 3)
    0.008
    >>> bigeminy = np.array([500, 1000, 505, 995, 500, 1000, 495, 1005.0])
    >>> round(rr_cv_without_premature(bigeminy), 3)
    0.007
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.size < 3:
        return float("nan")
    premature = rr < PREMATURE_REL * np.median(rr)
    drop = premature | np.r_[False, premature[:-1]]
    kept = rr[~drop]
    cv = float(np.std(kept) / np.mean(kept)) if kept.size >= 3 else float("nan")
    alt = bigeminy_cv(rr)
    return alt if alt < cv or np.isnan(cv) else cv


def bigeminy_cv(rr_ms: np.ndarray) -> float:
    """Larger coefficient of variation of the coupling intervals and of the pauses of a
    bigeminal rhythm; NaN when the rhythm is not bigeminal.

    In bigeminy the median RR falls on either the short or the long intervals, so the
    premature beats are judged against the upper quartile of the intervals.
    Bigeminal: every interval but at most one touches a premature beat, and at least
    :data:`BIGEMINY_MIN_PAIRS` premature intervals are followed by a pause (a
    non-premature interval).  Bigeminy repeats its coupling interval and its pause, AF
    does not.

    Parameters
    ----------
    rr_ms : ndarray, shape (n,)
        Successive RR intervals (any unit).

    Returns
    -------
    float

    Examples
    --------
    >>> round(bigeminy_cv(np.array([500, 1000, 505, 995, 500, 1000, 495, 1010])), 3)
    0.007
    >>> bigeminy_cv(np.array([600, 610, 400, 800, 600, 605, 595, 600.0]))
    nan
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.size < 2 * BIGEMINY_MIN_PAIRS:
        return float("nan")
    premature = rr < PREMATURE_REL * np.percentile(rr, 75)
    touched = premature | np.r_[False, premature[:-1]]
    first = np.flatnonzero(premature[:-1] & ~premature[1:])
    if (~touched).sum() > 1 or first.size < BIGEMINY_MIN_PAIRS:
        return float("nan")
    coupling, pause = rr[first], rr[first + 1]
    return float(max(np.std(coupling) / coupling.mean(), np.std(pause) / pause.mean()))


def _beats_matrix(x: np.ndarray, peaks: np.ndarray, pre: int, post: int) -> np.ndarray:
    padded = np.full((x.shape[0] + pre + post,) + x.shape[1:], np.nan)
    padded[pre:pre + x.shape[0]] = x
    idx = peaks[:, None] + np.arange(pre + post)[None, :]
    return padded[idx]


def _corr_rows(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with ``ref`` (NaN rows → NaN)."""
    a = a - a.mean(axis=1, keepdims=True)
    r = ref - ref.mean()
    den = np.sqrt((a * a).sum(axis=1) * (r * r).sum()) + 1e-12
    return (a * r).sum(axis=1) / den


def _median_row_corr(rows: np.ndarray) -> float:
    """Median correlation of the finite rows of ``rows`` with their median row (NaN under 3)."""
    rows = rows[np.isfinite(rows).all(axis=1)]
    if rows.shape[0] < 3:
        return float("nan")
    return float(np.median(_corr_rows(rows, np.median(rows, axis=0))))


def _multilead_qrs_corr(qrs: np.ndarray) -> np.ndarray:
    """Correlation of each beat's QRS with the median QRS, over the leads it has.

    An ectopic ventricular beat differs from the conducted ones in most leads, though in a
    single lead it can look much alike; so the beat is compared on every lead where its QRS
    is finite (each lead centred, the leads concatenated).

    Parameters
    ----------
    qrs : ndarray, shape (beats, samples, leads)
        QRS windows, NaN where a lead is absent.

    Returns
    -------
    ndarray, shape (beats,)
        NaN for a beat with no finite lead.

    Examples
    --------
    >>> w = np.sin(np.linspace(0, np.pi, 10))
    >>> q = np.stack([np.stack([w, -w], 1)] * 3 + [np.stack([w, w], 1)])
    >>> np.round(_multilead_qrs_corr(q), 2).tolist()
    [1.0, 1.0, 1.0, 0.0]
    """
    fin = np.isfinite(qrs).all(axis=1)  # (beats, leads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmedian(np.where(fin[:, None, :], qrs, np.nan), axis=0)  # (samples, leads)
        centred = qrs - np.nanmean(qrs, axis=1, keepdims=True)
    use = fin & np.isfinite(ref).all(axis=0)[None, :]
    a = np.where(use[:, None, :], centred, 0.0)
    r = np.where(use[:, None, :], (ref - ref.mean(axis=0))[None], 0.0)
    a, r = np.nan_to_num(a), np.nan_to_num(r)
    num = (a * r).sum(axis=(1, 2))
    den = np.sqrt((a * a).sum(axis=(1, 2)) * (r * r).sum(axis=(1, 2)))
    out = num / (den + 1e-12)
    return np.where(use.any(axis=1), out, np.nan)


def _initial_q_samples(qrs: np.ndarray, min_mv: float = 0.05) -> float:
    """Samples of the QRS's initial negative deflection (0 without one; NaN if not finite).

    A Q wave starts the QRS going down (below ``-min_mv`` from the onset before rising above
    ``+min_mv``) and lasts until the signal is back at the onset level; in a QS complex it
    lasts the whole QRS.

    Examples
    --------
    >>> _initial_q_samples(np.array([0, -0.1, -0.3, -0.1, 0.2, 1.0, 0.2, 0.0]))
    4.0
    >>> _initial_q_samples(np.array([0, 0.2, 1.0, 0.2, -0.3, 0.0]))
    0.0
    """
    if not np.isfinite(qrs).all() or qrs.size < 2:
        return float("nan")
    d = qrs - qrs[0]
    down = np.flatnonzero(d < -min_mv)
    up = np.flatnonzero(d > min_mv)
    if down.size == 0 or (up.size and up[0] < down[0]):
        return 0.0
    back = np.flatnonzero(d[down[0]:] >= 0)
    return float(down[0] + back[0]) if back.size else float(qrs.size)


def align_peaks(strip: np.ndarray, peaks: np.ndarray, pre: int, qrs_on: int, qrs_off: int,
                fs: float, max_lag_s: float = 0.06, min_corr: float = 0.7) -> np.ndarray:
    """Re-time beats on one lead, on the fiducial point of the lead's median QRS.

    Beat times found on all leads together move when the set of leads changes, as it does
    every 2.5 s on a 3x4 page (tens of ms in PTB-XL records); RR intervals and beat-to-beat
    comparisons on one lead need every beat on the same point.  Each beat is shifted by
    the lag, within ``max_lag_s``, at which its QRS correlates best with the median QRS
    (two passes, the second against the median of the aligned beats).  A beat whose best
    correlation is under ``min_corr`` (an ectopic beat of another shape) or whose QRS is
    not finite on the lead keeps its time.

    Parameters
    ----------
    strip : ndarray, shape (n,)
        The lead (NaN where absent).
    peaks : ndarray of int
        Beat times (samples).
    pre, qrs_on, qrs_off : int
        Median-beat geometry of :func:`ecgpaper.delineate.delineate`: the beat time is
        sample ``pre`` of the median beat, whose QRS spans ``qrs_on..qrs_off``.
    fs : float
        Sampling frequency (Hz).
    max_lag_s, min_corr : float
        Largest shift (s); smallest correlation at which a beat is moved.

    Returns
    -------
    ndarray of int
        The beat times, shifted.

    Examples
    --------
    >>> t = np.arange(2500) / 250.0
    >>> beats = np.arange(0.5, 9.6, 0.8)
    >>> x = sum(np.exp(-0.5 * ((t - b) / 0.012) ** 2) for b in beats)
    >>> found = np.round(beats * 250).astype(int) + np.array([0, 6, -5, 0, 9, 0, -3, 0, 4, 0, 0, 2])
    >>> fixed = align_peaks(x, found, pre=50, qrs_on=40, qrs_off=60, fs=250.0)
    >>> int(np.abs(fixed - np.round(beats * 250)).max())
    0
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if peaks.size < 3 or qrs_off <= qrs_on:
        return peaks
    lag_max = max(1, int(round(max_lag_s * fs)))
    start, width = qrs_on - pre - lag_max, qrs_off - qrs_on + 1
    pad = abs(start) + width + 2 * lag_max + 1
    padded = np.full(strip.shape[0] + 2 * pad, np.nan)
    padded[pad:pad + strip.shape[0]] = strip
    win = padded[peaks[:, None] + pad + start + np.arange(width + 2 * lag_max)[None, :]]
    lags = np.zeros(peaks.size, dtype=np.int64)
    for _ in range(2):
        core = win[np.arange(peaks.size)[:, None], lag_max + lags[:, None] + np.arange(width)]
        ok = np.isfinite(core).all(axis=1)
        if ok.sum() < 3:
            return peaks
        ref = np.median(core[ok], axis=0)
        corr = np.stack([_corr_rows(win[:, lag_max + j:lag_max + j + width], ref)
                         for j in range(-lag_max, lag_max + 1)], axis=1)
        corr = np.where(np.isfinite(corr), corr, -np.inf)
        best = corr.argmax(axis=1)
        good = corr[np.arange(peaks.size), best] >= min_corr
        lags = np.where(good, best - lag_max, 0)
    return np.clip(peaks + lags, 0, strip.shape[0] - 1)


def extract_features(signal_mv: np.ndarray, fs_hz: float,
                     lead_names: Sequence[str] | None = None) -> np.ndarray:
    """Feature vector of one record.

    Parameters
    ----------
    signal_mv : ndarray, shape (n, leads)
        Signal in mV; NaN allowed (missing leads, 3x4 page windows).
    fs_hz : float
        Sampling frequency; the signal is resampled to :data:`WORK_FS_HZ`.
    lead_names : sequence of str, optional
        Column names (default: the 12 standard leads in order).

    Returns
    -------
    ndarray, shape (len(FEATURE_NAMES),)
        NaN where a feature cannot be measured.

    Examples
    --------
    >>> fs = 500.0
    >>> t = np.arange(5000) / fs
    >>> beat = sum(np.exp(-0.5 * ((t - b) / 0.01) ** 2) for b in np.arange(0.3, 10, 0.5))
    >>> f = extract_features(np.tile(beat[:, None], (1, 12)), fs)
    >>> f.shape == (len(FEATURE_NAMES),), round(float(f[FEATURE_NAMES.index("hr_bpm")]))
    (True, 120)
    """
    feats = np.full(len(FEATURE_NAMES), np.nan)
    x = to_standard_leads(signal_mv, lead_names)
    x = resample_nan(x, fs_hz, WORK_FS_HZ)
    fs = WORK_FS_HZ
    fi = {n: i for i, n in enumerate(FEATURE_NAMES)}
    finite_leads = np.isfinite(x).any(axis=0)
    feats[fi["n_leads"]] = finite_leads.sum()
    if not finite_leads.any() or x.shape[0] < fs:
        return feats
    d = delineate(x, fs)
    # Beat-by-beat measures on the lead with the most finite samples (the rhythm strip).
    # Ties (e.g. a full 12-lead record) go to lead II, the usual rhythm strip, so that
    # full and 3x4-page inputs measure the same lead.
    n_fin = np.isfinite(x).sum(axis=0)
    order = [LEADS_12.index(lead) for lead in _STRIP_PREFERENCE]
    best = max(order, key=lambda j: (n_fin[j], -order.index(j)))
    xf = d.filtered_mv  # all leads band-passed 0.5-40 Hz, NaN kept (None without beats)
    peaks = d.r_peaks
    if d.median_beat_mv is not None and d.qrs_on is not None:
        peaks = align_peaks(xf[:, best], peaks, d.pre, d.qrs_on, d.qrs_off, fs)
    feats[fi["n_beats"]] = peaks.size
    ms = 1000.0 / fs
    base_rr = np.nan  # the basic cycle that premature beats are judged against
    if peaks.size >= 3:
        rr = np.diff(peaks) * ms
        med = np.median(rr)
        # In bigeminy the median is either the short or the long interval: the rate then
        # counts every beat, and beats are premature against the upper quartile.
        bigeminal = bigeminy_cv(rr) < BIGEMINY_CV_MAX
        base_rr = np.percentile(rr, 75) if bigeminal else med
        feats[fi["rr_ms"]] = rr.mean() if bigeminal else med
        feats[fi["hr_bpm"]] = 60000.0 / feats[fi["rr_ms"]]
        feats[fi["rr_cv"]] = np.std(rr) / np.mean(rr)
        feats[fi["rmssd_rel"]] = np.sqrt(np.mean(np.diff(rr) ** 2)) / med if rr.size > 1 else 0.0
        feats[fi["rr_min_rel"]] = rr.min() / med
        feats[fi["rr_max_rel"]] = rr.max() / med
        short = rr < PREMATURE_REL * base_rr
        feats[fi["frac_premature"]] = short.mean()
        # ... and also abruptly shorter than the interval before it (an ectopic beat; sinus
        # arrhythmia shortens the RR over several beats)
        abrupt = short & np.r_[False, rr[1:] < PREMATURE_REL * rr[:-1]]
        feats[fi["frac_premature_abrupt"]] = abrupt.mean()
        if rr.size > 1:
            feats[fi["drr_frac"]] = np.mean(np.abs(np.diff(rr)) > 0.1 * med)
        if rr.size > 1:
            # a premature beat followed by a pause longer than the mean cycle in bigeminy,
            # whichever interval the median falls on
            sl = short[:-1] & (rr[1:] > 1.1 * feats[fi["rr_ms"]])
            feats[fi["frac_short_long"]] = sl.mean()
        feats[fi["rr_cv_np"]] = rr_cv_without_premature(rr)
    elif peaks.size == 2:
        rr = float(peaks[1] - peaks[0]) * ms
        feats[fi["rr_ms"]] = rr
        feats[fi["hr_bpm"]] = 60000.0 / rr
    if d.median_beat_mv is None or d.qrs_on is None:
        return feats
    m = d.median_beat_mv
    pre = d.pre
    on, off = d.qrs_on, d.qrs_off
    qrs_ms = (off - on) * ms
    feats[fi["qrs_ms"]] = qrs_ms
    rr_s = feats[fi["rr_ms"]] / 1000.0
    if d.t_end is not None:
        qt = (d.t_end - on) * ms
        feats[fi["qt_ms"]] = qt
        if np.isfinite(rr_s) and rr_s > 0:
            feats[fi["qtc_ms"]] = qt / np.sqrt(rr_s)
    if d.p_on is not None:
        feats[fi["pr_ms"]] = (on - d.p_on) * ms
    feats[fi["p_amp_mv"]] = d.p_amp_mv
    feats[fi["t_amp_mv"]] = d.t_amp_mv

    # Per-lead measurements on the baseline-corrected median beat.
    k = lambda s: max(1, int(round(s * fs)))  # noqa: E731
    qrs = m[on:off + 1]
    r_mv = qrs.max(axis=0)
    s_mv = qrs.min(axis=0)
    early = m[on:min(off, on + k(0.04)) + 1]
    q_mv = np.minimum(early.min(axis=0), 0.0)
    area = qrs.sum(axis=0) * ms
    j60 = min(off + k(0.06), m.shape[0] - 1)
    st_mv = m[max(off, j60 - k(0.01)):j60 + k(0.01) + 1].mean(axis=0)
    t_mv = m[d.t_peak] if d.t_peak is not None else np.full(12, np.nan)
    p_mv = m[d.p_peak] if d.p_peak is not None else np.full(12, np.nan)
    # Conduction: the mean of the last 40 ms of the QRS (the terminal vector: positive in V1
    # and negative in I/V6 in right bundle branch block), the time from QRS onset to the R
    # peak (late in the lead facing a blocked ventricle) and the length of the initial
    # negative deflection (a Q wave of 40 ms or more marks necrosis).
    term_mv = m[max(on, off - k(0.04)):off + 1].mean(axis=0)
    r_time_ms = np.where(r_mv > 0, np.argmax(qrs, axis=0) * ms, np.nan)
    q_ms = np.array([_initial_q_samples(qrs[:, j]) for j in range(12)]) * ms
    per = {"r_mv": r_mv, "s_mv": s_mv, "q_mv": q_mv, "qrs_area_mvms": area, "st_mv": st_mv,
           "t_mv": t_mv, "p_mv": p_mv, "term_mv": term_mv, "r_time_ms": r_time_ms, "q_ms": q_ms}
    for name, vals in per.items():
        for j, lead in enumerate(LEADS_12):
            feats[fi[f"{name}_{lead}"]] = vals[j]
    L = {lead: j for j, lead in enumerate(LEADS_12)}
    net = r_mv + s_mv
    if np.isfinite(net[L["I"]]) and np.isfinite(net[L["aVF"]]):
        feats[fi["axis_deg"]] = np.degrees(np.arctan2(net[L["aVF"]], net[L["I"]]))
    elif np.isfinite(net[L["I"]]) and np.isfinite(net[L["II"]]):
        feats[fi["axis_deg"]] = np.degrees(np.arctan2((2 * net[L["II"]] - net[L["I"]]) / np.sqrt(3),
                                                      net[L["I"]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        feats[fi["sokolow_mv"]] = -s_mv[L["V1"]] + np.nanmax([r_mv[L["V5"]], r_mv[L["V6"]]])
        feats[fi["cornell_mv"]] = r_mv[L["aVL"]] - s_mv[L["V3"]]
        feats[fi["qrs_amp_sum_mv"]] = np.nansum(r_mv - s_mv) * 12.0 / max(1, np.isfinite(r_mv).sum())
        feats[fi["st_dev_max_mv"]] = np.nanmax(st_mv)
        feats[fi["st_dev_min_mv"]] = np.nanmin(st_mv)
        feats[fi["t_neg_count"]] = np.nansum(t_mv < -0.1) if d.t_peak is not None else np.nan

    # Beat-by-beat morphology on the rhythm strip (xb).
    xb = xf[:, best]
    if peaks.size >= 3:
        beats = _beats_matrix(xb, peaks, pre, m.shape[0] - pre)  # (beats, win)
        ok = np.isfinite(beats[:, on:off + 1]).all(axis=1)
        if ok.sum() >= 3:
            b = beats[ok]
            ref = np.nanmedian(b, axis=0)
            cq = _corr_rows(b[:, on:off + 1], ref[on:off + 1])
            feats[fi["qrs_corr_min"]] = cq.min()
            odd = cq < 0.8
            feats[fi["frac_odd_beats"]] = odd.mean()
            amp = np.ptp(b[:, on:off + 1], axis=1)
            feats[fi["odd_amp_rel"]] = amp.max() / (np.median(amp) + 1e-6)
            rr_prev = np.r_[np.nan, np.diff(peaks)][ok] * ms
            # shortest RR before one of the beats ``sel``, over the basic cycle (1 without one)
            prematurity = lambda sel: (  # noqa: E731
                np.nanmin(rr_prev[sel]) / base_rr
                if sel.any() and np.isfinite(rr_prev[sel]).any() else 1.0)
            feats[fi["odd_premature"]] = prematurity(odd)
            # Ventricular beats: of another shape on the strip, or on the other leads with a
            # full compensatory pause (the RR before and after add up to two RR, at least
            # 95 %: the sinus node was not reset). A ventricular beat can keep its shape on
            # lead II; an aberrantly conducted PAC changes its shape in V1-V3 but resets the
            # sinus node, so its pause is shorter.
            all_leads = _beats_matrix(xf, peaks[ok], pre, m.shape[0] - pre)[:, on:off + 1]
            rr_next = np.r_[np.diff(peaks), np.nan][ok] * ms
            with np.errstate(invalid="ignore"):
                comp = (rr_prev + rr_next) / (2.0 * feats[fi["rr_ms"]])
                vent = odd | ((_multilead_qrs_corr(all_leads) < 0.8) & (comp >= 0.95))
            feats[fi["vent_premature"]] = prematurity(vent)
            # P-wave window consistency across beats (absent/irregular in AF).
            ps, pe = max(0, on - k(0.25)), on - k(0.03)
            pw = b[:, ps:pe]
            pw = pw[np.isfinite(pw).all(axis=1)]
            if pe - ps > 5 and np.isfinite(ref[ps:pe]).all():
                seg = ref[ps:pe]
                line = np.linspace(seg[0], seg[-1], seg.size)
                feats[fi["p_strip_mv"]] = np.max(np.abs(seg - line))
            if pe - ps > 5:
                feats[fi["p_corr"]] = _median_row_corr(pw)
                # The same on the beats that end a non-premature interval: the sinus beats
                # of a record with PACs (whose own P waves differ), every beat of AF.
                feats[fi["p_corr_np"]] = _median_row_corr(
                    b[:, ps:pe][rr_prev >= PREMATURE_REL * base_rr])
            # High-frequency residual in the T-P/P region (f waves).
            if pe - ps > 5 and np.isfinite(pw).all():
                resid = pw - np.median(pw, axis=0)
                scale = np.ptp(ref[on:off + 1]) + 1e-6
                feats[fi["hf_resid_rel"]] = np.sqrt(np.mean(resid ** 2)) / scale
    return feats
