"""Parameter sets per Challenge class, sampled within adult ranges.

:func:`sample_record_parameters` turns a label set into every parameter a
record needs: demographics, rhythm and rate, intervals, and one dipole
template per beat type (sinus ``N``, premature atrial ``A``, premature
ventricular ``V``, fibrillation/flutter-conducted ``F``). Each class applies
its clinical criteria as a modification of a normal template (see
:data:`CLASS_CRITERIA`); combinations apply several modifications.

Template layout (all JSON-able; vectors are ``[x, y, z]`` in mV with ``x``
left, ``y`` feet, ``z`` anterior):

``p``      ``None`` or lobes ``{"t_frac", "sigma_frac", "vectors_mv"}`` in units of ``p_ms`` from P onset
``qrs``    lobes in units of ``qrs_ms`` from QRS onset
``t``      ``{"vector_mv", "sigma_left_frac", "sigma_right_frac"}`` in units of the beat's QT;
           the peak lies ``2 * sigma_right`` before T end (the tangent T end of a Gaussian)
``st_mv``  ST-plateau vector from the J point into the T wave
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np

from ecgcore.constants import CLASSES

#: Classes the simulator can make: all 11 Challenge classes.
SIMULATABLE_CLASSES: tuple[str, ...] = tuple(CLASSES)

#: Clinical criteria each class's parameters satisfy (used in the docs table).
CLASS_CRITERIA: dict[str, str] = {
    "NORM": "sinus 62-95/min, PR 130-190 ms, QRS 74-100 ms, QTc(Fridericia) 380-435 ms, "
            "axis -20..+75 deg, Sokolow-Lyon <= 3.3 mV, no other finding",
    "TACHY": "sinus rhythm 106-145/min (flutter 2:1 or AF 110-150/min when combined with AFIB/AFL)",
    "BRADY": "sinus rhythm 42-56/min",
    "AFIB/AFL": "fibrillation (70 %): no P waves, 4-9 Hz f waves, log-normal RR with CV 0.15-0.30; "
                "flutter (30 %): 230-300/min sawtooth F waves negative in II/III/aVF, 2:1, 4:1 "
                "or variable 2-4:1 conduction",
    "PAC": "1-3 premature beats at 55-72 % of the RR with an ectopic P (axis -80..-20 deg, 70 %, or "
           "+80..+120 deg), PR 110-160 ms, normal QRS, non-compensatory pause",
    "PVC": "1-3 premature beats at 50-70 % of the RR, QRS 130-180 ms, no P, discordant T, "
           "fully compensatory pause",
    "CD": "RBBB (QRS 125-160 ms, rSR' in V1, wide S in I/V6), LBBB (QRS 130-170 ms, no septal q, "
          "QS in V1, broad R in I/V6, discordant ST-T) or first-degree AV block (PR 215-320 ms)",
    "HYP": "LVH: Sokolow-Lyon SV1 + max(RV5, RV6) 3.8-5.0 mV, QRS 95-115 ms, strain (75 %): "
           "ST depression with asymmetric T inversion in I, aVL, V5, V6",
    "STTC": "T inversion (>= 0.1 mV) in a territory, or ST depression 0.05-0.2 mV with flat T, "
            "or T flattening with mild ST depression",
    "Old MI": "pathological Q waves (>= 40 ms) in the inferior (II, III, aVF), anterior (V1-V4) "
              "or lateral (I, aVL, V5, V6) leads, reduced R in that territory",
    "Acute MI": "ST elevation >= 0.15 mV (>= 0.25 mV in V2-V3) in >= 2 contiguous leads of the "
                "anterior, inferior or lateral territory with reciprocal depression and hyperacute T",
}

#: Label sets that cannot occur together (ValueError).
INCOMPATIBLE: tuple[frozenset, ...] = (
    frozenset({"TACHY", "BRADY"}),
    frozenset({"AFIB/AFL", "PAC"}),
)

#: Default mix of label combinations (keys join classes with "+"), weights sum to 1.
DEFAULT_CLASS_MIX: dict[str, float] = {
    "NORM": 0.18,
    "TACHY": 0.05,
    "BRADY": 0.05,
    "AFIB/AFL": 0.07,
    "AFIB/AFL+TACHY": 0.03,
    "PAC": 0.05,
    "PVC": 0.05,
    "CD": 0.06,
    "CD+BRADY": 0.03,
    "CD+PVC": 0.02,
    "HYP": 0.05,
    "HYP+STTC": 0.02,
    "STTC": 0.08,
    "STTC+PAC": 0.02,
    "Old MI": 0.06,
    "Old MI+STTC": 0.03,
    "Old MI+CD": 0.02,
    "Acute MI": 0.06,
    "Acute MI+STTC": 0.02,
    "Acute MI+PVC": 0.02,
    "TACHY+STTC": 0.02,
    "AFIB/AFL+PVC": 0.01,
}

#: Territories: unit direction of the affected wall and the leads facing it.
TERRITORIES: dict[str, dict] = {
    "inferior": {"direction": (0.0, 1.0, 0.1), "leads": ("II", "III", "aVF")},
    "anterior": {"direction": (0.15, 0.1, 1.0), "leads": ("V1", "V2", "V3", "V4")},
    "lateral": {"direction": (1.0, -0.55, 0.0), "leads": ("I", "aVL", "V5", "V6")},
}


def _unit(v: Sequence[float]) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _polar(angle_deg: float, z_ratio: float) -> np.ndarray:
    """Unit vector with frontal angle (0 = left, +90 = feet) and z/|frontal| ratio."""
    a = np.deg2rad(angle_deg)
    return _unit([np.cos(a), np.sin(a), z_ratio])


def validate_labels(labels: Sequence[str]) -> list[str]:
    """Check a label set and return it in Challenge (``CLASSES``) order.

    Raises
    ------
    ValueError
        Empty set, unknown label (the message lists the valid names), NORM
        with another label, or an incompatible pair.

    Examples
    --------
    >>> validate_labels(["STTC", "Old MI"])
    ['Old MI', 'STTC']
    """
    if isinstance(labels, str):
        labels = [x.strip() for x in labels.split("+")]
    labels = [str(x).strip() for x in labels]
    if not labels:
        raise ValueError("a simulated record needs at least one label")
    unknown = [x for x in labels if x not in SIMULATABLE_CLASSES]
    if unknown:
        raise ValueError(f"unknown labels {unknown}; valid: {list(SIMULATABLE_CLASSES)}")
    s = set(labels)
    if "NORM" in s and len(s) > 1:
        raise ValueError(f"NORM cannot be combined with other labels: {sorted(s)}")
    for pair in INCOMPATIBLE:
        if pair <= s:
            raise ValueError(f"labels {sorted(pair)} cannot be simulated together")
    return [c for c in CLASSES if c in s]


def _lobes(t_frac, sigma_frac, vectors) -> dict:
    return {"t_frac": [float(x) for x in t_frac], "sigma_frac": [float(x) for x in sigma_frac],
            "vectors_mv": [[float(c) for c in v] for v in vectors]}


def _sinus_template(rng: np.random.Generator, female: bool) -> tuple[dict, dict]:
    """A normal conducted beat with sampled axis, amplitudes and intervals."""
    gain = rng.uniform(0.75, 1.0) if female else rng.uniform(0.85, 1.15)
    axis = rng.uniform(-20.0, 75.0)
    main = _polar(axis, -rng.uniform(0.25, 0.6))
    # Keep the horizontal-plane (precordial) amplitude from collapsing for vertical axes.
    horizontal = float(np.hypot(main[0], main[2]))
    main = main / (0.65 + 0.35 * horizontal) * rng.uniform(1.2, 1.8) * gain
    septal = _unit([-0.55, rng.uniform(-0.1, 0.3), 0.8]) * rng.uniform(0.12, 0.3) * gain
    terminal = _unit([-0.4, rng.uniform(-0.7, -0.2), -0.6]) * rng.uniform(0.15, 0.4) * gain
    p_axis = rng.uniform(30.0, 70.0)
    p_amp = rng.uniform(0.1, 0.2)
    p_ra = _polar(p_axis + 15.0, 0.45) * 0.8 * p_amp
    p_la = _polar(p_axis - 15.0, -0.45) * 0.8 * p_amp
    t_axis = float(np.clip(axis + rng.uniform(-25.0, 25.0), 0.0, 75.0))
    t_vec = _polar(t_axis, rng.uniform(0.55, 1.05)) * rng.uniform(0.35, 0.7) * gain
    template = {
        "p": _lobes([0.36, 0.64], [0.15, 0.15], [p_ra, p_la]),
        "qrs": _lobes([0.15, 0.45, 0.76], [0.06, 0.11, 0.08], [septal, main, terminal]),
        "t": {"vector_mv": [float(c) for c in t_vec],
              "sigma_left_frac": float(rng.uniform(0.16, 0.2)),
              "sigma_right_frac": float(rng.uniform(0.1, 0.125))},
        "st_mv": [0.0, 0.0, 0.0],
        "qt_extra_ms": 0.0,
    }
    info = {"qrs_axis_deg": float(axis), "p_axis_deg": float(p_axis), "t_axis_deg": t_axis,
            "amplitude_gain": float(gain)}
    return template, info


def _set_qrs(template: dict, t_frac, sigma_frac, vectors) -> None:
    template["qrs"] = _lobes(t_frac, sigma_frac, vectors)


def _qrs_vectors(template: dict) -> list[np.ndarray]:
    return [np.array(v) for v in template["qrs"]["vectors_mv"]]


def _main_vector(template: dict) -> np.ndarray:
    vecs = _qrs_vectors(template)
    return vecs[int(np.argmax([np.linalg.norm(v) for v in vecs]))]


def _pvc_template(rng: np.random.Generator) -> tuple[dict, dict]:
    origin = str(rng.choice(["rvot", "rv_apex", "lv"]))
    amp = rng.uniform(1.3, 2.0)
    if origin == "rvot":  # LBBB-like, inferior axis
        d1, d2 = _unit([0.2, 0.8, -0.5]), _unit([0.5, 0.8, -0.7])
    elif origin == "rv_apex":  # LBBB-like, superior axis
        d1, d2 = _unit([0.3, -0.5, -0.5]), _unit([0.7, -0.7, -0.6])
    else:  # LV origin, RBBB-like
        d1, d2 = _unit([-0.4, -0.2, 0.6]), _unit([-0.7, -0.4, 0.8])
    jitter = rng.normal(0.0, 0.1, size=3)
    d2 = _unit(d2 + jitter)
    qrs_ms = rng.uniform(130.0, 180.0)
    t_vec = -_unit(d2) * amp * rng.uniform(0.25, 0.4)
    template = {
        "p": None,
        "qrs": _lobes([0.3, 0.6], [0.12, 0.13], [d1 * 0.6 * amp, d2 * amp]),
        "t": {"vector_mv": [float(c) for c in t_vec], "sigma_left_frac": 0.17, "sigma_right_frac": 0.11},
        "st_mv": [float(c) for c in -0.06 * amp * d2],
        "qt_extra_ms": 40.0,
        "qrs_ms": float(qrs_ms),
        "pr_ms": None,
        "p_ms": None,
    }
    return template, {"pvc_origin": origin, "pvc_qrs_ms": float(qrs_ms)}


def _apply_cd(template: dict, variant: str, rng: np.random.Generator) -> dict:
    septal, main, terminal = _qrs_vectors(template)[:3]
    if variant == "RBBB":
        qrs_ms = rng.uniform(125.0, 160.0)
        rprime = _unit([-0.6, rng.uniform(-0.1, 0.2), 0.8]) * rng.uniform(0.6, 1.0)
        _set_qrs(template, [0.1, 0.32, 0.74], [0.045, 0.085, 0.1], [septal, main * 0.95, rprime])
        t_vec = np.array(template["t"]["vector_mv"]) * 0.6 - 0.35 * rprime
        template["t"]["vector_mv"] = [float(c) for c in t_vec]
        template["qrs_ms"] = float(qrs_ms)
    elif variant == "LBBB":
        qrs_ms = rng.uniform(130.0, 170.0)
        amp = np.linalg.norm(main) * rng.uniform(0.9, 1.2)
        d1 = _unit([0.7, 0.2, -0.25])
        d2 = _unit([0.8, rng.uniform(-0.1, 0.3), -0.65])
        d3 = _unit([0.8, 0.0, -0.45])
        _set_qrs(template, [0.25, 0.5, 0.74], [0.085, 0.12, 0.085], [d1 * 0.5 * amp, d2 * amp, d3 * 0.7 * amp])
        t_vec = -d2 * amp * rng.uniform(0.22, 0.32)
        template["t"]["vector_mv"] = [float(c) for c in t_vec]
        template["st_mv"] = [float(c) for c in -d2 * amp * rng.uniform(0.06, 0.1)]
        template["qrs_ms"] = float(qrs_ms)
    elif variant == "AVB1":
        template["pr_ms"] = float(rng.uniform(215.0, 320.0))
    else:
        raise ValueError(f"unknown CD variant {variant!r}; valid: ['AVB1', 'LBBB', 'RBBB']")
    if variant in ("RBBB", "LBBB"):
        template["qt_extra_ms"] = float(0.8 * (template["qrs_ms"] - 95.0))
    return {"cd_variant": variant}


def _apply_hyp(template: dict, rng: np.random.Generator) -> dict:
    strain = bool(rng.random() < 0.75)
    vecs = _qrs_vectors(template)
    # LVH: larger, more leftward-posterior main forces; slightly wider QRS.
    main = vecs[1]
    main = _unit(main / np.linalg.norm(main) + np.array([0.15, -0.1, -0.25])) * np.linalg.norm(main)
    vecs[1] = main
    _set_qrs(template, template["qrs"]["t_frac"], template["qrs"]["sigma_frac"], vecs)
    if template.get("cd_variant") not in ("RBBB", "LBBB"):
        template["qrs_ms"] = float(max(template["qrs_ms"], rng.uniform(95.0, 115.0)))
    if strain:
        d = _unit(main)
        template["st_mv"] = [float(c) for c in np.array(template["st_mv"]) - d * rng.uniform(0.08, 0.16)]
        t_vec = -_unit(d + np.array([0.0, 0.0, 0.3])) * rng.uniform(0.25, 0.45)
        template["t"]["vector_mv"] = [float(c) for c in t_vec]
        template["t"]["sigma_left_frac"] = 0.2
        template["t"]["sigma_right_frac"] = 0.09
    return {"hyp_strain": strain}


def _apply_old_mi(template: dict, territory: str, rng: np.random.Generator) -> dict:
    d = _unit(TERRITORIES[territory]["direction"])
    septal, main, terminal = _qrs_vectors(template)[:3]
    # Scar: the wall no longer depolarises, so initial forces point away from it
    # (Q waves) and the forces towards it shrink (reduced R).
    q_amp = rng.uniform(0.35, 0.7)
    along = float(main @ d)
    if along > 0:
        main = main - rng.uniform(0.5, 0.8) * along * d
    septal = septal - max(float(septal @ d), 0.0) * d
    t_frac = list(template["qrs"]["t_frac"])
    sig = list(template["qrs"]["sigma_frac"])
    if len(t_frac) == 3:
        _set_qrs(template, [0.16, 0.26, 0.6, 0.85], [0.06, 0.11, 0.11, 0.06],
                 [septal, -q_amp * d, main, terminal])
    else:
        vecs = _qrs_vectors(template)
        _set_qrs(template, [0.2] + t_frac, [0.1] + sig, [-q_amp * d] + vecs)
    template["qrs_ms"] = float(template["qrs_ms"] + rng.uniform(5.0, 12.0))
    return {"old_mi_territory": territory, "q_vector_mv": [float(c) for c in -q_amp * d]}


def _apply_acute_mi(template: dict, territory: str, rng: np.random.Generator, leads_fn) -> dict:
    d = _unit(TERRITORIES[territory]["direction"])
    names = TERRITORIES[territory]["leads"]
    if territory == "anterior":
        names = ("V2", "V3", "V4")
    vecs, lead_names = leads_fn()
    proj = np.array([vecs[lead_names.index(n)] @ d for n in names])
    target = rng.uniform(0.2, 0.5) if territory == "anterior" else rng.uniform(0.15, 0.4)
    need = target / 0.85  # the plateau reaches ~0.85 of its height at J + 60 ms
    mag = need / np.sort(proj)[-2]
    if territory == "anterior":
        mag = max(mag, 0.28 / 0.85 / min(proj[0], proj[1]))
    st = np.array(template["st_mv"]) + mag * d
    template["st_mv"] = [float(c) for c in st]
    t_vec = np.array(template["t"]["vector_mv"]) + mag * rng.uniform(0.5, 1.2) * d
    template["t"]["vector_mv"] = [float(c) for c in t_vec]
    return {"acute_mi_territory": territory, "st_elevation_mv": float(target)}


def _apply_sttc(template: dict, rng: np.random.Generator) -> dict:
    variant = str(rng.choice(["t_inversion", "st_depression", "t_flat"], p=[0.5, 0.3, 0.2]))
    t_vec = np.array(template["t"]["vector_mv"])
    st = np.array(template["st_mv"])
    where = None
    if variant == "t_inversion":
        where = str(rng.choice(["lateral", "inferolateral", "anterior", "diffuse"]))
        direction = {"lateral": [-0.8, -0.2, 0.1], "inferolateral": [-0.6, -0.6, 0.0],
                     "anterior": [-0.1, 0.2, -0.9], "diffuse": list(-_unit(t_vec))}[where]
        t_vec = _unit(direction) * rng.uniform(0.25, 0.45)
        st = st + _unit(direction) * rng.uniform(0.0, 0.06)
        template["t"]["sigma_right_frac"] = 0.095
    elif variant == "st_depression":
        st = st - _unit([0.6, 0.6, 0.3]) * rng.uniform(0.12, 0.25)
        t_vec = t_vec * rng.uniform(0.25, 0.5)
    else:
        t_vec = t_vec * rng.uniform(0.05, 0.2)
        st = st - _unit([0.6, 0.6, 0.3]) * rng.uniform(0.08, 0.12)
    template["t"]["vector_mv"] = [float(c) for c in t_vec]
    template["st_mv"] = [float(c) for c in st]
    return {"sttc_variant": variant, "sttc_territory": where}


def sample_record_parameters(labels: Sequence[str], rng: np.random.Generator) -> dict:
    """All parameters of one record with the given labels.

    Parameters
    ----------
    labels : sequence of str
        Challenge class names (see :data:`SIMULATABLE_CLASSES`).
    rng : numpy.random.Generator

    Returns
    -------
    dict
        JSON-able: ``labels``, ``age``, ``sex``, ``rhythm``, ``hr_bpm``,
        ``qtc_ms``, ``n_pac``, ``n_pvc``, rhythm details, class variants and
        ``templates`` (one per beat type, see the module docstring).

    Examples
    --------
    >>> p = sample_record_parameters(["CD", "BRADY"], np.random.default_rng(3))
    >>> p["labels"], p["rhythm"], bool(p["hr_bpm"] < 60)
    (['CD', 'BRADY'], 'sinus', True)
    """
    from ecgpaper.simulate.dipole import lead_vectors  # local: avoid a cycle at import
    from ecgcore.constants import LEADS_12

    labels = validate_labels(labels)
    s = set(labels)
    plain = s <= {"NORM", "TACHY", "BRADY"}
    age = int(np.clip(rng.normal(45.0, 15.0) if plain else rng.normal(66.0, 11.0), 18, 95))
    female = bool(rng.random() < 0.48)
    params: dict = {"labels": labels, "age": age, "sex": "Female" if female else "Male"}

    # Rhythm and rate.
    rhythm = "sinus"
    if "AFIB/AFL" in s:
        rhythm = "atrial_flutter" if (rng.random() < 0.3 and "BRADY" not in s) else "atrial_fibrillation"
    params["rhythm"] = rhythm
    if rhythm == "atrial_flutter":
        if "TACHY" in s:
            cycle = rng.uniform(0.2, 0.26)
            ratios, probs = (2,), (1.0,)
        elif rng.random() < 0.35:
            cycle = rng.uniform(0.2, 0.24)
            ratios, probs = (4,), (1.0,)
        else:
            cycle = rng.uniform(0.21, 0.24)
            ratios, probs = (2, 3, 4), (0.15, 0.45, 0.4)
        mean_ratio = float(np.dot(ratios, probs))
        params["flutter"] = {"atrial_cycle_s": float(cycle), "ratios": list(ratios),
                             "ratio_probs": list(probs), "amplitude_mv": float(rng.uniform(0.2, 0.35)),
                             "av_delay_s": float(rng.uniform(0.18, 0.26))}
        hr = 60.0 / (cycle * mean_ratio)
    else:
        if "TACHY" in s:
            hr = rng.uniform(110.0, 150.0) if rhythm != "sinus" else rng.uniform(106.0, 145.0)
        elif "BRADY" in s:
            hr = rng.uniform(45.0, 56.0) if rhythm != "sinus" else rng.uniform(42.0, 56.0)
        else:
            hr = rng.uniform(65.0, 90.0) if rhythm != "sinus" else rng.uniform(62.0, 95.0)
        if rhythm == "atrial_fibrillation":
            params["fibrillation"] = {"f_wave_hz": float(rng.uniform(5.0, 8.0)),
                                      "f_wave_rms_mv": float(rng.uniform(0.02, 0.045))}
    params["hr_bpm"] = float(hr)
    params["qtc_ms"] = float(rng.uniform(380.0, 435.0))
    params["n_pac"] = int(rng.integers(1, 4)) if "PAC" in s else 0
    params["n_pvc"] = int(rng.integers(1, 4)) if "PVC" in s else 0

    # Normal template, then one modification per class.
    tpl, info = _sinus_template(rng, female)
    params.update(info)
    tpl["p_ms"] = float(rng.uniform(85.0, 110.0))
    tpl["pr_ms"] = float(rng.uniform(120.0, 165.0) if "TACHY" in s else rng.uniform(130.0, 190.0))
    tpl["qrs_ms"] = float(rng.uniform(74.0, 100.0))
    variants: dict = {}
    if "CD" in s:
        options = ["RBBB", "LBBB", "AVB1"]
        if s & {"Old MI", "Acute MI", "HYP"}:
            options.remove("LBBB")
        if rhythm != "sinus":
            options.remove("AVB1")
        variant = str(rng.choice(options))
        variants.update(_apply_cd(tpl, variant, rng))
        tpl["cd_variant"] = variant
    if "HYP" in s:
        variants.update(_apply_hyp(tpl, rng))
        if rng.random() < 0.3:  # left atrial enlargement: broad P, deep terminal P in V1
            tpl["p_ms"] = float(rng.uniform(110.0, 125.0))
            tpl["p"]["vectors_mv"][1] = [float(c) for c in np.array(tpl["p"]["vectors_mv"][1]) * 1.5
                                         + np.array([0.0, 0.0, -0.06])]
            variants["left_atrial_enlargement"] = True
    if "Old MI" in s:
        territory = str(rng.choice(["inferior", "anterior", "lateral"], p=[0.45, 0.4, 0.15]))
        variants.update(_apply_old_mi(tpl, territory, rng))
    if "Acute MI" in s:
        territory = str(rng.choice(["anterior", "inferior", "lateral"], p=[0.45, 0.45, 0.1]))
        lv = lead_vectors()
        variants.update(_apply_acute_mi(tpl, territory, rng, lambda: (lv, list(LEADS_12))))
    if "STTC" in s:
        variants.update(_apply_sttc(tpl, rng))
    tpl.pop("cd_variant", None)

    # Voltage: HYP meets Sokolow-Lyon with margin, everything else stays below it.
    sok = sokolow_lyon_mv(tpl)
    if "HYP" in s:
        target = rng.uniform(3.8, 5.0)
        _scale_qrs(tpl, target / sok)
    elif sok > 3.3:
        _scale_qrs(tpl, 3.3 / sok)
    params["sokolow_lyon_mv"] = float(sokolow_lyon_mv(tpl))
    params["variants"] = variants

    templates = {"N": tpl}
    if rhythm != "sinus":
        f_tpl = copy.deepcopy(tpl)
        f_tpl["p"] = None
        templates = {"F": f_tpl}
    if params["n_pac"]:
        a_tpl = copy.deepcopy(tpl)
        p_axis = rng.uniform(-80.0, -20.0) if rng.random() < 0.7 else rng.uniform(80.0, 120.0)
        amp = rng.uniform(0.08, 0.15)
        a_tpl["p"] = _lobes([0.4, 0.62], [0.17, 0.15],
                            [_polar(p_axis, 0.3) * 0.6 * amp, _polar(p_axis - 10.0, -0.2) * 0.5 * amp])
        a_tpl["pr_ms"] = float(rng.uniform(110.0, 160.0))
        a_tpl["p_ms"] = float(rng.uniform(70.0, 100.0))
        templates["A"] = a_tpl
        params["pac_p_axis_deg"] = float(p_axis)
    if params["n_pvc"]:
        v_tpl, info = _pvc_template(rng)
        templates["V"] = v_tpl
        params.update(info)
    params["templates"] = templates
    return params


def _scale_qrs(template: dict, factor: float) -> None:
    template["qrs"]["vectors_mv"] = [[float(c) * factor for c in v] for v in template["qrs"]["vectors_mv"]]


def sokolow_lyon_mv(template: dict) -> float:
    """SV1 + max(RV5, RV6) of a template's QRS, noise-free, in mV.

    The QRS lobes are rendered alone on a fine time grid and projected onto
    V1, V5 and V6.
    """
    from ecgpaper.simulate.dipole import lead_vectors

    u = np.linspace(-0.1, 1.1, 241)
    q = template["qrs"]
    d = np.zeros((u.size, 3))
    for c, s, v in zip(q["t_frac"], q["sigma_frac"], q["vectors_mv"]):
        d += np.exp(-0.5 * ((u - c) / s) ** 2)[:, None] * np.asarray(v)[None, :]
    leads = d @ lead_vectors().T
    sv1 = max(0.0, -leads[:, 6].min())
    r56 = max(0.0, leads[:, 10].max(), leads[:, 11].max())
    return float(sv1 + r56)
