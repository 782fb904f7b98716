"""Tests of ecgpaper.classify on synthetic rhythm records (hermetic)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from ecgcore.constants import CLASSES, LEADS_12
from ecgcore.wfdbio import write_record
from ecgpaper.classify import FEATURE_NAMES, extract_features, load_classifier, train_classifier
from ecgpaper.classify.augment import augment_digitized, mask_3x4
from ecgpaper.classify.gbm import fit_gbm, make_bins
from ecgpaper.classify.model import best_threshold
from ecgpaper.classify.trees import predict_raw
from ecgpaper.simulate import simulate_ecg

FS = 500.0
RHYTHMS = ("NORM", "TACHY", "BRADY", "AFIB/AFL")
_GAINS = np.array([1.0, 1.2, 0.4, -1.0, 0.5, 0.8, -0.6, 0.3, 0.9, 1.3, 1.2, 1.0])


def synth_record(label: str, rng: np.random.Generator, fs_hz: float = FS, dur_s: float = 10.0):
    """A 12-lead Gaussian-wave ECG with the rhythm of ``label``."""
    t = np.arange(int(dur_s * fs_hz)) / fs_hz
    if label == "TACHY":
        rr = 60.0 / rng.uniform(110, 150)
    elif label == "BRADY":
        rr = 60.0 / rng.uniform(40, 55)
    else:
        rr = 60.0 / rng.uniform(62, 95)
    beats, b = [], rng.uniform(0.1, 0.6)
    while b < dur_s:
        beats.append(b)
        if label == "AFIB/AFL":
            b += rr * rng.uniform(0.55, 1.45)
        else:
            b += rr * (1 + 0.02 * rng.standard_normal())
    waves = [(-0.025, 0.008, -0.1), (0.0, 0.010, 1.0), (0.025, 0.008, -0.25),
             (min(0.30, 0.4 * rr), 0.04, 0.3)]
    if label != "AFIB/AFL":
        waves.append((-0.16, 0.02, 0.15))
    gains = _GAINS * rng.uniform(0.7, 1.3, 12)
    sig = np.zeros((t.size, 12))
    for b in beats:
        for mu, sd, a in waves:
            sig += (a * np.exp(-0.5 * ((t - b - mu) / sd) ** 2))[:, None] * gains
    if label == "AFIB/AFL":  # fibrillatory waves
        f = rng.uniform(5, 8)
        sig += 0.05 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6))[:, None] * rng.uniform(0.3, 1, 12)
    sig += 0.01 * rng.standard_normal(sig.shape)
    return sig


# Training takes about 10 s, so every test that uses this fixture is marked slow.
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify")
    rng = np.random.default_rng(0)
    records = []
    for i in range(44):
        label = RHYTHMS[i % 4]
        rec = root / "train" / f"r{i:03d}"
        # Lower-case lead names and 250 Hz for some records: any case, any rate.
        fs = FS if i % 3 else 250.0
        names = [n.lower() for n in LEADS_12] if i % 2 else list(LEADS_12)
        write_record(rec, synth_record(label, rng, fs), fs, names, comments=(f"Labels: {label}",))
        records.append(str(rec))
    # An unlabelled and a broken record are skipped without stopping training.
    write_record(root / "train" / "unlabelled", synth_record("NORM", rng), FS, list(LEADS_12))
    (root / "train" / "broken.hea").write_text("broken 12 500 5000\nbroken.dat 16 1000 0 0 0 0 0 I\n")
    records += [str(root / "train" / "unlabelled"), str(root / "train" / "broken")]
    model_dir = root / "model"
    train_classifier(records, model_dir, seed=0)
    return model_dir, load_classifier(model_dir)


@pytest.mark.slow
def test_model_files_are_json_and_npz(trained):
    model_dir, clf = trained
    cfg = json.loads((model_dir / "config.json").read_text())
    assert cfg["records_summary"]["used"] == 44
    assert cfg["records_summary"]["unlabelled"] == 1 and cfg["records_summary"]["failed"] == 1
    with np.load(model_dir / "trees.npz", allow_pickle=False) as z:
        assert len(z.files) > 0
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "trees.npz"]


@pytest.mark.slow
def test_recovers_rhythm_classes_on_masked_input(trained):
    _, clf = trained
    assert set(clf.classes) == set(RHYTHMS)
    rng = np.random.default_rng(123)
    hits = {c: 0 for c in RHYTHMS}
    n = 8
    for label in RHYTHMS:
        for _ in range(n):
            x = augment_digitized(synth_record(label, rng), FS, rng)  # 3x4 page + errors
            pred = clf.predict(x, FS, LEADS_12)
            hits[label] += label in pred
    for label in ("TACHY", "BRADY", "AFIB/AFL"):
        assert hits[label] >= n - 1, hits
    assert hits["NORM"] >= n - 2, hits


@pytest.mark.slow
def test_reload_identical_and_absent_classes_never_emitted(trained):
    model_dir, clf = trained
    clf2 = load_classifier(model_dir)
    rng = np.random.default_rng(7)
    for label in RHYTHMS:
        x = mask_3x4(synth_record(label, rng))
        x[:, 4] = np.nan
        p1, p2 = clf.predict_proba(x, FS, LEADS_12), clf2.predict_proba(x, FS, LEADS_12)
        assert p1 == p2
        pred = clf2.predict(x, FS, LEADS_12)
        assert set(pred) <= set(RHYTHMS) and set(pred) <= set(CLASSES)
    # All-NaN input: no crash, only known classes.
    pred = clf.predict(np.full((5000, 12), np.nan), FS, LEADS_12)
    assert set(pred) <= set(RHYTHMS)


def test_load_missing_model_returns_none(tmp_path):
    assert load_classifier(tmp_path) is None


def test_features_shape_nan_and_lead_order():
    rng = np.random.default_rng(1)
    x = synth_record("NORM", rng)
    f = extract_features(x, FS, LEADS_12)
    assert f.shape == (len(FEATURE_NAMES),)
    # Same signal with leads permuted and renamed gives the same features.
    perm = rng.permutation(12)
    g = extract_features(x[:, perm], FS, [LEADS_12[j].upper() for j in perm])
    np.testing.assert_allclose(f, g, equal_nan=True)
    assert np.isnan(extract_features(np.full((5000, 12), np.nan), FS, LEADS_12)[0])


def test_gbm_learns_thresholds_and_missing_direction():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 4))
    y_nan = rng.random(400) < 0.3
    X[y_nan, 2] = np.nan  # missingness itself is the signal for target 1
    Y = np.stack([X[:, 0] > 0.7, y_nan], axis=1)
    trees = fit_gbm(X, Y, n_iter=30)
    Xt = rng.standard_normal((200, 4))
    t_nan = rng.random(200) < 0.3
    Xt[t_nan, 2] = np.nan
    assert np.mean((predict_raw(trees[0], Xt) > 0) == (Xt[:, 0] > 0.7)) > 0.95
    assert np.mean((predict_raw(trees[1], Xt) > 0) == t_nan) > 0.98
    # The exported thresholds are cut points of the training data.
    assert np.all(np.isin(trees[0]["threshold"][~trees[0]["is_leaf"]], make_bins(X)[1]))


def test_best_threshold_separable():
    y = np.array([0, 0, 0, 1, 1])
    thr, f = best_threshold(y, np.array([0.1, 0.2, 0.3, 0.7, 0.8]))
    assert f == 1.0 and 0.3 < thr < 0.7


@pytest.mark.slow
def test_recovers_simulator_rhythm_classes(tmp_path):
    """Trained on ecgpaper.simulate records, the rhythm classes come back on masked, noisy input."""
    rng = np.random.default_rng(11)
    records = []
    for i in range(32):
        label = RHYTHMS[i % 4]
        x, _ = simulate_ecg([label], rng, fs_hz=FS)
        rec = tmp_path / f"s{i:03d}"
        write_record(rec, x, FS, list(LEADS_12), comments=(f"Labels: {label}",))
        records.append(str(rec))
    train_classifier(records, tmp_path / "model", seed=1)
    clf = load_classifier(tmp_path / "model")
    hits = {c: 0 for c in RHYTHMS}
    n = 5
    for label in RHYTHMS:
        for _ in range(n):
            x, _ = simulate_ecg([label], rng, fs_hz=FS)
            pred = clf.predict(augment_digitized(x, FS, rng), FS, LEADS_12)
            hits[label] += label in pred
            assert set(pred) <= set(RHYTHMS)
    for label in ("TACHY", "BRADY", "AFIB/AFL"):
        assert hits[label] >= n - 1, hits


def test_time_budget_and_no_records(tmp_path):
    rng = np.random.default_rng(3)
    rec = tmp_path / "r0"
    write_record(rec, synth_record("NORM", rng), FS, list(LEADS_12), comments=("Labels: NORM",))
    train_classifier([str(rec)], tmp_path / "m", time_budget_s=1e-9)
    clf = load_classifier(tmp_path / "m")
    assert clf is not None and clf.classes == []
    assert clf.predict(synth_record("NORM", rng), FS, LEADS_12) == []
    assert clf.config["records_summary"]["not_read_time_budget"] == 1


def test_all_records_failing_raises_and_writes_nothing(tmp_path):
    rng = np.random.default_rng(4)
    good, broken = tmp_path / "r0", tmp_path / "r1"
    for rec in (good, broken):
        write_record(rec, synth_record("NORM", rng), FS, list(LEADS_12), comments=("Labels: NORM",))
    (tmp_path / "r1.dat").write_bytes(b"\x00")  # header intact, signal file truncated
    with pytest.raises(RuntimeError, match=r"no labelled record could be loaded \(1 failed"):
        train_classifier([str(broken)], tmp_path / "m")
    assert not (tmp_path / "m").exists()
    train_classifier([str(good), str(broken)], tmp_path / "m2")  # one broken record: skipped
    assert load_classifier(tmp_path / "m2").config["records_summary"]["failed"] == 1


def _wave_record(beats: list[tuple]) -> np.ndarray:
    """10 s of 12 leads at ``FS``: for each ``(time_s, waves)`` or ``(time_s, waves, gains)``
    of ``beats``, Gaussian waves ``(offset_s, sd_s, mV)`` around the beat time, times the
    per-lead ``gains`` (default ``_GAINS``)."""
    t = np.arange(int(10 * FS)) / FS
    sig = np.zeros((t.size, 12))
    for b, waves, *gains in beats:
        g = gains[0] if gains else _GAINS
        for mu, sd, a in waves:
            sig += (a * np.exp(-0.5 * ((t - b - mu) / sd) ** 2))[:, None] * g
    return sig


def _pac_record(rng: np.random.Generator, hr_bpm: float, every: int = 4) -> np.ndarray:
    """Sinus rhythm with a premature atrial beat (inverted, early P wave) every ``every`` beats."""
    rr = 60.0 / hr_bpm
    beats = []
    b, k = 0.3, 0
    while b < 10.0:
        premature = k % every == every - 1
        p_amp = -0.12 if premature else 0.15
        beats.append((b, ((-0.16, 0.02, p_amp), (-0.025, 0.008, -0.1), (0.0, 0.010, 1.0),
                          (0.025, 0.008, -0.25), (min(0.30, 0.4 * rr), 0.04, 0.3))))
        k += 1
        nxt_premature = k % every == every - 1
        step = 0.65 if nxt_premature else (1.3 if premature else 1.0)
        b += rr * step * (1 + 0.01 * rng.standard_normal())
    sig = _wave_record(beats)
    return sig + 0.01 * rng.standard_normal(sig.shape)


def test_rr_irregularity_without_premature_beats():
    from ecgpaper.classify.features import BIGEMINY_CV_MAX, bigeminy_cv, rr_cv_without_premature

    rng = np.random.default_rng(5)
    sinus = 600.0 * (1 + 0.01 * rng.standard_normal(16))
    pacs = sinus.copy()
    pacs[[3, 9]] *= 0.65  # premature beats ...
    pacs[[4, 10]] *= 1.3  # ... and their pauses
    af = 600.0 * rng.uniform(0.6, 1.4, 16)
    bigeminy = np.resize([0.6, 1.2], 15) * sinus[:15]  # every interval touches a PAC
    assert np.std(pacs) / np.mean(pacs) > 0.1
    assert rr_cv_without_premature(pacs) < 0.03
    for rr in (bigeminy, bigeminy[1:]):  # the median on the long or the short intervals
        assert rr_cv_without_premature(rr) < 0.03
    assert rr_cv_without_premature(af) > 0.1  # the AF rule's bound
    assert np.isnan(rr_cv_without_premature(np.array([600.0, 610.0])))
    # AF-like random intervals seldom look bigeminal (about 1 % of strips)
    draws = [bigeminy_cv(600.0 * rng.uniform(0.6, 1.4, rng.integers(8, 25))) for _ in range(2000)]
    assert np.mean(np.array(draws) < BIGEMINY_CV_MAX) < 0.02


@pytest.mark.parametrize("hr_bpm", [75.0, 120.0])
def test_af_rule_not_met_by_sinus_with_pacs(hr_bpm):
    """PACs make the RR irregular, but the sinus beats keep their P waves: no AF rule."""
    from ecgpaper.classify.model import irregular_without_p

    rng = np.random.default_rng(int(hr_bpm))
    fi = FEATURE_NAMES.index
    for mask in (False, True):
        pac = _pac_record(rng, hr_bpm)
        f = extract_features(mask_3x4(pac) if mask else pac, FS, LEADS_12)
        assert f[fi("rr_cv")] > 0.1 and f[fi("rr_cv_np")] < 0.05, f[[fi("rr_cv"), fi("rr_cv_np")]]
        assert f[fi("p_corr_np")] > 0.9
        assert not irregular_without_p(f[None])[0]


def test_af_rule_on_simulated_af_and_pacs():
    """ecgpaper.simulate records: PAC records never meet the AF rule, most AF records do.

    The rule is one of two votes for AFIB/AFL (the trees are the other; flutter with a
    regular or P-wave-locked conduction is theirs).
    """
    from ecgpaper.classify.model import irregular_without_p

    rng = np.random.default_rng(3)
    hits = {"AFIB/AFL": 0, "PAC": 0}
    for label in ["AFIB/AFL"] * 8 + ["PAC"] * 4:
        x, _ = simulate_ecg([label], rng, fs_hz=FS)
        f = extract_features(mask_3x4(x), FS, LEADS_12)
        hits[label] += bool(irregular_without_p(f[None])[0])
    assert hits["PAC"] == 0 and hits["AFIB/AFL"] >= 5, hits


@pytest.mark.slow
def test_fast_af_is_afib_not_tachy(trained):
    """AF at a ventricular rate above 100/min is AFIB/AFL; TACHY is for organised rhythms."""
    from ecgpaper.classify.model import irregular_without_p

    model_dir, clf = trained
    cfg = json.loads((model_dir / "config.json").read_text())
    assert cfg["af_rule"] == {"rr_cv_np_min": 0.1, "p_corr_np_max": 0.7}
    rng = np.random.default_rng(22)
    t = np.arange(int(10 * FS)) / FS
    waves = ((-0.025, 0.008, -0.1), (0.0, 0.010, 1.0), (0.025, 0.008, -0.25), (0.2, 0.04, 0.3))
    beats, b = [], 0.2
    while b < 10.0:
        beats.append((b, waves))
        b += 0.5 * rng.uniform(0.6, 1.4)  # about 120/min, irregularly irregular
    x = _wave_record(beats)
    # fibrillatory waves: 4-9 Hz band-limited noise, 0.1 mV
    fw = np.fft.irfft(np.fft.rfft(rng.standard_normal(t.size))
                      * ((np.fft.rfftfreq(t.size, 1 / FS) > 4) & (np.fft.rfftfreq(t.size, 1 / FS) < 9)),
                      t.size)
    x += (0.1 * fw / fw.std())[:, None] + 0.01 * rng.standard_normal(x.shape)
    f = clf.features(x, FS, LEADS_12)
    assert f[FEATURE_NAMES.index("hr_bpm")] > 100 and irregular_without_p(f[None])[0]
    pred = clf.predict(x, FS, LEADS_12)
    assert "AFIB/AFL" in pred and "TACHY" not in pred
    # Without the rule (af_rule=None in the config) TACHY comes from the rate alone.
    clf.config["af_rule"] = None
    try:
        assert "TACHY" in clf.predict(x, FS, LEADS_12)
    finally:
        clf.config["af_rule"] = cfg["af_rule"]


def test_beats_keep_their_shape_on_a_3x4_page():
    """Beat times found on the leads of each 2.5-s column are re-timed on the rhythm strip.

    The R peak comes at a different time in each lead (here up to +-24 ms), so beat times
    found on several leads move when a 3x4 page changes columns; unaligned, the same
    beat shape no longer correlates with the median beat and RR intervals jitter.
    """
    fs, rng = 250.0, np.random.default_rng(5)
    t = np.arange(int(10 * fs)) / fs
    delay_s = np.linspace(-0.024, 0.024, 12)[rng.permutation(12)]
    beats = np.arange(0.4, 9.9, 0.8) + 0.01 * rng.standard_normal(12)
    x = np.zeros((t.size, 12))
    for j in range(12):
        for b in beats:
            d = delay_s[j]
            x[:, j] += (_GAINS[j] * np.exp(-0.5 * ((t - b - d) / 0.012) ** 2)
                        - 0.3 * _GAINS[j] * np.exp(-0.5 * ((t - b - d - 0.03) / 0.01) ** 2)
                        + 0.15 * np.exp(-0.5 * ((t - b + 0.16) / 0.02) ** 2)
                        + 0.3 * np.exp(-0.5 * ((t - b - 0.3) / 0.04) ** 2))
    full = extract_features(x, fs)
    page = extract_features(mask_3x4(x), fs)
    i = {n: FEATURE_NAMES.index(n) for n in ("rr_cv", "qrs_corr_min", "frac_odd_beats")}
    assert page[i["frac_odd_beats"]] == 0.0
    assert page[i["qrs_corr_min"]] > 0.95
    assert abs(page[i["rr_cv"]] - full[i["rr_cv"]]) < 0.005


def _pvc_record(rng: np.random.Generator, hr_bpm: float = 75.0, every: int = 4) -> np.ndarray:
    """Sinus rhythm with a premature ventricular beat (wide, no P wave) every ``every`` beats."""
    rr = 60.0 / hr_bpm
    beats = []
    b, k = 0.3, 0
    while b < 10.0:
        pvc = k % every == every - 1
        beats.append((b, ((0.0, 0.035, -1.2), (0.09, 0.05, 0.5)) if pvc else
                      ((-0.16, 0.02, 0.15), (-0.025, 0.008, -0.1), (0.0, 0.010, 1.0),
                       (0.025, 0.008, -0.25), (min(0.30, 0.4 * rr), 0.04, 0.3))))
        k += 1
        step = 0.6 if k % every == every - 1 else (1.4 if pvc else 1.0)
        b += rr * step * (1 + 0.01 * rng.standard_normal())
    sig = _wave_record(beats)
    return sig + 0.01 * rng.standard_normal(sig.shape)


def _sinus_arrhythmia_record(rng: np.random.Generator) -> np.ndarray:
    """Sinus rhythm whose RR swings +-18 % over 5 beats (respiratory): no beat is ectopic."""
    waves = ((-0.16, 0.02, 0.15), (-0.025, 0.008, -0.1), (0.0, 0.010, 1.0),
             (0.025, 0.008, -0.25), (0.3, 0.04, 0.3))
    beats = []
    b, k = 0.3, 0
    while b < 10.0:
        beats.append((b, waves))
        k += 1
        b += 0.85 * (1 + 0.18 * np.sin(2 * np.pi * k / 5))
    sig = _wave_record(beats)
    return sig + 0.01 * rng.standard_normal(sig.shape)


def test_premature_beat_rules_tell_pac_from_pvc():
    """Early beats of normal shape are PACs, early beats of another shape PVCs; sinus rhythm,
    even with a respiratory RR swing that makes some RR intervals short, is neither."""
    from ecgpaper.classify.model import premature_beats

    rng = np.random.default_rng(9)
    records = {"PAC": _pac_record(rng, 75.0), "PVC": _pvc_record(rng),
               None: synth_record("NORM", rng), "": _sinus_arrhythmia_record(rng)}
    for label, x in records.items():
        for mask in (False, True):
            f = extract_features(mask_3x4(x) if mask else x, FS, LEADS_12)
            got = {c for c, hit in premature_beats(f[None]).items() if hit[0]}
            assert got == ({label} if label else set()), (label, mask, got)
    f = extract_features(records[""], FS, LEADS_12)
    assert f[FEATURE_NAMES.index("frac_premature")] > 0  # short RRs, but none abrupt
    # AF is irregular, not ectopic: no PAC/PVC while the AF rule holds.
    f = extract_features(records["PAC"], FS, LEADS_12)[None]
    assert not any(v[0] for v in premature_beats(f, af=np.array([True])).values())


def test_beat_rules_setting():
    from ecgpaper.classify.model import fit_classifier

    rng = np.random.default_rng(4)
    X = rng.standard_normal((12, len(FEATURE_NAMES)))
    Y = np.zeros((12, len(CLASSES)), bool)
    with pytest.raises(ValueError, match="beat_rules"):
        fit_classifier(X, Y, np.arange(12), np.zeros(12, int), params={"beat_rules": "maybe"})


def test_af_threshold_is_chosen_for_the_decision_with_the_rule():
    """When the AF rule finds every AF record and the other features are noise, the AF
    threshold is chosen with the rule applied: its cross-validated F is 1."""
    from ecgpaper.classify.model import fit_classifier

    rng = np.random.default_rng(5)
    n = 60
    X = rng.standard_normal((n, len(FEATURE_NAMES)))
    Y = np.zeros((n, len(CLASSES)), bool)
    af = np.arange(n) % 3 == 0
    Y[af, CLASSES.index("AFIB/AFL")] = True
    Y[~af, CLASSES.index("NORM")] = True
    # only the rule-only features tell AF apart (the trees never see them)
    X[:, FEATURE_NAMES.index("rr_cv_np")] = np.where(af, 0.25, 0.03)
    X[:, FEATURE_NAMES.index("p_corr_np")] = np.where(af, 0.2, 0.95)
    X[:, FEATURE_NAMES.index("hr_bpm")] = 120.0  # no veto
    clf = fit_classifier(X, Y, np.arange(n), np.zeros(n, int))
    assert clf.config["cv_f"]["AFIB/AFL"] == 1.0
    assert ["AFIB/AFL" in labels for labels in clf.predict_features(X)] == af.tolist()


def test_conduction_features_q_waves_and_terminal_forces():
    """Inferior Q waves (a dip of 0.5 mV, 12 ms s.d., just before the R), and a late R' in V1
    with a late S in I and V6 (right bundle branch block), are measured where they are and
    not elsewhere."""
    lead = LEADS_12.index
    inferior = np.isin(np.arange(12), [lead("II"), lead("III"), lead("aVF")])
    base = ((-0.16, 0.02, 0.15), (0.0, 0.010, 1.0), (0.025, 0.008, -0.25), (0.3, 0.04, 0.3))
    beats = []
    for b in np.arange(0.4, 9.8, 0.85):
        beats.append((b, base, np.where(inferior, 0.0, np.abs(_GAINS))))
        beats.append((b, ((-0.028, 0.012, -0.5),) + base, np.where(inferior, 1.0, 0.0)))
        late = np.zeros(12)
        late[[lead("V1"), lead("I"), lead("V6")]] = [0.8, -0.4, -0.4]
        beats.append((b, ((0.06, 0.012, 1.0),), late))
    x = _wave_record(beats) + 0.005 * np.random.default_rng(1).standard_normal((int(10 * FS), 12))
    f = dict(zip(FEATURE_NAMES, extract_features(x, FS, LEADS_12)))
    for name in ("II", "III", "aVF"):
        assert f[f"q_ms_{name}"] >= 32, (name, f[f"q_ms_{name}"])
    for name in ("I", "V2", "V5"):
        assert f[f"q_ms_{name}"] == 0, (name, f[f"q_ms_{name}"])
    assert f["term_mv_V1"] > 0.2 and f["term_mv_I"] < -0.1 and f["term_mv_V6"] < -0.1
    assert f["term_mv_V3"] > -0.1
    assert f["r_time_ms_V1"] > f["r_time_ms_V3"] + 30


@pytest.mark.slow
def test_trees_af_call_needs_an_irregular_or_fast_rhythm(trained):
    """The trees' AFIB/AFL call is dropped on a regular rhythm under 100/min, and on one that
    is regular apart from ectopic beats (bigeminy too) and has consistent P waves; not in
    AF."""
    _, clf = trained
    assert clf.config["af_trees_veto_regular_slow"] is True
    rng = np.random.default_rng(31)
    slow, fast = synth_record("NORM", rng), synth_record("TACHY", rng)
    ectopic = _ectopic_record(rng, tuple(LEADS_12), p_wave=False, pause=1.4)  # PVC every 4 beats
    bigeminy = _ectopic_record(rng, ("V1", "V2", "V3"), p_wave=True, pause=1.2, every=2)
    af = synth_record("AFIB/AFL", rng)
    f = extract_features(ectopic, FS, LEADS_12)
    assert f[FEATURE_NAMES.index("rr_cv")] > 0.1 and f[FEATURE_NAMES.index("hr_bpm")] < 100
    saved = dict(clf.thresholds)
    clf.thresholds["AFIB/AFL"] = 1e-30  # the trees call AF on everything
    try:
        for x in (slow, ectopic, mask_3x4(ectopic), bigeminy, mask_3x4(bigeminy)):
            assert "AFIB/AFL" not in clf.predict(x, FS, LEADS_12)
        for x in (fast, af, mask_3x4(af)):
            assert "AFIB/AFL" in clf.predict(x, FS, LEADS_12)
        clf.config["af_trees_veto_regular_slow"] = False
        for x in (slow, ectopic):
            assert "AFIB/AFL" in clf.predict(x, FS, LEADS_12)
    finally:
        clf.thresholds.update(saved)
        clf.config["af_trees_veto_regular_slow"] = True


def _ectopic_record(rng: np.random.Generator, flip: tuple[str, ...], p_wave: bool,
                    pause: float, every: int = 4, start_s: float = 0.3) -> np.ndarray:
    """Sinus rhythm at 75/min with an early beat (RR x 0.6) every ``every`` beats (2:
    bigeminy), followed by a pause of RR x ``pause``, whose QRS is that of the sinus beats
    except in the leads ``flip`` (inverted there), with an inverted early P wave when
    ``p_wave``; the first beat at ``start_s``."""
    qrs = ((-0.025, 0.008, -0.1), (0.0, 0.010, 1.0), (0.025, 0.008, -0.25), (0.3, 0.04, 0.3))
    gains = _GAINS.copy()
    gains[[LEADS_12.index(name) for name in flip]] *= -1
    beats, b, k = [], start_s, 0
    while b < 10.0:
        early = k % every == every - 1
        if early:
            beats.append((b, qrs, gains))
            if p_wave:
                beats.append((b, ((-0.16, 0.02, -0.12),)))
        else:
            beats.append((b, ((-0.16, 0.02, 0.15),) + qrs))
        k += 1
        b += 0.8 * (0.6 if k % every == every - 1 else (pause if early else 1.0))
    return _wave_record(beats) + 0.01 * rng.standard_normal((int(10 * FS), 12))


@pytest.mark.parametrize("start_s", [0.3, -0.3])  # 7 short and 6 long intervals; 6 and 7
def test_bigeminy_rate_and_premature_beats(start_s):
    """In bigeminy the rate counts every beat and half the beats are premature, whether the
    strip has more short or more long intervals; the rhythm is regular apart from them."""
    rng = np.random.default_rng(13)
    x = _ectopic_record(rng, ("V1", "V2", "V3"), p_wave=True, pause=1.2, every=2,
                        start_s=start_s)
    for page in (x, mask_3x4(x)):
        f = extract_features(page, FS, LEADS_12)
        get = lambda name, f=f: f[FEATURE_NAMES.index(name)]  # noqa: E731
        rate = 60.0 / (0.8 * (0.6 + 1.2) / 2)  # one short and one long cycle per two beats
        assert abs(get("hr_bpm") - rate) < 0.05 * rate
        assert 0.4 <= get("frac_premature") <= 0.6 and 0.4 <= get("frac_short_long") <= 0.6
        assert get("rr_cv") > 0.3 and get("rr_cv_np") < 0.05


def test_ventricular_beats_on_every_lead_with_a_compensatory_pause():
    """An early beat that keeps its QRS on lead II but not on the other leads is a PVC when
    its pause is fully compensatory; one that changes only in V1-V3 and resets the sinus node
    (shorter pause) is an aberrantly conducted PAC. Full records and 3x4 pages."""
    from ecgpaper.classify.model import premature_beats

    rng = np.random.default_rng(12)
    others = tuple(name for name in LEADS_12 if name != "II")
    records = {"PVC": _ectopic_record(rng, others, p_wave=False, pause=1.4),
               "PAC": _ectopic_record(rng, ("V1", "V2", "V3"), p_wave=True, pause=1.2)}
    for label, x in records.items():
        for page in (x, mask_3x4(x)):
            f = extract_features(page, FS, LEADS_12)
            assert f[FEATURE_NAMES.index("odd_premature")] == 1.0  # normal on lead II
            got = {c for c, hit in premature_beats(f[None]).items() if hit[0]}
            assert got == {label}, (label, got)


def _small_training_folder(root, n: int = 6):
    """``n`` labelled synthetic records (NORM / BRADY), one unlabelled and one broken."""
    rng = np.random.default_rng(11)
    records = []
    for i in range(n):
        label = ("NORM", "BRADY")[i % 2]
        rec = root / f"r{i:02d}"
        write_record(rec, synth_record(label, rng), FS, list(LEADS_12),
                     comments=(f"Labels: {label}",))
        records.append(str(rec))
    write_record(root / "unlabelled", synth_record("NORM", rng), FS, list(LEADS_12))
    write_record(root / "broken", synth_record("NORM", rng), FS, list(LEADS_12),
                 comments=("Labels: NORM",))
    (root / "broken.dat").write_bytes(b"\x00")  # header intact, signal file truncated
    return sorted(records + [str(root / "unlabelled"), str(root / "broken")])


def test_training_features_do_not_depend_on_jobs(tmp_path, caplog):
    from ecgpaper.classify.model import DEFAULT_PARAMS, build_training_set, default_jobs

    records = _small_training_folder(tmp_path)
    views = DEFAULT_PARAMS["views"]
    with caplog.at_level(logging.ERROR, logger="ecgpaper.classify"):
        serial = build_training_set(records, views, seed=3, jobs=1)
        parallel = build_training_set(records, views, seed=3, jobs=2)
    for a, b in zip(serial[:4], parallel[:4]):
        np.testing.assert_array_equal(a, b)  # NaN where NaN, every other value bit for bit
    assert serial[4] == parallel[4] == {"used": 6, "unlabelled": 1, "failed": 1,
                                        "not_read_time_budget": 0}
    assert serial[0].shape == (6 * len(views), len(FEATURE_NAMES))
    assert caplog.text.count("broken: failed, skipped") == 2  # logged with the traceback
    assert 1 <= default_jobs() <= 8


def test_verbose_training_logs_instead_of_printing(tmp_path, caplog, capsys):
    records = _small_training_folder(tmp_path, n=4)
    with caplog.at_level(logging.INFO, logger="ecgpaper.classify"):
        train_classifier(records, tmp_path / "m", verbose=True, jobs=2)
    assert "training records:" in caplog.text and "classifier saved to" in caplog.text
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_predict_then_predict_proba_computes_features_once(trained, monkeypatch):
    import dataclasses

    import ecgpaper.classify.model as model

    clf = dataclasses.replace(trained[1])  # a fresh copy: no features kept yet
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return extract_features(*args, **kwargs)

    monkeypatch.setattr(model, "extract_features", counted)
    rng = np.random.default_rng(21)
    for label in RHYTHMS:
        x = mask_3x4(synth_record(label, rng))
        expected = clf.predict_features(extract_features(x, FS, LEADS_12)[None, :])[0]
        n0 = len(calls)
        labels = clf.predict(x, FS, LEADS_12)  # what run_model.py --report calls first
        proba = clf.predict_proba(x, FS, LEADS_12)  # then the report's probabilities
        assert len(calls) == n0 + 1
        assert labels == expected == [c for c in clf.classes if proba[c] >= clf.thresholds[c]]
    x[:, 1] *= 2.0  # the same array, changed in place: features computed anew
    clf.predict_proba(x, FS, LEADS_12)
    assert len(calls) == len(RHYTHMS) + 1
