"""Clinical interval errors of digitized records (not a Challenge metric).

The SNR says how close the digitized waveform is; a clinician reading the
digitized record cares about the intervals. For every record with a
reference signal, the mean RR interval, the QRS duration and the QT interval
are measured on the reference and on the estimate with the project's
delineator (:func:`ecgpaper.delineate.measure_intervals`, method named by
:data:`ecgpaper.delineate.DELINEATION_METHOD`), and the absolute differences
are summarised over the records where both are measurable.

Measurement choices:

* The delineator accepts NaN: it combines all leads that are finite at each
  sample (a masked 3x4 reference keeps 2.5 s of each short lead plus the
  10-s lead II strip). All 12 leads are used, on both sides.
* The estimate is compared on the reference's support: it is NaN-padded or
  cut to the reference length and set to NaN wherever the reference is NaN
  (``mask_estimate=True``), so both measurements see the same time span of
  each lead and samples a digitizer filled in outside the printed windows do
  not count. No alignment is applied (durations do not depend on a shift).
* RR is the mean of the successive R-R differences of the detected R peaks;
  QRS is QRS onset to offset and QT is QRS onset to T end of the median beat.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ecgpaper.delineate import DELINEATION_METHOD, measure_intervals

__all__ = ["INTERVALS", "IntervalSummary", "record_intervals", "compare_intervals",
           "summarize_intervals"]

#: The compared intervals (all in ms).
INTERVALS: tuple[str, ...] = ("rr_ms", "qrs_ms", "qt_ms")


@dataclass
class IntervalSummary:
    """Interval errors over a set of records.

    Attributes
    ----------
    method : str
        The delineation method (:data:`ecgpaper.delineate.DELINEATION_METHOD`).
    n_records : int
        Records compared (references with a signal).
    n_measured : dict of str to int
        Per interval, the records where both reference and estimate were measurable.
    mae_ms, median_ae_ms : dict of str to float
        Per interval, mean and median absolute error in ms (NaN if ``n_measured`` is 0).
    """

    method: str = DELINEATION_METHOD
    n_records: int = 0
    n_measured: dict[str, int] = field(default_factory=dict)
    mae_ms: dict[str, float] = field(default_factory=dict)
    median_ae_ms: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The summary as a plain dict."""
        return asdict(self)


def record_intervals(signal_mv: np.ndarray, fs_hz: float) -> dict[str, float]:
    """Mean RR, QRS duration and QT of one record, in ms.

    Parameters
    ----------
    signal_mv : ndarray, shape (n, c)
        Signal in mV, NaN allowed (masked or not digitized).
    fs_hz : float
        Sampling frequency in Hz.

    Returns
    -------
    dict of str to float
        Keys :data:`INTERVALS`; NaN where not measurable (no finite sample,
        fewer than two beats, no T end found).

    Examples
    --------
    >>> fs = 500.0
    >>> t = np.arange(5000) / fs
    >>> sig = sum(np.exp(-0.5 * ((t - b) / 0.012) ** 2) for b in np.arange(0.5, 10, 0.8))
    >>> round(record_intervals(sig[:, None], fs)["rr_ms"])
    800
    """
    nan = float("nan")
    signal_mv = np.asarray(signal_mv, dtype=np.float64)
    if signal_mv.ndim == 1:
        signal_mv = signal_mv[:, None]
    if not np.isfinite(signal_mv).any():
        return {name: nan for name in INTERVALS}
    res = measure_intervals(signal_mv, fs_hz)
    peaks = np.asarray(res["r_peaks"], dtype=np.float64)
    rr = float(np.mean(np.diff(peaks)) * 1000.0 / fs_hz) if peaks.size >= 2 else nan
    return {"rr_ms": rr, "qrs_ms": float(res["qrs_ms"]), "qt_ms": float(res["qt_ms"])}


def compare_intervals(reference: np.ndarray, estimate: np.ndarray, fs_hz: float,
                      mask_estimate: bool = True) -> dict[str, tuple[float, float]]:
    """Intervals of a reference and its estimate.

    Parameters
    ----------
    reference : ndarray, shape (n, c)
        Reference signal, mV; NaN where masked.
    estimate : ndarray, shape (n', c)
        Estimate in the reference's channel order, mV; NaN where not digitized.
    fs_hz : float
        Sampling frequency in Hz.
    mask_estimate : bool
        Cut/pad the estimate to ``n`` samples and blank it wherever the
        reference is NaN (see the module notes).

    Returns
    -------
    dict of str to (float, float)
        Per interval of :data:`INTERVALS`, ``(reference_ms, estimate_ms)``.
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if mask_estimate:
        n = reference.shape[0]
        est = np.full(reference.shape, np.nan)
        k = min(n, estimate.shape[0])
        est[:k] = estimate[:k]
        est[~np.isfinite(reference)] = np.nan
        estimate = est
    ref = record_intervals(reference, fs_hz)
    est = record_intervals(estimate, fs_hz)
    return {name: (ref[name], est[name]) for name in INTERVALS}


def summarize_intervals(values: Sequence[Mapping[str, tuple[float, float]]]) -> IntervalSummary:
    """Mean and median absolute interval errors over records.

    Parameters
    ----------
    values : sequence of dict
        One :func:`compare_intervals` result per record.

    Returns
    -------
    IntervalSummary

    Examples
    --------
    >>> s = summarize_intervals([{"rr_ms": (800.0, 810.0), "qrs_ms": (90.0, 80.0), "qt_ms": (400.0, float("nan"))},
    ...                          {"rr_ms": (600.0, 600.0), "qrs_ms": (100.0, 130.0), "qt_ms": (380.0, 390.0)}])
    >>> s.n_measured["qt_ms"], s.mae_ms["rr_ms"], s.median_ae_ms["qrs_ms"]
    (1, 5.0, 20.0)
    """
    summary = IntervalSummary(n_records=len(values))
    for name in INTERVALS:
        pairs = np.array([v[name] for v in values], dtype=np.float64).reshape(-1, 2)
        ok = np.isfinite(pairs).all(axis=1)
        err = np.abs(pairs[ok, 1] - pairs[ok, 0])
        summary.n_measured[name] = int(ok.sum())
        summary.mae_ms[name] = float(err.mean()) if err.size else float("nan")
        summary.median_ae_ms[name] = float(np.median(err)) if err.size else float("nan")
    return summary
