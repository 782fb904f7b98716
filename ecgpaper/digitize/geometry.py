"""Rotation estimation and correction (stage 2 of the digitizer).

The grid is a strongly periodic 2-D pattern, so its power spectrum has sharp peaks at the grid
frequency, on the axis normal to each line family.  A page rotated by ``theta`` rotates those
peaks by ``theta`` about the origin; the angle of the strongest peak (parabolic sub-bin
interpolation) gives the rotation to a few hundredths of a degree on a 200-DPI page.  This is
the spectral form of the Hough-line angle used by ECG-Digitiser (Krones et al. 2024) and of the
projection-based deskew in Open-ECG-Digitizer, with no thresholds on line edges.

Perspective (keystone, shear, anisotropic scale) is corrected by :func:`estimate_rectification`:
local grid frequency vectors in a grid of tiles give the local Jacobian of the page -> image map,
and a homography is fitted to them robustly.  The pipeline applies rotation and homography as one
warp of its ink and grid maps.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import fft as sfft

__all__ = ["estimate_rotation_deg", "rotate_image", "grid_spectrum_peak"]


def _hann2(h: int, w: int) -> np.ndarray:
    return np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)


def _power_spectrum(grid: np.ndarray):
    """Windowed 2-D power spectrum (real FFT) and its frequency axes (cycles/px)."""
    g = np.asarray(grid, np.float32)
    h, w = g.shape
    g = (g - g.mean()) * _hann2(h, w)
    hp, wp = sfft.next_fast_len(h, real=False), sfft.next_fast_len(w, real=True)
    spec = sfft.rfft2(g, s=(hp, wp), workers=1)
    spec = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)  # (hp, wp//2+1)
    fy = sfft.fftfreq(hp)[:, None].astype(np.float32)
    fx = (np.arange(spec.shape[1]) / wp)[None, :].astype(np.float32)
    return spec, fy, fx, hp, wp


def _spectrum_peak(spec, fy, fx, hp, wp, min_period_px, max_period_px, max_angle_deg, family):
    rad = np.hypot(fy, fx)
    band = (rad >= 1.0 / max_period_px) & (rad <= 1.0 / min_period_px)
    tan_max = np.tan(np.deg2rad(max_angle_deg))
    if family == "horizontal":
        wedge = np.abs(fx) <= tan_max * np.abs(fy)
    elif family == "vertical":
        wedge = np.abs(fy) <= tan_max * np.abs(fx)
    else:
        raise ValueError(f"family must be 'horizontal' or 'vertical', got {family!r}")
    region = band & wedge
    sel = np.where(region, spec, 0.0)
    iy, ix = np.unravel_index(int(np.argmax(sel)), sel.shape)
    power = float(sel[iy, ix])
    if power <= 0:
        return 0.0, float("nan"), 0.0
    # relative power: peak over the median of the searched region (a grid gives hundreds+)
    power = power / (float(np.median(spec[region])) + 1e-12)

    def parab(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if d == 0 else 0.5 * (a - c) / d

    ly = np.log(spec[[(iy - 1) % hp, iy, (iy + 1) % hp], ix].astype(np.float64) + 1e-12)
    dy = parab(*ly)
    if 0 < ix < spec.shape[1] - 1:
        lx = np.log(spec[iy, [ix - 1, ix, ix + 1]].astype(np.float64) + 1e-12)
        dx = parab(*lx)
    else:
        dx = 0.0
    fyv = sfft.fftfreq(hp)[iy] + dy / hp
    fxv = (ix + dx) / wp
    if family == "horizontal":
        # normal vector of horizontal lines is (fx, fy) = (0, f); rotated lines tilt it
        if fyv < 0:
            fyv, fxv = -fyv, -fxv
        angle = np.degrees(np.arctan2(fxv, fyv))
    else:
        if fxv < 0:
            fyv, fxv = -fyv, -fxv
        angle = -np.degrees(np.arctan2(fyv, fxv))
    return float(angle), float(1.0 / np.hypot(fyv, fxv)), power


def grid_spectrum_peak(grid: np.ndarray, min_period_px: float = 2.2,
                       max_period_px: float = 160.0, max_angle_deg: float = 20.0,
                       family: str = "horizontal") -> tuple[float, float, float]:
    """Find the strongest grid peak of one line family in the 2-D power spectrum.

    Parameters
    ----------
    grid : numpy.ndarray
        ``(H, W)`` map in which the grid lines are bright.
    min_period_px, max_period_px : float
        Band of line periods searched, in pixels.
    max_angle_deg : float
        Largest rotation searched, in degrees.
    family : {"horizontal", "vertical"}
        Horizontal lines give peaks near the vertical frequency axis.

    Returns
    -------
    angle_deg : float
        Rotation of the family (counter-clockwise positive as displayed, the convention of
        ``cv2.getRotationMatrix2D``).
    period_px : float
        Line period, pixels.
    power : float
        Peak power relative to the median power of the searched region.
    """
    if family not in ("horizontal", "vertical"):
        raise ValueError(f"family must be 'horizontal' or 'vertical', got {family!r}")
    return _spectrum_peak(*_power_spectrum(grid), min_period_px, max_period_px, max_angle_deg,
                          family)


def estimate_rotation_deg(grid: np.ndarray, max_angle_deg: float = 20.0,
                          max_side_px: int = 2400, min_power: float = 200.0,
                          return_power: bool = False) -> float | tuple[float, float]:
    """Estimate the page rotation from the grid, in degrees.

    Parameters
    ----------
    grid : numpy.ndarray
        ``(H, W)`` grid map (see :func:`ecgpaper.digitize.load.normalise_image`).
    max_angle_deg : float
        Largest rotation searched.
    max_side_px : int
        Larger maps are downscaled first (keeps the FFT fast).
    min_power : float
        A family whose peak is weaker (relative to the median of the searched spectrum) is
        ignored; with neither family found the angle is 0 (no grid, no deskew).
    return_power : bool
        Also return the stronger family's relative peak power (how clearly the map shows a
        grid).

    Returns
    -------
    float or (float, float)
        Angle in degrees, counter-clockwise positive as displayed; pass it to
        :func:`rotate_image` to undo it.  With ``return_power``, ``(angle, power)``.

    Examples
    --------
    >>> import cv2
    >>> img = np.zeros((400, 500), np.float32); img[::8, :] = 1; img[:, ::8] = 1
    >>> m = cv2.getRotationMatrix2D((250, 200), 3.0, 1.0)
    >>> rot = cv2.warpAffine(img, m, (500, 400))
    >>> round(estimate_rotation_deg(rot), 1)
    3.0
    """
    g = np.asarray(grid, np.float32)
    scale = max(g.shape) / max_side_px
    if scale > 1:
        g = cv2.resize(g, (int(g.shape[1] / scale), int(g.shape[0] / scale)),
                       interpolation=cv2.INTER_AREA)
    spec = _power_spectrum(g)  # one FFT serves both line families
    a_h, _, p_h = _spectrum_peak(*spec, 2.2, 160.0, max_angle_deg, "horizontal")
    a_v, _, p_v = _spectrum_peak(*spec, 2.2, 160.0, max_angle_deg, "vertical")
    p_h = p_h if p_h >= min_power else 0.0
    p_v = p_v if p_v >= min_power else 0.0
    if p_h <= 0 and p_v <= 0:
        angle = 0.0
    elif p_h <= 0:
        angle = a_v
    elif p_v <= 0:
        angle = a_h
    elif abs(a_h - a_v) > 1.0:  # disagreeing families: trust the stronger one
        angle = a_h if p_h >= p_v else a_v
    else:
        angle = float((a_h * p_h + a_v * p_v) / (p_h + p_v))
    return (angle, float(max(p_h, p_v))) if return_power else angle


def rotate_image(image: np.ndarray, angle_deg: float, border_value: float | tuple = 1.0
                 ) -> np.ndarray:
    """Rotate an image about its centre by ``-angle_deg`` (undoing a rotation of ``angle_deg``).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` float32 image.
    angle_deg : float
        The rotation to undo, as returned by :func:`estimate_rotation_deg`.
    border_value : float or tuple
        Fill value for pixels rotated in from outside (white paper by default).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``image``.
    """
    if abs(angle_deg) < 1e-3:
        return image
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), -angle_deg, 1.0)
    if image.ndim == 3 and np.isscalar(border_value):
        border_value = (border_value,) * image.shape[2]
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)


def _tile_frequencies(grid: np.ndarray, period_px: float, n_x: int, n_y: int,
                      rel_band: float = 0.12, max_angle_deg: float = 12.0,
                      min_periods: float = 8.0):
    """Local grid frequency vectors of both line families in a grid of tiles.

    Returns a list of ``(xc, yc, f_v, f_h, weight)``: tile centre (px), frequency vector
    (cycles/px, ``(fx, fy)``) of the vertical-line family (fx > 0) and of the horizontal-line
    family (fy > 0), and a weight (smaller of the two peak powers relative to the band median).
    """
    h, w = grid.shape
    out = []
    f0 = 1.0 / period_px
    tan_max = np.tan(np.deg2rad(max_angle_deg))
    ys = np.linspace(0, h, n_y + 1).astype(int)
    xs = np.linspace(0, w, n_x + 1).astype(int)
    for i in range(n_y):
        for j in range(n_x):
            t = grid[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].astype(np.float32)
            th, tw = t.shape
            if th < min_periods * period_px or tw < min_periods * period_px:
                continue
            t = (t - t.mean()) * _hann2(th, tw)
            hp = sfft.next_fast_len(2 * th)
            wp = sfft.next_fast_len(2 * tw, real=True)
            spec = np.abs(sfft.rfft2(t, s=(hp, wp), workers=1)) ** 2
            fy = sfft.fftfreq(hp)[:, None]
            fx = (np.arange(spec.shape[1]) / wp)[None, :]
            rad = np.hypot(fy, fx)
            band = np.abs(rad / f0 - 1) < rel_band
            vecs = []
            powers = []
            for fam in ("v", "h"):
                wedge = (np.abs(fy) <= tan_max * np.abs(fx)) if fam == "v" else \
                    (np.abs(fx) <= tan_max * np.abs(fy))
                sel = np.where(band & wedge, spec, 0.0)
                iy, ix = np.unravel_index(int(np.argmax(sel)), sel.shape)
                pk = float(sel[iy, ix])
                ref = float(np.median(spec[band])) + 1e-12
                if pk <= 0 or ix >= spec.shape[1] - 1:
                    vecs.append(None)
                    powers.append(0.0)
                    continue
                ly = np.log(spec[[(iy - 1) % hp, iy, (iy + 1) % hp], ix] + 1e-12)
                # at fx = 0 the left neighbour is the conjugate-symmetric bin (-fy, +1)
                left = spec[iy, ix - 1] if ix > 0 else spec[(-iy) % hp, 1]
                lx = np.log(np.array([left, spec[iy, ix], spec[iy, ix + 1]]) + 1e-12)

                def parab(a, b, c):
                    d = a - 2 * b + c
                    return 0.0 if d == 0 else 0.5 * (a - c) / d

                fyv = sfft.fftfreq(hp)[iy] + parab(*ly) / hp
                fxv = (ix + parab(*lx)) / wp
                v = np.array([fxv, fyv])
                if fam == "v" and v[0] < 0:
                    v = -v
                if fam == "h" and v[1] < 0:
                    v = -v
                vecs.append(v)
                powers.append(pk / ref)
            if vecs[0] is None or vecs[1] is None:
                continue
            out.append((0.5 * (xs[j] + xs[j + 1]) - 0.5, 0.5 * (ys[i] + ys[i + 1]) - 0.5,
                        vecs[0], vecs[1], min(powers)))
    return out


def estimate_rectification(grid: np.ndarray, period_px: float, n_x: int = 6, n_y: int = 5,
                           min_weight: float = 20.0) -> np.ndarray | None:
    """Homography that rectifies a perspective-distorted grid (image -> rectified image).

    In each tile the local frequency vectors of the two line families form a matrix ``F``;
    a locally linear map with Jacobian ``J`` turns the rectified grid (period ``p``) into
    ``F = J^-T / p``, so the Jacobian of the rectifying map at that tile is ``p F^T``.  A
    homography (8 parameters, translation fixed afterwards) is fitted to the Jacobians of all
    tiles by non-linear least squares, so rotation, shear, anisotropic scale and keystone are
    all corrected at once from the grid alone.

    Parameters
    ----------
    grid : numpy.ndarray
        ``(H, W)`` grid map.
    period_px : float
        Approximate 1-mm grid period (from the whole page), pixels; becomes the period of the
        rectified image.
    n_x, n_y : int
        Tiles across and down.
    min_weight : float
        Tiles whose grid peaks are weaker (peak / median spectrum) are ignored.

    Returns
    -------
    numpy.ndarray or None
        ``3x3`` matrix for ``cv2.warpPerspective`` (maps input pixels to output pixels, output
        page inside the input frame's size), or None when fewer than 6 tiles were usable.
    """
    from scipy import optimize

    # the local frequencies need the 1-mm lines only: a map downscaled to >= 3.5 px per line is
    # as good and several times faster (tile centres and frequencies mapped back to full size)
    fct = max(1, int(period_px / 3.5))
    if fct > 1:
        hh, ww = (grid.shape[0] // fct) * fct, (grid.shape[1] // fct) * fct
        small = cv2.resize(np.asarray(grid[:hh, :ww], np.float32), (ww // fct, hh // fct),
                           interpolation=cv2.INTER_AREA)
        tiles = [((t[0] + 0.5) * fct - 0.5, (t[1] + 0.5) * fct - 0.5, t[2] / fct, t[3] / fct, t[4])
                 for t in _tile_frequencies(small, period_px / fct, n_x, n_y)]
    else:
        tiles = _tile_frequencies(grid, period_px, n_x, n_y)
    tiles = [t for t in tiles if t[4] >= min_weight]
    line_period = period_px
    if len(tiles) < 6:
        # blurred low-resolution pages lose the 1-mm lines: use the 5-mm lines instead
        line_period = 5.0 * period_px
        tiles = [t for t in _tile_frequencies(grid, line_period, n_x, n_y, min_periods=5.0)
                 if t[4] >= min_weight]
    if len(tiles) < 6:
        return None
    pts = np.array([[t[0], t[1]] for t in tiles])
    jac = np.array([line_period * np.column_stack([t[2], t[3]]).T for t in tiles])  # (k, 2, 2)
    wts = np.sqrt(np.array([min(t[4], 1e3) for t in tiles]))
    # tiles whose peak is a wrong one (noise, a harmonic, a stain's texture) differ from the
    # page's median Jacobian far more than a perspective of a few % does: drop them
    dev = np.abs(jac - np.median(jac, axis=0)).max(axis=(1, 2))
    keep = dev < 0.15
    if keep.sum() < 6:
        return None
    pts, jac, wts = pts[keep], jac[keep], wts[keep] / np.median(wts[keep])
    c = np.array([grid.shape[1] / 2.0, grid.shape[0] / 2.0])
    xy = (pts - c) / 1000.0  # centred, scaled coordinates keep the problem well conditioned

    def jac_of(p):
        g11, g12, g21, g22, g31, g32 = p
        wv = g31 * xy[:, 0] + g32 * xy[:, 1] + 1.0
        u = (g11 * xy[:, 0] + g12 * xy[:, 1]) / wv
        v = (g21 * xy[:, 0] + g22 * xy[:, 1]) / wv
        j = np.empty((xy.shape[0], 2, 2))
        j[:, 0, 0] = (g11 - u * g31) / wv
        j[:, 0, 1] = (g12 - u * g32) / wv
        j[:, 1, 0] = (g21 - v * g31) / wv
        j[:, 1, 1] = (g22 - v * g32) / wv
        return j

    def resid(p):
        return ((jac_of(p) - jac) * wts[:, None, None]).ravel()

    a0 = np.median(jac, axis=0)
    p0 = np.array([a0[0, 0], a0[0, 1], a0[1, 0], a0[1, 1], 0.0, 0.0])
    # robust loss: a few remaining bad tiles must not tilt the whole page
    sol = optimize.least_squares(resid, p0, method="trf", loss="soft_l1", f_scale=0.01)
    g11, g12, g21, g22, g31, g32 = sol.x
    # back to pixel coordinates: x' = (x - c) / 1000
    s = 1000.0
    m_in = np.array([[1 / s, 0, -c[0] / s], [0, 1 / s, -c[1] / s], [0, 0, 1]])
    g = np.array([[g11 * s, g12 * s, 0.0], [g21 * s, g22 * s, 0.0], [g31, g32, 1.0]])
    hmat = g @ m_in
    # translate so that the image centre stays at the centre
    cc = hmat @ np.array([c[0], c[1], 1.0])
    cc = cc[:2] / cc[2]
    t = np.array([[1, 0, c[0] - cc[0]], [0, 1, c[1] - cc[1]], [0, 0, 1]])
    return t @ hmat


def homography_displacement_px(hmat: np.ndarray, shape: tuple[int, int]) -> float:
    """Largest displacement (pixels) of the image corners and edge midpoints under ``hmat``."""
    h, w = shape
    pts = np.array([[0, 0], [w, 0], [0, h], [w, h], [w / 2, 0], [w / 2, h], [0, h / 2], [w, h / 2]],
                   float)
    ph = np.c_[pts, np.ones(len(pts))] @ hmat.T
    q = ph[:, :2] / ph[:, 2:3]
    return float(np.max(np.hypot(*(q - pts).T)))
