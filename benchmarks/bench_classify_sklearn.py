"""Our numpy boosting (``ecgpaper.classify.gbm``) against scikit-learn's HistGradientBoostingClassifier.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_classify_sklearn.py [--folds 1,...,10]

Needs scikit-learn (a benchmark-only dependency; the classifier does not use it).
Same records, labels, features (the ``.npz`` cache of ``bench_classify.py``, so both
boosters see the identical matrix) and folds as ``bench_classify.py``: 10-fold CV over
PTB-XL ``strat_fold``, each fold's model made by
:func:`ecgpaper.classify.model.fit_classifier`, which draws the 5 threshold folds from the
seed, fits one binary booster per class and picks each threshold for the best F on the
out-of-fold predictions.  Only the booster differs: ``ecgpaper.classify.model._fit`` is
either ours (``fit_gbm``) or one ``HistGradientBoostingClassifier`` per class with the same
settings (``DEFAULT_PARAMS``: learning rate, iterations, depth = ``max_depth`` levels, so at
most ``2**max_depth`` leaves, ``min_samples_leaf``, L2, bins; balanced classes; no early
stopping; the rule-only features NaN as ours).  The fitted sklearn trees are exported to
the arrays of :mod:`ecgpaper.classify.trees` (checked: the same raw scores as sklearn's
``decision_function``), so prediction, thresholds and rules run the same code for both.

Two settings: the default classifier (TACHY/BRADY, PAC/PVC and AF partly from rules) and
"trees only" (``rate_rules``/``beat_rules`` ``learned``, no AF rule or veto), where every
class comes from the booster.  Prints the Challenge macro F (``ecgpaper.scoring``) and
per-class F on true and 3x4-masked signals, a paired bootstrap over records of the macro F
difference, the fit time (the booster calls only, summed over folds) and the predict time
(exported trees, :func:`ecgpaper.classify.trees.predict_raw`; and sklearn's own), with the
thread limits and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import ecgpaper.classify.model as clf_model
from ecgcore.constants import CLASSES
from ecgpaper.benchutil import features_cached, ptbxl_table
from ecgpaper.classify.features import FEATURE_NAMES
from ecgpaper.classify.trees import check_trees, predict_raw
from ecgpaper.scoring.classification import class_table, compute_f_measure

TREES_ONLY = {"rate_rules": "learned", "beat_rules": "learned", "af_rule": False,
              "af_trees_veto_regular_slow": False}
SETTINGS = {"default": {}, "trees only": TREES_ONLY}


def export_sklearn(model, columns: np.ndarray) -> dict[str, np.ndarray]:
    """The trees of a fitted binary ``HistGradientBoostingClassifier`` as
    :func:`ecgpaper.classify.trees.predict_raw` arrays (no pickle needed to keep them).

    ``columns``: the feature (column of the full matrix) of each column the model saw.

    A node goes left when ``x <= num_threshold``, NaN where ``missing_go_to_left`` says,
    as in :mod:`ecgpaper.classify.trees`; sklearn numbers the nodes depth first, so every
    child comes after its parent.
    """
    parts = {k: [] for k in ("feature", "threshold", "left", "right", "missing_left",
                             "is_leaf", "value")}
    roots, off = [], 0
    for (pred,) in model._predictors:
        nodes = pred.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits cannot be exported")
        leaf = nodes["is_leaf"].astype(bool)
        roots.append(off)
        parts["feature"].append(np.where(leaf, 0, columns[nodes["feature_idx"]]).astype(np.int32))
        parts["threshold"].append(np.where(leaf, 0.0, nodes["num_threshold"]))
        parts["left"].append(np.where(leaf, 0, nodes["left"].astype(np.int64) + off))
        parts["right"].append(np.where(leaf, 0, nodes["right"].astype(np.int64) + off))
        parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool) & ~leaf)
        parts["is_leaf"].append(leaf)
        parts["value"].append(np.where(leaf, nodes["value"], 0.0))
        off += nodes.size
    out = {k: np.concatenate(v) for k, v in parts.items()}
    for k in ("left", "right"):
        out[k] = out[k].astype(np.int32)
    out["roots"] = np.asarray(roots, dtype=np.int32)
    out["baseline"] = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()[:1]
    return out


def constant_trees(p: float) -> dict[str, np.ndarray]:
    """No tree, baseline only: what ``fit_gbm`` gives a target with one class present."""
    p = float(np.clip(p, 1e-4, 1 - 1e-4))
    z = np.zeros(0)
    return {"feature": z.astype(np.int32), "threshold": z, "left": z.astype(np.int32),
            "right": z.astype(np.int32), "missing_left": z.astype(bool),
            "is_leaf": z.astype(bool), "value": z, "roots": z.astype(np.int32),
            "baseline": np.array([np.log(p / (1 - p))])}


class Booster:
    """A ``_fit`` replacement that times the booster and keeps the last fitted models."""

    def __init__(self, name: str, n_records: int):
        self.name = name
        self.fit_s = self.fit_cpu_s = self.pred_s = self.native_s = self.export_err = 0.0
        self.n_fits = 0
        self.last = None  # (sklearn model, columns) per class of the last fit; None for ours
        self.preds = {"true": [[] for _ in range(n_records)],
                      "masked": [[] for _ in range(n_records)]}

    def __call__(self, X, Y, params):
        t, c = time.perf_counter(), time.process_time()
        out = self.fit(X, Y, params)
        self.fit_s += time.perf_counter() - t
        self.fit_cpu_s += time.process_time() - c
        self.n_fits += 1
        return out


class Ours(Booster):
    fit = staticmethod(clf_model._fit)


class Sklearn(Booster):
    def fit(self, X, Y, params):
        from sklearn.ensemble import HistGradientBoostingClassifier

        X = X.copy()
        X[:, [FEATURE_NAMES.index(f) for f in clf_model.RULE_ONLY_FEATURES]] = np.nan
        # sklearn 1.9.1 fails on a column without any finite value (its bin finder takes
        # midpoints of no distinct values): such columns are left out (they cannot split)
        cols = np.flatnonzero(np.isfinite(X).any(axis=0))
        X = X[:, cols]
        out, models = [], []
        for k in range(Y.shape[1]):
            y = Y[:, k].astype(int)
            if y.min() == y.max():
                out.append(constant_trees(y.mean()))
                models.append(None)
                continue
            m = HistGradientBoostingClassifier(
                learning_rate=params["learning_rate"], max_iter=params["max_iter"],
                max_depth=params["max_depth"], max_leaf_nodes=2 ** params["max_depth"],
                min_samples_leaf=params["min_samples_leaf"],
                l2_regularization=params["l2_regularization"], max_bins=params["n_bins"],
                early_stopping=False,
                class_weight="balanced" if params["class_weight"] == "balanced" else None,
                random_state=0)
            m.fit(X, y)
            out.append(export_sklearn(m, cols))
            models.append((m, cols))
        self.last = models
        return out


def bootstrap_diff(refs, preds_a, preds_b, n_boot: int, seed: int = 0):
    """Paired bootstrap over records of macro F(b) - macro F(a): (mean, 2.5 %, 97.5 %)."""
    rng = np.random.default_rng(seed)
    n = len(refs)
    d = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        r = [refs[i] for i in idx]
        fa = compute_f_measure(r, [preds_a[i] for i in idx])[0]
        fb = compute_f_measure(r, [preds_b[i] for i in idx])[0]
        d.append(fb - fa)
    d = np.asarray(d)
    return float(np.mean(d)), float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--cache", default="/tmp/bench_classify_features.npz",
                    help="feature cache of bench_classify.py (made when absent)")
    ap.add_argument("--folds", default="1,2,3,4,5,6,7,8,9,10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=1000, help="resamples (0: none)")
    ap.add_argument("--settings", default="default,trees only")
    args = ap.parse_args(argv)

    import sklearn
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(1)
    threads = sorted({(p["internal_api"], p["num_threads"]) for p in threadpool_info()})
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; thread pools (api, threads): "
          f"{threads}; {os.cpu_count()} CPUs; load average at start "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    data = Path(args.data)
    if not (data / "ptbxl_subset500").is_dir():
        data = Path("/work/shared/data")
    rows = ptbxl_table(data)
    views = clf_model.DEFAULT_PARAMS["views"]
    train_f, true_f, masked_f = features_cached(rows, Path(args.cache), views, args.seed)
    print(f"features: {train_f.shape[0]} records x {train_f.shape[1]} views x "
          f"{train_f.shape[2]} (cache {args.cache})")
    refs_all = [r[1] for r in rows]
    folds = np.array([r[2] for r in rows])
    Y = np.array([[c in r for c in CLASSES] for r in refs_all])
    labelled = Y.any(axis=1)
    n_views = train_f.shape[1]
    fold_list = [int(f) for f in args.folds.split(",")]
    sel = np.flatnonzero(np.isin(folds, fold_list))
    refs = [refs_all[i] for i in sel]

    results = {}  # (setting, booster name) -> {"true": preds, "masked": preds}
    timing = {}
    original_fit = clf_model._fit
    try:
        for setting in args.settings.split(","):
            params = SETTINGS[setting]
            boosters = (Ours("ours (gbm.py)", len(rows)), Sklearn("sklearn HGB", len(rows)))
            t0 = time.perf_counter()
            for fold in fold_list:
                tr = np.flatnonzero((folds != fold) & labelled)
                te = np.flatnonzero(folds == fold)
                X = train_f[tr].reshape(-1, train_f.shape[2])
                Xte = np.concatenate([true_f[te], masked_f[te]])
                for b in boosters:  # one after the other on each fold: the same machine load
                    clf_model._fit = b
                    clf = clf_model.fit_classifier(
                        X, np.repeat(Y[tr], n_views, axis=0), np.repeat(np.arange(tr.size), n_views),
                        np.tile(np.arange(n_views), tr.size), params=params, seed=args.seed)
                    t = time.perf_counter()
                    raw = [predict_raw(clf.trees[c], Xte) for c in clf.classes]
                    b.pred_s += time.perf_counter() - t
                    for c in clf.classes:
                        check_trees(clf.trees[c], len(FEATURE_NAMES))
                    if b.last is not None:
                        t = time.perf_counter()
                        native = [m.decision_function(Xte[:, cols]) if m is not None else None
                                  for m, cols in b.last]
                        b.native_s += time.perf_counter() - t
                        b.export_err = max([b.export_err] + [float(np.max(np.abs(r - nv)))
                                           for r, nv in zip(raw, native) if nv is not None])
                    for name, F in (("true", true_f), ("masked", masked_f)):
                        for i, labs in zip(te, clf.predict_features(F[te])):
                            b.preds[name][i] = labs
                print(f"{setting}: fold {fold} done ({time.perf_counter() - t0:.0f} s; booster "
                      f"fits so far: " + ", ".join(f"{b.name} {b.fit_s:.0f} s" for b in boosters)
                      + ")", flush=True)
            for b in boosters:
                results[(setting, b.name)] = {k: [v[i] for i in sel] for k, v in b.preds.items()}
                timing[(setting, b.name)] = b
    finally:
        clf_model._fit = original_fit

    n_test = 2 * len(sel)
    for setting in args.settings.split(","):
        names = [n for (s, n) in results if s == setting]
        print(f"\n## {setting}: PTB-XL 10-fold CV over strat_fold (folds {args.folds}), "
              "Challenge macro F (ecgpaper.scoring)\n")
        cols = [(n, inp) for inp in ("true", "masked") for n in names]
        print("| class | n | " + " | ".join(f"{n} {inp}" for n, inp in cols) + " |")
        print("|---|---|" + "---|" * len(cols))
        tables = {(n, inp): {r.label: r for r in class_table(refs, results[(setting, n)][inp])}
                  for n, inp in cols}
        for c in sorted({c for r in refs for c in r}, key=CLASSES.index):
            sup = tables[cols[0]][c].support
            print(f"| {c} | {sup} | " + " | ".join(f"{tables[k][c].f_measure:.3f}" for k in cols)
                  + " |")
        print("| **macro F** | | " + " | ".join(
            f"**{compute_f_measure(refs, results[(setting, n)][inp])[0]:.3f}**" for n, inp in cols)
            + " |")
        if args.bootstrap and len(names) == 2:
            for inp in ("true", "masked"):
                m, lo, hi = bootstrap_diff(refs, results[(setting, names[0])][inp],
                                           results[(setting, names[1])][inp], args.bootstrap)
                print(f"macro F {names[1]} - {names[0]}, {inp}: {m:+.3f} "
                      f"(95 % paired bootstrap over {len(refs)} records, {args.bootstrap} "
                      f"resamples: {lo:+.3f} .. {hi:+.3f})")
        print("\n| booster | fits | fit s wall (boosters only) | fit s CPU | s per fit (wall) | "
              "predict_raw ms per 1000 rows | sklearn predict ms per 1000 rows | max abs "
              "raw-score diff export vs sklearn |")
        print("|---|---|---|---|---|---|---|---|")
        for n in names:
            b = timing[(setting, n)]
            nat = f"{1e6 * b.native_s / n_test:.1f}" if b.native_s else "-"
            e = f"{b.export_err:.1e}" if b.last is not None else "-"
            print(f"| {n} | {b.n_fits} | {b.fit_s:.1f} | {b.fit_cpu_s:.1f} | "
                  f"{b.fit_s / b.n_fits:.2f} | {1e6 * b.pred_s / n_test:.1f} | {nat} | {e} |")
    print(f"\nload average at end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
