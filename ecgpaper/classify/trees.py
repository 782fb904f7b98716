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


#: Arrays of exported trees, and the dtype kind each must have (i: integer, b: bool, f: float).
TREE_ARRAYS: dict[str, str] = {"feature": "i", "threshold": "f", "left": "i", "right": "i",
                               "missing_left": "b", "is_leaf": "b", "value": "f",
                               "roots": "i", "baseline": "f"}


def check_trees(trees: dict[str, np.ndarray], n_features: int, prefix: str = "") -> None:
    """Check exported trees before :func:`predict_raw` uses them.

    The node arrays must be 1-D of one length, with the dtype kinds of :data:`TREE_ARRAYS`;
    ``baseline`` shape (1,) and finite; ``value`` finite; the roots inside the node arrays;
    every split node must test a feature below ``n_features`` and point to children after
    itself (as :mod:`ecgpaper.classify.gbm` exports them), so that the walk of
    :func:`predict_raw` ends.

    Parameters
    ----------
    trees : dict of str to ndarray
    n_features : int
    prefix : str
        Prepended to the array names in messages (the names in the ``.npz`` file).

    Raises
    ------
    ValueError
        Naming the array that is wrong.

    Examples
    --------
    >>> t = {"feature": np.array([0, 0, 0]), "threshold": np.array([0.5, 0, 0]),
    ...      "left": np.array([1, 0, 0]), "right": np.array([2, 0, 0]),
    ...      "missing_left": np.zeros(3, bool), "is_leaf": np.array([False, True, True]),
    ...      "value": np.array([0.0, -1.0, 1.0]), "roots": np.array([0]),
    ...      "baseline": np.array([0.0])}
    >>> check_trees(t, 4)
    >>> t["left"] = np.array([0, 0, 0])
    >>> check_trees(t, 4, "c0_")
    Traceback (most recent call last):
    ...
    ValueError: array 'c0_left': a split node points to a child that is not after it
    """
    for name, kind in TREE_ARRAYS.items():
        a = trees.get(name)
        if a is None:
            raise ValueError(f"array {prefix + name!r} is missing")
        ok = a.dtype.kind in ("iu" if kind == "i" else kind)
        if not ok or a.ndim != 1:
            raise ValueError(f"array {prefix + name!r} is {a.dtype} of shape {a.shape}; "
                             f"expected 1-D of kind {kind!r}")
    n = trees["feature"].size
    for name in ("threshold", "left", "right", "missing_left", "is_leaf", "value"):
        if trees[name].size != n:
            raise ValueError(f"array {prefix + name!r} has shape {trees[name].shape}; "
                             f"the other node arrays have ({n},)")
    if trees["baseline"].shape != (1,) or not np.isfinite(trees["baseline"]).all():
        raise ValueError(f"array {prefix}baseline must hold one finite number, "
                         f"got {trees['baseline']!r}")
    if not np.isfinite(trees["value"]).all() or np.isnan(trees["threshold"]).any():
        raise ValueError(f"array {prefix}value or {prefix}threshold holds NaN or inf")
    roots = trees["roots"]
    if roots.size and (roots.min() < 0 or roots.max() >= n):
        raise ValueError(f"array {prefix + 'roots'!r}: a root lies outside the {n} nodes")
    split = np.flatnonzero(~trees["is_leaf"])
    feat = trees["feature"][split]
    if feat.size and (feat.min() < 0 or feat.max() >= n_features):
        raise ValueError(f"array {prefix + 'feature'!r}: a split tests a feature outside "
                         f"[0, {n_features})")
    for name in ("left", "right"):
        child = trees[name][split].astype(np.int64)
        if child.size and ((child <= split).any() or child.max() >= n):
            raise ValueError(f"array {prefix + name!r}: a split node points to a child that "
                             f"is not after it")
