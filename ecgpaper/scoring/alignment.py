"""Challenge 2024 alignment of an estimated lead to its reference.

The official scorer (evaluation-2024, 2024-08-20 semantics) binarises both
signals into a 256-level x time image, smooths the images with a Gaussian of
0.5 px, takes the full 2-D cross-correlation, and shifts the estimate by the
arg-max lag if it lies within +-0.5 s and +-1 mV (otherwise it leaves the
estimate as it is). That is an FFT over a 511 x (2T-1) image per lead,
0.3-0.6 s at T = 5000; three methods are offered here:

``"official"``
    The same computation (binary images, ``scipy.ndimage.gaussian_filter``,
    FFT correlation, global arg-max, then the acceptance window).
``"global"`` (default)
    The official arg-max without the FFT: each time column of a binary image
    holds one pixel, so the correlation is a histogram of level differences
    per time lag, smoothed by the autocorrelation of the Gaussian kernel. The
    pairs are counted for blocks of lags at once (``np.bincount``), in chunks
    of lags nearest to lag 0 first; a chunk is skipped when its number of
    finite pairs cannot reach the best value found so far. 5-15x faster than
    ``"official"``; same lead scores (property tests against ``"official"``).
``"window"``
    The same sums restricted to the acceptance window (+-0.5 s), about 5 ms
    per 5000-sample lead, 9-15x faster than ``"global"``. It returns the
    official shift whenever the official arg-max lies inside the window.
    When the official arg-max lies beyond +-0.5 s, the official code keeps
    the estimate unshifted; this method returns that result only when its
    own best lag is on the window edge (it then runs the global search);
    when its best lag is strictly inside the window it applies that shift
    instead. This happens often on masked references (a 2.5-s lead window
    matches the estimate one beat away about as well as at the true lag):
    see ``docs/scoring.md``. For fast relative comparisons only.

The sparse sums include the reflecting borders of ``gaussian_filter`` (pairs
with a pixel at an extreme level or at the first/last two samples get their
exact footprint), so every cell equals the official correlation up to
rounding. They break exact ties in the official row-major order where the
FFT's rounding decides, and they skip the border footprints when more than
``_BORDER_PAIRS_MAX`` pairs involve a border pixel (constant, clipped or
coarsely quantised estimates); only such signals can be aligned differently.

All implement the 2024 shift: a negative lag prepends NaN (the 2025
"Clarify shift" change, which truncates the estimate instead, is a bug that is
not reproduced).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal as sps

NUM_LEVELS = 256
SIGMA_PX = 0.5
MAX_SHIFT_S = 0.5
MAX_OFFSET_MV = 1.0

ALIGNMENT_METHODS = ("window", "global", "official")


def _gaussian_taps(sigma: float = SIGMA_PX, truncate: float = 4.0) -> np.ndarray:
    """The 1-D kernel of ``scipy.ndimage.gaussian_filter`` (radius ``int(truncate*sigma+0.5)``)."""
    radius = int(truncate * sigma + 0.5)
    k = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 * (k / sigma) ** 2)
    return w / w.sum()


#: Autocorrelation of the smoothing kernel: the smoothing seen by a correlation
#: of two smoothed images (9 taps for sigma = 0.5).
_H = np.correlate(_gaussian_taps(), _gaussian_taps(), mode="full")


def _border_tables() -> tuple[np.ndarray, float]:
    """Footprints of a pixel pair near the image borders (``gaussian_filter``'s reflect mode).

    ``gaussian_filter`` reflects at the borders, so a pixel at position 0, 1, n-2
    or n-1 of an axis spreads differently from an interior one. Along one axis the
    correlation of the footprints of two pixels at ``p`` and ``q`` is a function of
    ``u = lag - (q - p)`` that depends only on the positions' classes (0: first,
    1: second, 2: interior, 3: second last, 4: last). Returns the table
    ``K[class_p, class_q, u + 4]`` (``K[2, 2] == _H``) and ``M = (sum_u max K)**2``,
    the total over the 81 offsets of the largest weight any pair footprint puts there.
    """
    n, reps = 16, (0, 1, 8, 14, 15)  # a short axis gives the same footprints as any n >= 16
    foot = []
    for p in reps:
        delta = np.zeros(n)
        delta[p] = 1.0
        foot.append(ndimage.gaussian_filter1d(delta, SIGMA_PX, mode="reflect"))
    table = np.zeros((5, 5, 9))
    for ca, pa in enumerate(reps):
        for cb, pb in enumerate(reps):
            for u in range(-4, 5):
                lag = pb - pa + u
                lo, hi = max(0, -lag), min(n, n - lag)
                if hi > lo:
                    table[ca, cb, u + 4] = float(np.dot(foot[ca][lo:hi], foot[cb][lo + lag:hi + lag]))
    return table, float(table.max(axis=(0, 1)).sum() ** 2)


_BORDER_K, _BOUND_M = _border_tables()
#: Largest amount by which one border pair's exact footprint exceeds ``H x H`` on a cell.
_BORDER_EXCESS = float(max(0.0, (_BORDER_K[:, :, None, None, :, None] * _BORDER_K[None, None, :, :, None, :]
                                 - (_H[:, None] * _H[None, :])).max()))


def quantize(x: np.ndarray, y: np.ndarray, num_levels: int = NUM_LEVELS):
    """Amplitude levels (0-based) of the binarised images; -1 where not finite.

    Returns ``(qx, qy, step_mv)`` with both arrays padded to the common length
    with -1, or ``None`` when either signal has no finite sample.
    """
    fx, fy = np.isfinite(x), np.isfinite(y)
    if not fx.any() or not fy.any():
        return None
    a_min = min(x[fx].min(), y[fy].min())
    a_max = max(x[fx].max(), y[fy].max())
    span = a_max - a_min
    if span <= 0:
        return None
    length = max(len(x), len(y))
    out = []
    for sig, fin in ((x, fx), (y, fy)):
        q = np.full(length, -1, dtype=np.int32)
        lev = np.round((num_levels - 1) * (sig[fin] - a_min) / span + 1)
        q[np.flatnonzero(fin)] = np.clip(lev, 1, num_levels).astype(np.int32) - 1
        out.append(q)
    return out[0], out[1], span / (num_levels - 1)


#: Histogram row layout of :func:`_pair_counts`: level differences -255..255 land in
#: columns 0..510; pairs with a missing sample are sent to the spare columns 511..1023
#: by giving missing samples out-of-range levels (checked in the tests).
_ROW_STRIDE = 1024
_MISSING_Y = 2 * NUM_LEVELS - 1
_MISSING_X = -(NUM_LEVELS + 1)
#: Lags counted per ``np.bincount`` call: keys and bins of a block stay in the L2 cache.
_LAG_BLOCK = 16


#: Lags per chunk of the global search of :func:`_lags_global` (bounds its memory).
_GLOBAL_CHUNK = 256
_MARGIN = (len(_H) - 1) // 2
_N_DQ = 2 * NUM_LEVELS - 1


def _pair_counts(qx: np.ndarray, qy: np.ndarray, lag0: int, n_lags: int) -> np.ndarray:
    """Histogram of level differences ``qy[j + dt] - qx[j]`` for the lags ``lag0 .. lag0 + n_lags - 1``.

    Returns an int array ``(n_lags, _ROW_STRIDE)``: row ``i`` is lag ``lag0 + i``,
    column ``d + NUM_LEVELS - 1`` counts the pairs with difference ``d``; the
    columns from ``2 NUM_LEVELS - 1`` on hold the pairs with a missing sample
    (or ``j + dt`` outside ``y``). Only the span of ``x`` between its first and
    last finite sample is paired.
    """
    finite_x = np.flatnonzero(qx >= 0)
    t0, t1 = int(finite_x[0]), int(finite_x[-1]) + 1
    width = t1 - t0
    # key = qy' + (NUM_LEVELS - 1 - qx') + row * stride, with out-of-range levels for
    # missing samples (qy' = _MISSING_Y, qx' = _MISSING_X) that land in the spare columns.
    base = np.where(qx[t0:t1] >= 0, qx[t0:t1], _MISSING_X).astype(np.intp)
    base = (NUM_LEVELS - 1) - base
    first = t0 + lag0                      # y index paired with x[t0] at the first lag
    last = t1 - 1 + lag0 + n_lags - 1      # y index paired with x[t1 - 1] at the last lag
    pad_lo = max(0, -first)
    qy_pad = np.full(pad_lo + max(last + 1, len(qy)), _MISSING_Y, dtype=np.intp)
    qy_pad[pad_lo:pad_lo + len(qy)] = np.where(qy >= 0, qy, _MISSING_Y)
    # Row i of the view is y[t0 + lag0 + i : ... + width], i.e. y[j + dt] for lag lag0 + i.
    view = np.lib.stride_tricks.sliding_window_view(qy_pad, width)[
        first + pad_lo:first + pad_lo + n_lags]
    block = min(_LAG_BLOCK, n_lags)
    offsets = base[None, :] + (np.arange(block, dtype=np.intp) * _ROW_STRIDE)[:, None]
    keys = np.empty((block, width), dtype=np.intp)
    counts = np.empty((n_lags, _ROW_STRIDE), dtype=np.intp)
    for s in range(0, n_lags, block):
        b = min(block, n_lags - s)
        np.add(view[s:s + b], offsets[:b], out=keys[:b])
        counts[s:s + b] = np.bincount(keys[:b].ravel(), minlength=b * _ROW_STRIDE).reshape(
            b, _ROW_STRIDE)
    return counts


def _smooth_patch(counts: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Smoothed correlation ``H * counts * H`` on rows ``r0:r1`` and columns ``c0:c1``.

    ``counts`` is ``(rows, n_dq)``; values outside it count as zero. The result is
    bit-identical to the same cells of the smoothing of the whole array (the same
    ``correlate1d`` calls see the same neighbourhoods).
    """
    margin = _MARGIN
    rows, cols = counts.shape
    patch = np.zeros((r1 - r0 + 2 * margin, c1 - c0 + 2 * margin))
    a0, a1 = max(0, r0 - margin), min(rows, r1 + margin)
    b0, b1 = max(0, c0 - margin), min(cols, c1 + margin)
    patch[a0 - (r0 - margin):a1 - (r0 - margin), b0 - (c0 - margin):b1 - (c0 - margin)] = \
        counts[a0:a1, b0:b1]
    smooth = ndimage.correlate1d(patch, _H, axis=0, mode="constant")
    smooth = ndimage.correlate1d(smooth, _H, axis=1, mode="constant")
    return smooth[margin:-margin, margin:-margin]


def _position_class(pos: np.ndarray, n: int) -> np.ndarray:
    """Border class of positions on an axis of length ``n`` (see :func:`_border_tables`)."""
    cls = np.full(pos.shape, 2, dtype=np.intp)
    cls[pos == 0] = 0
    cls[pos == 1] = 1
    cls[pos == n - 2] = 3
    cls[pos == n - 1] = 4
    return cls


#: Border corrections are computed when at most this many pairs involve a border pixel
#: (ordinary ECG estimates: a few thousand). Estimates with thousands of samples at the
#: extreme levels (constant, clipped or coarsely quantised outputs) are scored with the
#: zero-padded sums: their official arg-max is a near-tie settled by FFT rounding anyway.
_BORDER_PAIRS_MAX = 100_000


def _border_samples(qx: np.ndarray, qy: np.ndarray) -> int:
    """Number of finite samples at an extreme level (0, 1, 254, 255) plus the 8 edge samples."""
    top = NUM_LEVELS - 1
    return int(((qx >= 0) & ((qx <= 1) | (qx >= top - 1))).sum()
               + ((qy >= 0) & ((qy <= 1) | (qy >= top - 1))).sum()) + 8


def _border_pairs(qx: np.ndarray, qy: np.ndarray, lag_lo: int, lag_hi: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Finite pairs ``(j, k = j + lag)``, ``lag_lo <= lag < lag_hi``, with a border pixel.

    A border pixel is at an extreme level (0, 1, 254, 255) or at one of the first
    and last two samples, where ``gaussian_filter`` reflects.
    """
    n, top = len(qx), NUM_LEVELS - 1
    fx, fy = qx >= 0, qy >= 0
    edge = np.zeros(n, dtype=bool)
    edge[[0, 1, n - 2, n - 1]] = True
    bx = fx & ((qx <= 1) | (qx >= top - 1) | edge)
    by = fy & ((qy <= 1) | (qy >= top - 1) | edge)
    lags = np.arange(lag_lo, lag_hi)
    jx = np.repeat(np.flatnonzero(bx), lags.size)
    kx = jx + np.tile(lags, jx.size // max(1, lags.size))
    keep = (kx >= 0) & (kx < n)
    jx, kx = jx[keep], kx[keep]
    keep = fy[kx]
    ky = np.repeat(np.flatnonzero(by), lags.size)
    jy = ky - np.tile(lags, ky.size // max(1, lags.size))
    keep_y = (jy >= 0) & (jy < n)
    jy, ky = jy[keep_y], ky[keep_y]
    keep_y = fx[jy] & ~bx[jy]  # pairs with a border x sample are already in (jx, kx)
    return (np.concatenate([jx[keep], jy[keep_y]]), np.concatenate([kx[keep], ky[keep_y]]))


def _border_bound(qx: np.ndarray, qy: np.ndarray, lag0: int,
                  pairs: tuple[np.ndarray, np.ndarray]) -> int:
    """Upper bound on the border ``pairs`` within 4 cells of any cell (row ``r`` = lag ``lag0 + r``).

    Pairs are counted in 9 x 9 blocks; a 9 x 9 neighbourhood meets at most 2 x 2 blocks.
    """
    j, k = pairs
    if j.size == 0:
        return 0
    size = 2 * _MARGIN + 1
    r = (k - j - lag0 + _MARGIN) // size
    c = (qy[k] - qx[j] + NUM_LEVELS - 1 + _MARGIN) // size
    n_c = (2 * NUM_LEVELS - 1 + 2 * _MARGIN) // size + 1
    hist = np.bincount(r * n_c + c, minlength=(int(r.max()) + 1) * n_c).reshape(-1, n_c)
    hist = np.pad(hist, ((0, 1), (0, 1)))
    return int((hist[:-1, :-1] + hist[1:, :-1] + hist[:-1, 1:] + hist[1:, 1:]).max())


def _border_correction(qx: np.ndarray, qy: np.ndarray, lag0: int, r0: int, r1: int, c0: int,
                       c1: int, pairs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """What the image borders add to :func:`_smooth_patch` on rows ``r0:r1``, columns ``c0:c1``.

    Rows are lags ``lag0 + row``, columns level differences ``col - (NUM_LEVELS - 1)``.
    The sparse sums spread every pair with the interior footprint ``H x H``; the
    official ``gaussian_filter`` reflects pixels at the extreme levels (0, 1, 254,
    255) and at the first and last two samples, where a pair's footprint is
    ``K_time x K_level`` instead. The difference is split as
    ``H x (K_level - H) + (K_time - H) x K_level``: the first term is scattered
    along the levels (9 cells per pair) and smoothed along the lags once, the
    second (only for the first/last-two samples) along the lags and smoothed
    along the levels once, or cell by cell when the level footprint is a border one.
    ``pairs``: the border pairs of a lag range covering the patch and 4 lags around
    it (from :func:`_border_pairs`), to avoid enumerating them again.
    """
    n, top = len(qx), NUM_LEVELS - 1
    out_shape = (r1 - r0, c1 - c0)
    lag_lo, lag_hi = lag0 + r0 - _MARGIN, lag0 + r1 + _MARGIN
    if pairs is None:
        j, k = _border_pairs(qx, qy, lag_lo, lag_hi)
    else:
        j, k = pairs
        keep = (k - j >= lag_lo) & (k - j < lag_hi)
        j, k = j[keep], k[keep]
    if j.size == 0:
        return np.zeros(out_shape)
    a, b = qx[j], qy[k]
    ca, cb = _position_class(a, NUM_LEVELS), _position_class(b, NUM_LEVELS)
    cj, ck = _position_class(j, n), _position_class(k, n)
    ext = (out_shape[0] + 2 * _MARGIN, out_shape[1] + 2 * _MARGIN)
    row = k - j - lag0 - r0 + _MARGIN  # the pair's own cell in the extended patch
    col = b - a + top - c0 + _MARGIN
    offs = np.arange(-_MARGIN, _MARGIN + 1)
    level_border = (ca != 2) | (cb != 2)
    time_edge = (cj != 2) | (ck != 2)

    def scatter(rows, cols, weights):
        ok = (rows >= 0) & (rows < ext[0]) & (cols >= 0) & (cols < ext[1]) & (weights != 0)
        return np.bincount(rows[ok] * ext[1] + cols[ok], weights=weights[ok],
                           minlength=ext[0] * ext[1]).reshape(ext)

    total = np.zeros(ext)
    sel = level_border & (row >= 0) & (row < ext[0])
    if sel.any():  # H x (K_level - H): along the levels, then H along the lags
        cols = col[sel][:, None] + offs
        image = scatter(np.broadcast_to(row[sel][:, None], cols.shape), cols,
                        (_BORDER_K - _H)[ca[sel], cb[sel]])
        total += ndimage.correlate1d(image, _H, axis=0, mode="constant")
    sel = time_edge & ~level_border & (col >= 0) & (col < ext[1])
    if sel.any():  # (K_time - H) x H: along the lags, then H along the levels
        rows = row[sel][:, None] + offs
        image = scatter(rows, np.broadcast_to(col[sel][:, None], rows.shape),
                        (_BORDER_K - _H)[cj[sel], ck[sel]])
        total += ndimage.correlate1d(image, _H, axis=1, mode="constant")
    sel = time_edge & level_border
    if sel.any():  # (K_time - H) x K_level, cell by cell
        weight = (_BORDER_K - _H)[cj[sel], ck[sel]][:, :, None] * _BORDER_K[ca[sel], cb[sel]][:, None, :]
        rows = np.broadcast_to((row[sel][:, None] + offs)[:, :, None], weight.shape)
        cols = np.broadcast_to((col[sel][:, None] + offs)[:, None, :], weight.shape)
        total += scatter(rows, cols, weight)
    return total[_MARGIN:-_MARGIN, _MARGIN:-_MARGIN]


def _exact_patch(counts: np.ndarray, qx: np.ndarray, qy: np.ndarray, lag0: int, r0: int,
                 r1: int, c0: int, c1: int,
                 pairs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The official smoothed correlation on a patch: sparse sums plus border correction."""
    return (_smooth_patch(counts, r0, r1, c0, c1)
            + _border_correction(qx, qy, lag0, r0, r1, c0, c1, pairs))


def _best_cell(counts: np.ndarray, r_lo: int, r_hi: int, qx: np.ndarray, qy: np.ndarray,
               lag0: int) -> tuple[float, int, int]:
    """Maximum of the smoothed correlation over rows ``r_lo:r_hi`` and every column.

    ``counts`` (pair counts of :func:`_pair_counts`, row ``r`` = lag ``lag0 + r``)
    is ``(rows, n_dq)`` with at least ``_MARGIN`` rows of context on each side of
    the searched rows (or the array edge, beyond which counts are zero). Returns
    ``(value, row, col)``; among equal values the largest column (level
    difference), then the largest row (lag), as the official arg-max does.

    The smoothed correlation ``S`` spreads every pair over the 9 x 9 cells around
    it: with ``H x H`` (non-negative, unit sum) inside the image, so those pairs
    add at most the largest count within 4 cells, and with other footprints for
    the few pairs with a border pixel, which add at most ``_BORDER_EXCESS`` each
    beyond that. With ``s0`` the value of ``S`` at the largest count, every cell
    where ``S >= s0`` (in particular every maximiser) lies within 4 cells of a
    count ``>= s0 - _BORDER_EXCESS * (border pairs near it)``; ``S`` is evaluated
    only on the bounding box of those cells: exact, and usually a few hundred cells.
    """
    margin, n_dq = _MARGIN, counts.shape[1]
    box = (r_lo, r_hi, 0, n_dq)
    exact = _border_samples(qx, qy) * (counts.shape[0] + 2 * margin) <= _BORDER_PAIRS_MAX
    pairs = _border_pairs(qx, qy, lag0 - margin, lag0 + counts.shape[0] + margin) if exact else None

    def patch(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        if exact:
            return _exact_patch(counts, qx, qy, lag0, r0, r1, c0, c1, pairs)
        return _smooth_patch(counts, r0, r1, c0, c1)

    row_max = counts.max(axis=1)
    r_top = r_lo + int(np.argmax(row_max[r_lo:r_hi]))
    c_top = int(np.argmax(counts[r_top]))
    s0 = float(patch(r_top, r_top + 1, c_top, c_top + 1)[0, 0])
    if s0 > 0:
        # S = sparse sums (<= the largest count within 4 cells) + border corrections
        # (<= _BORDER_EXCESS per border pair within 4 cells).
        slack = _BORDER_EXCESS * _border_bound(qx, qy, lag0, pairs) if exact else 0.0
        thr = (s0 - slack) * (1.0 - 1e-9)
        rows = np.flatnonzero(row_max >= thr)
        cols = np.flatnonzero((counts[rows] >= thr).any(axis=0))
        cand = (max(r_lo, int(rows[0]) - margin), min(r_hi, int(rows[-1]) + margin + 1),
                max(0, int(cols[0]) - margin), min(n_dq, int(cols[-1]) + margin + 1))
        if (cand[1] - cand[0]) * (cand[3] - cand[2]) < (r_hi - r_lo) * n_dq // 2:
            box = cand
    b_r0, b_r1, b_c0, b_c1 = box
    region = patch(b_r0, b_r1, b_c0, b_c1)
    # Official tie-breaking: first maximum in (level row, time column) order of the
    # correlation image, i.e. the largest dq first, then the largest dt.
    flipped = region[::-1, ::-1].T
    i_dq, i_dt = np.unravel_index(np.argmax(flipped), flipped.shape)
    row = b_r1 - 1 - int(i_dt)
    col = b_c1 - 1 - int(i_dq)
    return float(region[row - b_r0, col - b_c0]), row, col


def _lags_window(qx: np.ndarray, qy: np.ndarray, max_dt: int) -> tuple[int, int]:
    """Best (dt, dq) over |dt| <= max_dt and every dq: y[j+dt] pairs with x[j]."""
    m = max_dt + _MARGIN
    counts = _pair_counts(qx, qy, -m, 2 * m + 1)[:, :_N_DQ]
    # Rows _MARGIN .. _MARGIN + 2 max_dt are the lags -max_dt .. max_dt.
    _, row, col = _best_cell(counts, _MARGIN, _MARGIN + 2 * max_dt + 1, qx, qy, -m)
    return row - m, col - (NUM_LEVELS - 1)


def _lags_global(qx: np.ndarray, qy: np.ndarray) -> tuple[int, int]:
    """Best (dt, dq) over every lag at which some finite samples pair up.

    The same sums and tie order as :func:`_lags_window`, over all lags, in chunks
    of ``_GLOBAL_CHUNK`` lags; a chunk is skipped when no lag near it has as many
    finite pairs as the best value found so far (``S <= max C <= pairs``). About
    5-15x cheaper than the 2-D FFT of :func:`_lags_official`.
    """
    fx = (qx >= 0).astype(np.float64)
    fy = (qy >= 0).astype(np.float64)
    finite_x, finite_y = np.flatnonzero(fx), np.flatnonzero(fy)
    lag_lo = int(finite_y[0] - finite_x[-1])
    lag_hi = int(finite_y[-1] - finite_x[0])
    # pairs[k] = number of finite pairs at lag k - (len(qx) - 1).
    pairs = np.rint(sps.fftconvolve(fy, fx[::-1], mode="full"))
    zero = len(qx) - 1
    best = (-1.0, 0, 0)  # (value, dq column, lag): lexicographic max = official order
    n_border = _border_samples(qx, qy)
    # Chunks nearest to lag 0 first: the best value found early prunes the far chunks.
    starts = sorted(range(lag_lo, lag_hi + 1, _GLOBAL_CHUNK),
                    key=lambda a: abs(a + _GLOBAL_CHUNK // 2))
    for a in starts:
        b = min(lag_hi + 1, a + _GLOBAL_CHUNK)
        lo, hi = a - _MARGIN, b + _MARGIN
        k0, k1 = max(0, lo + zero), min(len(pairs), hi + zero)
        if k1 <= k0 or pairs[k0:k1].max() * _BOUND_M < best[0] * (1.0 - 1e-9):
            continue
        counts = _pair_counts(qx, qy, lo, hi - lo)[:, :_N_DQ]
        # S <= largest count + _BORDER_EXCESS per border pair within 4 lags (<= 9 per sample).
        if counts.max() + _BORDER_EXCESS * 9 * n_border < best[0] * (1.0 - 1e-9):
            continue
        value, row, col = _best_cell(counts, _MARGIN, _MARGIN + (b - a), qx, qy, lo)
        best = max(best, (value, col, lo + row))
    _, col, lag = best
    return lag, col - (NUM_LEVELS - 1)


def _lags_official(qx: np.ndarray, qy: np.ndarray) -> tuple[int, int]:
    """Global arg-max lag of the smoothed binary images' full cross-correlation."""
    length = len(qx)
    images = []
    for q in (qx, qy):
        img = np.zeros((NUM_LEVELS, length))
        cols = np.flatnonzero(q >= 0)
        img[q[cols], cols] = 1.0
        images.append(ndimage.gaussian_filter(img, SIGMA_PX))
    bx, by = images
    rxy = sps.fftconvolve(bx, by[::-1, ::-1], mode="full")
    rxx = sps.fftconvolve(bx, bx[::-1, ::-1], mode="full")
    r_c, c_c = np.unravel_index(np.argmax(rxy), rxy.shape)
    r_a, c_a = np.unravel_index(np.argmax(rxx), rxx.shape)
    return int(c_a - c_c), int(r_a - r_c)


def find_shift(x: np.ndarray, y: np.ndarray, fs_hz: float, method: str = "global",
               max_shift_s: float = MAX_SHIFT_S, max_offset_mv: float = MAX_OFFSET_MV
               ) -> tuple[int, float]:
    """Time shift (samples, + when the estimate lags) and offset (mV) to apply to ``y``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Reference lead, mV; non-finite samples are left out of its image.
    y : array_like, shape (n',)
        Estimated lead, mV; non-finite samples are left out of its image.
    fs_hz : float
        Sampling frequency in Hz (sets the time limit ``round(max_shift_s * fs_hz)``).
    method : {"window", "global", "official"}
        Implementation, see the module notes.
    max_shift_s, max_offset_mv : float
        Acceptance limits of the Challenge (0.5 s, 1 mV).

    Returns
    -------
    dt : int
        Samples to drop from the start of ``y`` (negative: NaN samples to prepend).
    dv : float
        mV to subtract from ``y``.
        ``(0, 0.0)`` when either signal has no finite sample or the best lag
        falls outside the acceptance limits.

    Raises
    ------
    ValueError
        Unknown ``method``.

    Examples
    --------
    >>> t = np.arange(1000) / 500
    >>> x = np.sin(2 * np.pi * 1.3 * t) * np.exp(-t)
    >>> y = np.concatenate([np.full(40, np.nan), x[:-40]]) + 0.3
    >>> dt, dv = find_shift(x, y, 500)
    >>> dt, round(dv, 2)
    (40, 0.3)
    """
    if method not in ALIGNMENT_METHODS:
        raise ValueError(f"unknown alignment method {method!r}; choose one of {ALIGNMENT_METHODS}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    quant = quantize(x, y)
    if quant is None:
        return 0, 0.0
    qx, qy, step = quant
    max_dt = int(round(max_shift_s * fs_hz))
    if method == "official" or len(qx) < 16:  # the sparse sums assume axes of >= 16 samples
        dt, dq = _lags_official(qx, qy)
    elif method == "global":
        dt, dq = _lags_global(qx, qy)
    else:
        dt, dq = _lags_window(qx, qy, max_dt)
        if abs(dt) == max_dt:
            # The best lag of the window is on its edge: the global maximum may lie
            # beyond it, where the official code would not shift. Search every lag.
            dt, dq = _lags_global(qx, qy)
    dv = dq * step
    if abs(dt) > max_dt or abs(dv) > max_offset_mv:
        return 0, 0.0
    return dt, float(dv)


def apply_shift(y: np.ndarray, dt: int, dv: float) -> np.ndarray:
    """Shift ``y`` left by ``dt`` samples (NaN-filled) and subtract ``dv`` mV (2024 semantics)."""
    y = np.asarray(y, dtype=np.float64)
    if dt > 0:
        y = np.concatenate([y[dt:], np.full(min(dt, len(y)), np.nan)])
    elif dt < 0:
        y = np.concatenate([np.full(-dt, np.nan), y])
    return y - dv


def align_signal(x: np.ndarray, y: np.ndarray, fs_hz: float, method: str = "global") -> np.ndarray:
    """The estimate ``y`` aligned to the reference ``x`` as the Challenge scorer does."""
    dt, dv = find_shift(x, y, fs_hz, method=method)
    if dt == 0 and dv == 0.0:
        return np.asarray(y, dtype=np.float64)
    return apply_shift(y, dt, dv)
