"""Record-level simulation: labels -> 12-lead signal, and datasets of WFDB records."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ecgcore.constants import CLASSES, LEADS_12
from ecgpaper.simulate import dipole, noise, rhythm
from ecgpaper.simulate.classes import DEFAULT_CLASS_MIX, sample_record_parameters, validate_labels

#: Seconds of rhythm simulated before the record starts, so the first beat is complete.
_LEAD_IN_S = 1.5


def _qt_s(qtc_ms: float, rr_s: float, extra_ms: float) -> float:
    """Fridericia: QT = QTc * RR^(1/3), plus a template-specific extra (wide QRS)."""
    return (qtc_ms * rr_s ** (1.0 / 3.0) + extra_ms) / 1000.0


def beat_schedule(params: dict, duration_s: float, rng: np.random.Generator) -> dict:
    """QRS times and beat types of a record.

    Parameters
    ----------
    params : dict
        From :func:`~ecgpaper.simulate.classes.sample_record_parameters`.
    duration_s : float
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``times_s`` (list, QRS onsets from record start, including lead-in
        beats at negative times), ``kinds`` (list of ``N/A/V/F``), ``events``
        and the rhythm generator's sampled parameters.
    """
    mean_rr = 60.0 / params["hr_bpm"]
    t0 = -_LEAD_IN_S - rng.uniform(0.0, mean_rr)
    t_end = duration_s + 1.0
    if params["rhythm"] == "sinus":
        times, info = rhythm.sinus_times(t0, t_end + 3.0, mean_rr, rng)
        kinds = ["N"] * len(times)
    elif params["rhythm"] == "atrial_fibrillation":
        times, info = rhythm.fibrillation_times(t0, t_end + 3.0, mean_rr, rng)
        kinds = ["F"] * len(times)
    elif params["rhythm"] == "atrial_flutter":
        fl = params["flutter"]
        times, info = rhythm.flutter_times(t0, t_end + 3.0, fl["atrial_cycle_s"], tuple(fl["ratios"]),
                                           tuple(fl["ratio_probs"]), fl["av_delay_s"], rng)
        kinds = ["F"] * len(times)
    else:
        raise ValueError(f"unknown rhythm {params['rhythm']!r}; valid: "
                         "['atrial_fibrillation', 'atrial_flutter', 'sinus']")
    events: list[dict] = []
    if params["n_pac"] or params["n_pvc"]:
        window = (0.4, max(0.5, duration_s - 1.0))
        times, kinds, events = rhythm.insert_premature_beats(times, kinds, params["n_pac"], params["n_pvc"],
                                                             window, rng)
    keep = times <= t_end
    times = times[keep]
    kinds = [k for k, m in zip(kinds, keep) if m]
    return {"times_s": [float(t) for t in times], "kinds": kinds, "events": events, "rhythm_info": info}


def _beat_components(tpl: dict, t_qrs: float, qt_s: float, amp: float, lobes: list, plateaus: list) -> dict:
    """Append the lobes and ST plateau of one beat; return its fiducials (s)."""
    fid = {"qrs_on_s": t_qrs}
    if tpl.get("p") is not None:
        p_s = tpl["p_ms"] / 1000.0
        p_on = t_qrs - tpl["pr_ms"] / 1000.0
        for c, s, v in zip(tpl["p"]["t_frac"], tpl["p"]["sigma_frac"], tpl["p"]["vectors_mv"]):
            lobes.append((p_on + c * p_s, s * p_s, s * p_s, np.asarray(v)))
        fid["p_on_s"] = p_on
        fid["p_off_s"] = p_on + p_s
    q_s = tpl["qrs_ms"] / 1000.0
    for c, s, v in zip(tpl["qrs"]["t_frac"], tpl["qrs"]["sigma_frac"], tpl["qrs"]["vectors_mv"]):
        lobes.append((t_qrs + c * q_s, s * q_s, s * q_s, amp * np.asarray(v)))
    t = tpl["t"]
    sr = t["sigma_right_frac"] * qt_s
    sl = t["sigma_left_frac"] * qt_s
    peak = t_qrs + qt_s - 2.0 * sr
    j = t_qrs + q_s
    sl = min(sl, max((peak - j) / 2.3, 0.2 * sl))
    lobes.append((peak, sl, sr, amp * np.asarray(t["vector_mv"])))
    st = np.asarray(tpl["st_mv"])
    if np.any(st):
        plateaus.append((j - 0.2 * q_s, 0.008, peak, 0.5 * sr, st))
    fid.update({"qrs_off_s": j, "t_peak_s": peak, "t_off_s": t_qrs + qt_s})
    return fid


def render_dipole(params: dict, schedule: dict, fs_hz: float, num_samples: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Heart dipole of a record and the fiducials of every beat.

    Parameters
    ----------
    params : dict
        From :func:`~ecgpaper.simulate.classes.sample_record_parameters`.
    schedule : dict
        From :func:`beat_schedule`.
    fs_hz : float
    num_samples : int
    rng : numpy.random.Generator
        Respiratory modulation and fibrillation waves.

    Returns
    -------
    dipole_mv : ndarray, shape (num_samples, 3)
    beats : list of dict
        Per beat: ``kind`` and the times (s) ``p_on_s``, ``p_off_s`` (when a
        P wave is drawn), ``qrs_on_s``, ``qrs_off_s`` (J point), ``t_peak_s``,
        ``t_off_s``.
    """
    times = schedule["times_s"]
    kinds = schedule["kinds"]
    mean_rr = 60.0 / params["hr_bpm"]
    resp_hz = rng.uniform(0.15, 0.35)
    resp_ph = rng.uniform(0.0, 2 * np.pi)
    resp_depth = rng.uniform(0.02, 0.08)
    lobes: list = []
    plateaus: list = []
    beats: list[dict] = []
    for i, (t_qrs, kind) in enumerate(zip(times, kinds)):
        tpl = params["templates"][kind]
        rr_prev = times[i] - times[i - 1] if i > 0 else mean_rr
        rr_eff = 0.7 * mean_rr + 0.3 * rr_prev if kind != "V" else mean_rr
        qt_s = _qt_s(params["qtc_ms"], rr_eff, tpl["qt_extra_ms"])
        amp = 1.0 + resp_depth * np.sin(2 * np.pi * resp_hz * t_qrs + resp_ph)
        fid = _beat_components(tpl, t_qrs, qt_s, amp, lobes, plateaus)
        fid["kind"] = kind
        beats.append(fid)
    d = np.zeros((num_samples, 3), dtype=np.float64)
    if lobes:
        c, sl, sr, v = zip(*lobes)
        dipole.render_lobes(num_samples, fs_hz, np.array(c), np.array(sl), np.array(sr), np.array(v), out=d)
    if plateaus:
        a, wa, b, wb, v = zip(*plateaus)
        dipole.render_plateaus(num_samples, fs_hz, np.array(a), np.array(wa), np.array(b), np.array(wb),
                               np.array(v), out=d)
    t = np.arange(num_samples) / fs_hz
    if params["rhythm"] == "atrial_fibrillation":
        fib = params["fibrillation"]
        fc = fib["f_wave_hz"]
        src = noise.bandlimited_noise(num_samples, fs_hz, fc - 1.0, fc + 1.0, rng, 3)
        mix = np.array([_unit3([-0.3, 0.7, 0.7]), [0.3, 0.0, 0.0], [0.0, 0.3, 0.0]])
        d += fib["f_wave_rms_mv"] * (src @ mix)
    elif params["rhythm"] == "atrial_flutter":
        fl = params["flutter"]
        x = 2 * np.pi * (t - schedule["rhythm_info"]["first_wave_s"]) / fl["atrial_cycle_s"]
        saw = sum(np.sin(k * x) / k ** 1.5 for k in range(1, 5)) * (2.0 / np.pi)
        d += fl["amplitude_mv"] * saw[:, None] * _unit3([0.0, -1.0, 0.5])[None, :]
    return d, beats


def _unit3(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def simulate_ecg(
    labels: Sequence[str],
    rng: np.random.Generator,
    fs_hz: float = 500.0,
    duration_s: float = 10.0,
    noise_level: str = "low",
) -> tuple[np.ndarray, dict]:
    """Simulate one 12-lead ECG with the given Challenge labels.

    A beat-by-beat cardiac dipole (P, QRS, T as 3-D Gaussian lobes, ST
    plateaus, AF/flutter waves) is projected onto electrode lead vectors;
    electrode noise is added; leads are formed so that III = II - I,
    aVR = -(I + II)/2, aVL = I - II/2 and aVF = II - I/2 hold exactly.

    Parameters
    ----------
    labels : sequence of str
        Challenge classes, e.g. ``["Old MI", "STTC"]`` (any order).
    rng : numpy.random.Generator
        Source of every random choice (parameters, rhythm, noise).
    fs_hz : float
        Sampling frequency.
    duration_s : float
    noise_level : {"none", "low", "medium", "high"}

    Returns
    -------
    signal_mv : ndarray, shape (round(fs_hz * duration_s), 12)
        Leads in ``LEADS_12`` order, mV.
    params : dict
        JSON-able: the sampled parameters (see
        :func:`~ecgpaper.simulate.classes.sample_record_parameters`), the beat
        list with fiducials (``beats``), and the noise parameters.

    Raises
    ------
    ValueError
        Unknown or incompatible labels, unknown noise level, non-positive
        rate or duration.

    Examples
    --------
    >>> x, p = simulate_ecg(["AFIB/AFL", "TACHY"], np.random.default_rng(0), fs_hz=250.0, duration_s=4.0)
    >>> x.shape, p["labels"]
    ((1000, 12), ['AFIB/AFL', 'TACHY'])
    >>> bool(np.all(x[:, 2] == x[:, 1] - x[:, 0]))
    True
    """
    if not fs_hz > 0 or not duration_s > 0:
        raise ValueError(f"fs_hz and duration_s must be positive, got {fs_hz}, {duration_s}")
    if noise_level not in noise.NOISE_LEVELS:
        raise ValueError(f"unknown noise level {noise_level!r}; valid: {sorted(noise.NOISE_LEVELS)}")
    labels = validate_labels(labels)
    rng_params, rng_rhythm, rng_beats, rng_noise = rng.spawn(4)
    params = sample_record_parameters(labels, rng_params)
    num_samples = int(round(fs_hz * duration_s))
    schedule = beat_schedule(params, duration_s, rng_rhythm)
    d, beats = render_dipole(params, schedule, float(fs_hz), num_samples, rng_beats)
    electrodes = dipole.dipole_to_electrodes(d)
    e_noise, noise_info = noise.electrode_noise(num_samples, float(fs_hz), noise_level, rng_noise,
                                                num_electrodes=electrodes.shape[1])
    signal = dipole.electrodes_to_leads(electrodes + e_noise)
    params["fs_hz"] = float(fs_hz)
    params["duration_s"] = float(duration_s)
    params["noise"] = noise_info
    params["beats"] = [{k: (float(v) if k != "kind" else v) for k, v in b.items()} for b in beats]
    params["premature_beats"] = schedule["events"]
    params["rhythm_info"] = schedule["rhythm_info"]
    return signal, params


def parse_class_mix(text: str) -> dict[str, float]:
    """Parse ``"NORM=0.3,AFIB/AFL=0.1,Old MI+STTC=0.05"`` into a dict.

    Examples
    --------
    >>> parse_class_mix("NORM=3, Old MI+STTC=1")
    {'NORM': 3.0, 'Old MI+STTC': 1.0}
    """
    mix: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.rpartition("=")
        if not sep or not key.strip():
            raise ValueError(f"class mix entry {part!r} is not NAME=WEIGHT")
        mix[key.strip()] = float(value)
    return mix


def _normalise_mix(class_mix: dict[str, float] | None) -> list[tuple[list[str], float]]:
    mix = DEFAULT_CLASS_MIX if class_mix is None else class_mix
    combos: dict[tuple[str, ...], float] = {}
    for key, weight in mix.items():
        if weight < 0:
            raise ValueError(f"negative weight {weight} for {key!r}")
        if weight == 0:
            continue
        labels = tuple(validate_labels(key.split("+")))
        combos[labels] = combos.get(labels, 0.0) + float(weight)
    total = sum(combos.values())
    if total <= 0:
        raise ValueError("the class mix has no positive weight")
    return [(list(k), w / total) for k, w in combos.items()]


def assign_labels(n_records: int, seed: int, class_mix: dict[str, float] | None = None) -> list[list[str]]:
    """Label set of each record: quotas by largest remainder, shuffled by the seed.

    Every combination with weight gets ``floor(n * w)`` records and the
    remaining records go to the largest remainders, so small datasets still
    cover the heaviest combinations deterministically.

    Examples
    --------
    >>> assign_labels(4, 0, {"NORM": 1, "PVC": 1})
    [['PVC'], ['PVC'], ['NORM'], ['NORM']]
    """
    combos = _normalise_mix(class_mix)
    exact = np.array([w * n_records for _, w in combos])
    counts = np.floor(exact).astype(int)
    rest = n_records - counts.sum()
    order = sorted(range(len(combos)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:rest]:
        counts[i] += 1
    labels = [combos[i][0] for i in range(len(combos)) for _ in range(counts[i])]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2 ** 31,)))
    return [labels[i] for i in rng.permutation(len(labels))]


def _make_one(args: tuple) -> str:
    out_dir, index, seed, labels, fs_hz, duration_s, noise_level, write_params = args
    from ecgcore.wfdbio import atomic_write_bytes, write_record

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    signal, params = simulate_ecg(labels, rng, fs_hz=fs_hz, duration_s=duration_s, noise_level=noise_level)
    record = Path(out_dir) / f"sim_{index:05d}"
    comments = [f"Age: {params['age']}", f"Sex: {params['sex']}",
                "Labels: " + ", ".join(c for c in CLASSES if c in params["labels"])]
    write_record(record, signal, fs_hz, LEADS_12, comments)
    if write_params:
        params["seed"] = {"entropy": int(seed), "spawn_key": [int(index)]}
        text = json.dumps(params, indent=1, sort_keys=True)
        atomic_write_bytes(Path(out_dir) / f"sim_{index:05d}.sim.json", text.encode("utf-8"))
    return str(record)


def make_dataset(
    out_dir: str | os.PathLike,
    n_records: int,
    seed: int,
    fs_hz: float = 500.0,
    duration_s: float = 10.0,
    class_mix: dict[str, float] | None = None,
    noise_level: str = "low",
    jobs: int = 1,
    write_params: bool = False,
) -> list[str]:
    """Write ``n_records`` simulated Challenge-format WFDB records.

    Records are named ``sim_00000``, ``sim_00001``, ... Record ``i`` draws
    from ``np.random.SeedSequence(seed, spawn_key=(i,))``, so the files do
    not depend on ``jobs`` and the same arguments give byte-identical files.

    Parameters
    ----------
    out_dir : path-like
        Created when missing.
    n_records : int
    seed : int
    fs_hz, duration_s : float
    class_mix : dict, optional
        Weights of label combinations, keys are class names joined by ``+``
        (e.g. ``{"NORM": 0.5, "Old MI+STTC": 0.5}``); default
        :data:`~ecgpaper.simulate.classes.DEFAULT_CLASS_MIX` (all 11 classes).
    noise_level : {"none", "low", "medium", "high"}
    jobs : int
        Worker processes.
    write_params : bool
        Also write every sampled parameter, the beat fiducials and the seed
        of record ``i`` to ``sim_0000i.sim.json`` (not a WFDB file; readers
        that list ``*.hea`` ignore it).

    Returns
    -------
    list of str
        Sorted record paths without extension.

    Examples
    --------
    >>> import tempfile
    >>> paths = make_dataset(tempfile.mkdtemp(), 2, seed=1, duration_s=2.0, class_mix={"PVC": 1.0})
    >>> [p[-9:] for p in paths]
    ['sim_00000', 'sim_00001']
    """
    if n_records < 0:
        raise ValueError(f"n_records must be >= 0, got {n_records}")
    if noise_level not in noise.NOISE_LEVELS:
        raise ValueError(f"unknown noise level {noise_level!r}; valid: {sorted(noise.NOISE_LEVELS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    label_sets = assign_labels(n_records, seed, class_mix)
    tasks = [(str(out_dir), i, int(seed), label_sets[i], float(fs_hz), float(duration_s), noise_level,
              bool(write_params)) for i in range(n_records)]
    if jobs > 1 and n_records > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            paths = list(pool.map(_make_one, tasks, chunksize=max(1, n_records // (4 * jobs))))
    else:
        paths = [_make_one(t) for t in tasks]
    return sorted(paths)
