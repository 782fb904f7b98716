"""Training, saving, loading and running the 11-class Challenge classifier.

Design: clinical features (:mod:`ecgpaper.classify.features`) of several
augmented "digitized-like" views of each training record (3x4 page masks,
gain/offset errors, noise, wander, NaN leads; :mod:`ecgpaper.classify.augment`)
feed one gradient-boosted tree ensemble per class (numpy histogram boosting,
:mod:`ecgpaper.classify.gbm`, stored as arrays, :mod:`ecgpaper.classify.trees`). Per-class decision
thresholds maximise F on out-of-fold predictions of the training records.
Measurable rhythm facts override the trees by default: TACHY/BRADY from the heart rate
(:data:`RATE_RULES`), AFIB/AFL also from :data:`AF_RULE`, PAC/PVC from
:func:`premature_beats`.  Classes with fewer than ``min_positives`` training records are
never predicted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sys
import time
import traceback
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

import numpy as np

from ecgcore.constants import CLASSES
from ecgcore.wfdbio import atomic_write_bytes, read_header, read_signal
from ecgpaper.classify.augment import augment_digitized
from ecgpaper.classify.features import (FEATURE_NAMES, PREMATURE_REL, WORK_FS_HZ, extract_features,
                                       resample_nan, to_standard_leads)
from ecgpaper.classify.gbm import fit_gbm
from ecgpaper.classify.trees import check_trees, predict_raw
from ecgpaper.modelfiles import ModelFileError, check_choice, check_number, read_json, read_npz

logger = logging.getLogger("ecgpaper.classify")

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "trees.npz"
FORMAT = "ecgpaper.classify/1"
_TREE_FIELDS = ("feature", "threshold", "left", "right", "missing_left", "is_leaf", "value",
                "roots", "baseline")

#: Default training settings (written to config.json).
DEFAULT_PARAMS: dict = {
    # (strength, mask) of each augmented view of a training record
    "views": [[1.0, True], [1.5, True], [0.5, False]],
    "min_positives": 3,
    "cv_folds": 5,
    "max_iter": 60,
    "learning_rate": 0.1,
    "max_depth": 3,
    "min_samples_leaf": 8,
    "n_bins": 32,
    "l2_regularization": 1.0,
    "class_weight": "balanced",
    # TACHY/BRADY from the measured heart rate: "auto" (the rule when its F on the
    # training records is at least the learned model's cross-validated F), "rule", "learned"
    "rate_rules": "rule",
    # AFIB/AFL also from the clinical definition of AF (AF_RULE), and no TACHY when it holds
    "af_rule": True,
    # no AFIB/AFL from the trees on a regular rhythm under 100/min (regular_and_slow)
    "af_trees_veto_regular_slow": True,
    # PAC/PVC from the measured premature beats (premature_beats): "rule" or "learned"
    "beat_rules": "rule",
}

#: Heart-rate rules: class -> (feature, sign, threshold); p = sigmoid(sign * (x - thr) / 2).
RATE_RULES: dict[str, tuple[str, float, float]] = {
    "TACHY": ("hr_bpm", 1.0, 100.0),
    "BRADY": ("hr_bpm", -1.0, 60.0),
}
_RATE_RULE_METHODS = ("auto", "rule", "learned")

#: Atrial fibrillation by its clinical definition: an irregularly irregular rhythm (RR
#: coefficient of variation above ``rr_cv_np_min`` once premature beats and their pauses
#: are left out, so PACs/PVCs do not count) without consistent P waves (median P-window
#: correlation of the non-premature beats below ``p_corr_np_max``). AFIB/AFL is emitted
#: when the trees or this rule say so; TACHY (sinus or supraventricular tachycardia) is not
#: emitted when it holds (a fast rate in AF is AF with a rapid ventricular response).
AF_RULE: dict[str, float] = {"rr_cv_np_min": 0.10, "p_corr_np_max": 0.70}

#: Features used by :data:`AF_RULE` and :func:`premature_beats` only; the trees do not see
#: them (in the PTB-XL cross-validation the first two only added noise to the trees'
#: AFIB/AFL, 0.757 -> 0.703).
RULE_ONLY_FEATURES: tuple[str, ...] = ("rr_cv_np", "p_corr_np", "frac_premature_abrupt",
                                       "vent_premature")


def irregular_without_p(X: np.ndarray, rule: dict[str, float] | None = None) -> np.ndarray:
    """Rows of feature matrix ``X`` that meet :data:`AF_RULE` (NaN features never do).

    Parameters
    ----------
    X : ndarray, shape (n_samples, len(FEATURE_NAMES))
    rule : dict, optional
        Thresholds as in :data:`AF_RULE` (the default).

    Returns
    -------
    ndarray of bool, shape (n_samples,)

    Examples
    --------
    >>> X = np.full((2, len(FEATURE_NAMES)), np.nan)
    >>> X[:, FEATURE_NAMES.index("rr_cv_np")] = [0.2, 0.2]
    >>> X[:, FEATURE_NAMES.index("p_corr_np")] = [0.3, 0.95]
    >>> irregular_without_p(X).tolist()
    [True, False]
    """
    r = AF_RULE if rule is None else rule
    X = np.atleast_2d(X)
    cv = X[:, FEATURE_NAMES.index("rr_cv_np")]
    pc = X[:, FEATURE_NAMES.index("p_corr_np")]
    with np.errstate(invalid="ignore"):
        return (cv > float(r["rr_cv_np_min"])) & (pc < float(r["p_corr_np_max"]))


#: Median P-window correlation of the non-premature beats (``p_corr_np``) from which
#: :func:`regular_and_slow` counts the P waves as consistent (sinus).  In the PTB-XL subset
#: 86 % of the NORM records reach it, and of the AF records only atrial flutter; AF with
#: coarse fibrillatory waves reaches 0.8, hence a bound above the AF rule's 0.70.
SINUS_P_CORR_MIN = 0.9


def regular_and_slow(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` with a regular rhythm under 100/min (NaN features never qualify).

    Regular: the RR coefficient of variation over all beats (``rr_cv``) is under the AF
    rule's ``rr_cv_np_min``, or the rhythm is regular once the premature beats and their
    pauses are left out (``rr_cv_np`` under that bound) and its P waves are consistent
    (``p_corr_np`` at least :data:`SINUS_P_CORR_MIN`): sinus rhythm with ectopic beats.
    Under 100/min: TACHY's bound in :data:`RATE_RULES`.  The trees' AFIB/AFL call is
    dropped on such rows: what they learn as regular AF is 2:1 atrial flutter, a
    tachycardia, and none of their calls on regular slower rhythms was right in the PTB-XL
    cross-validation (``docs/benchmarks/classify.md``).  ``rr_cv_np`` alone would not do:
    in AF with few beats, leaving the short intervals out can leave a regular-looking rest,
    which is why the second form also asks for consistent P waves.

    Examples
    --------
    >>> X = np.full((4, len(FEATURE_NAMES)), np.nan)
    >>> X[:, FEATURE_NAMES.index("rr_cv")] = [0.02, 0.02, 0.3, 0.3]
    >>> X[:, FEATURE_NAMES.index("rr_cv_np")] = [0.02, 0.02, 0.03, 0.03]
    >>> X[:, FEATURE_NAMES.index("p_corr_np")] = [0.9, 0.9, 0.9, 0.2]
    >>> X[:, FEATURE_NAMES.index("hr_bpm")] = [80.0, 140.0, 80.0, 80.0]
    >>> regular_and_slow(X).tolist()
    [True, False, True, False]
    """
    X = np.atleast_2d(X)
    cv = X[:, FEATURE_NAMES.index("rr_cv")]
    cv_np = X[:, FEATURE_NAMES.index("rr_cv_np")]
    p_np = X[:, FEATURE_NAMES.index("p_corr_np")]
    hr = X[:, FEATURE_NAMES.index("hr_bpm")]
    with np.errstate(invalid="ignore"):
        regular = (cv < AF_RULE["rr_cv_np_min"]) | ((cv_np < AF_RULE["rr_cv_np_min"])
                                                    & (p_np >= SINUS_P_CORR_MIN))
        return regular & (hr < RATE_RULES["TACHY"][2])


#: Classes that :func:`premature_beats` decides when ``beat_rules`` is "rule".
BEAT_RULE_CLASSES: tuple[str, ...] = ("PAC", "PVC")
_BEAT_RULE_METHODS = ("rule", "learned")


def premature_beats(X: np.ndarray, af: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """PAC and PVC by their definition, from the beat measures on the rhythm strip.

    A beat is premature when its RR interval is under 85 % of the median RR.  It is
    ventricular when its QRS correlates under 0.8 with the median QRS on the rhythm strip,
    or on all the leads it has while its pause is fully compensatory (RR before plus RR
    after at least 95 % of two median RR); ``vent_premature`` is the shortest RR before such
    a beat over the median.  ``frac_premature_abrupt`` counts the premature beats whose RR
    is also under 85 % of the RR before it: an ectopic beat comes suddenly, while sinus
    arrhythmia shortens the RR over several beats.

    - PVC: a ventricular beat comes early (``vent_premature`` < 0.85).
    - PAC: a beat comes early and abruptly (``frac_premature_abrupt`` > 0) and no
      ventricular beat comes early.  A record with both gets PVC only.

    Neither is emitted when ``af`` holds (irregular RR in AF is not ectopy).  NaN
    features never meet a rule.

    Parameters
    ----------
    X : ndarray, shape (n_samples, len(FEATURE_NAMES))
    af : ndarray of bool, optional
        Rows in AF (:func:`irregular_without_p`); default none.

    Returns
    -------
    dict of str to ndarray of bool
        ``{"PAC": ..., "PVC": ...}``, each of shape (n_samples,).

    Examples
    --------
    >>> X = np.full((3, len(FEATURE_NAMES)), np.nan)
    >>> X[:, FEATURE_NAMES.index("frac_premature_abrupt")] = [0.1, 0.1, 0.0]
    >>> X[:, FEATURE_NAMES.index("vent_premature")] = [1.0, 0.6, 1.0]
    >>> {k: v.tolist() for k, v in premature_beats(X).items()}
    {'PAC': [True, False, False], 'PVC': [False, True, False]}
    """
    X = np.atleast_2d(X)
    not_af = np.ones(X.shape[0], bool) if af is None else ~np.asarray(af, bool)
    with np.errstate(invalid="ignore"):
        early = X[:, FEATURE_NAMES.index("frac_premature_abrupt")] > 0
        vent_early = X[:, FEATURE_NAMES.index("vent_premature")] < PREMATURE_REL
    return {"PAC": early & ~vent_early & not_af, "PVC": vent_early & not_af}


def _af_decision(p: np.ndarray, X: np.ndarray, veto: bool, af: np.ndarray) -> np.ndarray:
    """AFIB/AFL probabilities of the trees as prediction uses them: 0 on rows vetoed by
    :func:`regular_and_slow` (when ``veto``), 1 on rows in ``af`` (the AF rule)."""
    if veto:
        p = np.where(regular_and_slow(X), 0.0, p)
    return np.where(af, 1.0, p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass
class Classifier:
    """A trained classifier: per-class tree arrays, thresholds and the feature spec.

    Attributes
    ----------
    classes : list of str
        Classes the model can emit (present in training with enough records).
    thresholds : dict of str to float
        Probability threshold per class.
    trees : dict of str to dict of ndarray
        Exported trees per class.
    config : dict
        The content of ``config.json``.
    rules : dict of str to list
        Classes decided by a heart-rate rule: ``[feature, sign, threshold]``.
    """

    classes: list[str]
    thresholds: dict[str, float]
    trees: dict[str, dict[str, np.ndarray]]
    config: dict = field(default_factory=dict)
    rules: dict[str, list] = field(default_factory=dict)
    # (key of the signal, its features): the last signal's features, see features()
    _last: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def features(self, signal_mv: np.ndarray, fs_hz: float, lead_names: Sequence[str]) -> np.ndarray:
        """Feature vector of a signal, shape (n_features,).

        The features of the last signal are kept (keyed by a hash of its samples, its rate
        and lead names), so :meth:`predict` and :meth:`predict_proba` on the same record, as
        ``run_model.py --report`` calls them, compute them once.
        """
        signal_mv = np.asarray(signal_mv)
        key = (signal_mv.shape, signal_mv.dtype.str, float(fs_hz),
               None if lead_names is None else tuple(lead_names),
               hashlib.blake2b(np.ascontiguousarray(signal_mv), digest_size=16).digest())
        last = self._last
        if last is not None and last[0] == key:
            return last[1].copy()
        x = extract_features(signal_mv, fs_hz, lead_names)
        self._last = (key, x.copy())
        return x

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Probabilities, shape (n_samples, len(classes)), from feature rows."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if not self.classes:
            return np.zeros((X.shape[0], 0))
        af_rule = self.config.get("af_rule")
        af = irregular_without_p(X, af_rule) if af_rule else np.zeros(X.shape[0], bool)
        beats = premature_beats(X, af) if self.config.get("beat_rules") == "rule" else {}
        cols = []
        for c in self.classes:
            if c in beats:
                p = beats[c].astype(np.float64)
            elif c in self.rules:
                feat, sign, thr = self.rules[c]
                x = X[:, FEATURE_NAMES.index(feat)]
                p = np.where(np.isnan(x), 0.0, _sigmoid(float(sign) * (x - float(thr)) / 2.0))
            else:
                p = _sigmoid(predict_raw(self.trees[c], X))
            if c == "AFIB/AFL":
                p = _af_decision(p, X, bool(self.config.get("af_trees_veto_regular_slow")), af)
            elif c == "TACHY":
                p = np.where(af, 0.0, p)
            cols.append(p)
        return np.stack(cols, axis=1)

    def predict_features(self, X: np.ndarray) -> list[list[str]]:
        """Label lists from feature rows."""
        P = self.predict_proba_features(X)
        thr = np.array([self.thresholds[c] for c in self.classes])
        return [[c for c, hit in zip(self.classes, row) if hit] for row in (P >= thr)]

    def predict_proba(self, signal_mv: np.ndarray, fs_hz: float,
                      lead_names: Sequence[str]) -> dict[str, float]:
        """Probability of each class the model knows.

        Parameters
        ----------
        signal_mv : ndarray, shape (n, leads)
            Signal in mV, NaN allowed.
        fs_hz : float
        lead_names : sequence of str

        Returns
        -------
        dict of str to float
        """
        p = self.predict_proba_features(self.features(signal_mv, fs_hz, lead_names)[None, :])[0]
        return {c: float(v) for c, v in zip(self.classes, p)}

    def predict(self, signal_mv: np.ndarray, fs_hz: float, lead_names: Sequence[str]) -> list[str]:
        """Labels of a record, a subset of the trained classes in :data:`CLASSES` order."""
        proba = self.predict_proba(signal_mv, fs_hz, lead_names)
        return [c for c in self.classes if proba[c] >= self.thresholds[c]]

    def save(self, model_dir: str | Path) -> None:
        """Write ``config.json`` and ``trees.npz`` into ``model_dir``."""
        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for ci, c in enumerate(self.classes):
            for name in _TREE_FIELDS:
                arrays[f"c{ci}_{name}"] = self.trees[c][name]
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(model_dir / WEIGHTS_NAME, buf.getvalue())
        cfg = dict(self.config)
        cfg.update({"format": FORMAT, "classes": list(self.classes),
                    "thresholds": {c: float(self.thresholds[c]) for c in self.classes},
                    "rules": {c: list(r) for c, r in self.rules.items()},
                    "feature_names": list(FEATURE_NAMES), "work_fs_hz": WORK_FS_HZ,
                    "weights": WEIGHTS_NAME})
        atomic_write_bytes(model_dir / CONFIG_NAME, json.dumps(cfg, indent=1).encode("utf-8"))


def rate_variant(clf: Classifier, method: str) -> Classifier:
    """A copy of ``clf`` whose TACHY/BRADY use the heart-rate rule (``"rule"``) or the trees (``"learned"``)."""
    if method not in ("rule", "learned"):
        raise ValueError(f"method={method!r}; valid: rule, learned")
    thresholds = dict(clf.thresholds)
    rules = {}
    for c in RATE_RULES:
        if c not in clf.classes:
            continue
        if method == "rule":
            rules[c] = list(RATE_RULES[c])
            thresholds[c] = 0.5
        else:
            thresholds[c] = float(clf.config.get("learned_thresholds", {}).get(c, 0.5))
    keep = {c: r for c, r in clf.rules.items() if c not in RATE_RULES}
    keep.update(rules)
    return Classifier(classes=list(clf.classes), thresholds=thresholds, trees=clf.trees,
                      config=dict(clf.config), rules=keep)


def load_classifier(model_dir: str | Path) -> Classifier | None:
    """Load a classifier saved by :func:`train_classifier`; ``None`` if the folder has none.

    Everything the predictions use is checked here, once: the config's format, feature list,
    classes, thresholds and rules, and the shapes, kinds and indices of every tree array
    (:func:`ecgpaper.classify.trees.check_trees`).

    Raises
    ------
    ecgpaper.modelfiles.ModelFileError
        When the files exist but are corrupt or do not match this code; the message names
        the file and the field (or array).
    """
    model_dir = Path(model_dir)
    cfg_path = model_dir / CONFIG_NAME
    if not cfg_path.is_file():
        return None
    cfg = read_json(cfg_path)

    def bad(field: str, problem: str) -> ModelFileError:
        return ModelFileError(f"{cfg_path}: field {field!r} {problem}")

    if cfg.get("format") != FORMAT:
        raise bad("format", f"is {cfg.get('format')!r}; this code reads {FORMAT!r}")
    if cfg.get("feature_names") != list(FEATURE_NAMES):
        raise bad("feature_names", "differs from this code's features; retrain")
    classes = cfg.get("classes")
    if (not isinstance(classes, list) or not all(isinstance(c, str) and c in CLASSES
                                                 for c in classes)
            or len(set(classes)) != len(classes)):
        raise bad("classes", f"is {classes!r}; expected distinct names of {list(CLASSES)}")
    thr_in = cfg.get("thresholds")
    if not isinstance(thr_in, dict) or any(c not in thr_in for c in classes):
        raise bad("thresholds", "must give a threshold for every class")
    thresholds = {c: float(check_number(cfg_path, f"thresholds.{c}", thr_in[c], 0.0, 1.0))
                  for c in classes}
    rules_in = cfg.get("rules", {})
    if not isinstance(rules_in, dict):
        raise bad("rules", "is not an object")
    rules = {}
    for c, r in rules_in.items():
        if c not in classes:
            continue
        if not (isinstance(r, list) and len(r) == 3 and r[0] in FEATURE_NAMES):
            raise bad(f"rules.{c}", f"is {r!r}; expected [feature name, sign, threshold]")
        check_number(cfg_path, f"rules.{c}[1]", r[1])
        check_number(cfg_path, f"rules.{c}[2]", r[2])
        rules[c] = list(r)
    af_rule = cfg.get("af_rule")
    if af_rule is not None:
        if not isinstance(af_rule, dict):
            raise bad("af_rule", "is neither null nor an object")
        for key in AF_RULE:
            check_number(cfg_path, f"af_rule.{key}", af_rule.get(key))
    if "beat_rules" in cfg:
        check_choice(cfg_path, "beat_rules", cfg["beat_rules"], _BEAT_RULE_METHODS)
    if not isinstance(cfg.get("af_trees_veto_regular_slow", False), bool):
        raise bad("af_trees_veto_regular_slow", "is not true/false")
    weights = cfg.get("weights", WEIGHTS_NAME)
    if not isinstance(weights, str) or weights in ("", ".", "..") or Path(weights).name != weights:
        raise bad("weights", f"is {weights!r}; expected a file name in {model_dir}")
    arrays = read_npz(model_dir / weights)
    trees = {}
    for ci, c in enumerate(classes):
        prefix = f"c{ci}_"
        tree = {name: arrays[prefix + name] for name in _TREE_FIELDS if prefix + name in arrays}
        try:
            check_trees(tree, len(FEATURE_NAMES), prefix)
        except ValueError as exc:
            raise ModelFileError(f"{model_dir / weights}: class {c!r}: {exc}") from None
        trees[c] = tree
    return Classifier(classes=classes, thresholds=thresholds, trees=trees, config=cfg, rules=rules)


def best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Threshold on ``p`` maximising F1 for binary ``y``; returns (threshold, F).

    The threshold is :func:`best_cut`'s, clipped to [0.02, 0.98].

    Examples
    --------
    >>> best_threshold(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.9]))
    (0.225, 0.8)
    """
    y = np.asarray(y, dtype=bool)
    if y.sum() == 0:
        return 1.0, float("nan")
    cut, f = best_cut(y, p)
    return float(np.clip(cut, 0.02, 0.98)), f


def best_cut(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Cut on ``score`` (``score > cut`` is positive) maximising F1 for binary ``y``.

    The cut lies halfway between two distinct scores (0.05 under the lowest when every
    record is called positive). Returns (cut, F); F is NaN when ``y`` has no positive.

    Examples
    --------
    >>> best_cut(np.array([1, 1, 0, 0]), -np.array([50.0, 55.0, 70.0, 80.0]))
    (-62.5, 1.0)
    """
    y = np.asarray(y, dtype=bool)
    p = np.asarray(score, dtype=np.float64)
    if y.sum() == 0:
        return float("nan"), float("nan")
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(~ys)
    fn = ys.sum() - tp
    f = 2 * tp / (2 * tp + fp + fn)
    # cut only between distinct scores
    distinct = np.r_[ps[1:] < ps[:-1], True]
    f = np.where(distinct, f, -1.0)
    k = int(np.argmax(f))
    nxt = ps[k + 1] if k + 1 < ps.size else ps[k] - 0.05
    return float(0.5 * (ps[k] + nxt)), float(f[k])


def record_views(signal_mv: np.ndarray, fs_hz: float, lead_names: Sequence[str],
                 rng: np.random.Generator, views: Sequence[Sequence]) -> np.ndarray:
    """Feature rows of augmented views of one true record, shape (len(views), n_features)."""
    x = resample_nan(to_standard_leads(signal_mv, lead_names), fs_hz, WORK_FS_HZ)
    rows = []
    for strength, mask in views:
        v = augment_digitized(x, WORK_FS_HZ, rng, strength=float(strength), mask=bool(mask))
        rows.append(extract_features(v, WORK_FS_HZ, None))
    return np.stack(rows)


#: At most this many worker processes extract training features by default
#: (:func:`default_jobs`): each holds one record and its views in memory.
MAX_JOBS = 8


def default_jobs() -> int:
    """Worker processes for feature extraction: the CPUs this process may run on, at most
    :data:`MAX_JOBS`."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(MAX_JOBS, n))


def _record_rows(record: str, seed: np.random.SeedSequence, views: Sequence[Sequence]):
    """One training record (in a worker): ``("ok", (labels, rows))``, ``("unlabelled", None)``
    or ``("failed", traceback text)``."""
    try:
        header = read_header(record)
        labels = header.labels
        if not labels:
            return "unlabelled", None
        signal, header = read_signal(record)
        rows = record_views(signal, header.fs_hz, header.lead_names,
                            np.random.default_rng(seed), views)
    except Exception:  # noqa: BLE001 - one broken record never stops training
        return "failed", traceback.format_exc()
    return "ok", (list(labels), rows)


def _record_results(records: Sequence[str], seeds, views, jobs: int, deadline: float | None):
    """``(record, status, payload)`` of :func:`_record_rows` in record order, made by ``jobs``
    processes (``fork`` on Linux, as ``ecg_image_kit``'s command line; else ``spawn``).
    Nothing more is started once ``deadline`` has passed; what was started is returned."""
    def expired() -> bool:
        return deadline is not None and time.monotonic() > deadline

    n = len(records)
    if jobs <= 1 or n <= 1:
        for i in range(n):
            if expired():
                return
            yield (records[i], *_record_rows(records[i], seeds[i], views))
        return
    ctx = get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, n), mp_context=ctx) as pool:
        pending: deque = deque()
        nxt = 0
        while True:
            while nxt < n and len(pending) < 2 * jobs and not expired():
                pending.append((records[nxt], pool.submit(_record_rows, records[nxt], seeds[nxt],
                                                          views)))
                nxt += 1
            if not pending:
                return
            record, fut = pending.popleft()
            yield (record, *fut.result())


def build_training_set(records: Sequence[str], views: Sequence[Sequence], seed: int = 0,
                       verbose: bool = False, deadline: float | None = None,
                       jobs: int | None = None):
    """Features and labels of labelled records (unlabelled and broken ones skipped).

    Parameters
    ----------
    records : sequence of str
        Record paths without extension.
    views : sequence of (strength, mask)
        Augmented views per record (:func:`record_views`).
    seed : int
        Record ``i`` gets the ``i``-th child of ``SeedSequence(seed)``, so the rows do not
        depend on ``jobs``.
    verbose : bool
        Log progress (INFO, logger ``ecgpaper.classify``).
    deadline : float, optional
        ``time.monotonic()`` value after which no more records are read.
    jobs : int, optional
        Worker processes (default :func:`default_jobs`; 1: in this process).

    Returns
    -------
    X : ndarray, shape (n_rows, n_features)
    Y : ndarray of bool, shape (n_rows, len(CLASSES))
    groups : ndarray of int, shape (n_rows,)
        Index of the record of each row.
    view : ndarray of int, shape (n_rows,)
        Index of the view of each row.
    summary : dict
        Counts of used, unlabelled, failed and unread (deadline) records.
    """
    X, Y, groups, view_idx = [], [], [], []
    summary = {"used": 0, "unlabelled": 0, "failed": 0, "not_read_time_budget": 0}
    seeds = np.random.SeedSequence(seed).spawn(len(records))
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    n_read = 0
    for record, status, payload in _record_results(records, seeds, views, jobs, deadline):
        n_read += 1
        if status == "unlabelled":
            summary["unlabelled"] += 1
            continue
        if status == "failed":
            logger.error("record %s: failed, skipped\n%s", record, payload)
            summary["failed"] += 1
            continue
        labels, rows = payload
        y = np.array([c in labels for c in CLASSES])
        X.append(rows)
        Y.append(np.repeat(y[None, :], rows.shape[0], axis=0))
        groups += [summary["used"]] * rows.shape[0]
        view_idx += list(range(rows.shape[0]))
        summary["used"] += 1
        if verbose and summary["used"] % 50 == 0:
            logger.info("features: %d records", summary["used"])
    if n_read < len(records):
        summary["not_read_time_budget"] = len(records) - n_read
        logger.warning("time budget: %d records not read", len(records) - n_read)
    if not X:
        return (np.zeros((0, len(FEATURE_NAMES))), np.zeros((0, len(CLASSES)), bool),
                np.zeros(0, int), np.zeros(0, int), summary)
    return np.concatenate(X), np.concatenate(Y), np.asarray(groups), np.asarray(view_idx), summary


def _fit(X, Y, params):
    X = X.copy()
    X[:, [FEATURE_NAMES.index(f) for f in RULE_ONLY_FEATURES]] = np.nan
    return fit_gbm(X, Y, n_iter=params["max_iter"], learning_rate=params["learning_rate"],
                   max_depth=params["max_depth"], min_samples_leaf=params["min_samples_leaf"],
                   l2_regularization=params["l2_regularization"], n_bins=params["n_bins"],
                   balanced=params["class_weight"] == "balanced")


def fit_classifier(X: np.ndarray, Y: np.ndarray, groups: np.ndarray, view: np.ndarray,
                   params: dict | None = None, seed: int = 0, verbose: bool = False,
                   deadline: float | None = None) -> Classifier:
    """Fit per-class trees and F-optimal thresholds on feature rows.

    Each threshold maximises F over the out-of-fold predictions of the masked views; that
    of AFIB/AFL over the decision :meth:`Classifier.predict_proba_features` makes, with the
    veto (:func:`regular_and_slow`) and the rule (:func:`irregular_without_p`) applied.

    Parameters
    ----------
    X : ndarray, shape (n_rows, n_features)
    Y : ndarray of bool, shape (n_rows, len(CLASSES))
    groups : ndarray of int
        Record of each row (folds never split a record).
    view : ndarray of int
        View of each row; thresholds are chosen on the masked views.
    params : dict, optional
        Overrides of :data:`DEFAULT_PARAMS`.
    seed : int
        Seeds the assignment of records to threshold folds.
    deadline : float, optional
        ``time.monotonic()`` value after which thresholds are not cross-validated (0.5 used).
    """
    p = dict(DEFAULT_PARAMS)
    p.update(params or {})
    if p["rate_rules"] not in _RATE_RULE_METHODS:
        raise ValueError(f"rate_rules={p['rate_rules']!r}; valid: {', '.join(_RATE_RULE_METHODS)}")
    if p["beat_rules"] not in _BEAT_RULE_METHODS:
        raise ValueError(f"beat_rules={p['beat_rules']!r}; valid: {', '.join(_BEAT_RULE_METHODS)}")
    n_records = int(groups.max()) + 1 if groups.size else 0
    rec_pos = np.zeros((n_records, len(CLASSES)), bool)
    if groups.size:
        rec_pos[groups] = Y
    counts = {c: int(rec_pos[:, k].sum()) for k, c in enumerate(CLASSES)}
    classes = [c for c in CLASSES if counts[c] >= p["min_positives"]]
    cols = [CLASSES.index(c) for c in classes]
    masked_views = [i for i, (_, m) in enumerate(p["views"]) if m] or list(range(len(p["views"])))
    sel = np.isin(view, masked_views)
    thresholds = {c: 0.5 for c in classes}
    cv_f = {c: float("nan") for c in classes}
    trees: dict = {}
    if classes and (deadline is None or time.monotonic() < deadline):
        rng = np.random.default_rng(seed)
        k_folds = max(2, int(p["cv_folds"]))
        fold = (rng.permutation(n_records) % k_folds)[groups]
        oof = np.full((len(X), len(cols)), np.nan)
        for f_i in range(k_folds):
            te = fold == f_i
            if not te.any() or te.all():
                continue
            fold_trees = _fit(X[~te], Y[~te][:, cols], p)
            oof[te] = np.stack([_sigmoid(predict_raw(t, X[te])) for t in fold_trees], axis=1)
        if "AFIB/AFL" in classes:
            # the AF threshold is chosen for the decision made: veto and rule applied
            j = classes.index("AFIB/AFL")
            seen = np.isfinite(oof[:, j])
            af = irregular_without_p(X[seen]) if p["af_rule"] else np.zeros(seen.sum(), bool)
            oof[seen, j] = _af_decision(oof[seen, j], X[seen], p["af_trees_veto_regular_slow"],
                                        af)
        for j, c in enumerate(classes):
            ok = sel & np.isfinite(oof[:, j])
            y = Y[ok, cols[j]]
            if y.any():
                thresholds[c], cv_f[c] = best_threshold(y, oof[ok, j])
    if classes:
        trees = dict(zip(classes, _fit(X, Y[:, cols], p)))
    rules: dict[str, list] = {}
    rule_f: dict[str, float] = {}
    learned_thresholds = dict(thresholds)
    for c, (feat, sign, thr) in RATE_RULES.items():
        if c not in classes or p["rate_rules"] == "learned":
            continue
        x = X[sel, FEATURE_NAMES.index(feat)]
        y = Y[sel, CLASSES.index(c)].astype(bool)
        hit = np.nan_to_num(sign * (x - thr)) > 0
        den = 2 * np.sum(hit & y) + np.sum(hit & ~y) + np.sum(~hit & y)
        rule_f[c] = float(2 * np.sum(hit & y) / den) if den else float("nan")
        if p["rate_rules"] == "rule" or not (cv_f[c] > rule_f[c]):
            rules[c] = [feat, float(sign), float(thr)]
            thresholds[c] = 0.5
    if p["beat_rules"] == "rule":
        for c in BEAT_RULE_CLASSES:
            if c in thresholds:
                thresholds[c] = 0.5
    if verbose:
        for c in classes:
            extra = (f" rate-rule F {rule_f[c]:.3f} -> {'rule' if c in rules else 'trees'}"
                     if c in rule_f else "")
            logger.info("class %-9s positives %4d threshold %.3f cv F %.3f%s", c, counts[c],
                        thresholds[c], cv_f[c], extra)
    config = {"params": p, "seed": seed, "n_records": n_records, "label_counts": counts,
              "af_rule": dict(AF_RULE) if p["af_rule"] else None,
              "af_trees_veto_regular_slow": bool(p["af_trees_veto_regular_slow"]),
              "beat_rules": p["beat_rules"],
              "cv_f": cv_f, "rule_f": rule_f, "learned_thresholds": learned_thresholds,
              "classes_in_training": [c for c in CLASSES if counts[c] > 0]}
    return Classifier(classes=classes, thresholds=thresholds, trees=trees, config=config,
                      rules=rules)


def train_classifier(records: list[str], model_dir: str | Path, verbose: bool = False,
                     seed: int = 0, time_budget_s: float | None = None,
                     params: dict | None = None, jobs: int | None = None) -> None:
    """Train on labelled WFDB records and write the model into ``model_dir``.

    Parameters
    ----------
    records : list of str
        Record paths without extension; headers with a ``# Labels:`` line.
        Unlabelled records are skipped; a record that fails to load is logged
        and skipped. If every record that was read failed, nothing is written and
        RuntimeError is raised: a model that never predicts would hide the cause.
    model_dir : path-like
        Output folder (``config.json`` + ``trees.npz``).
    verbose : bool
        Log progress at INFO on the ``ecgpaper.classify`` logger (``train_model.py -v``
        shows it: ``team_code`` configures logging).
    seed : int
        Seeds the augmentations and the folds.
    time_budget_s : float, optional
        Wall-clock budget: records beyond 70 % of it are not read, and
        thresholds are not cross-validated beyond 85 % of it.
    params : dict, optional
        Overrides of :data:`DEFAULT_PARAMS`.
    jobs : int, optional
        Processes that extract the features (default :func:`default_jobs`); the model does
        not depend on it.
    """
    t0 = time.monotonic()
    p = dict(DEFAULT_PARAMS)
    p.update(params or {})
    read_deadline = t0 + 0.7 * time_budget_s if time_budget_s else None
    fit_deadline = t0 + 0.85 * time_budget_s if time_budget_s else None
    X, Y, groups, view, summary = build_training_set(sorted(records), p["views"], seed=seed,
                                                     verbose=verbose, deadline=read_deadline,
                                                     jobs=jobs)
    if verbose:
        logger.info("training records: %s; feature rows %s", summary, X.shape)
    if summary["failed"] and not summary["used"]:
        raise RuntimeError(f"train_classifier: no labelled record could be loaded "
                           f"({summary['failed']} failed, see the log above; "
                           f"{summary['unlabelled']} unlabelled); no classifier written to "
                           f"{model_dir}")
    clf = fit_classifier(X, Y, groups, view, params=p, seed=seed, verbose=verbose,
                         deadline=fit_deadline)
    clf.config["records_summary"] = summary
    clf.config["train_time_s"] = round(time.monotonic() - t0, 1)
    clf.save(model_dir)
    if verbose:
        logger.info("classifier saved to %s (%s s); classes %s", model_dir,
                    clf.config["train_time_s"], clf.classes)
