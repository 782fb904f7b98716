"""Challenge-2024 SNR for the digitizer's tests and benchmark: a re-export of the scorer.

The digitizer once carried its own copy of the alignment and SNR; the project's scorer
(:mod:`ecgpaper.scoring`) is now the single implementation. ``challenge_snr_per_lead`` keeps
its old name and signature for the digitizer code that calls it.
"""

from __future__ import annotations

import numpy as np

from ecgpaper.scoring import snr_per_lead

__all__ = ["challenge_snr_per_lead"]


def challenge_snr_per_lead(reference: np.ndarray, estimate: np.ndarray, fs_hz: float,
                           align: bool = True) -> np.ndarray:
    """Challenge SNR of every lead of a record (:func:`ecgpaper.scoring.snr_per_lead`).

    Parameters
    ----------
    reference, estimate : numpy.ndarray
        ``(n, leads)`` in mV, same lead order; NaN = masked (reference) or not digitized.
    fs_hz : float
        Sampling frequency in Hz.
    align : bool
        Apply the Challenge alignment (spec section 4.2) first.

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
    return snr_per_lead(reference, estimate, fs_hz, align=align)
