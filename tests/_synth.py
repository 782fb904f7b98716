"""Synthetic signals shared by several test files (no tests here).

``synthetic_ecg`` is the small 12-lead ECG of the digitizer's round trips
(``tests/test_digitize.py``, ``tests/test_centreline.py``).  The other makers in the test files
(``gauss_ecg``, ``limb_consistent_ecg``, ``synth_record``) draw different waveforms for their
own checks, so they stay beside the tests that rely on their exact shapes.
"""

from __future__ import annotations

import numpy as np


def synthetic_ecg(fs_hz: float = 500.0, duration_s: float = 10.0, seed: int = 0) -> np.ndarray:
    """(n, 12) mV: Gaussian P/QRS/T beats; III, aVR, aVL, aVF derived from I and II."""
    rng = np.random.default_rng(seed)
    n = int(round(fs_hz * duration_s))
    t = np.arange(n) / fs_hz
    rr = 60.0 / rng.uniform(60, 85)
    beats = np.arange(0.3, duration_s, rr)

    def lead(amp_p, amp_q, amp_r, amp_s, amp_t):
        x = np.zeros(n)
        for b in beats:
            for c, w, a in ((b - 0.16, 0.025, amp_p), (b - 0.03, 0.012, amp_q), (b, 0.016, amp_r),
                            (b + 0.035, 0.012, amp_s), (b + 0.28, 0.05, amp_t)):
                x += a * np.exp(-0.5 * ((t - c) / w) ** 2)
        return x + 0.03 * np.sin(2 * np.pi * 0.2 * t + rng.uniform(0, 6))

    i_ = lead(0.08, -0.05, 0.7, -0.15, 0.2)
    ii = lead(0.12, -0.08, 1.1, -0.2, 0.3)
    iii = ii - i_
    avr, avl, avf = -(i_ + ii) / 2, i_ - ii / 2, ii - i_ / 2
    chest = [lead(0.05 * k, -0.1, 0.3 + 0.25 * k, -1.0 + 0.15 * k, 0.1 + 0.05 * k) for k in range(6)]
    return np.stack([i_, ii, iii, avr, avl, avf] + chest, axis=1)
