"""Beat timing: sinus rhythm with heart-rate variability, atrial fibrillation,
atrial flutter, and premature atrial / ventricular beats.

Every function returns QRS-onset times in seconds (float64, increasing) and
one beat-type code per beat:

* ``"N"`` a sinus beat (sinus P wave, normal conduction);
* ``"A"`` a premature atrial contraction (ectopic P wave, normal QRS);
* ``"V"`` a premature ventricular contraction (no P wave, wide QRS);
* ``"F"`` a beat conducted from atrial fibrillation or flutter (no P wave).
"""

from __future__ import annotations

import numpy as np

#: Shortest RR interval the generators produce (s).
MIN_RR_S: float = 0.28


def sinus_times(
    t_start_s: float,
    t_end_s: float,
    mean_rr_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """QRS times of sinus rhythm with respiratory and low-frequency HRV.

    RR intervals follow ``mean * (1 + a_rsa sin(2 pi f_resp t) + a_lf sin(2 pi f_lf t) + e)``
    with ``a_rsa`` 1-4 % (less at high rates), ``f_resp`` 0.15-0.35 Hz,
    ``a_lf`` 0.5-1.5 % near 0.1 Hz and white jitter of 0.4 %, which gives a
    coefficient of variation of roughly 1-4 %.

    Parameters
    ----------
    t_start_s, t_end_s : float
        The first beat is at ``t_start_s``; beats continue past ``t_end_s``
        by one interval.
    mean_rr_s : float
    rng : numpy.random.Generator

    Returns
    -------
    times_s : ndarray, shape (n_beats,)
    info : dict
        The sampled HRV parameters (JSON-able).

    Examples
    --------
    >>> t, info = sinus_times(0.0, 10.0, 1.0, np.random.default_rng(1))
    >>> 10 <= len(t) <= 13, bool(np.all(np.diff(t) > 0.9))
    (True, True)
    """
    rate_factor = float(np.clip((1.0 - mean_rr_s) / 0.5, 0.0, 1.0))  # 0 at 60/min, 1 at 120/min
    a_rsa = rng.uniform(0.01, 0.04) * (1.0 - 0.6 * rate_factor)
    f_resp = rng.uniform(0.15, 0.35)
    a_lf = rng.uniform(0.005, 0.015)
    f_lf = rng.uniform(0.07, 0.13)
    ph1, ph2 = rng.uniform(0.0, 2 * np.pi, size=2)
    jitter = 0.004
    times = [t_start_s]
    while times[-1] <= t_end_s:
        t = times[-1]
        rr = mean_rr_s * (1.0 + a_rsa * np.sin(2 * np.pi * f_resp * t + ph1)
                          + a_lf * np.sin(2 * np.pi * f_lf * t + ph2)
                          + jitter * rng.standard_normal())
        times.append(t + max(rr, MIN_RR_S))
    info = {"rsa_fraction": float(a_rsa), "resp_hz": float(f_resp), "lf_fraction": float(a_lf),
            "lf_hz": float(f_lf)}
    return np.array(times), info


def fibrillation_times(
    t_start_s: float,
    t_end_s: float,
    mean_rr_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """QRS times of atrial fibrillation: independent log-normal RR intervals.

    The log-normal shape ``sigma`` is drawn from 0.15-0.30, which is the RR
    coefficient of variation (irregularly irregular); the mean RR is kept.

    Examples
    --------
    >>> t, info = fibrillation_times(0.0, 10.0, 0.75, np.random.default_rng(1))
    >>> rr = np.diff(t); bool(np.std(rr) / np.mean(rr) > 0.1)
    True
    """
    sigma = rng.uniform(0.15, 0.30)
    times = [t_start_s]
    while times[-1] <= t_end_s:
        rr = mean_rr_s * np.exp(sigma * rng.standard_normal() - 0.5 * sigma ** 2)
        times.append(times[-1] + max(rr, MIN_RR_S + 0.05))
    return np.array(times), {"rr_lognormal_sigma": float(sigma)}


def flutter_times(
    t_start_s: float,
    t_end_s: float,
    atrial_cycle_s: float,
    ratios: tuple[int, ...],
    ratio_probs: tuple[float, ...],
    delay_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """QRS times of atrial flutter with fixed or variable AV conduction.

    Flutter waves occur at ``t_start_s - delay_s + k * atrial_cycle_s``; each
    conducted wave is followed by a QRS ``delay_s`` later, and the number of
    flutter waves per QRS is drawn from ``ratios`` with ``ratio_probs``.

    Returns
    -------
    times_s : ndarray
    info : dict
        ``first_wave_s``: time of a flutter wave (the phase reference).
    """
    first_wave = t_start_s - delay_s
    k = 0
    times = [t_start_s]
    while times[-1] <= t_end_s:
        k += int(rng.choice(ratios, p=ratio_probs))
        times.append(first_wave + k * atrial_cycle_s + delay_s)
    return np.array(times), {"first_wave_s": float(first_wave)}


def insert_premature_beats(
    times_s: np.ndarray,
    kinds: list[str],
    n_pac: int,
    n_pvc: int,
    window_s: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[str], list[dict]]:
    """Replace some beats by premature atrial or ventricular beats.

    A PVC comes after ``coupling`` (0.50-0.70) of the RR interval it
    interrupts; the next beat keeps its original time, so the pause around
    the PVC is fully compensatory (pre + post = 2 RR). A PAC comes after a
    coupling of 0.55-0.72; it resets the sinus node, so the beat after it
    follows one sinus cycle (1.00-1.12 RR) later and every later beat shifts
    by the same amount (non-compensatory pause).

    Parameters
    ----------
    times_s : ndarray, shape (n,)
        QRS times of the underlying rhythm.
    kinds : list of str
        Beat codes (``"N"`` or ``"F"``), length n.
    n_pac, n_pvc : int
        How many of each to insert; fewer when the window has too few beats.
    window_s : (float, float)
        Premature beats are placed only at beats inside this interval.
    rng : numpy.random.Generator

    Returns
    -------
    times_s : ndarray
    kinds : list of str
    events : list of dict
        One per inserted beat: index, kind, coupling fraction.

    Examples
    --------
    >>> t = np.arange(0.0, 10.0, 1.0)
    >>> t2, k2, ev = insert_premature_beats(t, ["N"] * 10, 0, 1, (1.5, 8.5), np.random.default_rng(0))
    >>> k2.count("V"), bool(np.allclose(np.delete(t2, ev[0]["index"]), np.delete(t, ev[0]["index"])))
    (1, True)
    """
    times = np.array(times_s, dtype=np.float64)
    kinds = list(kinds)
    lo, hi = window_s
    candidates = [i for i in range(1, len(times) - 1) if lo <= times[i] <= hi]
    chosen: list[int] = []
    order = list(rng.permutation(candidates))
    wanted = ["A"] * n_pac + ["V"] * n_pvc
    wanted = [wanted[i] for i in rng.permutation(len(wanted))]
    for idx in order:
        if len(chosen) == len(wanted):
            break
        if all(abs(int(idx) - j) >= 3 for j in chosen):
            chosen.append(int(idx))
    assignment = dict(zip(sorted(chosen), wanted[: len(chosen)]))
    events: list[dict] = []
    offset = 0.0
    new_times = times.copy()
    for i in range(1, len(times)):
        rr = times[i] - times[i - 1]
        kind = assignment.get(i)
        if kind == "V":
            coupling = rng.uniform(0.50, 0.70)
            new_times[i] = new_times[i - 1] + max(coupling * rr, MIN_RR_S)
            kinds[i] = "V"
            events.append({"index": i, "kind": "PVC", "coupling": float(coupling)})
        elif kind == "A":
            coupling = rng.uniform(0.55, 0.72)
            new_times[i] = new_times[i - 1] + max(coupling * rr, MIN_RR_S)
            kinds[i] = "A"
            if i + 1 < len(times):
                reset = rng.uniform(1.00, 1.12) * (times[i + 1] - times[i])
                offset = new_times[i] + reset - times[i + 1]
            events.append({"index": i, "kind": "PAC", "coupling": float(coupling)})
        else:
            new_times[i] = times[i] + offset
    return new_times, kinds, events
