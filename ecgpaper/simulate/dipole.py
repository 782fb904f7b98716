"""Cardiac dipole rendering and its projection onto the 12 standard leads.

The heart is a single time-varying current dipole ``d(t)`` in body coordinates
(``x`` towards the patient's left, ``y`` towards the feet, ``z`` anterior), in
mV. Each wave of a beat (P, QRS, T) is a sum of 3-D Gaussian lobes, a common
way to build synthetic vectorcardiograms (e.g. Clifford et al., "A novel
model-based method to simulate the electrocardiogram", 2005, and the
multi-lead extension of McSharry's dynamical model by Sameni et al., 2007),
plus smooth plateaus for ST-segment shifts.

The dipole is projected onto electrode lead vectors, not onto leads:

* the three limb electrodes RA, LA, LL sit on an equilateral Einthoven
  triangle centred on the heart, so lead I points along ``+x`` and lead II at
  +60 degrees in the frontal plane (unit lead vectors);
* the six precordial electrodes use the rows of Dower's inverse transform
  (Dower, Machado & Osborne, 1980) with the sign of ``z`` turned to anterior.

Leads are then formed from electrode potentials, noise included, with the
limb leads derived exactly from I and II (:func:`electrodes_to_leads`), so
Einthoven's and Goldberger's relations hold bit for bit in float64.
"""

from __future__ import annotations

import numpy as np

from ecgcore.constants import LEADS_12

#: Electrodes in the order of the electrode-potential arrays.
ELECTRODES: tuple[str, ...] = ("RA", "LA", "LL", "V1", "V2", "V3", "V4", "V5", "V6")

_S3 = np.sqrt(3.0)
#: Electrode lead vectors (9, 3): potential of an electrode = d . vector (mV).
ELECTRODE_VECTORS: np.ndarray = np.array(
    [
        [-0.5, -0.5 / _S3, 0.0],  # RA
        [0.5, -0.5 / _S3, 0.0],  # LA
        [0.0, 1.0 / _S3, 0.0],  # LL
        # Dower's precordial rows (X, Y, -Z_frank): x left, y feet, z anterior.
        [-0.515, 0.157, 0.917],  # V1
        [0.044, 0.164, 1.387],  # V2
        [0.882, 0.098, 1.277],  # V3
        [1.213, 0.127, 0.601],  # V4
        [1.125, 0.127, 0.086],  # V5
        [0.831, 0.076, -0.230],  # V6
    ],
    dtype=np.float64,
)


def lead_vectors() -> np.ndarray:
    """Lead vectors of the 12 leads in ``LEADS_12`` order, shape (12, 3).

    Projecting a noise-free dipole onto these gives the same leads as
    :func:`dipole_to_leads` (up to float rounding).

    Examples
    --------
    >>> v = lead_vectors()
    >>> v.shape, bool(np.allclose(v[2], v[1] - v[0]))
    ((12, 3), True)
    """
    e = ELECTRODE_VECTORS
    lead_i = e[1] - e[0]
    lead_ii = e[2] - e[0]
    wct = e[:3].mean(axis=0)
    rows = [
        lead_i,
        lead_ii,
        lead_ii - lead_i,
        -(lead_i + lead_ii) / 2.0,
        lead_i - lead_ii / 2.0,
        lead_ii - lead_i / 2.0,
    ]
    rows += [e[k] - wct for k in range(3, 9)]
    return np.array(rows)


def lead_index(name: str) -> int:
    """Column of a lead in ``LEADS_12`` order."""
    return LEADS_12.index(name)


def dipole_to_electrodes(dipole_mv: np.ndarray) -> np.ndarray:
    """Electrode potentials of a dipole.

    Parameters
    ----------
    dipole_mv : ndarray, shape (n_samples, 3)

    Returns
    -------
    ndarray, shape (n_samples, 9)
        Potentials of ``ELECTRODES`` in mV.
    """
    return np.asarray(dipole_mv, dtype=np.float64) @ ELECTRODE_VECTORS.T


def electrodes_to_leads(electrodes_mv: np.ndarray) -> np.ndarray:
    """Form the 12 standard leads from electrode potentials.

    I = LA - RA and II = LL - RA; the other limb leads are derived from I and
    II with the exact float expressions III = II - I, aVR = -(I + II)/2,
    aVL = I - II/2, aVF = II - I/2. Precordial leads are referred to Wilson's
    central terminal (RA + LA + LL)/3.

    Parameters
    ----------
    electrodes_mv : ndarray, shape (n_samples, 9)
        Potentials of ``ELECTRODES`` (mV), noise included.

    Returns
    -------
    ndarray, shape (n_samples, 12)
        Leads in ``LEADS_12`` order (mV).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = electrodes_to_leads(rng.normal(size=(50, 9)))
    >>> bool(np.all(x[:, 2] == x[:, 1] - x[:, 0])), bool(np.all(x[:, 3] == -(x[:, 0] + x[:, 1]) / 2))
    (True, True)
    """
    e = np.asarray(electrodes_mv, dtype=np.float64)
    ra, la, ll = e[:, 0], e[:, 1], e[:, 2]
    lead_i = la - ra
    lead_ii = ll - ra
    out = np.empty((e.shape[0], 12), dtype=np.float64)
    out[:, 0] = lead_i
    out[:, 1] = lead_ii
    out[:, 2] = lead_ii - lead_i
    out[:, 3] = -(lead_i + lead_ii) / 2.0
    out[:, 4] = lead_i - lead_ii / 2.0
    out[:, 5] = lead_ii - lead_i / 2.0
    wct = (ra + la + ll) / 3.0
    out[:, 6:] = e[:, 3:] - wct[:, None]
    return out


def dipole_to_leads(dipole_mv: np.ndarray) -> np.ndarray:
    """Noise-free 12 leads of a dipole, shape (n_samples, 12), mV."""
    return electrodes_to_leads(dipole_to_electrodes(dipole_mv))


def render_lobes(
    num_samples: int,
    fs_hz: float,
    centers_s: np.ndarray,
    sigma_left_s: np.ndarray,
    sigma_right_s: np.ndarray,
    vectors_mv: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Sum asymmetric 3-D Gaussian lobes into a dipole signal.

    Lobe ``k`` is ``vectors_mv[k] * exp(-(t - c_k)^2 / (2 s^2))`` with
    ``s = sigma_left_s[k]`` before the centre and ``sigma_right_s[k]`` after.
    Each lobe is evaluated only within 6 sigma of its centre.

    Parameters
    ----------
    num_samples : int
    fs_hz : float
    centers_s, sigma_left_s, sigma_right_s : ndarray, shape (k,)
        Times in seconds from the first sample.
    vectors_mv : ndarray, shape (k, 3)
    out : ndarray, shape (num_samples, 3), optional
        Accumulated into in place when given.

    Returns
    -------
    ndarray, shape (num_samples, 3)

    Examples
    --------
    >>> d = render_lobes(100, 100.0, np.array([0.5]), np.array([0.02]), np.array([0.02]), np.array([[1.0, 0, 0]]))
    >>> float(d[50, 0]), float(d[0, 0])
    (1.0, 0.0)
    """
    if out is None:
        out = np.zeros((num_samples, 3), dtype=np.float64)
    for c, sl, sr, v in zip(centers_s, sigma_left_s, sigma_right_s, vectors_mv):
        lo = max(0, int(np.floor((c - 6.0 * sl) * fs_hz)))
        hi = min(num_samples, int(np.ceil((c + 6.0 * sr) * fs_hz)) + 1)
        if hi <= lo:
            continue
        t = np.arange(lo, hi) / fs_hz - c
        s = np.where(t < 0.0, sl, sr)
        g = np.exp(-0.5 * (t / s) ** 2)
        out[lo:hi] += g[:, None] * v[None, :]
    return out


def _logistic(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def render_plateaus(
    num_samples: int,
    fs_hz: float,
    on_s: np.ndarray,
    on_width_s: np.ndarray,
    off_s: np.ndarray,
    off_width_s: np.ndarray,
    vectors_mv: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Sum smooth plateaus (logistic rise at ``on_s``, fall at ``off_s``).

    Used for ST-segment shifts: the plateau starts at the J point and merges
    into the T wave.

    Parameters
    ----------
    num_samples : int
    fs_hz : float
    on_s, on_width_s, off_s, off_width_s : ndarray, shape (k,)
        Rise and fall times and their logistic widths (s).
    vectors_mv : ndarray, shape (k, 3)
    out : ndarray, shape (num_samples, 3), optional

    Returns
    -------
    ndarray, shape (num_samples, 3)
    """
    if out is None:
        out = np.zeros((num_samples, 3), dtype=np.float64)
    for a, wa, b, wb, v in zip(on_s, on_width_s, off_s, off_width_s, vectors_mv):
        if not np.any(v):
            continue
        lo = max(0, int(np.floor((a - 12.0 * wa) * fs_hz)))
        hi = min(num_samples, int(np.ceil((b + 12.0 * wb) * fs_hz)) + 1)
        if hi <= lo:
            continue
        t = np.arange(lo, hi) / fs_hz
        h = _logistic((t - a) / wa) * _logistic((b - t) / wb)
        out[lo:hi] += h[:, None] * v[None, :]
    return out
