"""Gradient-boosted trees as plain arrays (saved in ``.npz``, evaluated with numpy).

Trees (fitted by :mod:`ecgpaper.classify.gbm`) are stored node by node
(feature, threshold, children, missing-value direction, leaf value), so the
model file holds no pickle.
"""

from __future__ import annotations

import numpy as np


def predict_raw(trees: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Raw score (log-odds) of exported trees for each row of ``X``.

    Parameters
    ----------
    trees : dict of str to ndarray
        ``feature`` (int), ``threshold``, ``left``/``right`` (global node
        indices), ``missing_left``/``is_leaf`` (bool), ``value``, ``roots``
        (first node of each tree) and ``baseline`` (shape (1,)). A row goes
        left when ``x <= threshold`` (NaN: where ``missing_left`` says).
    X : ndarray, shape (n_samples, n_features)
        NaN allowed (follows each node's missing-value direction).

    Returns
    -------
    ndarray, shape (n_samples,)
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    base = float(trees["baseline"][0])
    roots = trees["roots"]
    if roots.size == 0:
        return np.full(n, base)
    node = np.broadcast_to(roots[None, :], (n, roots.size)).copy()
    rows = np.arange(n)[:, None]
    feature, thr, miss = trees["feature"], trees["threshold"], trees["missing_left"]
    left, right, is_leaf = trees["left"], trees["right"], trees["is_leaf"]
    while True:
        active = ~is_leaf[node]
        if not active.any():
            break
        xv = X[rows, feature[node]]
        go_left = np.where(np.isnan(xv), miss[node], xv <= thr[node])
        nxt = np.where(go_left, left[node], right[node])
        node = np.where(active, nxt, node)
    return base + trees["value"][node].sum(axis=1)
