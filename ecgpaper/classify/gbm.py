"""A small histogram gradient-boosting trainer in numpy, for several binary targets at once.

Binary logistic loss, depth-limited trees grown level by level on quantile
bins (bin 0 holds NaN; each split learns where missing values go), as in
LightGBM / scikit-learn's ``HistGradientBoostingClassifier`` (Ke et al.,
"LightGBM: a highly efficient gradient boosting decision tree", NeurIPS 2017).
All targets (classes) are boosted together, one tree per class and
iteration, with one ``bincount`` per level for the histograms, so training
on a few thousand rows takes seconds. Trees are exported in the array format
of :mod:`ecgpaper.classify.trees`.
"""

from __future__ import annotations

import numpy as np

from ecgpaper.classify.trees import predict_raw  # noqa: F401  (used by the Examples)


def make_bins(X: np.ndarray, n_bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Quantile cut points per feature and the bin index of every value.

    Returns
    -------
    bins : ndarray of uint8, shape (n, n_features)
        0 for NaN, 1..n_bins for finite values (``x <= cuts[s - 1]`` iff bin <= s).
    cuts : ndarray, shape (n_bins - 1, n_features)
        Cut points (NaN-free; a feature without finite values gets +inf cuts).
    """
    n, n_feat = X.shape
    q = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cuts = np.nanquantile(X, q, axis=0) if n else np.full((q.size, n_feat), np.inf)
    cuts = np.where(np.isfinite(cuts), cuts, np.inf)
    cuts = np.maximum.accumulate(cuts, axis=0)
    bins = np.zeros((n, n_feat), dtype=np.uint8)
    for f in range(n_feat):
        col = X[:, f]
        b = np.searchsorted(cuts[:, f], col, side="left") + 1
        bins[:, f] = np.where(np.isnan(col), 0, b)
    return bins, cuts


def _score(g, h, l2):
    return g * g / (h + l2)


def _fit_chunk(bins, cuts, Y, W, n_iter, lr, depth, min_leaf, l2):
    n, n_feat = bins.shape
    n_cls = Y.shape[1]
    n_b = cuts.shape[0] + 2  # bins 0..n_bins
    pos = (Y * W).sum(axis=0)
    tot = W.sum(axis=0)
    p0 = np.clip(pos / np.maximum(tot, 1e-12), 1e-4, 1 - 1e-4)
    f0 = np.log(p0 / (1 - p0))
    raw = np.tile(f0, (n, 1))
    base = bins.astype(np.int64) + (np.arange(n_feat) * n_b)[None, :]
    rows = np.arange(n)[:, None]
    cls = np.arange(n_cls)[None, :]
    trees = [[] for _ in range(n_cls)]
    for _ in range(n_iter):
        p = 1.0 / (1.0 + np.exp(-raw))
        g = W * (p - Y)
        h = W * np.maximum(p * (1 - p), 1e-6)
        node = np.zeros((n, n_cls), dtype=np.int64)
        levels = []
        for d in range(depth):
            n_nodes = 2 ** d
            size = n_cls * n_nodes * n_feat * n_b
            off = (cls * n_nodes + node) * (n_feat * n_b)
            idx = (off[:, :, None] + base[:, None, :]).ravel()
            shape = (n_cls, n_nodes, n_feat, n_b)
            G = np.bincount(idx, np.broadcast_to(g[:, :, None], (n, n_cls, n_feat)).ravel(),
                            minlength=size).reshape(shape)
            H = np.bincount(idx, np.broadcast_to(h[:, :, None], (n, n_cls, n_feat)).ravel(),
                            minlength=size).reshape(shape)
            N = np.bincount(idx, minlength=size).reshape(shape)
            G0, H0, N0 = G[..., :1], H[..., :1], N[..., :1]
            GL = np.cumsum(G[..., 1:], axis=-1)[..., :-1]
            HL = np.cumsum(H[..., 1:], axis=-1)[..., :-1]
            NL = np.cumsum(N[..., 1:], axis=-1)[..., :-1]
            GT, HT, NT = G.sum(-1, keepdims=True), H.sum(-1, keepdims=True), N.sum(-1, keepdims=True)
            parent = _score(GT, HT, l2)
            gain_r = _score(GL, HL, l2) + _score(GT - GL, HT - HL, l2) - parent
            ok_r = (NL >= min_leaf) & (NT - NL >= min_leaf)
            GLm, HLm, NLm = GL + G0, HL + H0, NL + N0
            gain_l = _score(GLm, HLm, l2) + _score(GT - GLm, HT - HLm, l2) - parent
            ok_l = (NLm >= min_leaf) & (NT - NLm >= min_leaf)
            gains = np.stack([np.where(ok_r, gain_r, -np.inf), np.where(ok_l, gain_l, -np.inf)], -1)
            flat = gains.reshape(n_cls, n_nodes, -1)
            best = np.argmax(flat, axis=-1)
            best_gain = np.take_along_axis(flat, best[..., None], -1)[..., 0]
            n_split = gains.shape[-2]
            feat = best // (n_split * 2)
            split = (best // 2) % n_split + 1  # left: bins 1..split
            miss_left = (best % 2).astype(bool)
            do_split = best_gain > 1e-9
            levels.append((feat, split, miss_left, do_split))
            f_s = feat[cls, node]
            b = bins[rows, f_s]
            go_left = np.where(b == 0, miss_left[cls, node], b <= split[cls, node])
            go_left = np.where(do_split[cls, node], go_left, True)
            node = node * 2 + (~go_left)
        n_leaves = 2 ** depth
        lidx = (cls * n_leaves + node).ravel()
        GL_ = np.bincount(lidx, g.ravel(), minlength=n_cls * n_leaves).reshape(n_cls, n_leaves)
        HL_ = np.bincount(lidx, h.ravel(), minlength=n_cls * n_leaves).reshape(n_cls, n_leaves)
        val = -lr * GL_ / (HL_ + l2)
        raw += val[cls, node]
        for c in range(n_cls):
            trees[c].append(_export_tree(levels, val[c], c, cuts, depth))
    return [_concat_trees(trees[c], f0[c]) for c in range(n_cls)]


def _export_tree(levels, leaf_val, c, cuts, depth):
    feature, threshold, left, right, miss, leaf, value = [], [], [], [], [], [], []

    def add(d, k):
        i = len(feature)
        feature.append(0)
        threshold.append(0.0)
        left.append(0)
        right.append(0)
        miss.append(False)
        leaf.append(True)
        value.append(0.0)
        if d == depth or not levels[d][3][c, k]:
            value[i] = float(leaf_val[k << (depth - d)])
            return i
        f = int(levels[d][0][c, k])
        s = int(levels[d][1][c, k])
        feature[i] = f
        threshold[i] = float(cuts[s - 1, f])
        miss[i] = bool(levels[d][2][c, k])
        leaf[i] = False
        left[i] = add(d + 1, 2 * k)
        right[i] = add(d + 1, 2 * k + 1)
        return i

    add(0, 0)
    return (np.array(feature, np.int32), np.array(threshold), np.array(left, np.int32),
            np.array(right, np.int32), np.array(miss, bool), np.array(leaf, bool), np.array(value))


def _concat_trees(tree_list, baseline):
    offs, parts = 0, {k: [] for k in ("feature", "threshold", "left", "right", "missing_left",
                                       "is_leaf", "value")}
    roots = []
    for feat, thr, left, right, miss, leaf, val in tree_list:
        roots.append(offs)
        parts["feature"].append(feat)
        parts["threshold"].append(thr)
        parts["left"].append(left + offs)
        parts["right"].append(right + offs)
        parts["missing_left"].append(miss)
        parts["is_leaf"].append(leaf)
        parts["value"].append(val)
        offs += feat.size
    out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    for k in ("feature", "left", "right"):
        out[k] = out[k].astype(np.int32)
    for k in ("missing_left", "is_leaf"):
        out[k] = out[k].astype(bool)
    out["roots"] = np.asarray(roots, dtype=np.int32)
    out["baseline"] = np.array([baseline], dtype=np.float64)
    return out


def fit_gbm(X: np.ndarray, Y: np.ndarray, n_iter: int = 60, learning_rate: float = 0.1,
            max_depth: int = 3, min_samples_leaf: int = 8, l2_regularization: float = 1.0,
            n_bins: int = 32, balanced: bool = True, max_cells: int = 4_000_000
            ) -> list[dict[str, np.ndarray]]:
    """Boost one tree ensemble per column of ``Y`` (binary logistic loss).

    Parameters
    ----------
    X : ndarray, shape (n, n_features)
        NaN allowed.
    Y : ndarray of bool, shape (n, n_targets)
    n_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization, n_bins
        Usual boosting settings (``max_depth`` levels, so up to ``2**max_depth`` leaves).
    balanced : bool
        Weight positives and negatives of each target to equal total weight.
    max_cells : int
        Targets are boosted in chunks so that rows x targets x features stays below this.

    Returns
    -------
    list of dict of ndarray
        Trees per target in the format of :func:`ecgpaper.classify.trees.predict_raw`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> Y = np.stack([X[:, 0] > 0.5, X[:, 1] < 0], axis=1)
    >>> trees = fit_gbm(X, Y, n_iter=20)
    >>> acc = [np.mean((predict_raw(t, X) > 0) == Y[:, k]) for k, t in enumerate(trees)]
    >>> bool(min(acc) > 0.95)
    True
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    n, n_feat = X.shape
    bins, cuts = make_bins(X, n_bins)
    if balanced:
        npos = Y.sum(axis=0)
        nneg = n - npos
        W = np.where(Y > 0, n / (2 * np.maximum(npos, 1)), n / (2 * np.maximum(nneg, 1)))
    else:
        W = np.ones_like(Y)
    chunk = max(1, int(max_cells // max(1, n * n_feat)))
    out = []
    for start in range(0, Y.shape[1], chunk):
        sl = slice(start, start + chunk)
        out += _fit_chunk(bins, cuts, Y[:, sl], W[:, sl], n_iter, learning_rate, max_depth,
                          min_samples_leaf, l2_regularization)
    return out
