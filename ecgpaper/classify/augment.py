"""Augmentations that mimic a digitized 3x4 paper page, for training on true signals."""

from __future__ import annotations

import numpy as np

from ecgcore.constants import LEADS_12

#: Column of each lead on a 3x4 page (lead II is also the 10-s rhythm strip).
PAGE_3X4_COLUMN: dict[str, int] = {
    "I": 0, "II": 0, "III": 0, "aVR": 1, "aVL": 1, "aVF": 1,
    "V1": 2, "V2": 2, "V3": 2, "V4": 3, "V5": 3, "V6": 3,
}


def mask_3x4(signal_mv: np.ndarray, rhythm_leads: tuple[str, ...] = ("II",)) -> np.ndarray:
    """Keep each lead only in its 3x4-page quarter of the record; rhythm leads whole.

    Parameters
    ----------
    signal_mv : ndarray, shape (n, 12)
        Signal in :data:`LEADS_12` order.
    rhythm_leads : tuple of str
        Leads kept over the full duration.

    Returns
    -------
    ndarray, shape (n, 12)
        A copy with NaN outside the windows.

    Examples
    --------
    >>> m = mask_3x4(np.ones((8, 12)))
    >>> np.isfinite(m).sum(axis=0).tolist()
    [2, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]
    """
    out = np.array(signal_mv, dtype=np.float64, copy=True)
    n = out.shape[0]
    for j, lead in enumerate(LEADS_12):
        if lead in rhythm_leads:
            continue
        col = PAGE_3X4_COLUMN[lead]
        keep = np.zeros(n, dtype=bool)
        keep[col * n // 4:(col + 1) * n // 4] = True
        out[~keep, j] = np.nan
    return out


def augment_digitized(signal_mv: np.ndarray, fs_hz: float, rng: np.random.Generator,
                      strength: float = 1.0, mask: bool = True) -> np.ndarray:
    """A plausible digitized version of a true 12-lead signal.

    Applies, in order: per-lead gain error (x U(1 - 0.08 s, 1 + 0.08 s)), per-lead
    offset (N(0, 0.05 s) mV), white noise (0.005-0.03 s mV), slow wander,
    a small time shift (up to 20 ms), the 3x4 mask (when ``mask``) and, with
    probability 0.3 s, one to three NaN leads (never lead II).

    Parameters
    ----------
    signal_mv : ndarray, shape (n, 12)
        True signal in :data:`LEADS_12` order.
    fs_hz : float
    rng : numpy.random.Generator
    strength : float
        Scales every error (0 = none).
    mask : bool
        Apply :func:`mask_3x4`.

    Returns
    -------
    ndarray, shape (n, 12)
    """
    x = np.array(signal_mv, dtype=np.float64, copy=True)
    n, n_leads = x.shape
    s = float(strength)
    x *= rng.uniform(1 - 0.08 * s, 1 + 0.08 * s, size=n_leads)
    x += rng.normal(0.0, 0.05 * s, size=n_leads)
    x += rng.uniform(0.005, 0.03) * s * rng.standard_normal(x.shape)
    t = np.arange(n) / fs_hz
    x += (0.05 * s * rng.standard_normal(n_leads)) * np.sin(
        2 * np.pi * rng.uniform(0.05, 0.4) * t[:, None] + rng.uniform(0, 2 * np.pi, n_leads))
    shift = int(round(rng.uniform(-0.02, 0.02) * s * fs_hz))
    if shift:
        x = np.roll(x, shift, axis=0)
    if mask:
        x = mask_3x4(x)
    if rng.random() < 0.3 * s:
        candidates = [j for j, lead in enumerate(LEADS_12) if lead != "II"]
        drop = rng.choice(candidates, size=int(rng.integers(1, 4)), replace=False)
        x[:, drop] = np.nan
    return x
