"""Recording noise in the electrode domain: baseline wander, muscle noise, mains.

Noise is generated per electrode (RA, LA, LL, V1-V6) and added to electrode
potentials before the leads are formed, so the leads keep Einthoven's and
Goldberger's relations exactly and the limb-electrode noise reaches the
precordial leads through Wilson's central terminal, as on a real recorder.

Levels (amplitudes on an electrode; leads see differences of two or more):

=========  ======================  ================  ===================
level      baseline wander (peak)  muscle (EMG) rms  mains 50/60 Hz (peak)
=========  ======================  ================  ===================
``none``   0                       0                 0
``low``    0.02-0.06 mV            2-6 uV            2-6 uV
``medium`` 0.08-0.2 mV             8-20 uV           8-20 uV
``high``   0.2-0.5 mV              25-60 uV          25-60 uV
=========  ======================  ================  ===================
"""

from __future__ import annotations

import numpy as np

#: Ranges (low, high) in mV per noise level: baseline wander peak, EMG rms, mains peak.
NOISE_LEVELS: dict[str, dict[str, tuple[float, float]]] = {
    "none": {"wander_mv": (0.0, 0.0), "emg_mv": (0.0, 0.0), "mains_mv": (0.0, 0.0)},
    "low": {"wander_mv": (0.02, 0.06), "emg_mv": (0.002, 0.006), "mains_mv": (0.002, 0.006)},
    "medium": {"wander_mv": (0.08, 0.2), "emg_mv": (0.008, 0.02), "mains_mv": (0.008, 0.02)},
    "high": {"wander_mv": (0.2, 0.5), "emg_mv": (0.025, 0.06), "mains_mv": (0.025, 0.06)},
}


def bandlimited_noise(
    num_samples: int,
    fs_hz: float,
    low_hz: float,
    high_hz: float,
    rng: np.random.Generator,
    num_channels: int = 1,
) -> np.ndarray:
    """Gaussian noise with a flat spectrum between two frequencies, unit rms.

    Made in the frequency domain (random complex spectrum, zeroed outside
    ``[low_hz, high_hz]``, inverse real FFT), so the band edges are exact.

    Returns
    -------
    ndarray, shape (num_samples, num_channels)

    Examples
    --------
    >>> x = bandlimited_noise(5000, 500.0, 20.0, 100.0, np.random.default_rng(0), 2)
    >>> x.shape, bool(np.allclose(x.std(axis=0), 1.0))
    ((5000, 2), True)
    """
    n_freq = num_samples // 2 + 1
    freqs = np.fft.rfftfreq(num_samples, d=1.0 / fs_hz)
    spec = rng.standard_normal((n_freq, num_channels)) + 1j * rng.standard_normal((n_freq, num_channels))
    mask = (freqs >= low_hz) & (freqs <= min(high_hz, fs_hz / 2.0))
    spec[~mask] = 0.0
    x = np.fft.irfft(spec, n=num_samples, axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    return x / sd


def electrode_noise(
    num_samples: int,
    fs_hz: float,
    level: str,
    rng: np.random.Generator,
    num_electrodes: int = 9,
) -> tuple[np.ndarray, dict]:
    """Noise on each electrode at a named level.

    * Baseline wander: a respiratory sinusoid (0.15-0.4 Hz) common to all
      electrodes with electrode-specific gain, plus slow random drift
      (0.05-0.5 Hz band-limited noise) per electrode.
    * Muscle noise: 20-150 Hz band-limited Gaussian noise, stronger on the
      three limb electrodes.
    * Mains: a 50 or 60 Hz sinusoid with a small third harmonic, common
      phase, electrode-specific amplitude (imperfect common-mode rejection).

    Parameters
    ----------
    num_samples : int
    fs_hz : float
    level : {"none", "low", "medium", "high"}
    rng : numpy.random.Generator
    num_electrodes : int
        The first three are the limb electrodes.

    Returns
    -------
    noise_mv : ndarray, shape (num_samples, num_electrodes)
    info : dict
        Sampled amplitudes (JSON-able).

    Raises
    ------
    ValueError
        For an unknown level; the message lists the valid names.

    Examples
    --------
    >>> x, info = electrode_noise(1000, 500.0, "none", np.random.default_rng(0))
    >>> x.shape, float(np.abs(x).max())
    ((1000, 9), 0.0)
    """
    if level not in NOISE_LEVELS:
        raise ValueError(f"unknown noise level {level!r}; valid: {sorted(NOISE_LEVELS)}")
    ranges = NOISE_LEVELS[level]
    wander = rng.uniform(*ranges["wander_mv"])
    emg = rng.uniform(*ranges["emg_mv"])
    mains = rng.uniform(*ranges["mains_mv"])
    mains_hz = float(rng.choice([50.0, 60.0]))
    resp_hz = rng.uniform(0.15, 0.4)
    info = {"level": level, "wander_mv": float(wander), "emg_rms_mv": float(emg),
            "mains_mv": float(mains), "mains_hz": mains_hz, "resp_hz": float(resp_hz)}
    out = np.zeros((num_samples, num_electrodes), dtype=np.float64)
    if level == "none":
        return out, info
    t = np.arange(num_samples) / fs_hz
    # Baseline wander: shared respiration + independent slow drift.
    resp_gain = rng.uniform(-1.0, 1.0, size=num_electrodes)
    phase = rng.uniform(0.0, 2 * np.pi)
    out += wander * np.sin(2 * np.pi * resp_hz * t + phase)[:, None] * resp_gain[None, :]
    drift = bandlimited_noise(num_samples, fs_hz, 0.05, 0.5, rng, num_electrodes)
    out += 0.5 * wander * drift * rng.uniform(0.3, 1.0, size=num_electrodes)[None, :]
    # Muscle noise, stronger on the limbs.
    emg_gain = np.ones(num_electrodes)
    emg_gain[:3] = rng.uniform(1.0, 2.0, size=3)
    emg_gain[3:] = rng.uniform(0.3, 1.0, size=num_electrodes - 3)
    high_hz = min(150.0, 0.45 * fs_hz)
    if high_hz > 20.0:
        out += emg * bandlimited_noise(num_samples, fs_hz, 20.0, high_hz, rng, num_electrodes) * emg_gain
    # Mains interference (aliases harmlessly when fs is below twice the mains frequency).
    mains_gain = rng.uniform(0.2, 1.0, size=num_electrodes)
    ph = rng.uniform(0.0, 2 * np.pi)
    hum = np.sin(2 * np.pi * mains_hz * t + ph) + 0.15 * np.sin(2 * np.pi * 3 * mains_hz * t + 3 * ph)
    out += mains * hum[:, None] * mains_gain[None, :]
    return out, info
