"""Challenge-2024 digitization SNR, local copy for tests and the benchmark.

Implements the Challenge spec §4.2 (alignment by the cross-correlation of binarised, smoothed
trace images, shifts limited to +-0.5 s and +-1 mV) and §4.3 (per-channel SNR over the jointly
finite samples, scaled by the coverage ``alpha = |I| / |R|``).  The project's scorer
(``ecgpaper.scoring``) is authoritative when present; this copy exists so that the digitizer's
tests and benchmark do not depend on it.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

__all__ = ["align_lead", "snr_lead", "challenge_snr_per_lead"]

_LEVELS = 256


def _binarise(v: np.ndarray, a_min: float, a_max: float, t: int) -> np.ndarray:
    img = np.zeros((_LEVELS, t))
    ok = np.isfinite(v)
    idx = np.nonzero(ok)[0]
    q = np.round((_LEVELS - 1) * (v[ok] - a_min) / (a_max - a_min) + 1)
    q = np.clip(q, 1, _LEVELS).astype(int)
    img[q - 1, idx] = 1.0
    return ndimage.gaussian_filter(img, 0.5)


def align_lead(x: np.ndarray, y: np.ndarray, fs_hz: float) -> np.ndarray:
    """Shift ``y`` in time and level to best overlap ``x`` (Challenge §4.2).

    Parameters
    ----------
    x, y : numpy.ndarray
        Reference and estimate of one lead (mV, NaN allowed).
    fs_hz : float
        Sampling rate.

    Returns
    -------
    numpy.ndarray
        The aligned estimate (may be longer than ``y``).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if not np.isfinite(x).any() or not np.isfinite(y).any():
        return y
    a_min = min(np.nanmin(x), np.nanmin(y))
    a_max = max(np.nanmax(x), np.nanmax(y))
    if a_max <= a_min:
        return y
    t = max(x.size, y.size)
    bx = _binarise(x, a_min, a_max, t)
    by = _binarise(y, a_min, a_max, t)
    # full 2-D cross-correlation (= convolution with the flipped estimate), float32 FFT
    shape = (2 * _LEVELS - 1, 2 * t - 1)
    fshape = (sfft.next_fast_len(shape[0]), sfft.next_fast_len(shape[1], real=True))
    fx = sfft.rfft2(bx.astype(np.float32), fshape)
    fy = sfft.rfft2(by[::-1, ::-1].astype(np.float32), fshape)
    rxy = sfft.irfft2(fx * fy, fshape)[: shape[0], : shape[1]]
    rc, cc = np.unravel_index(int(np.argmax(rxy)), rxy.shape)
    # the autocorrelation of a non-negative image peaks at zero lag (Cauchy-Schwarz), i.e. at
    # the centre of the full output; computing it is not needed
    ra, ca = _LEVELS - 1, t - 1
    dt = int(ca - cc)
    dv = (ra - rc) * (a_max - a_min) / (_LEVELS - 1)
    if abs(dt) > round(0.5 * fs_hz) or abs(dv) > 1.0:
        return y
    if dt >= 0:
        ys = np.r_[y[dt:], np.full(dt, np.nan)]
    else:
        ys = np.r_[np.full(-dt, np.nan), y]
    return ys - dv


def snr_lead(x: np.ndarray, y: np.ndarray) -> float:
    """Per-channel SNR with coverage scaling (Challenge §4.3), no alignment.

    Examples
    --------
    >>> x = np.sin(np.arange(100) / 5.0); y = x + 0.1
    >>> round(snr_lead(x, y), 2)
    16.87
    >>> snr_lead(x, np.full(100, np.nan))
    0.0
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = max(x.size, y.size)
    x = np.r_[x, np.full(n - x.size, np.nan)]
    y = np.r_[y, np.full(n - y.size, np.nan)]
    r = np.isfinite(x)
    i = r & np.isfinite(y)
    if r.sum() == 0:
        return float("nan")
    if i.sum() == 0:
        return 0.0
    ps = np.mean(x[i] ** 2)
    pn = np.mean((x[i] - y[i]) ** 2)
    if ps <= 0 or pn <= 0:
        return float("nan")
    return float(10 * np.log10(ps / pn) * i.sum() / r.sum())


def challenge_snr_per_lead(reference: np.ndarray, estimate: np.ndarray, fs_hz: float,
                           align: bool = True) -> np.ndarray:
    """Challenge SNR of every lead of a record.

    Parameters
    ----------
    reference, estimate : numpy.ndarray
        ``(n, leads)`` in mV, same lead order; NaN = masked (reference) or not digitized.
    fs_hz : float
    align : bool
        Apply the §4.2 alignment first.

    Returns
    -------
    numpy.ndarray
        ``(leads,)`` dB (NaN for an all-NaN reference or a perfect estimate).

    Examples
    --------
    >>> t = np.arange(1000) / 100.0; x = np.sin(2 * np.pi * t)[:, None]
    >>> y = np.roll(x, 7, axis=0) + 0.3
    >>> float(challenge_snr_per_lead(x, y, 100.0)[0]) > 30
    True
    """
    out = np.full(reference.shape[1], np.nan)
    for j in range(reference.shape[1]):
        x, y = reference[:, j], estimate[:, j]
        if align:
            y = align_lead(x, y, fs_hz)
        out[j] = snr_lead(x, y)
    return out
