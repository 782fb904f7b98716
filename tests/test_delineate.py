"""Tests of ecgpaper.delineate on synthetic Gaussian-wave ECGs and on LUDB record 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgpaper.delineate import (
    DELINEATION_METHOD, delineate, detect_r_peaks, fill_nan_hold, measure_intervals,
)

LUDB = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ludb_sample" / "1"
if not Path(str(LUDB) + ".hea").exists():
    LUDB = Path("/work/shared/data/ludb_sample/1")

# Waves relative to the R peak: (centre s, sigma s, amplitude mV).
WAVES = ((-0.18, 0.020, 0.15), (-0.025, 0.008, -0.1), (0.0, 0.010, 1.0),
         (0.025, 0.008, -0.25), (0.30, 0.040, 0.3))
# Known boundaries: QRS from Q - 2.5 sigma to S + 2.5 sigma (90 ms); the
# tangent at the steepest slope of a Gaussian meets the baseline at mu +- 2 sigma,
# so T end = 0.38 s (QT = 425 ms) and P onset = -0.22 s (PR = 175 ms).
QRS_MS, QT_MS, PR_MS = 90.0, 425.0, 175.0


def gauss_ecg(fs_hz, rr_s, rng, dur_s=10.0, n_leads=12, noise_mv=0.01, rr_jitter=0.0):
    t = np.arange(int(round(dur_s * fs_hz))) / fs_hz
    beats = []
    b = 0.4
    while b < dur_s - 0.1:
        beats.append(b)
        b += rr_s * (1.0 + rr_jitter * rng.standard_normal())
    gains = np.linspace(0.6, 1.4, n_leads) * np.where(np.arange(n_leads) % 3 == 1, -1, 1)
    sig = np.zeros((t.size, n_leads))
    for b in beats:
        for mu, sd, a in WAVES:
            sig += (a * np.exp(-0.5 * ((t - b - mu) / sd) ** 2))[:, None] * gains
    sig += noise_mv * rng.standard_normal(sig.shape)
    return sig, np.array(beats)


def mask_3x4(sig):
    """NaN outside each short lead's 2.5-s window; lead II (index 1) kept whole."""
    out = sig.copy()
    n = len(sig)
    for col in range(4):
        keep = np.zeros(n, bool)
        keep[col * n // 4:(col + 1) * n // 4] = True
        for lead in range(3 * col, 3 * col + 3):
            if lead != 1:
                out[~keep, lead] = np.nan
    return out


def test_method_name():
    assert isinstance(DELINEATION_METHOD, str) and "ecgpaper.delineate" in DELINEATION_METHOD


@pytest.mark.parametrize("fs_hz", [100.0, 250.0, 500.0, 1000.0])
@pytest.mark.parametrize("rr_s", [0.45, 0.8, 1.3])
def test_r_peaks_and_rate(fs_hz, rr_s):
    rng = np.random.default_rng(1)
    sig, beats = gauss_ecg(fs_hz, rr_s, rng)
    peaks = detect_r_peaks(sig, fs_hz)
    assert np.all(np.diff(peaks) > 0)
    assert len(peaks) == len(beats)
    assert np.max(np.abs(peaks / fs_hz - beats)) < 0.02
    m = measure_intervals(sig, fs_hz)
    assert m["rr_ms"] == pytest.approx(rr_s * 1000, abs=1000 / fs_hz + 1)
    assert m["hr_bpm"] == pytest.approx(60 / rr_s, rel=0.02)
    assert m["rr_cv"] < 0.02


@pytest.mark.parametrize("fs_hz", [100.0, 250.0, 500.0, 1000.0])
def test_intervals_known_waves(fs_hz):
    rng = np.random.default_rng(2)
    sig, _ = gauss_ecg(fs_hz, 0.85, rng)
    m = measure_intervals(sig, fs_hz)
    assert m["qrs_ms"] == pytest.approx(QRS_MS, abs=15)
    assert m["qt_ms"] == pytest.approx(QT_MS, abs=25)
    assert m["pr_ms"] == pytest.approx(PR_MS, abs=25)
    assert set(m) >= {"hr_bpm", "rr_ms", "rr_cv", "qrs_ms", "qt_ms", "pr_ms", "r_peaks"}
    assert all(isinstance(p, int) for p in m["r_peaks"])


def test_masked_3x4_and_nan_leads():
    rng = np.random.default_rng(3)
    sig, beats = gauss_ecg(500.0, 0.75, rng, noise_mv=0.02)
    full = measure_intervals(sig, 500.0)
    masked = mask_3x4(sig)
    masked[:, 5] = np.nan
    masked[:, 9] = np.nan
    m = measure_intervals(masked, 500.0)
    assert len(m["r_peaks"]) == len(beats)
    assert m["rr_ms"] == pytest.approx(750, abs=4)
    for key, tol in (("qrs_ms", 10), ("qt_ms", 20), ("pr_ms", 20)):
        assert m[key] == pytest.approx(full[key], abs=tol), key


def test_rr_irregular():
    rng = np.random.default_rng(4)
    sig, _ = gauss_ecg(500.0, 0.7, rng, rr_jitter=0.2)
    assert measure_intervals(sig, 500.0)["rr_cv"] > 0.1


def test_degenerate_inputs():
    fs = 500.0
    for sig in (np.full((5000, 12), np.nan), np.zeros((5000, 12)), np.zeros((10, 3)),
                np.zeros(0)):
        m = measure_intervals(sig, fs)
        assert np.isnan(m["hr_bpm"]) and np.isnan(m["qt_ms"]) and m["r_peaks"] == []
    assert delineate(np.zeros((5000, 2)), fs).median_beat_mv is None


def test_fill_nan_hold():
    x = np.array([[np.nan, np.nan], [1.0, np.nan], [np.nan, np.nan], [2.0, np.nan]])
    np.testing.assert_array_equal(fill_nan_hold(x), [[1, 0], [1, 0], [1, 0], [2, 0]])


def test_speed_vectorized():
    """Delineation stays a few ms per record (1,000 records well under 30 s)."""
    import time
    rng = np.random.default_rng(5)
    sig = mask_3x4(gauss_ecg(500.0, 0.8, rng)[0])
    t0 = time.perf_counter()
    for _ in range(10):
        measure_intervals(sig, 500.0)
    assert (time.perf_counter() - t0) / 10 < 0.2


@pytest.mark.shared_data
@pytest.mark.skipif(not Path(str(LUDB) + ".hea").exists(), reason="LUDB sample absent")
def test_ludb_record_1_against_experts():
    from ecgcore.wfdbio import read_signal

    sig, header = read_signal(LUDB)
    fs = header.fs_hz
    ann = wfdb.rdann(str(LUDB), "ii")
    s, sym = np.asarray(ann.sample), ann.symbol
    r = np.array([s[i] for i, c in enumerate(sym) if c == "N"])
    qon = np.array([s[i - 1] for i, c in enumerate(sym) if c == "N"])
    qoff = np.array([s[i + 1] for i, c in enumerate(sym) if c == "N"])
    tend = np.array([s[i + 1] for i, c in enumerate(sym) if c == "t"])
    pon = np.array([s[i - 1] for i, c in enumerate(sym) if c == "p"])
    ref_qrs = np.median(qoff - qon) / fs * 1000
    ref_qt = np.median([tend[tend > q][0] - q for q in qon if (tend > q).any()]) / fs * 1000
    ref_pr = np.median([qon[qon > p][0] - p for p in pon]) / fs * 1000
    ref_rr = np.median(np.diff(r)) / fs * 1000
    for variant in (sig, mask_3x4(sig)):
        m = measure_intervals(variant, fs)
        peaks = np.array(m["r_peaks"])
        # Every annotated beat is found within 20 ms.
        assert all(np.min(np.abs(peaks - x)) <= 0.02 * fs for x in r)
        assert abs(m["rr_ms"] - ref_rr) < 40
        assert abs(m["qrs_ms"] - ref_qrs) < 25
        assert abs(m["qt_ms"] - ref_qt) < 50
        assert abs(m["pr_ms"] - ref_pr) < 25


def test_t_end_tangent_stays_on_the_t_wave():
    """A slow T wave followed by a sharper P wave: the tangent must not use the P's descent."""
    from ecgpaper.delineate import _tangent_end

    t = np.arange(400.0)
    t_wave = 0.3 * np.exp(-0.5 * ((t - 60) / 25) ** 2)
    p_wave = 0.15 * np.exp(-0.5 * ((t - 300) / 8) ** 2)   # steeper descent than the T's
    curve = t_wave + p_wave
    end = _tangent_end(curve, 60, 380, float(curve[60:380].min()))
    # tangent at the T's steepest descent (t = 85) cut with the baseline: about 60 + 2 * 25
    assert end is not None and 100 <= end <= 125
