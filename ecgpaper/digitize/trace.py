"""Classical trace extraction (stage 5 of the digitizer, fallback without a CNN).

Per row of the page:

1. **Runs.**  In every pixel column of the row's band the ink map is thresholded; each vertical
   run of ink pixels is a candidate piece of the trace (the trace, a lead label, a separator,
   a neighbouring row's QRS, handwriting...).
2. **Connected tracking.**  A dynamic programme (Viterbi over the runs of successive columns)
   picks one run per column, minimising the vertical gap between consecutive runs (a drawn
   stroke is connected, so runs of neighbouring columns touch), plus a small pull towards
   the row baseline.  Crossing or touching traces of neighbouring rows are therefore followed
   by continuity rather than by position alone (Open-ECG-Digitizer and Karbasi et al. 2025
   use the same idea as iterative path tracing).  An optional "no trace" state lets the path
   skip ink before the trace starts and after it ends instead of jumping onto it.
3. **Sub-pixel read-out** of the chosen run, ``method=``:

   * ``"centroid"`` -- grey-level centroid of the run (the 2024 winner's read-out; capped near
     18 dB for a 0.75-pt stroke, state-of-the-art §8);
   * ``"morph"`` (default) -- the run's top and bottom edges are the erosion and dilation of
     the centre line by the round brush of the stroke; a grey-level opening of the top edge
     and a closing of the bottom edge give the centre line back (each exact except on the
     peaks of one direction, so the one farther from the local level is kept), per column
     and on 4 sub-columns per column (see :func:`_morph_readout`);
   * ``"edges"`` -- a stroke model: a stroke of width ``w`` drawn through a column
     covers ``[min(y) - w/2, max(y) + w/2]`` of the signal inside the column, so the run's
     sub-pixel top and bottom edges constrain the signal at the two column boundaries.  The
     boundary values are solved by iteratively re-weighted linear least squares (which end
     of each column is the minimum is re-decided each pass); this recovers the flanks and
     peaks of QRS complexes that a centroid flattens.

4. **Flanks by rows** (``flank_rows=True``, on the sub-column ``"morph"`` read-out): on a
   steep flank a column's value errs by the slope times any horizontal error, so each image
   row of the flank is read across instead: the ink-weighted centroid of the short horizontal
   blob where the row crosses the stroke gives the centre line's column at that row (see
   :func:`_refine_flanks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import signal as ssignal
from scipy import sparse
from scipy.ndimage import median_filter
from scipy.sparse import linalg as splinalg

__all__ = ["RowTrace", "column_runs", "track_row", "track_panels", "READOUT_METHODS"]

READOUT_METHODS = ("morph", "edges", "centroid")


@dataclass
class RowTrace:
    """Read-out of one row.

    Attributes
    ----------
    x_px : numpy.ndarray
        ``(n,)`` pixel-column positions (float) of the values.
    y_px : numpy.ndarray
        ``(n,)`` trace centre line in image rows (float), NaN where no ink was tracked.
    coverage : float
        Share of columns with a tracked run.
    jump : numpy.ndarray or None
        ``(n,)`` bool, True where the chosen run does not touch the previous column's run (the
        path jumped over a gap): frequent jumps mean the tracker hopped between unrelated ink.
    x_fine, y_fine : numpy.ndarray or None
        Sub-column read-out (``"morph"`` only), used for resampling when present.
    top_px, bot_px : numpy.ndarray or None
        ``(n,)`` sub-pixel top and bottom edges of the tracked run per column (NaN where
        untracked): which stroke the tracker followed (the learned read-out's guide).
    y_tips : numpy.ndarray or None
        ``y_fine`` with the spike tips put back (:func:`sharpen_tips`; set by the pipeline,
        None where no tip changed).
    run_px : numpy.ndarray or None
        Property, ``bot_px - top_px``: the length of the tracked ink run per column, in
        pixels; runs much longer than the stroke mean blobs (stains, stamps) under the trace.
    """

    x_px: np.ndarray
    y_px: np.ndarray
    coverage: float
    jump: np.ndarray | None = None
    x_fine: np.ndarray | None = None
    y_fine: np.ndarray | None = None
    top_px: np.ndarray | None = None
    bot_px: np.ndarray | None = None
    y_tips: np.ndarray | None = None

    @property
    def run_px(self) -> np.ndarray | None:
        """Length of the tracked run per column (``bot_px - top_px``; NaN where untracked)."""
        return None if self.top_px is None or self.bot_px is None else self.bot_px - self.top_px


def column_runs(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertical runs of True pixels in each column.

    Parameters
    ----------
    binary : numpy.ndarray
        ``(h, w)`` bool.

    Returns
    -------
    col, top, bot : numpy.ndarray
        Column index and inclusive first/last row of each run, sorted by column then row.

    Examples
    --------
    >>> b = np.zeros((6, 2), bool); b[1:3, 0] = True; b[4, 0] = True; b[0:6, 1] = True
    >>> [a.tolist() for a in column_runs(b)]
    [[0, 0, 1], [1, 4, 0], [2, 4, 5]]
    """
    bt = np.ascontiguousarray(binary.T).astype(np.int8)
    w, h = bt.shape
    padded = np.zeros((w, h + 2), np.int8)
    padded[:, 1:-1] = bt
    d = np.diff(padded, axis=1)
    sc, sr = np.nonzero(d == 1)
    ec, er = np.nonzero(d == -1)
    return sc, sr, er - 1


def _step_cost(pt: np.ndarray, pb: np.ndarray, ct: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """Cost of stepping from a run (top ``pt``, bottom ``pb``) to one in the next inked column
    (``ct``, ``cb``): their vertical gap plus 1 % of the distance between their centres
    (arrays broadcast)."""
    return np.maximum(0.0, np.maximum(ct - pb - 1, pt - cb - 1)) \
        + 0.01 * np.abs((ct + cb) - (pt + pb))


def _viterbi(col: np.ndarray, top: np.ndarray, bot: np.ndarray, unary: np.ndarray,
             n_cols: int, skip_cost: float, entry_cost: float | None = None) -> np.ndarray:
    """Choose one run per column (or none) along a connected path; return run index per column.

    Moving between runs of successive inked columns costs their vertical gap (plus 1 % of the
    centre distance); a column without a chosen run costs ``skip_cost``.  With ``entry_cost``
    the path also has an explicit "no trace" state in every column: leaving the trace is free
    and re-entering costs ``entry_cost``, so ink after the trace ends (a page edge, the next
    row's pulse) or before it starts is skipped instead of being joined by a long jump.

    Without ``entry_cost`` the runs of the columns that have any are padded to a ``(m, K)``
    table and all transition costs are computed at once; with it see :func:`_viterbi_off`.
    The forward pass touches numpy only where a column or its predecessor holds more than
    one run (a lone trace is followed with scalar arithmetic).
    """
    bounds = np.searchsorted(col, np.arange(n_cols + 1))
    choice = np.full(n_cols, -1, np.int64)
    counts = np.diff(bounds)
    cols_with = np.nonzero(counts > 0)[0]
    m = cols_with.size
    if m == 0:
        return choice
    if entry_cost is not None:
        return _viterbi_off(top, bot, unary, bounds, cols_with, choice, skip_cost,
                            float(entry_cost))
    ks = int(counts.max())
    pos = np.empty(n_cols, np.int64)
    pos[cols_with] = np.arange(m)
    slot = np.arange(col.size) - bounds[col]
    tt = np.full((m, ks), np.nan)
    bb = np.full((m, ks), np.nan)
    uu = np.full((m, ks), np.inf)
    tt[pos[col], slot] = top
    bb[pos[col], slot] = bot
    uu[pos[col], slot] = unary
    # transition j-1 -> j for every pair of runs: vertical gap + a little centre distance
    pt, pb = tt[:-1, :, None], bb[:-1, :, None]
    ct, cb = tt[1:, None, :], bb[1:, None, :]
    with np.errstate(invalid="ignore"):
        trans = _step_cost(pt, pb, ct, cb)
    trans[np.isnan(trans)] = np.inf
    skip = skip_cost * (np.diff(cols_with) - 1).astype(np.float64)
    cnt = counts[cols_with]
    single = ((cnt[1:] == 1) & (cnt[:-1] == 1)).tolist()
    back = np.zeros((m, ks), np.int64)
    cost = uu[0].copy()
    ar = np.arange(ks)
    tr00 = trans[:, 0, 0].tolist()
    u0 = uu[:, 0].tolist()
    sk = skip.tolist()
    for j in range(1, m):
        if single[j - 1]:
            cost[0] = cost[0] + tr00[j - 1] + u0[j] + sk[j - 1]
            continue
        total = cost[:, None] + trans[j - 1]
        arg = np.argmin(total, axis=0)
        cost = total[arg, ar] + uu[j] + sk[j - 1]
        back[j] = arg
    # backtrack
    k = int(np.argmin(cost))
    for j in range(m - 1, -1, -1):
        c = int(cols_with[j])
        choice[c] = bounds[c] + k
        k = int(back[j, k])
    return choice


#: Run pairs of two successive columns above which :func:`_viterbi_off` uses numpy.
_PAIRS_IN_NUMPY = 48


def _viterbi_off(top: np.ndarray, bot: np.ndarray, unary: np.ndarray, bounds: np.ndarray,
                 cols_with: np.ndarray, choice: np.ndarray, skip_cost: float,
                 entry_cost: float) -> np.ndarray:
    """:func:`_viterbi` with its "no trace" state; fills and returns ``choice``.

    Transition costs are computed at once for the pairs of runs of successive inked columns
    only (a padded table would be as large as the most crowded column, tens of runs where a
    stroke crosses grid remnants, times the page width), and the forward pass runs over
    Python floats: with a few runs per column that is several times cheaper than numpy calls
    (column pairs with more than :data:`_PAIRS_IN_NUMPY` run pairs take one numpy pass).
    The sums are the same, in the same order, and ties go to the lower run, then to the
    "no trace" state, as ``numpy.argmin`` over a padded table would give them.
    """
    start = bounds[cols_with]                  # first run of each inked column
    cnt = bounds[cols_with + 1] - start
    m = cols_with.size
    sizes = cnt[:-1] * cnt[1:]                 # run pairs from column j - 1 into column j
    first = np.concatenate([[0], np.cumsum(sizes)])
    jm = np.repeat(np.arange(m - 1), sizes)
    local = np.arange(int(first[-1])) - first[jm]
    i_prev = start[jm] + local // cnt[1:][jm]  # pair k = i * n_cur + d
    i_cur = start[jm + 1] + local % cnt[1:][jm]
    tf, bf = np.asarray(top, np.float64), np.asarray(bot, np.float64)
    pt, pb, ct, cb = tf[i_prev], bf[i_prev], tf[i_cur], bf[i_cur]
    trans_np = _step_cost(pt, pb, ct, cb)
    trans = trans_np.tolist()
    sk = (skip_cost * (np.diff(cols_with) - 1).astype(np.float64)).tolist()
    un = np.asarray(unary, np.float64).tolist()
    cnt_l, start_l, first_l = cnt.tolist(), start.tolist(), first.tolist()
    e, s_off = float(entry_cost), float(skip_cost)
    run_cost, off_cost = un[:cnt_l[0]], s_off  # cost of the path ending on each run / off
    back_run: list[list[int]] = [[0] * cnt_l[0]] + [[]] * (m - 1)  # -1: from "no trace"
    back_off = [0] * m
    for j in range(1, m):
        n_prev, n_cur, sj, a = cnt_l[j - 1], cnt_l[j], sk[j - 1], first_l[j - 1]
        u = un[start_l[j]:start_l[j] + n_cur]
        if n_prev * n_cur > _PAIRS_IN_NUMPY:   # a crowded column pair: one numpy pass
            total = np.asarray(run_cost)[:, None] \
                + trans_np[a:a + n_prev * n_cur].reshape(n_prev, n_cur)
            arg_np = np.argmin(total, axis=0)
            best_np = total[arg_np, np.arange(n_cur)]
            via_off = best_np > off_cost + e
            best_np[via_off], arg_np[via_off] = off_cost + e, -1
            new, arg = (best_np + np.asarray(u) + sj).tolist(), arg_np.tolist()
        else:
            new, arg = [0.0] * n_cur, [0] * n_cur
            for d in range(n_cur):
                best, k = run_cost[0] + trans[a + d], 0
                for i in range(1, n_prev):
                    v = run_cost[i] + trans[a + i * n_cur + d]
                    if v < best:
                        best, k = v, i
                if off_cost + e < best:
                    best, k = off_cost + e, -1
                new[d], arg[d] = best + u[d] + sj, k
        best, k = run_cost[0], 0               # leaving the trace is free
        for i in range(1, n_prev):
            if run_cost[i] < best:
                best, k = run_cost[i], i
        if off_cost < best:
            best, k = off_cost, -1
        off_cost = best + s_off + sj
        run_cost, back_run[j], back_off[j] = new, arg, k
    best, k = run_cost[0], 0
    for i in range(1, len(run_cost)):
        if run_cost[i] < best:
            best, k = run_cost[i], i
    if off_cost < best:
        k = -1
    for j in range(m - 1, -1, -1):
        if k < 0:
            k = back_off[j]
        else:
            choice[cols_with[j]] = start_l[j] + k
            k = back_run[j][k]
    return choice


def _edges_readout(top_e: np.ndarray, bot_e: np.ndarray, width_px: float,
                   n_iter: int = 6) -> np.ndarray:
    """Solve boundary values from sub-pixel run edges; return the value at each column centre.

    ``top_e``/``bot_e`` are ``(n,)`` sub-pixel edges of consecutive columns (no NaN).  Unknown
    ``b[0..n]`` = signal at the column boundaries; column ``i`` covers ``[b_i, b_{i+1}]``.
    """
    n = top_e.size
    half = 0.5 * width_px
    mid = 0.5 * (top_e + bot_e)
    b = np.empty(n + 1)
    b[1:-1] = 0.5 * (mid[:-1] + mid[1:])
    b[0], b[-1] = mid[0], mid[-1]
    rows = np.arange(n)
    lam = 0.05  # weak pull towards the centroid keeps flat stretches well posed
    for _ in range(n_iter):
        left_is_min = b[:-1] <= b[1:]
        i_min = np.where(left_is_min, rows, rows + 1)
        i_max = np.where(left_is_min, rows + 1, rows)
        r_idx = np.concatenate([rows, n + rows, 2 * n + rows, 2 * n + rows])
        c_idx = np.concatenate([i_min, i_max, rows, rows + 1])
        vals = np.concatenate([np.ones(n), np.ones(n), np.full(n, 0.5 * lam), np.full(n, 0.5 * lam)])
        a = sparse.csr_matrix((vals, (r_idx, c_idx)), shape=(3 * n, n + 1))
        rhs = np.concatenate([top_e + half, bot_e - half, lam * mid])
        ata = (a.T @ a).tocsc()
        b_new = splinalg.spsolve(ata, a.T @ rhs)
        if np.allclose(b_new, b, atol=1e-3):
            b = b_new
            break
        b = b_new
    return 0.5 * (b[:-1] + b[1:])




def _morph_readout(top_e: np.ndarray, bot_e: np.ndarray, radius_px: float,
                   h_ratio: float = 1.15, level_window: int = 7, oversample: int = 4,
                   steep_only: float = 0.0):
    """Centre line from the run envelopes by grey-level opening/closing with a disc brush.

    A stroke drawn with a round brush of radius ``r`` inks, in column ``c``, rows from
    ``min_{|u|<=r} y(c+u) - sqrt(r^2-u^2)`` (``top``, an erosion of the centre line ``y``) to the
    matching dilation (``bot``).  Dilating ``top`` by the same brush gives the opening of ``y``
    (exact except on downward peaks), eroding ``bot`` its closing (exact except on upward peaks);
    the one farther from the local level is kept.

    Returns
    -------
    col : numpy.ndarray
        ``(n,)`` per-column centre line.
    x_fine, y_fine : numpy.ndarray
        ``(n * oversample,)`` sub-column positions (column units) and centre line.
    """
    n = top_e.size
    rh = radius_px * h_ratio
    f = int(oversample)
    # linear interpolation of the envelopes to f sub-columns gives a continuous brush
    xi = np.arange(n * f) / f - (f - 1) / (2 * f)
    xc = np.arange(n, dtype=float)
    fin = np.isfinite(top_e) & np.isfinite(bot_e)
    if fin.sum() < 2:
        mid0 = 0.5 * (top_e + bot_e)
        return mid0, xc.astype(float), mid0
    ti = np.interp(xi, xc[fin], top_e[fin])
    bi = np.interp(xi, xc[fin], bot_e[fin])
    k = int(np.floor(rh * f))
    offs = np.arange(-k, k + 1)
    sv = radius_px * np.sqrt(np.maximum(1.0 - (offs / (rh * f)) ** 2, 0.0))
    big = 1e9
    tp = np.pad(ti, k, constant_values=-big)
    bp = np.pad(bi, k, constant_values=big)
    m_ = ti.size
    op_f = np.max(np.stack([tp[k + u:k + u + m_] + s_ for u, s_ in zip(offs, sv)]), axis=0)
    cl_f = np.min(np.stack([bp[k + u:k + u + m_] - s_ for u, s_ in zip(offs, sv)]), axis=0)
    op_f = np.where(op_f < -big / 2, ti + radius_px, op_f)
    cl_f = np.where(cl_f > big / 2, bi - radius_px, cl_f)
    # back to columns: the extreme over each column's sub-samples
    opening = op_f.reshape(n, f).min(axis=1)
    closing = cl_f.reshape(n, f).max(axis=1)
    mid = 0.5 * (opening + closing)
    m = int(level_window)
    if n > m:
        level = median_filter(mid, size=m, mode="nearest")
    else:
        level = np.full(n, np.median(mid))
    use_open = np.abs(opening - level) > np.abs(closing - level)
    col = np.where(use_open, opening, closing)
    # the same decision on the sub-column curves, averaged with the per-column curve: the two
    # err differently at QRS turns (sub-columns place the apex, columns are steadier)
    mid_f = 0.5 * (op_f + cl_f)
    if mid_f.size > m * f:
        level_f = median_filter(mid_f, size=m * f, mode="nearest")
    else:
        level_f = np.full(mid_f.size, np.median(mid_f))
    sub = np.where(np.abs(op_f - level_f) > np.abs(cl_f - level_f), op_f, cl_f)
    base = np.interp(xi, xc, col)
    fine = 0.5 * (base + sub)
    if steep_only > 0:
        run = np.interp(xi, xc[fin], (bot_e - top_e)[fin])
        fine = np.where(run > steep_only * 2.0 * radius_px, fine, base)
    return col, xi, fine


def sharpen_tips(top_px: np.ndarray, bot_px: np.ndarray, y_fine: np.ndarray, radius_px: float,
                 min_prominence: float = 2.0, foot_strokes: float = 2.0,
                 oversample: int = 4, above_px: np.ndarray | None = None,
                 below_px: np.ndarray | None = None) -> np.ndarray | None:
    """Restore the tips of spikes that the brush read-out rounds off; None when none changed.

    ``top_px``/``bot_px`` are the tracked run's edges per column and ``y_fine`` the sub-column
    read-out (``oversample`` per column).  At a spike (a QRS complex drawn by a thin stroke),
    the up- and down-strokes share one to three columns and the brush opening mixes the
    neighbours' envelopes into the tip column, reading the tip low by up to tens of pixels.
    The top edge of the topmost run there is the tip's highest ink, so the tip's centre lies
    one stroke radius below it (likewise for downward spikes, with bottom edges).  At every
    local extreme of the read-out with a prominence of ``min_prominence`` stroke widths, the
    tip is put back as a tent one column wide on each side, and only where it lies farther
    out than the read-out.  A run that also reaches beyond the read-out on the other side of
    the tip, by more than ``foot_strokes`` stroke widths and half the tip's height, is a line
    across the trace (grid line, crease), not a spike, and is left alone; so is a tip that
    would come within two stroke widths of the trace of the row above (``above_px``, per
    column) or below (``below_px``), where the run may join that row's ink, and a peak that
    does not fall away by a stroke width on both sides within three columns (a pulse's
    corner, a step).

    On the official generator's sample pages the rule's tip lies within 1 px of the plotted
    peak for 95 % of the QRS peaks, where the brush read-out fell short by a median of 2 px and
    by over 30 px for 5 % of them (``docs/digitizer.md``).
    """
    f = int(oversample)
    n = top_px.size
    if y_fine.size != n * f or n < 5:
        return None
    stroke = 2.0 * radius_px
    out = y_fine.copy()
    changed = False
    fin = np.isfinite(y_fine)
    xi = np.arange(n * f) / f - (f - 1) / (2 * f)
    for sign in (1.0, -1.0):  # +1: upward spikes (smaller image rows), -1: downward
        edge = top_px if sign > 0 else bot_px
        far = bot_px if sign > 0 else top_px
        v = np.where(fin, -sign * y_fine, -np.inf)
        peaks, props = ssignal.find_peaks(v, prominence=min_prominence * stroke)
        for i, prominence in zip(peaks, props["prominences"]):
            c = i // f
            lo, hi = max(c - 1, 0), min(c + 2, n)
            e = edge[lo:hi]
            if not np.isfinite(e).all():
                continue
            # the extreme column (ties go to the read-out's own peak column) ...
            ties = np.flatnonzero(sign * e <= np.min(sign * e) + 0.5) + lo
            k = int(ties[np.argmin(np.abs(ties - c))])
            tip = edge[k] + sign * radius_px
            if k < 1 or k > n - 2 or not np.isfinite(edge[k - 1:k + 2]).all():
                continue
            # ... and the tip's place in it: towards the neighbour whose edge comes closer
            d_l = max(sign * (edge[k - 1] - edge[k]), 0.0)
            d_r = max(sign * (edge[k + 1] - edge[k]), 0.0)
            xk = k - 0.5 * (d_r - d_l) / max(d_r + d_l, 1e-6)
            other = above_px if sign > 0 else below_px
            if other is not None:
                near = other[max(k - 2, 0):k + 3]
                if np.isfinite(near).any() and \
                        np.nanmin(sign * (tip - near)) < 2.0 * stroke:
                    continue
            gain = sign * (y_fine[i] - tip)  # how far the read-out falls short, px
            if gain <= 0.5 or gain > prominence:
                continue
            # a spike falls away on both sides within a few columns (a pulse's corner or a
            # step does not)
            side_l = y_fine[max((k - 3) * f, 0):k * f]
            side_r = y_fine[(k + 1) * f:min((k + 4) * f, n * f)]
            if side_l.size == 0 or side_r.size == 0 or \
                    not np.nanmax(sign * side_l, initial=-np.inf) >= sign * tip + stroke or \
                    not np.nanmax(sign * side_r, initial=-np.inf) >= sign * tip + stroke:
                continue
            win = slice(max((k - 2) * f, 0), min((k + 3) * f, n * f))
            level = np.nanmax(sign * y_fine[win])  # the spike's foot side
            if sign * far[k] - level > max(foot_strokes * stroke, 0.5 * (level - sign * tip)):
                continue
            a, z = max((k - 1) * f, 0), min((k + 2) * f, n * f)
            xs = xi[a:z]
            left, right = y_fine[a], y_fine[z - 1]
            if not (np.isfinite(left) and np.isfinite(right)):
                continue
            tent = np.where(xs <= xk,
                            tip + (left - tip) * (xk - xs) / max(xk - xi[a], 1e-6),
                            tip + (right - tip) * (xs - xk) / max(xi[z - 1] - xk, 1e-6))
            cur = out[a:z]
            new = np.minimum(cur, tent) if sign > 0 else np.maximum(cur, tent)
            new = np.where(np.isfinite(cur), new, cur)
            if np.any(new != cur):
                out[a:z] = new
                changed = True
    return out if changed else None


def falloff_extent(prof: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last column of each row's blob: from ``peak`` outwards while the ink falls off.

    ``prof`` is ``(m, k)`` (one ink profile across a stroke per row) and ``peak`` ``(m,)``; a
    column joins the blob while its value is positive and not larger than its inner
    neighbour's, so faint anti-aliased tails count on both sides (the stroke centroids of
    :func:`_refine_flanks` and :func:`ecgpaper.digitize.layout.refine_pulse_edge`).

    Examples
    --------
    >>> falloff_extent(np.array([[0.0, 0.05, 0.92, 1.0, 0.7, 0.0, 0.3]]), np.array([3]))
    (array([1]), array([4]))
    """
    k = prof.shape[1]
    cols = np.arange(k)[None, :]
    inner_left = np.zeros_like(prof, dtype=bool)
    inner_left[:, :-1] = (prof[:, :-1] > 0) & (prof[:, :-1] <= prof[:, 1:])
    inner_left |= cols >= peak[:, None]
    run = np.flip(np.cumprod(np.flip(inner_left, axis=1), axis=1), axis=1).astype(bool)
    lo = np.argmax(run, axis=1)
    inner_right = np.zeros_like(prof, dtype=bool)
    inner_right[:, 1:] = (prof[:, 1:] > 0) & (prof[:, 1:] <= prof[:, :-1])
    inner_right |= cols <= peak[:, None]
    run = np.cumprod(inner_right, axis=1).astype(bool)
    hi = k - 1 - np.argmax(np.flip(run, axis=1), axis=1)
    return lo, hi


def _refine_flanks(ink: np.ndarray, xf: np.ndarray, yf: np.ndarray, stroke_px: float,
                   min_slope: float = 1.0, end_strokes: float = 1.0, merge_px: float = 0.5,
                   max_width: float = 1.6) -> np.ndarray:
    """Read steep monotone flanks row by row: the stroke's sub-pixel column in each image row.

    On a steep flank (slope ``m`` px/px) a column's read-out errs by ``m`` times any
    horizontal error, and a column holds up to ``m`` rows of one stroke.  Read across, each
    image row crosses the flank once, as a short horizontal blob of about one stroke width
    whose ink-weighted centroid is the centre line's column at that row, to a few hundredths
    of a pixel on a crisp stroke.  The rows of each monotone run of sub-columns steeper than
    ``min_slope`` are read so, except ``end_strokes`` stroke widths at its ends (the turns,
    where the up- and down-strokes merge) and rows where the current read-out crosses the row
    again within ``stroke_px + merge_px`` (another stroke in reach); a blob that touches its
    window's border (another stroke) or is wider than ``max_width`` strokes is not used.  The
    flank's values are then interpolated from the (column, row) points.

    Parameters
    ----------
    ink : numpy.ndarray
        ``(H, W)`` ink darkness of the page.
    xf, yf : numpy.ndarray
        ``(n,)`` sub-column positions (increasing) and centre line (image rows, NaN = none).
    stroke_px : float
        Stroke width in pixels.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` centre line with the flanks re-read; other values unchanged.
    """
    h, w = ink.shape
    out = yf.copy()
    fin = np.isfinite(yf)
    if fin.sum() < 4:
        return out
    with np.errstate(invalid="ignore"):
        dy = np.gradient(yf, xf)
    steep = fin & np.isfinite(dy) & (np.abs(dy) > min_slope)
    idx = np.flatnonzero(steep)
    if idx.size == 0:
        return out
    sign = np.sign(dy)
    breaks = np.flatnonzero((np.diff(idx) > 1) | (sign[idx[1:]] != sign[idx[:-1]])) + 1
    half = 4  # blob window: 9 columns
    for seg in np.split(idx, breaks):
        if seg.size < 4:
            continue
        xs, ys = xf[seg], yf[seg]
        order = np.argsort(ys, kind="stable")
        ys_sorted, xs_sorted = ys[order], xs[order]
        r0 = int(np.ceil(ys_sorted[0] + end_strokes * stroke_px))
        r1 = int(np.floor(ys_sorted[-1] - end_strokes * stroke_px))
        if r1 - r0 < 2:
            continue
        rows = np.arange(max(r0, 0), min(r1, h - 1) + 1)
        xhat = np.interp(rows, ys_sorted, xs_sorted)
        # rows that the current read-out crosses more than once near this flank
        near = fin & (xf > xs[0] - 8) & (xf < xs[-1] + 8)
        xn, yn = xf[near], yf[near]
        crossing = np.diff(np.sign(yn[None, :] - rows[:, None]), axis=1) != 0
        close = np.abs(xn[None, :-1] - xhat[:, None]) < stroke_px + merge_px
        single = (crossing & close).sum(axis=1) <= 1
        c0 = np.rint(xhat).astype(int) - half
        inside = single & (c0 >= 0) & (c0 + 2 * half + 1 <= w)
        rows, xhat, c0 = rows[inside], xhat[inside], c0[inside]
        if rows.size < 3:
            continue
        prof = ink[rows[:, None], c0[:, None] + np.arange(2 * half + 1)[None, :]].astype(np.float64)
        prof = np.clip(prof - np.minimum(prof[:, :1], prof[:, -1:]), 0.0, None)  # paper, grid
        peak = np.argmax(prof[:, half - 2:half + 3], axis=1) + half - 2
        lo, hi = falloff_extent(prof, peak)
        cols = np.arange(prof.shape[1])
        wgt = np.where((cols >= lo[:, None]) & (cols <= hi[:, None]), prof, 0.0)
        total = wgt.sum(axis=1)
        good = (prof[np.arange(rows.size), peak] >= 0.3) & (lo > 0) & (hi < cols[-1]) & \
            (total <= max_width * stroke_px + 0.5) & (total > 0)
        xc = np.full(rows.size, np.nan)
        xc[good] = (wgt[good] * cols).sum(axis=1) / total[good] + c0[good]
        good &= np.abs(xc - xhat) <= 1.5
        if good.sum() < 3:
            continue
        px, py = xc[good], rows[good].astype(np.float64)
        o = np.argsort(px, kind="stable")
        px, py = px[o], py[o]
        sel = (xs >= px[0]) & (xs <= px[-1])
        out[seg[sel]] = np.interp(xs[sel], px, py)
    return out


def track_row(ink: np.ndarray, threshold: float, y_lo: int, y_hi: int, x_lo: int, x_hi: int,
              baseline_px: float, spacing_px: float, method: str = "morph",
              stroke_px: float | None = None, gap_close_px: int = 3,
              baseline_pull: float = 0.5, h_ratio: float = 1.15, level_window: int = 7,
              fine_steep: float = 0.0, entry_cost: float | None = None,
              flank_rows: bool = False, faint_cost: float = 0.0) -> RowTrace:
    """Track and read out the trace of one row.

    Parameters
    ----------
    ink : numpy.ndarray
        ``(H, W)`` float ink darkness map of the deskewed page.
    threshold : float
        Ink level above which a pixel belongs to a stroke.
    y_lo, y_hi, x_lo, x_hi : int
        Band searched (rows ``[y_lo, y_hi)``, columns ``[x_lo, x_hi)``).
    baseline_px : float
        Row baseline (image row), used as a weak prior.
    spacing_px : float
        Row spacing; scales the baseline prior.
    method : {"edges", "centroid"}
        Sub-pixel read-out (see the module docstring).
    stroke_px : float or None
        Stroke width in pixels for ``"edges"``/``"morph"``; estimated from flat stretches when
        None.
    gap_close_px : int
        Vertical gaps up to this many pixels inside a column are bridged before the runs are
        formed.
    baseline_pull : float
        Weight of the distance to the baseline (per row spacing) in the tracking cost.
    h_ratio : float
        ``"morph"``: horizontal / vertical radius of the brush model (tuned by
        :func:`ecgpaper.digitize.train_digitizer`).
    level_window : int
        ``"morph"``: columns of the running median that decides up- or down-peaks.
    fine_steep : float
        ``"morph"``: use the sub-column correction only where a column's run is longer than
        this many stroke widths (0 = everywhere).
    entry_cost : float or None
        Tracking: cost (in pixels of vertical gap) of coming back onto the trace after
        columns left untracked; None = every inked column must be tracked (no "off" state).
    flank_rows : bool
        ``"morph"`` only: re-read the steep flanks of the sub-column read-out row by row
        (:func:`_refine_flanks`).
    faint_cost : float
        Tracking: cost per column of a run whose darkest pixel is at the ink threshold,
        falling linearly to 0 at the strokes' darkness (90th percentile of the runs' darkest
        pixels); 0 = runs are told apart by position alone.

    Returns
    -------
    RowTrace

    Examples
    --------
    >>> ink = np.zeros((40, 60), np.float32); ink[19:21, :] = 1.0
    >>> rt = track_row(ink, 0.5, 0, 40, 0, 60, 20.0, 40.0)
    >>> float(np.nanmedian(rt.y_px)), rt.coverage
    (19.5, 1.0)
    """
    if method not in READOUT_METHODS:
        raise ValueError(f"unknown read-out method {method!r}; valid: {list(READOUT_METHODS)}")
    h, w = ink.shape
    y_lo, y_hi = max(0, int(y_lo)), min(h, int(y_hi))
    x_lo, x_hi = max(0, int(x_lo)), min(w, int(x_hi))
    n_cols = x_hi - x_lo
    x_px = np.arange(x_lo, x_hi, dtype=np.float64)
    y_out = np.full(n_cols, np.nan)
    if n_cols <= 0 or y_hi - y_lo < 3:
        return RowTrace(x_px, y_out, 0.0)
    sub = ink[y_lo:y_hi, x_lo:x_hi]
    binary = sub > threshold
    # bridge short vertical gaps (anti-aliased steep strokes are thinner than one column)
    binary = cv2.morphologyEx(binary.astype(np.uint8), cv2.MORPH_CLOSE,
                              np.ones((gap_close_px + 2, 1), np.uint8)).astype(bool) | binary
    col, top, bot = column_runs(binary)
    if col.size == 0:
        return RowTrace(x_px, y_out, 0.0)
    centre = 0.5 * (top + bot) + y_lo
    unary = baseline_pull * np.abs(centre - baseline_px) / max(spacing_px, 1.0)
    if faint_cost:
        # a run much fainter than the strokes (a grid line's remnant, noise) costs more than a
        # stroke beside it that continuity alone cannot tell from it
        flat = np.append(sub.T.ravel(), 0.0)       # column-major: index col * h + row
        bounds = np.stack([col * sub.shape[0] + top, col * sub.shape[0] + bot + 1], 1).ravel()
        peak = np.maximum.reduceat(flat, bounds)[::2]
        full = float(np.percentile(peak, 90))
        if full > threshold:
            unary = unary + faint_cost * np.clip((full - peak) / (full - threshold), 0.0, 1.0)
    choice = _viterbi(col, top, bot, unary, n_cols, skip_cost=0.5, entry_cost=entry_cost)
    ok = choice >= 0
    x_fine = y_fine = None
    cols = np.nonzero(ok)[0]
    t_sel = top[choice[ok]]
    b_sel = bot[choice[ok]]
    jump = np.zeros(n_cols, bool)
    if cols.size > 1:
        gap = np.maximum(t_sel[1:] - b_sel[:-1] - 1, t_sel[:-1] - b_sel[1:] - 1)
        jump[cols[1:]] = (gap > 2) | (np.diff(cols) > 3)
    # sub-pixel edges from the grey levels just outside the run (linear partial coverage)
    hh = y_hi - y_lo
    above = sub[np.clip(t_sel - 1, 0, hh - 1), cols]
    below = sub[np.clip(b_sel + 1, 0, hh - 1), cols]
    peak_t = sub[t_sel, cols]
    peak_b = sub[b_sel, cols]
    ref = np.maximum(np.maximum(peak_t, peak_b), 1e-3)
    frac_a = np.clip(np.where(t_sel > 0, above, 0) / ref, 0, 1)
    frac_b = np.clip(np.where(b_sel < hh - 1, below, 0) / ref, 0, 1)
    top_e = t_sel - 0.5 - frac_a + y_lo
    bot_e = b_sel + 0.5 + frac_b + y_lo
    if method == "centroid":
        ys = np.empty(cols.size)
        for j, (c, t0, b0) in enumerate(zip(cols, t_sel, b_sel)):
            a, z = max(0, t0 - 1), min(hh, b0 + 2)
            wgt = sub[a:z, c].astype(np.float64)
            wgt = np.clip(wgt - 0.5 * threshold, 0, None)
            ys[j] = (np.sum(wgt * np.arange(a, z)) / np.sum(wgt) if wgt.sum() > 0 else 0.5 * (t0 + b0)) + y_lo
        y_out[cols] = ys
    elif method == "morph":
        length = bot_e - top_e
        if stroke_px is None:
            stroke_px = float(np.percentile(length, 20)) if length.size else 2.0
        te = np.full(n_cols, np.nan)
        be = np.full(n_cols, np.nan)
        te[cols], be[cols] = top_e, bot_e
        yy, xf, yf = _morph_readout(te, be, 0.5 * stroke_px, h_ratio, level_window,
                                    steep_only=fine_steep)
        y_out[cols] = yy[cols]
        if xf.size == n_cols * 4:
            f = 4
            have = np.repeat(np.isfinite(y_out), f)
            x_fine = x_lo + xf
            y_fine = np.where(have, yf, np.nan)
            if flank_rows:
                y_fine = _refine_flanks(ink, x_fine, y_fine, stroke_px)
    else:
        length = bot_e - top_e
        if stroke_px is None:
            stroke_px = float(np.percentile(length, 20)) if length.size else 2.0
        # read out contiguous segments separately
        breaks = np.nonzero(np.diff(cols) > 1)[0] + 1
        for seg in np.split(np.arange(cols.size), breaks):
            if seg.size < 3:
                y_out[cols[seg]] = 0.5 * (top_e[seg] + bot_e[seg])
                continue
            y_out[cols[seg]] = _edges_readout(top_e[seg], bot_e[seg], stroke_px)
    top_px = np.full(n_cols, np.nan)
    bot_px = np.full(n_cols, np.nan)
    top_px[cols], bot_px[cols] = top_e, bot_e
    return RowTrace(x_px, y_out, float(ok.mean()), jump, x_fine, y_fine, top_px, bot_px)


def track_panels(ink: np.ndarray, threshold: float, rt: RowTrace, cuts_px: list[float],
                 y_lo: int, y_hi: int, baseline_px: float, spacing_px: float,
                 track_kw: dict, stub_px: int = 0) -> RowTrace:
    """Track a row again piece by piece between the panel boundaries ``cuts_px``.

    One path over the whole row must pass from the end of one lead to the start of the next
    through whatever ink lies between them; a lead label printed under the baseline at the
    panel's start (the official generator's style) or a separator's foot offers a connected
    detour that the path prefers to the jump.  Each piece here starts its own path, so the
    tracker takes the run that leads into the panel.  Where a label starts before the trace
    does, the path may still start on the label and jump to the trace: a piece whose path
    jumps within ``stub_px`` columns of its cut loses what comes before that jump.  The
    stroke width of the whole row is kept for every piece.

    Parameters
    ----------
    ink, threshold
        As for :func:`track_row`.
    rt : RowTrace
        First tracking of the whole row (gives its columns and stroke width).
    cuts_px : list of float
        Columns where one panel ends and the next starts.
    y_lo, y_hi, baseline_px, spacing_px
        The row's band, baseline and spacing, as for :func:`track_row`.
    track_kw : dict
        Further keywords of :func:`track_row`.
    stub_px : int
        Columns after each cut where a jump of the path ends a stub that is dropped.

    Returns
    -------
    RowTrace
        The pieces' read-outs on the row's columns (``rt`` itself when no cut falls inside
        it or a piece has no sub-column read-out).

    Examples
    --------
    >>> ink = np.zeros((60, 80), np.float32); ink[19:21, :40] = 1.0; ink[39:41, 40:] = 1.0
    >>> ink[39:41, 36:40] = 1.0   # a mark under the end of the left piece
    >>> rt = track_row(ink, 0.5, 0, 60, 0, 80, 30.0, 40.0)
    >>> float(rt.y_px[37])        # the one path left the left trace for the mark
    39.5
    >>> two = track_panels(ink, 0.5, rt, [40.0], 0, 60, 30.0, 40.0, {})
    >>> float(two.y_px[37]), float(two.y_px[45])
    (19.5, 39.5)
    """
    n = rt.x_px.size
    if n == 0:
        return rt
    x_lo = int(round(rt.x_px[0]))
    edges = [x_lo] + sorted(int(round(c)) for c in cuts_px if x_lo + 2 < c < x_lo + n - 2) \
        + [x_lo + n]
    if len(edges) < 3:
        return rt
    stroke = None
    if rt.run_px is not None and np.isfinite(rt.run_px).any():
        stroke = float(np.nanpercentile(rt.run_px, 20))
    fine = rt.x_fine is not None and rt.x_fine.size == 4 * n
    y_px, top_px, bot_px = (np.full(n, np.nan) for _ in range(3))
    jump = np.zeros(n, bool)
    y_fine = np.full(4 * n, np.nan) if fine else None
    for a, b in zip(edges[:-1], edges[1:]):
        part = track_row(ink, threshold, y_lo, y_hi, a, b, baseline_px, spacing_px,
                         stroke_px=stroke, **track_kw)
        i = a - x_lo
        if part.y_px.size != b - a or (fine and (part.y_fine is None
                                                 or part.y_fine.size != 4 * (b - a))):
            return rt
        if a > x_lo and part.jump is not None and part.jump[:stub_px].any():
            stub = int(np.argmax(part.jump[:stub_px]))
            part.y_px[:stub] = np.nan
            if part.top_px is not None:
                part.top_px[:stub], part.bot_px[:stub] = np.nan, np.nan
            if part.y_fine is not None:
                part.y_fine[:4 * stub] = np.nan
        y_px[i:i + b - a] = part.y_px
        if part.jump is not None:
            jump[i:i + b - a] = part.jump
        if part.top_px is not None:
            top_px[i:i + b - a], bot_px[i:i + b - a] = part.top_px, part.bot_px
        if fine:
            y_fine[4 * i:4 * (i + b - a)] = part.y_fine
    return RowTrace(rt.x_px, y_px, float(np.isfinite(y_px).mean()), jump,
                    rt.x_fine if fine else None, y_fine, top_px, bot_px)
