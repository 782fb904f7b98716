"""Tests of the Challenge 2024 scorer (ecgpaper.scoring).

Hermetic: reference records come from the project's simulator, estimates are
made from them here (shifted, offset, noisy, NaN-masked, broken), and both are
written with ``ecgcore.wfdbio.write_record`` under ``tmp_path``. The numbers
checked are the hand-computed cases of spec sections 4.2-4.6.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ecgcore.constants import LEADS_12
from ecgcore.wfdbio import write_record
from ecgpaper.delineate import DELINEATION_METHOD
from ecgpaper.scoring import (
    ScoringError,
    compare_intervals,
    compute_asci_metric,
    compute_f_measure,
    compute_ks_metric,
    compute_snr,
    compute_weighted_absolute_difference,
    evaluate_folders,
    find_shift,
    read_record,
    score_leads,
    snr_per_lead,
)
from ecgpaper.scoring import alignment
from ecgpaper.scoring.evaluate import main
from ecgpaper.simulate import simulate_ecg

REPO = Path(__file__).resolve().parents[1]
FS = 500.0


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """A 10-s, 500-Hz simulated 12-lead record, quantised to 1 uV like a written record."""
    x, _ = simulate_ecg(["NORM"], np.random.default_rng(3), fs_hz=FS, duration_s=10.0)
    return np.round(x * 1000.0) / 1000.0


def shifted(x: np.ndarray, lag: int, offset_mv: float) -> np.ndarray:
    """``x`` delayed by ``lag`` samples (advanced if negative), NaN where unknown, plus an offset."""
    y = np.full_like(x, np.nan)
    if lag > 0:
        y[lag:] = x[:-lag]
    elif lag < 0:
        y[:lag] = x[-lag:]
    else:
        y[:] = x
    return y + offset_mv


# ---------------------------------------------------------------------------------------
# compute_snr (spec 4.3)


def test_snr_hand_computed():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 2.0, 3.0, 5.0])
    # P_s = 30/4, P_n = 1/4  ->  10 log10(30)
    assert compute_snr(x, y) == pytest.approx(10 * math.log10(30.0))
    # Masked reference sample: I = {0, 1, 2}; P_s = 14/3, P_n = 1/3 (y[2] off by 1), alpha = 1.
    x2 = np.array([1.0, 2.0, 3.0, np.nan])
    y2 = np.array([1.0, 2.0, 4.0, 7.0])
    assert compute_snr(x2, y2) == pytest.approx(10 * math.log10(14.0))


def test_snr_pads_the_shorter_signal_with_nan():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 2.0, 3.5])          # the 4th sample is missing: alpha = 3/4
    expected = 10 * math.log10((1 + 4 + 9) / 0.25) * 3 / 4
    assert compute_snr(x, y) == pytest.approx(expected)
    # Extra estimate samples beyond the reference are ignored.
    assert compute_snr(x[:3], np.r_[y, 100.0]) == pytest.approx(10 * math.log10(14 / 0.25))


def test_snr_special_cases():
    x = np.sin(np.arange(200) / 9.0)
    assert compute_snr(x, np.full(200, np.nan)) == 0.0           # nothing digitized: exactly 0 dB
    assert math.isnan(compute_snr(x, x))                          # perfect: P_n = 0
    assert math.isnan(compute_snr(np.zeros(200), x))              # P_s = 0
    assert math.isnan(compute_snr(np.full(200, np.nan), x))       # |R| = 0
    assert compute_snr(x, np.full(50, np.nan)) == 0.0
    # keep_nans=False: missing estimate samples count as 0 mV and there is no alpha.
    y = x + 0.1
    y[:100] = np.nan
    z = np.where(np.isfinite(y), y, 0.0)
    assert compute_snr(x, y, keep_nans=False) == pytest.approx(compute_snr(x, z))


def test_half_nan_lead_scores_half_of_its_finite_half():
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(1000) / 13.0)
    y = x + rng.normal(0, 0.05, x.size)
    half = y.copy()
    half[500:] = np.nan
    finite_half = compute_snr(x[:500], y[:500])
    assert compute_snr(x, half) == pytest.approx(finite_half / 2, rel=1e-12)
    # The same through the per-lead API (no alignment, two identical leads).
    per_lead = snr_per_lead(np.c_[x, x], np.c_[half, half], FS, align=False)
    np.testing.assert_allclose(per_lead, finite_half / 2, rtol=1e-12)


def test_median_snr():
    x = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    y = np.array([1.0, 1.1, 1.1, 0.9, 2.0])   # squared errors 0, .01, .01, .01, 0: median .01
    assert compute_snr(x, y, noise_median=True) == pytest.approx(10 * math.log10(1.6 / 0.01))
    assert compute_snr(x, y, signal_median=True) == pytest.approx(10 * math.log10(1.0 / 0.006))


# ---------------------------------------------------------------------------------------
# Extra metrics (spec 4.5)


def test_extra_metrics_known_values():
    x = np.full(400, 0.8)
    y = x + np.where(np.arange(400) % 2 == 0, 0.1, -0.3)
    # Constant reference: the moving average is 0.8, so every weight is 1 - 0.5 = 0.5.
    assert compute_weighted_absolute_difference(x, y, FS) == pytest.approx(0.2)
    assert compute_ks_metric(x, 2 * x) == pytest.approx(1.0)
    ramp = np.arange(1.0, 5.0)   # CDFs .1 .3 .6 1 and (4 3 2 1) .4 .7 .9 1: largest gap .4
    assert compute_ks_metric(ramp, ramp[::-1]) == pytest.approx(1.0 - 0.4)
    z = np.sin(np.arange(100) / 5.0)
    tol = 0.05 * np.std(z)
    err = np.where(np.arange(100) < 30, 2 * tol, 0.5 * tol)   # 30 misses, 70 hits
    assert compute_asci_metric(z, z + err) == pytest.approx(0.4)


def test_extra_metrics_are_nan_without_common_samples():
    x = np.sin(np.arange(300) / 7.0)
    y = np.full(300, np.nan)
    assert math.isnan(compute_ks_metric(x, y))
    assert math.isnan(compute_asci_metric(x, y))
    assert math.isnan(compute_weighted_absolute_difference(x, y, FS))
    assert compute_snr(x, y, noise_median=True) == 0.0
    res = score_leads(np.c_[x, x], np.c_[y, x + 0.1], FS, extra=True)
    assert set(res) == {"snr", "snr_median", "ks", "asci", "wad"}
    assert res["snr"][0] == 0.0 and math.isnan(res["ks"][0]) and np.isfinite(res["ks"][1])


def test_asci_rejects_bad_beta():
    with pytest.raises(ValueError, match="beta"):
        compute_asci_metric(np.ones(5), np.ones(5), beta=0.0)


# ---------------------------------------------------------------------------------------
# Alignment (spec 4.2)


@pytest.mark.parametrize("lag", [100, -100])
@pytest.mark.parametrize("offset_mv", [0.3, -0.3])
def test_shifted_and_offset_copy_is_realigned(ecg, lag, offset_mv):
    y = shifted(ecg, lag, offset_mv)
    aligned = snr_per_lead(ecg, y, FS)
    assert np.nanmean(aligned) >= 40.0
    assert np.all(aligned > 25.0)
    assert np.nanmean(snr_per_lead(ecg, y, FS, align=False)) < 0.0


def test_shift_beyond_limits_is_not_applied(ecg):
    x = ecg[:, 1]
    assert find_shift(x, shifted(x, 40, 1.5), FS) == (0, 0.0)        # offset > 1 mV
    dt, dv = find_shift(x, shifted(x, 40, 0.5), FS)
    assert dt == 40 and dv == pytest.approx(0.5, abs=0.02)


def _smooth_signal(seed: int, n: int) -> np.ndarray:
    """A spiky, ECG-like random signal (peaks on a wandering baseline), mV."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = 0.1 * np.sin(2 * np.pi * t / rng.uniform(150, 400))
    for c in rng.uniform(0, n, size=max(2, n // 120)):
        x += rng.uniform(-1.5, 2.0) * np.exp(-0.5 * ((t - c) / rng.uniform(2, 12)) ** 2)
    return x


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), lag=st.integers(-124, 124),
       offset_mv=st.floats(-1.4, 1.4), noise_mv=st.sampled_from([0.0, 0.01, 0.1]))
def test_window_alignment_equals_official(seed, lag, offset_mv, noise_mv):
    fs = 250.0                       # window +-125 samples; 1000 samples keep "official" fast
    x = _smooth_signal(seed, 1000)
    y = shifted(x, lag, offset_mv) + np.random.default_rng(seed + 1).normal(0, noise_mv, x.size)
    quant = alignment.quantize(x, y)
    assume(quant is not None)
    dt_global, _ = alignment._lags_official(quant[0], quant[1])
    assume(abs(dt_global) <= round(0.5 * fs))   # the documented domain of exactness
    assert find_shift(x, y, fs, method="window") == find_shift(x, y, fs, method="official")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), lag=st.integers(-124, 124), offset_mv=st.floats(-0.9, 0.9),
       gaps=st.lists(st.tuples(st.integers(0, 999), st.integers(1, 300)), min_size=1, max_size=3))
def test_window_alignment_equals_official_with_nan_gaps(seed, lag, offset_mv, gaps):
    fs = 250.0
    x = _smooth_signal(seed, 1000)
    y = shifted(x, lag, offset_mv)
    x = x.copy()
    for k, (start, length) in enumerate(gaps):
        (x if k % 2 else y)[start:start + length] = np.nan
    quant = alignment.quantize(x, y)
    assume(quant is not None)
    dt_global, _ = alignment._lags_official(quant[0], quant[1])
    assume(abs(dt_global) <= round(0.5 * fs))
    assert find_shift(x, y, fs, method="window") == find_shift(x, y, fs, method="official")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), lag=st.integers(-250, 250), offset_mv=st.floats(-0.9, 0.9),
       noise_mv=st.sampled_from([0.0, 0.02, 0.1]))
def test_global_alignment_equals_official_beyond_the_window(seed, lag, offset_mv, noise_mv):
    # Shifts up to 1 s at 250 Hz: the official arg-max is often beyond the +-0.5-s window.
    x = _smooth_signal(seed, 1000)
    y = shifted(x, lag, offset_mv) + np.random.default_rng(seed + 1).normal(0, noise_mv, x.size)
    assert find_shift(x, y, 250.0, method="global") == find_shift(x, y, 250.0, method="official")


def test_global_search_equals_an_all_covering_window():
    rng = np.random.default_rng(5)
    for k in range(6):
        x = _smooth_signal(k, 300)
        y = shifted(x, int(rng.integers(-250, 250)), rng.uniform(-1, 1)) + rng.normal(0, 0.05, 300)
        x[rng.integers(0, 250):][:40] = np.nan
        qx, qy, _ = alignment.quantize(x, y)
        assert alignment._lags_global(qx, qy) == alignment._lags_window(qx, qy, 310)


def _bump(width_s: float, lag: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(1000) / 250.0
    x = np.exp(-0.5 * ((t - 1.2) / width_s) ** 2)
    return x, shifted(x, lag, 0.1)


def test_best_lag_on_the_window_edge_triggers_the_global_search():
    # A broad bump moved by 0.8 s (beyond the 0.5-s window): the window's best lag is on
    # its edge, so the global search runs and, as the official code, rejects the shift.
    x, y = _bump(0.6, 200)
    qx, qy, _ = alignment.quantize(x, y)
    assert alignment._lags_window(qx, qy, 125)[0] == 125
    assert alignment._lags_global(qx, qy) == alignment._lags_official(qx, qy) == (200, 23)
    assert find_shift(x, y, 250.0, method="window") == (0, 0.0)
    assert find_shift(x, y, 250.0) == find_shift(x, y, 250.0, method="official") == (0, 0.0)


def test_documented_deviation_beyond_the_window():
    # docs/scoring.md, item 1: the official best lag (1.2 s) is beyond the window and the
    # window's best lag is an interior local maximum, so the window method shifts while
    # the official code does not.
    x, y = _bump(0.3, 300)
    qx, qy, _ = alignment.quantize(x, y)
    assert alignment._lags_official(qx, qy)[0] == 300
    assert find_shift(x, y, 250.0, method="official") == (0, 0.0)
    assert find_shift(x, y, 250.0, method="window")[0] == 1
    # The default method is the exact one.
    assert find_shift(x, y, 250.0) == (0, 0.0)


def test_sparse_sums_equal_the_official_correlation_including_borders():
    # Every cell of the smoothed correlation (sparse sums + border correction) equals the
    # official image correlation (gaussian_filter with reflect borders, FFT), for signals
    # with samples at the extreme levels, at the first/last samples and NaN gaps.
    from scipy import ndimage, signal as sps

    rng = np.random.default_rng(2)
    n, m = 120, 30
    x = np.sin(np.arange(n) / 6.0) + rng.normal(0, 0.05, n)
    y = shifted(x, 7, 0.2) + rng.normal(0, 0.05, n)
    x[[0, 1, 60]] = [x.max() + 0.5, x.min() - 0.5, x.max() + 0.5]     # extreme levels, edges
    y[[-1, 50, 51]] = [y[np.isfinite(y)].min() - 0.7, np.nan, np.nan]
    qx, qy, _ = alignment.quantize(x, y)
    images = []
    for q in (qx, qy):
        img = np.zeros((alignment.NUM_LEVELS, n))
        cols = np.flatnonzero(q >= 0)
        img[q[cols], cols] = 1.0
        images.append(ndimage.gaussian_filter(img, alignment.SIGMA_PX))
    rxy = sps.fftconvolve(images[0], images[1][::-1, ::-1], mode="full")
    # rxy[255 - dq, n - 1 - dt] is the official correlation at lag dt, level difference dq.
    official = rxy[::-1, ::-1][:, n - 1 - m:n + m].T        # rows: lags -m..m, cols: dq
    g = 4  # counted context rows on each side: the smoothing along the lags reaches 4 lags
    counts = alignment._pair_counts(qx, qy, -m - g, 2 * (m + g) + 1)[:, :2 * alignment.NUM_LEVELS - 1]
    exact = alignment._exact_patch(counts, qx, qy, -m - g, g, g + 2 * m + 1, 0, counts.shape[1])
    np.testing.assert_allclose(exact, official, atol=1e-9)
    sparse = alignment._smooth_patch(counts, g, g + 2 * m + 1, 0, counts.shape[1])
    assert np.abs(sparse - official).max() > 1e-3           # the borders do matter here


def test_spare_histogram_columns_never_collide():
    rng = np.random.default_rng(7)
    n, m = 80, 12
    qx = rng.integers(0, alignment.NUM_LEVELS, n).astype(np.int32)
    qy = rng.integers(0, alignment.NUM_LEVELS, n).astype(np.int32)
    qx[[3, 4]] = [0, alignment.NUM_LEVELS - 1]           # extreme levels on both sides
    qy[[5, 6]] = [alignment.NUM_LEVELS - 1, 0]
    qx[20:30] = -1                                        # NaN gaps in both signals
    qy[40:55] = -1
    qy[-3:] = -1
    counts = alignment._pair_counts(qx, qy, -m, 2 * m + 1)
    n_dq = 2 * alignment.NUM_LEVELS - 1
    finite_x = np.flatnonzero(qx >= 0)
    t0, t1 = finite_x[0], finite_x[-1] + 1
    for i in range(2 * m + 1):
        lag = i - m
        valid = np.zeros(n_dq, dtype=int)
        missing = 0
        for j in range(t0, t1):
            k = j + lag
            if qx[j] >= 0 and 0 <= k < n and qy[k] >= 0:
                valid[qy[k] - qx[j] + alignment.NUM_LEVELS - 1] += 1
            else:
                missing += 1
        np.testing.assert_array_equal(counts[i, :n_dq], valid)
        assert counts[i, n_dq:].sum() == missing
    assert counts.shape == (2 * m + 1, alignment._ROW_STRIDE)


# ---------------------------------------------------------------------------------------
# F-measure (spec 4.6)


def test_f_measure_hand_computed():
    f, classes, per_class = compute_f_measure([["NORM"], ["STTC", "CD"], ["NORM"]],
                                              [["NORM"], ["STTC"], ["FOO"]])
    assert round(f, 3) == 0.556
    assert classes == ["CD", "NORM", "STTC"]
    assert per_class == pytest.approx({"CD": 0.0, "NORM": 2 / 3, "STTC": 1.0})


def test_f_measure_edge_cases():
    # Unlabeled references are excluded; their predictions cost nothing.
    f, classes, _ = compute_f_measure([["NORM"], [], [""]], [["NORM"], ["STTC"], ["CD"]])
    assert (f, classes) == (1.0, ["NORM"])
    # No scored record has a prediction: NaN.
    assert math.isnan(compute_f_measure([["NORM"], ["CD"]], [[], None])[0])
    # Exact, case-sensitive matching.
    assert compute_f_measure([["NORM"]], [["norm"]])[0] == 0.0


# ---------------------------------------------------------------------------------------
# Folder evaluation and the command line (spec 4.1, 4.4)


def _lead_names_mixed_case():
    return [name.upper() for name in LEADS_12]


@pytest.fixture(scope="module")
def folders(tmp_path_factory, ecg):
    """Four reference records and their outputs.

    r1: {NORM}, output = reference shifted +100 samples and +0.3 mV, channels upper-case
        and reversed, predicted {NORM}.
    r2: {STTC, CD}, no output at all.
    r3: {NORM}, output header with {FOO} but a truncated .dat.
    sub/r4: unlabeled, output = reference + noise, predicted {NORM}.
    """
    root = tmp_path_factory.mktemp("scoring")
    ref, out = root / "ref", root / "out"
    rng = np.random.default_rng(11)
    sigs = {"r1": ecg}
    for name, labels in (("r2", ["STTC", "CD"]), ("r3", ["NORM"]), ("sub/r4", [])):
        sigs[name] = np.round(simulate_ecg(labels or ["NORM"], rng)[0] * 1000) / 1000
    labels = {"r1": "NORM", "r2": "STTC, CD", "r3": "NORM", "sub/r4": ""}
    for name, sig in sigs.items():
        write_record(ref / name, sig, FS, LEADS_12, [f"Labels: {labels[name]}"])
    est1 = shifted(ecg, 100, 0.3)[:, ::-1]
    write_record(out / "r1", est1, FS, _lead_names_mixed_case()[::-1], ["Labels: NORM"])
    write_record(out / "r3", sigs["r3"], FS, LEADS_12, ["Labels: FOO"])
    dat = out / "r3.dat"
    dat.write_bytes(dat.read_bytes()[:1001])                 # truncated, odd size
    noisy = sigs["sub/r4"] + rng.normal(0, 0.02, sigs["sub/r4"].shape)
    write_record(out / "sub" / "r4", noisy, FS, LEADS_12, ["Labels: NORM"])
    return ref, out, sigs, noisy


@pytest.mark.slow
def test_evaluate_folders(folders, ecg):
    ref, out, sigs, noisy = folders
    res = evaluate_folders(ref, out, jobs=1)
    assert [r.record for r in res.records] == ["r1", "r2", "r3", "sub/r4"]
    by_name = {r.record: r for r in res.records}
    # r1: re-aligned, channels matched by case-insensitive name.
    np.testing.assert_allclose(by_name["r1"].metrics["snr"], snr_per_lead(ecg, shifted(ecg, 100, 0.3), FS))
    assert res.per_record_snr["r1"] >= 40.0
    # r2 (missing) and r3 (broken .dat) are not digitized: exactly 0 dB on every lead.
    for name in ("r2", "r3"):
        assert np.all(by_name[name].metrics["snr"] == 0.0)
        assert not by_name[name].digitized
    assert len(res.warnings) == 1 and res.warnings[0].startswith("r3:")
    written = np.round(noisy * 1000.0) / 1000.0           # the .dat holds 1-uV steps
    np.testing.assert_allclose(by_name["sub/r4"].metrics["snr"], snr_per_lead(sigs["sub/r4"], written, FS))
    # Flat mean over (record, lead).
    every = np.concatenate([r.metrics["snr"] for r in res.records])
    assert res.snr == pytest.approx(np.nanmean(every))
    assert (res.n_scored, res.n_digitized) == (4, 2)
    assert res.per_lead_snr["aVR"] == pytest.approx(np.nanmean([r.metrics["snr"][3] for r in res.records]))
    # F over r1..r3 (r4 unlabeled): NORM 2TP/(2TP+FP+FN) = 2/3, CD 0, STTC 0; FOO ignored.
    assert res.classes == ["CD", "NORM", "STTC"]
    assert res.f_measure == pytest.approx((2 / 3) / 3)
    assert (res.n_labeled, res.n_classified) == (3, 2)
    rows = {s.label: s for s in res.class_scores}
    assert (rows["NORM"].tp, rows["NORM"].fp, rows["NORM"].fn, rows["NORM"].support) == (1, 0, 1, 2)
    # Intervals: measured on r1 and r4 (digitized), method named.
    assert res.intervals.method == DELINEATION_METHOD
    assert res.intervals.n_records == 4
    assert res.intervals.n_measured["rr_ms"] == 2
    assert res.intervals.mae_ms["rr_ms"] < 20.0
    # The process pool gives the same numbers.
    res2 = evaluate_folders(ref, out, jobs=2)
    assert res2.snr == res.snr and res2.f_measure == res.f_measure


@pytest.mark.slow
def test_cli_outputs(folders, tmp_path, capsys):
    ref, out, _, _ = folders
    summary = tmp_path / "scores.txt"
    table_a, table_b, table_i = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "i.tsv"
    rc = main(["-d", str(ref), "-o", str(out), "-s", str(summary), "-ta", str(table_a),
               "-tb", str(table_b), "-ti", str(table_i), "-j", "1"])
    assert rc == 0
    res = evaluate_folders(ref, out, jobs=1, intervals=False)
    assert summary.read_text() == f"SNR: {res.snr:.3f}\nF-measure: 0.222\n"
    lines = table_a.read_text().splitlines()
    assert lines[0].split("\t") == ["Record"] + list(LEADS_12)
    assert [ln.split("\t")[0] for ln in lines[1:]] == ["r1", "r2", "r3", "sub/r4"]
    assert lines[2].split("\t")[1:] == ["0.000"] * 12
    b = table_b.read_text().splitlines()
    assert b[0].startswith("Class\tTP\tFP\tFN") and b[2].startswith("NORM\t1\t0\t1\t2\t")
    assert len(table_i.read_text().splitlines()) == 5
    printed = capsys.readouterr().out
    assert "Per-lead SNR" in printed and "Per-class F-measure" in printed
    # Without -s the summary is printed; -x adds the extra lines in the official order.
    assert main(["-d", str(ref), "-o", str(out), "-x", "-j", "1", "--no-intervals"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in printed[:6]] == [
        "SNR", "SNR median", "KS metric", "ASCI metric", "Weighted absolute difference metric",
        "F-measure"]


@pytest.mark.slow
def test_cli_from_another_directory(folders, tmp_path):
    ref, out, _, _ = folders
    proc = subprocess.run(
        [sys.executable, str(REPO / "evaluate_model.py"), "-d", str(ref), "-o", str(out),
         "-s", "scores.txt", "--no-intervals", "-j", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "scores.txt").read_text()
    assert text.startswith("SNR: ") and text.endswith("F-measure: 0.222\n")
    assert "r3: unreadable estimate signal" in proc.stderr


def test_all_nan_output_scores_zero_and_exact_copy_drops_out(tmp_path, ecg):
    ref, out = tmp_path / "ref", tmp_path / "out"
    other = ecg[:, ::-1].copy()
    write_record(ref / "a", ecg, FS, LEADS_12, ["Labels: NORM"])
    write_record(ref / "b", other, FS, LEADS_12, ["Labels: NORM"])
    write_record(out / "a", np.full(ecg.shape, np.nan), FS, LEADS_12)
    write_record(out / "b", other, FS, LEADS_12)
    res = evaluate_folders(ref, out, jobs=1, intervals=False)
    assert res.snr == 0.0                          # record b is NaN everywhere and drops out
    assert np.all(np.isnan(res.records[1].metrics["snr"]))
    assert math.isnan(res.f_measure)               # no predictions at all
    write_record(out / "a", ecg, FS, LEADS_12)
    assert math.isnan(evaluate_folders(ref, out, jobs=1, intervals=False).snr)


def test_no_readable_output_gives_nan(tmp_path, ecg):
    write_record(tmp_path / "ref" / "a", ecg, FS, LEADS_12, ["Labels: NORM"])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.hea").write_text((tmp_path / "ref" / "a.hea").read_text())
    res = evaluate_folders(tmp_path / "ref", tmp_path / "out", jobs=1, intervals=False)
    assert math.isnan(res.snr) and res.n_digitized == 0
    assert np.all(res.records[0].metrics["snr"] == 0.0)


def test_contract_violations_name_the_record(tmp_path, ecg):
    ref, out = tmp_path / "ref", tmp_path / "out"
    write_record(ref / "rec7", ecg, FS, LEADS_12)
    write_record(out / "rec7", ecg, 250.0, LEADS_12)
    with pytest.raises(ScoringError, match="rec7.*sampling frequency"):
        evaluate_folders(ref, out, jobs=1)
    write_record(out / "rec7", ecg, FS, LEADS_12, units=["uV"] * 12)
    with pytest.raises(ScoringError, match="rec7.*mV"):
        evaluate_folders(ref, out, jobs=1)
    assert main(["-d", str(ref), "-o", str(out)]) == 2
    with pytest.raises(FileNotFoundError):
        evaluate_folders(out / "nothing", out)


def test_fast_reader_matches_wfdb(tmp_path, ecg):
    x = ecg.copy()
    x[100:200, 3] = np.nan
    write_record(tmp_path / "r", x, FS, LEADS_12, gains=[1000.0] * 6 + [200.0] * 6,
                 baselines=[0] * 6 + [5] * 6)
    signal, header = read_record(tmp_path / "r")
    np.testing.assert_array_equal(signal, wfdb.rdrecord(str(tmp_path / "r")).p_signal)
    assert header.lead_names == list(LEADS_12)
    (tmp_path / "r.dat").unlink()
    assert read_record(tmp_path / "r") is None


def test_interval_errors_are_zero_for_a_copy(ecg):
    masked = ecg.copy()
    masked[:, [0, 2, 3]] = np.nan
    values = compare_intervals(masked, ecg + 0.05, FS)
    for ref_ms, est_ms in values.values():
        assert np.isfinite(ref_ms) and ref_ms == est_ms
    assert 500.0 < values["rr_ms"][0] < 1500.0


def test_missing_channel_and_broken_header_are_warnings(tmp_path, ecg):
    ref, out = tmp_path / "ref", tmp_path / "out"
    for name in ("a", "b"):
        write_record(ref / name, ecg, FS, LEADS_12, ["Labels: NORM"])
    write_record(out / "a", ecg[:, :11] + 0.01 * np.sin(np.arange(ecg.shape[0]))[:, None], FS,
                 LEADS_12[:11], ["Labels: NORM"])
    (out / "b.hea").write_text("b twelve 500 5000\n")            # unparseable header
    res = evaluate_folders(ref, out, jobs=1, intervals=False)
    snr_a = res.records[0].metrics["snr"]
    assert snr_a[11] == 0.0 and np.all(snr_a[:11] > 10.0)        # V6 missing: not digitized
    assert np.all(res.records[1].metrics["snr"] == 0.0) and not res.records[1].digitized
    assert [w.split(":")[0] for w in res.warnings] == ["a", "b"]
    assert "V6" in res.warnings[0] and "unreadable estimate header" in res.warnings[1]
    assert res.f_measure == pytest.approx(2 / 3)                  # NORM: TP a, FN b (no labels)
