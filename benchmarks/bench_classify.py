"""Benchmark of ecgpaper.classify on PTB-XL (10-fold CV over strat_fold) and CinC 2021.

Usage::

    nice -n 10 python benchmarks/bench_classify.py [--data ../shared/data] [--folds 1,2]

Prints the Challenge macro F (classes = those in the reference; F_c =
2TP/(2TP+FP+FN); mean) and a per-class table for:

(a)  the classifier on the true 500-Hz signals (oracle input);
(a') the classifier on the true signals masked as a 3x4 page (each short lead
     only in its 2.5-s window, lead II whole) - a proxy for digitized input;
(b)  image -> digitize -> classify with ``--image``: each record rendered by
     ``ecg_image_kit`` (preset "moderate"), digitized by ``ecgpaper.digitize`` with a
     digitizer trained (``train_digitizer``) on the other half of the folds;
(c)  always the most frequent training class.

External check: train on all 500 PTB-XL records, test on cinc2021_sample with
labels from ``ecgpaper.prepare.cinc.snomed_to_labels``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ecgcore.constants import CLASSES
from ecgcore.wfdbio import read_header, read_signal
from ecgpaper.benchutil import features_cached, ptbxl_table
from ecgpaper.classify.augment import mask_3x4
from ecgpaper.classify.features import WORK_FS_HZ, extract_features, resample_nan, to_standard_leads
from ecgpaper.classify.model import DEFAULT_PARAMS, fit_classifier, rate_variant, record_views


#: Classes the CinC SNOMED mapping supports reliably (the first CinC table).
RHYTHM_CLASSES = ("NORM", "PAC", "PVC", "AFIB/AFL", "TACHY", "BRADY")


def challenge_f(refs: list[list[str]], preds: list[list[str]]) -> tuple[float, dict[str, float]]:
    """Macro F of the Challenge (spec 4.6): classes of the labelled references only."""
    keep = [i for i, r in enumerate(refs) if r]
    classes = sorted({c for i in keep for c in refs[i]})
    per = {}
    for c in classes:
        tp = sum(1 for i in keep if c in refs[i] and c in preds[i])
        fp = sum(1 for i in keep if c not in refs[i] and c in preds[i])
        fn = sum(1 for i in keep if c in refs[i] and c not in preds[i])
        den = 2 * tp + fp + fn
        per[c] = 2 * tp / den if den else float("nan")
    vals = [v for v in per.values() if np.isfinite(v)]
    return (float(np.mean(vals)) if vals else float("nan")), per


def image_features_cached(rows, cache: Path, preset_name: str = "moderate", digitizers=None):
    """Features of image -> digitize (ecg_image_kit preset, ecgpaper.digitize).

    ``digitizers`` maps a record's ``strat_fold`` to the trained
    :class:`ecgpaper.digitize.api.Digitizer` that reads its page (None or a missing
    fold = the classical defaults).  The digitized signals are cached (float32, one
    ``.npy`` per record in the folder ``cache``), so an interrupted run resumes and
    feature changes do not need new images.
    """
    from ecg_image_kit import preset, render
    from ecgpaper.digitize import digitize_images

    digitizers = digitizers or {}
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    fails, feats = 0, []
    for i, (rec, _, fold) in enumerate(rows):
        path = cache / f"{i:04d}.npy"
        sig, hdr = read_signal(rec)
        if path.is_file():
            dig = np.load(path, allow_pickle=False).astype(np.float64)
        else:
            try:
                res = render(sig, hdr.fs_hz, hdr.lead_names, config=preset(preset_name), seed=i)
                dig = digitize_images([res.image], hdr, digitizer=digitizers.get(fold))
            except Exception as exc:  # noqa: BLE001 - a failed page is an all-NaN record
                fails += 1
                print(f"record {rec}: image path failed: {exc!r}", flush=True)
                dig = np.full_like(sig, np.nan)
            np.save(path, dig.astype(np.float32))
            if (i + 1) % 20 == 0:
                print(f"image path: {i + 1}/{len(rows)} records ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
        feats.append(extract_features(dig, hdr.fs_hz, hdr.lead_names))
    print(f"image path features ready ({fails} failures in this run)")
    return np.stack(feats)


def cross_fitted_digitizers(rows, model_root: Path, budget_s: float | None, seed: int):
    """Two digitizers, each trained on the records of one half of the folds (1-5 or 6-10).

    The digitizer of a record is the one trained on the other half, so no page is read by a
    network that saw its record.  Trained models are kept in ``model_root/half{1,2}`` and
    reused by later runs.
    """
    from ecgpaper.digitize.api import load_digitizer, train_digitizer

    halves = {1: range(1, 6), 2: range(6, 11)}
    out = {}
    for half, folds in halves.items():
        model_dir = model_root / f"half{half}"
        if load_digitizer(model_dir) is None:
            train = [rec for rec, _, fold in rows if fold not in folds]
            t0 = time.perf_counter()
            train_digitizer(train, model_dir, seed=seed, time_budget_s=budget_s)
            print(f"digitizer for folds {folds.start}-{folds.stop - 1}: trained on "
                  f"{len(train)} records of the other folds in {time.perf_counter() - t0:.0f} s",
                  flush=True)
        dig = load_digitizer(model_dir)
        val = dig.meta.get("centreline", {}).get("validation_db", {})
        print(f"digitizer for folds {folds.start}-{folds.stop - 1}: network "
              f"{'kept' if dig.centreline is not None else 'not kept'} (validation: classical "
              f"{val.get('classical', float('nan')):.2f} dB, network "
              f"{val.get('centreline', float('nan')):.2f} dB)", flush=True)
        for fold in folds:
            out[fold] = dig
    return out


def print_table(title, results, refs):
    print(f"\n## {title}\n")
    names = list(results)
    per = {n: challenge_f(refs, results[n])[1] for n in names}
    classes = sorted({c for r in refs for c in r}, key=CLASSES.index)
    counts = {c: sum(c in r for r in refs) for c in classes}
    print("| class | n | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for c in classes:
        print(f"| {c} | {counts[c]} | " + " | ".join(f"{per[n].get(c, float('nan')):.3f}" for n in names)
              + " |")
    print("| **macro F** | | " + " | ".join(f"**{challenge_f(refs, results[n])[0]:.3f}**" for n in names)
          + " |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--cache", default="/tmp/bench_classify_features.npz")
    ap.add_argument("--folds", default="1,2,3,4,5,6,7,8,9,10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-external", action="store_true")
    ap.add_argument("--params", default="{}",
                    help="JSON overrides of ecgpaper.classify.model.DEFAULT_PARAMS (not 'views')")
    ap.add_argument("--image", action="store_true",
                    help="(b): render each record (ecg_image_kit 'moderate'), digitize, classify")
    ap.add_argument("--image-cache", default=None,
                    help="folder of cached digitized signals (default /tmp/bench_classify_digitized"
                         "[_trained])")
    ap.add_argument("--digitizer", choices=("trained", "classic"), default="trained",
                    help="(b): 'trained' = train_digitizer cross-fitted over two halves of the "
                         "folds (network included); 'classic' = digitize_images defaults")
    ap.add_argument("--digitizer-models", default="/tmp/bench_classify_digitizers",
                    help="where the cross-fitted digitizers are kept (reused when present)")
    ap.add_argument("--digitizer-budget-s", type=float, default=None,
                    help="time_budget_s of each train_digitizer call (default: none, as "
                         "train_model.py: 600 s of network fitting)")
    ap.add_argument("--image-only", action="store_true", help="only compute the (b) features")
    ap.add_argument("--cinc-cv", type=int, default=0, metavar="K",
                    help="also (d): K-fold CV over the CinC sample, each fold's model trained "
                         "on the PTB-XL records plus the other folds' CinC records")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "ptbxl_subset500").is_dir():
        data = Path("/work/shared/data")
    views = DEFAULT_PARAMS["views"]
    params = json.loads(args.params)
    if "views" in params:
        raise ValueError("--params cannot change 'views' (features are cached per view)")
    rows = ptbxl_table(data)
    refs_all = [r[1] for r in rows]
    folds = np.array([r[2] for r in rows])
    print(f"PTB-XL subset: {len(rows)} records, {sum(bool(r) for r in refs_all)} labelled; "
          "labels by ecgpaper.prepare.ptbxl.ptbxl_labels (no PTB-XL+ 12SL: no 'Acute MI')")
    train_f, true_f, masked_f = features_cached(rows, Path(args.cache), views, args.seed)
    image_f = None
    if args.image:
        digitizers = None
        if args.digitizer == "trained":
            digitizers = cross_fitted_digitizers(rows, Path(args.digitizer_models),
                                                 args.digitizer_budget_s, args.seed)
        cache = args.image_cache or ("/tmp/bench_classify_digitized"
                                     + ("_trained" if args.digitizer == "trained" else ""))
        image_f = image_features_cached(rows, Path(cache), digitizers=digitizers)
    if args.image_only:
        return
    Y = np.array([[c in r for c in CLASSES] for r in refs_all])
    labelled = Y.any(axis=1)
    n_views = train_f.shape[1]
    names = ["(a) true", "(a') 3x4-masked", "(a') rate rule", "(a') rate learned",
             "(c) most frequent"] + (["(b) image"] if image_f is not None else [])
    preds = {n: [[] for _ in rows] for n in names}
    chosen = []
    t0 = time.perf_counter()
    fold_list = [int(f) for f in args.folds.split(",")]
    for fold in fold_list:
        tr = np.flatnonzero((folds != fold) & labelled)
        te = np.flatnonzero(folds == fold)
        X = train_f[tr].reshape(-1, train_f.shape[2])
        Yr = np.repeat(Y[tr], n_views, axis=0)
        groups = np.repeat(np.arange(tr.size), n_views)
        view = np.tile(np.arange(n_views), tr.size)
        clf = fit_classifier(X, Yr, groups, view, params=params, seed=args.seed)
        chosen.append(sorted(clf.rules))
        variants = (("(a) true", clf, true_f), ("(a') 3x4-masked", clf, masked_f),
                    ("(a') rate rule", rate_variant(clf, "rule"), masked_f),
                    ("(a') rate learned", rate_variant(clf, "learned"), masked_f))
        if image_f is not None:
            variants += (("(b) image", clf, image_f),)
        for name, model, F in variants:
            for i, labs in zip(te, model.predict_features(F[te])):
                preds[name][i] = labs
        top = CLASSES[int(np.argmax(Y[tr].sum(axis=0)))]
        for i in te:
            preds["(c) most frequent"][i] = [top]
        print(f"fold {fold}: train {tr.size} test {te.size} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    sel = np.flatnonzero(np.isin(folds, fold_list))
    refs = [refs_all[i] for i in sel]
    results = {k: [v[i] for i in sel] for k, v in preds.items()}
    if image_f is None:
        print("(b) image -> digitize -> classify: not run (pass --image; needs ecg_image_kit and "
              "ecgpaper.digitize)")
    else:
        how = ("the digitizer trained (train_digitizer, network included) on the other half of "
               "the folds (1-5 <-> 6-10)" if args.digitizer == "trained"
               else "the classical defaults (no network)")
        print("(b) image -> digitize -> classify: ecg_image_kit preset 'moderate' (seed = record "
              f"index), ecgpaper.digitize.digitize_images (fill='nan') with {how}")
    print(f"TACHY/BRADY from the rate rule (rate_rules={DEFAULT_PARAMS['rate_rules']!r}) per fold:",
          chosen)
    print_table(f"PTB-XL 10-fold CV over strat_fold (folds {args.folds})", results, refs)
    if image_f is not None:
        f_b = challenge_f(refs, results["(b) image"])[0]
        for ref_name in ("(a) true", "(a') 3x4-masked"):
            f_ref = challenge_f(refs, results[ref_name])[0]
            print(f"(b) image / {ref_name}: macro F {f_b:.3f} / {f_ref:.3f} = {100 * f_b / f_ref:.1f} %")

    if args.no_external:
        return
    # External check: all 500 PTB-XL -> CinC 2021 sample.
    from ecgpaper.prepare.cinc import snomed_to_labels, split_codes

    tr = np.flatnonzero(labelled)
    X = train_f[tr].reshape(-1, train_f.shape[2])
    clf = fit_classifier(X, np.repeat(Y[tr], n_views, axis=0), np.repeat(np.arange(tr.size), n_views),
                         np.tile(np.arange(n_views), tr.size), params=params, seed=args.seed)
    cinc = data / "cinc2021_sample"
    recs = sorted(p.with_suffix("") for p in cinc.glob("*.hea"))
    print(f"external model: TACHY/BRADY from the rate rule "
          f"(rate_rules={DEFAULT_PARAMS['rate_rules']!r}):", sorted(clf.rules))
    clf_rule, clf_learned = rate_variant(clf, "rule"), rate_variant(clf, "learned")
    refs_c, f_true, f_mask, signals = [], [], [], []
    for rec in recs:
        hdr = read_header(rec)
        refs_c.append(snomed_to_labels(split_codes(hdr.comment_value("Dx"))))
        x = cinc_signal(rec)
        f_true.append(extract_features(x, WORK_FS_HZ, None))
        f_mask.append(extract_features(mask_3x4(x), WORK_FS_HZ, None))
        if args.cinc_cv:
            signals.append(x)  # (d) makes training views of them
    f_true, f_mask = np.stack(f_true), np.stack(f_mask)
    p_true, p_mask = clf.predict_features(f_true), clf.predict_features(f_mask)
    p_rule, p_learned = clf_rule.predict_features(f_mask), clf_learned.predict_features(f_mask)
    refs_r = [[c for c in r if c in RHYTHM_CLASSES] for r in refs_c]
    top = CLASSES[int(np.argmax(Y[tr].sum(axis=0)))]
    res = {"(a) true": p_true, "(a') 3x4-masked": p_mask, "(a') rate rule": p_rule,
           "(a') rate learned": p_learned, "(c) most frequent": [[top]] * len(recs)}
    print(f"\nCinC 2021 sample: {len(recs)} records (first 10 s), "
          f"{sum(bool(r) for r in refs_c)} with a mapped class")
    print_table("CinC 2021 sample, rhythm/beat classes (NORM, PAC, PVC, AFIB/AFL, TACHY, BRADY)",
                res, refs_r)
    print_table("CinC 2021 sample, all classes that snomed_to_labels maps", res, refs_c)
    if args.cinc_cv:
        cinc_cv(signals, refs_c, refs_r, f_true, f_mask, train_f[tr], Y[tr], args.cinc_cv, views,
                params, args.seed)


def cinc_signal(rec) -> np.ndarray:
    """First 10 s of a CinC record at WORK_FS_HZ, in LEADS_12 order."""
    sig, hdr = read_signal(rec)
    sig = sig[: int(10 * hdr.fs_hz)]
    return resample_nan(to_standard_leads(sig, hdr.lead_names), hdr.fs_hz, WORK_FS_HZ)


def cinc_cv(signals, refs_c, refs_r, f_true, f_mask, ptb_views, ptb_y, k: int, views, params,
            seed: int):
    """(d) K-fold CV over the CinC sample; each model also sees the other folds' CinC records.

    Measures what more varied training data buys: the same classifier, trained on the
    PTB-XL records plus (K-1)/K of the CinC records (their training views, made from
    ``signals``, the records at WORK_FS_HZ), tested on the remaining CinC records.  Folds:
    a seeded permutation, dealt round-robin.
    """
    n = len(signals)
    rng = np.random.default_rng(seed)
    fold = np.empty(n, int)
    fold[rng.permutation(n)] = np.arange(n) % k
    seeds = np.random.SeedSequence(seed + 1).spawn(n)
    cv_views = np.stack([record_views(x, WORK_FS_HZ, None, np.random.default_rng(seeds[i]), views)
                         for i, x in enumerate(signals)])
    yc = np.array([[c in r for c in CLASSES] for r in refs_c])
    p_true, p_mask = [[] for _ in range(n)], [[] for _ in range(n)]
    n_views = ptb_views.shape[1]
    for j in range(k):
        tr = np.flatnonzero((fold != j) & yc.any(axis=1))
        te = np.flatnonzero(fold == j)
        X = np.concatenate([ptb_views, cv_views[tr]]).reshape(-1, ptb_views.shape[2])
        Yr = np.repeat(np.concatenate([ptb_y, yc[tr]]), n_views, axis=0)
        n_rec = ptb_views.shape[0] + tr.size
        clf = fit_classifier(X, Yr, np.repeat(np.arange(n_rec), n_views),
                             np.tile(np.arange(n_views), n_rec), params=params, seed=seed)
        for i, a, b in zip(te, clf.predict_features(f_true[te]), clf.predict_features(f_mask[te])):
            p_true[i], p_mask[i] = a, b
    res = {"(d) true": p_true, "(d) 3x4-masked": p_mask}
    print(f"\n(d) {k}-fold CV over the CinC sample, trained on the PTB-XL records plus the other "
          "folds' CinC records (3 views each)")
    print_table("CinC 2021 sample (d), rhythm/beat classes", res, refs_r)
    print_table("CinC 2021 sample (d), all classes that snomed_to_labels maps", res, refs_c)


if __name__ == "__main__":
    main()
