"""Per-channel digitization metrics of the Challenge 2024 scorer.

The ranking metric is :func:`compute_snr` (spec section 4.3): the SNR over the
samples that are finite in both the reference and the (aligned) estimate,
scaled by the fraction ``alpha = |I| / |R|`` of the reference samples that
were digitized. The extra metrics of ``evaluate_model.py -x`` (spec section
4.5) use the same sample selection; unlike the official code they return NaN
instead of raising when no sample is jointly finite.

All signals are 1-D float arrays in mV; NaN (or +-inf) marks a masked
reference sample or a sample that was not digitized.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import filtfilt

from .alignment import ALIGNMENT_METHODS, align_signal

__all__ = [
    "compute_snr",
    "compute_ks_metric",
    "compute_asci_metric",
    "compute_weighted_absolute_difference",
    "score_leads",
    "snr_per_lead",
    "LEAD_METRICS",
    "EXTRA_METRICS",
]

#: Names of the per-lead metrics of :func:`score_leads`: the ranking SNR first, then
#: the extras of ``-x`` (median-noise SNR, KS-like fit, ASCI, weighted absolute difference).
EXTRA_METRICS: tuple[str, ...] = ("snr_median", "ks", "asci", "wad")
LEAD_METRICS: tuple[str, ...] = ("snr",) + EXTRA_METRICS


def _select(x, y, keep_nans: bool):
    """Pad to a common length and pick the compared samples.

    Returns ``(x_i, y_i, n_i, n_r)``: the compared reference and estimate samples,
    their count ``|I|`` and the count ``|R|`` of finite reference samples.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    n = max(x.size, y.size)
    if x.size < n:
        x = np.concatenate([x, np.full(n - x.size, np.nan)])
    if y.size < n:
        y = np.concatenate([y, np.full(n - y.size, np.nan)])
    ref = np.isfinite(x)
    est = np.isfinite(y)
    if keep_nans:
        idx = ref & est
        y_i = y[idx]
    else:
        idx = ref
        y_i = np.where(est[idx], y[idx], 0.0)
    return x[idx], y_i, int(idx.sum()), int(ref.sum())


def compute_snr(x, y, keep_nans: bool = True, signal_median: bool = False,
                noise_median: bool = False) -> float:
    """Challenge SNR of one channel (spec section 4.3), in dB.

    The shorter signal is padded with NaN. With ``keep_nans`` the compared set
    ``I`` is the samples finite in both signals; ``P_s`` and ``P_n`` are the
    mean (or, on request, median) of ``x**2`` and ``(x - y)**2`` over ``I``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Reference lead, mV; non-finite samples are masked.
    y : array_like, shape (n',)
        Estimated (already aligned) lead, mV; non-finite = not digitized.
    keep_nans : bool
        True (the official setting): compare on ``I = R & E`` and multiply by
        ``alpha = |I| / |R|``. False: non-finite estimate samples count as 0 mV,
        ``I = R`` and no scaling.
    signal_median, noise_median : bool
        Use the median instead of the mean for the signal / noise power
        (``noise_median=True`` is the "SNR median" of ``-x``).

    Returns
    -------
    float
        ``10 log10(P_s / P_n) * alpha``; exactly 0.0 when nothing was digitized
        (``|I| = 0 < |R|``); NaN when ``|R| = 0`` or when ``P_s`` or ``P_n`` is 0
        (e.g. a perfect reconstruction, which then drops out of the mean).

    Examples
    --------
    >>> x = np.sin(np.arange(100) / 5.0)
    >>> round(compute_snr(x, x + 0.1), 2)
    16.87
    >>> y = x + 0.1; y[50:] = np.nan          # half digitized: half the dB
    >>> round(compute_snr(x, y), 2) == round(compute_snr(x[:50], x[:50] + 0.1) / 2, 2)
    True
    >>> compute_snr(x, np.full(100, np.nan)), compute_snr(x, x)
    (0.0, nan)
    """
    x_i, y_i, n_i, n_r = _select(x, y, keep_nans)
    if n_r == 0:
        return float("nan")
    if n_i == 0:
        return 0.0
    power = np.median if signal_median else np.mean
    p_signal = float(power(x_i ** 2))
    noise = (x_i - y_i) ** 2
    p_noise = float(np.median(noise) if noise_median else np.mean(noise))
    if not (p_signal > 0 and p_noise > 0):
        return float("nan")
    snr = 10.0 * np.log10(p_signal / p_noise)
    if keep_nans:
        snr *= n_i / n_r
    return float(snr)


def compute_ks_metric(x, y, keep_nans: bool = True) -> float:
    """Goodness of fit inspired by the Kolmogorov-Smirnov statistic (spec section 4.5).

    ``F_x(k) = sum_{i <= k} |x_i| / sum_i |x_i|`` over the compared samples
    (not normalised when the total is 0), likewise ``F_y``;
    the result is ``1 - max_k |F_x(k) - F_y(k)|`` (1 is a perfect fit).

    Parameters
    ----------
    x, y : array_like
        Reference and aligned estimate of one lead, mV.
    keep_nans : bool
        As in :func:`compute_snr`.

    Returns
    -------
    float
        In ``[0, 1]`` for normalisable signals; NaN when no sample is compared.

    Examples
    --------
    >>> x = np.sin(np.arange(200) / 7.0)
    >>> compute_ks_metric(x, x), round(compute_ks_metric(x, 2 * x), 6)
    (1.0, 1.0)
    >>> compute_ks_metric(x, np.full(200, np.nan))
    nan
    """
    x_i, y_i, n_i, _ = _select(x, y, keep_nans)
    if n_i == 0:
        return float("nan")
    cx = np.cumsum(np.abs(x_i))
    cy = np.cumsum(np.abs(y_i))
    if cx[-1] > 0:
        cx = cx / cx[-1]
    if cy[-1] > 0:
        cy = cy / cy[-1]
    return float(1.0 - np.max(np.abs(cx - cy)))


def compute_asci_metric(x, y, beta: float = 0.05, keep_nans: bool = True) -> float:
    """Adaptive signed correlation index (spec section 4.5).

    With ``tau = beta * std(x_I)``, each compared sample scores +1 if
    ``|x_i - y_i| <= tau`` and -1 otherwise; the index is their mean.

    Parameters
    ----------
    x, y : array_like
        Reference and aligned estimate of one lead, mV.
    beta : float
        Tolerance as a fraction of the reference's standard deviation, in (0, 1].
    keep_nans : bool
        As in :func:`compute_snr`.

    Returns
    -------
    float
        In ``[-1, 1]``; NaN when no sample is compared.

    Raises
    ------
    ValueError
        ``beta`` outside (0, 1].

    Examples
    --------
    >>> x = np.sin(np.arange(200) / 7.0)
    >>> compute_asci_metric(x, x), compute_asci_metric(x, x + 1.0)
    (1.0, -1.0)
    """
    if not 0 < beta <= 1:
        raise ValueError(f"beta must be in (0, 1], got {beta}")
    x_i, y_i, n_i, _ = _select(x, y, keep_nans)
    if n_i == 0:
        return float("nan")
    tau = beta * np.std(x_i)
    return float(np.mean(np.where(np.abs(x_i - y_i) <= tau, 1.0, -1.0)))


def compute_weighted_absolute_difference(x, y, fs_hz: float, keep_nans: bool = True) -> float:
    """Weighted mean absolute difference, in mV (spec section 4.5; lower is better).

    The weights come from the reference: ``w`` is its zero-phase moving average
    over ``m = round(0.1 fs)`` samples (``scipy.signal.filtfilt`` with
    Gustafsson's initial conditions, ``method="gust"``), mapped to
    ``w = 1 - 0.5 w / max(w)``; the metric is ``sum w |x - y| / sum w``.

    Parameters
    ----------
    x, y : array_like
        Reference and aligned estimate of one lead, mV.
    fs_hz : float
        Sampling frequency in Hz.
    keep_nans : bool
        As in :func:`compute_snr`.

    Returns
    -------
    float
        mV; NaN when no sample is compared or the weights are degenerate
        (``max(w) = 0`` or ``sum(w) = 0``, where the official code divides by zero).

    Examples
    --------
    >>> x = 1.0 + np.sin(np.arange(1000) / 20.0)
    >>> compute_weighted_absolute_difference(x, x, 500.0)
    0.0
    >>> round(compute_weighted_absolute_difference(x, x + 0.2, 500.0), 6)
    0.2
    """
    x_i, y_i, n_i, _ = _select(x, y, keep_nans)
    if n_i == 0:
        return float("nan")
    m = max(1, int(round(0.1 * fs_hz)))
    w = filtfilt(np.ones(m), m, x_i, method="gust")
    w_max = float(np.max(w))
    if w_max == 0 or not np.isfinite(w_max):
        return float("nan")
    w = 1.0 - 0.5 / w_max * w
    total = float(np.sum(w))
    if total == 0:
        return float("nan")
    return float(np.sum(np.abs(x_i - y_i) * w) / total)


def score_leads(reference: np.ndarray, estimate: np.ndarray, fs_hz: float, align: bool = True,
                method: str = "global", extra: bool = False) -> dict[str, np.ndarray]:
    """Align every lead of a record and compute its metrics (spec sections 4.1-4.3, 4.5).

    Parameters
    ----------
    reference : ndarray, shape (n, c)
        Reference signal, mV; NaN where masked.
    estimate : ndarray, shape (n', c)
        Estimate with the same channel order, mV; NaN where not digitized.
        ``n'`` may differ from ``n`` (the shorter is NaN-padded per lead).
    fs_hz : float
        Sampling frequency in Hz (sets the +-0.5 s shift limit and the WAD window).
    align : bool
        Apply the Challenge alignment first (the official score does; ``-n`` does not).
    method : {"window", "global", "official"}
        Alignment implementation, see :mod:`ecgpaper.scoring.alignment`.
    extra : bool
        Also compute the extra metrics of ``-x``.

    Returns
    -------
    dict of str to ndarray, shape (c,)
        ``"snr"`` (dB) and, with ``extra``, ``"snr_median"`` (dB), ``"ks"``,
        ``"asci"`` and ``"wad"`` (mV).

    Raises
    ------
    ValueError
        Arrays that are not 2-D, different channel counts, or an unknown method.
    """
    if method not in ALIGNMENT_METHODS:
        raise ValueError(f"unknown alignment method {method!r}; choose one of {ALIGNMENT_METHODS}")
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.ndim != 2 or estimate.ndim != 2 or reference.shape[1] != estimate.shape[1]:
        raise ValueError(f"reference {reference.shape} and estimate {estimate.shape} must be "
                         "(samples, channels) with the same number of channels")
    names = LEAD_METRICS if extra else ("snr",)
    out = {name: np.full(reference.shape[1], np.nan) for name in names}
    for j in range(reference.shape[1]):
        x = reference[:, j]
        y = align_signal(x, estimate[:, j], fs_hz, method=method) if align else estimate[:, j]
        out["snr"][j] = compute_snr(x, y)
        if extra:
            out["snr_median"][j] = compute_snr(x, y, noise_median=True)
            out["ks"][j] = compute_ks_metric(x, y)
            out["asci"][j] = compute_asci_metric(x, y)
            out["wad"][j] = compute_weighted_absolute_difference(x, y, fs_hz)
    return out


def snr_per_lead(reference: np.ndarray, estimate: np.ndarray, fs_hz: float, align: bool = True,
                 method: str = "global") -> np.ndarray:
    """Challenge SNR of every lead of a record: align each lead, then :func:`compute_snr`.

    Parameters
    ----------
    reference : ndarray, shape (n, c)
        Reference signal, mV; NaN where masked.
    estimate : ndarray, shape (n', c)
        Estimate in the reference's channel order, mV; NaN where not digitized.
    fs_hz : float
        Sampling frequency in Hz.
    align : bool
        Apply the Challenge alignment (shift <= 0.5 s, offset <= 1 mV) first.
    method : {"window", "global", "official"}
        Alignment implementation.

    Returns
    -------
    ndarray, shape (c,)
        dB; 0 for a lead with no digitized sample, NaN for an all-masked
        reference lead or a perfect estimate.

    Examples
    --------
    >>> t = np.arange(1000) / 100.0
    >>> x = np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * 0.7 * t)], axis=1)
    >>> y = np.roll(x, 7, axis=0) + 0.3        # 70 ms late, 0.3 mV high
    >>> bool(np.all(snr_per_lead(x, y, 100.0) > 30))
    True
    >>> bool(np.all(snr_per_lead(x, y, 100.0, align=False) < 10))
    True
    """
    return score_leads(reference, estimate, fs_hz, align=align, method=method)["snr"]
