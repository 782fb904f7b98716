"""Orchestrator: compose and time the digitizer stages.

``image -> normalise -> deskew -> grid scale -> rows/layout -> track + read-out -> calibrate
-> place on the header's time axis``.  Each stage is a function of small typed values in its
own module; this module only wires them and records what each stage measured (the returned
:class:`ImageReadout` carries the diagnostics and per-stage timings).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from ecgcore.constants import PAPER_GAIN_MM_PER_MV, PAPER_SPEED_MM_PER_S

from .geometry import (estimate_rectification, estimate_rotation_deg, homography_displacement_px,
                       rotate_image)
from .grid import estimate_grid_scale
from .gridlines import remove_grid_lines
from .layout import (LAYOUT_GRIDS, ROWS_TO_LAYOUTS, choose_six_row_layout, find_calibration_pulse,
                     find_row_candidates, identify_rhythm_leads, layout_panels,
                     pulse_rise_foot, refine_pulse_edge)
from .load import normalise_image, paper_mask
from .resample import (excursion_mask, flicker_mask, hold_panel_edges, island_mask,
                       place_segment, swing_mask)
from .trace import READOUT_METHODS, sharpen_tips, track_panels, track_row

__all__ = ["DEFAULT_PARAMS", "ImageReadout", "digitize_image", "combine_readouts"]

log = logging.getLogger(__name__)

#: Parameters of the classical pipeline (what ``config.json`` may override).
DEFAULT_PARAMS: dict = {
    "readout": "morph",          # see trace.READOUT_METHODS
    "morph_h_ratio": 1.05,       # brush aspect of the morph read-out on crisp strokes ...
    "morph_h_ratio_blurred": 0.95,  # ... and on blurred ones (both tuned by train_digitizer)
    "blurred_below": 0.7,        # strokes are blurred below this crispness
    "morph_level_window": 7,     # columns of the up/down-peak decision
    "baseline_pull": 0.5,        # tracking: weight of the distance to the row baseline
    "track_entry_cost": 25.0,    # tracking: cost of re-entering the trace after untracked
                                 # columns (None = no "off" state: all ink is followed)
    "track_faint_cost": 0.25,    # tracking: cost per column of a run as faint as the threshold
    "fine_readout": True,        # resample from the sub-column (4x) morph read-out
    "fine_steep": 0.0,           # ... applied where runs exceed this many stroke widths (0 = all)
    "fine_min_crispness": 0.0,   # ... only on strokes at least this crisp (0: on all; the
                                 # sub-column read-out with flank rows pays on blurred pages too)
    "flank_rows": True,          # steep flanks read row by row (x of the stroke per image row)
    "tip_prominence": 2.0,       # classical read-out: spike tips that the brush rounds off
                                 # are put back from the run's edge at read-out peaks this
                                 # prominent (stroke widths; 0 = off; trace.sharpen_tips) ...
    "tip_min_crispness": 0.2,    # ... on pages at least this crisp (blur moves the edges)
    "ink_threshold": None,       # None = adaptive (half the 99.9th percentile of ink)
    "ink_threshold_min": 0.15,
    "ink_threshold_max": 0.5,
    "band_fraction": 1.0,        # half-height of a row's search band, in row spacings (tall QRS
                                 # complexes reach the neighbouring rows)
    "min_coverage": 0.4,         # a lead tracked in fewer of its columns is failed (NaN); a
                                 # lead read in part scores above a NaN one when what is read
                                 # passes the other checks
    "max_jumps_per_s": 2.0,      # ... and one whose tracked path jumps over gaps more often
                                 # (stretches between jumps: max_excursion_mv)
    "max_baseline_offset": 0.35,  # ... or whose median sits this many row spacings off its row
    "max_abs_mv": 8.0,           # a lead whose read-out leaves +-this is failed
    "max_blob_share": 0.6,       # ... or with more of its columns in ink blobs (stains)
    "max_flicker_mv": 6.0,       # samples whose read-out swings this much (mV of path per
                                 # 0.1 s) between strokes are left NaN (flicker_mask)
    "max_flicker_sustained_mv": 7.0,  # ... or this much per 0.3 s (a read-out that wanders
                                 # in a shadow or texture; one QRS complex stays below)
    "max_swing_ratio": 4.0,      # 0.1-s windows whose read-out travels more than this many
                                 # times the range it spans ...
    "min_swing_path_mv": 1.0,    # ... and more than this (mV) are left NaN: a read-out
                                 # hopping between the trace and speckle, and the weaker
                                 # hopping around them (swing_mask; 0 = off)
    "max_excursion_mv": 0.3,     # pieces between jumps of the tracked path that step this far
                                 # away and back are left NaN (excursion_mask)
    "min_island_offset_mv": 0.5,  # flat pieces of 30-300 ms between gaps or steep steps that
                                 # sit this far from every neighbouring piece are left NaN
                                 # (island_mask; 0 = off)
    "edge_hold_s": 0.006,        # a panel's first/last samples this close to its ends hold
                                 # the next value inside (separator mark, stroke end)
    "fall_lag_samples": 1.5,     # a pulse whose fall runs into the signal (no foot): the fall's
                                 # centre lies this many samples after the first sample (the
                                 # official generator draws the fall between the 2nd and 3rd
                                 # sample after the pulse's last; train_digitizer searches it)
    "panel_tracking": True,      # rows of several panels are tracked again panel by panel
    "junction_nan_s": 0.02,      # where two panels of a row meet, this much of each side is
                                 # left NaN (the strokes of both leads and a separator share
                                 # those columns)
    "snap_gain": True,           # snap the pulse height to 5/10/20 mm/mV when close
    "layout": None,              # force a layout name; None = detect
    "rectify": True,             # fit a homography to the local grid (perspective, shear)
    "min_grid_quality": 10.0,    # grid spectral peak / median below this = no grid
    "row_tolerance": 0.15,       # rows may sit this many row spacings off an even lattice
    "remove_grid_lines": True,   # take long straight grid lines out of the ink map (any colour)
    "max_limb_residual": 1.0,    # I + III - II and aVR + aVL + aVF above this share of the
                                 # leads' amplitude: the three leads are failed (NaN)
    "max_limb_window_mv": 0.06,  # 0.2-s windows where the limb leads read at the same time
                                 # disagree by this RMS (mV) are left NaN in the lead to blame
                                 # (limb_window_mask; a faithful read-out stays near 0.01)
}


#: A panel's tracking that starts with a stub and jumps off it within this many millimetres of
#: the panel boundary drops the stub: a lead label printed at the panel's start, under the
#: baseline, begins a little before the trace does on some pages (2.5 mm, 0.1 s at 25 mm/s,
#: holds a label's first letter and the gap after it).
PANEL_STUB_MM = 2.5

#: Page height shared by the trace rows of the standard layouts (landscape letter or A4 less
#: the header and footer), mm: the prior of the row spacing in :func:`_choose_rows`.
ROWS_SHARE_MM = 173.0
#: Pixels at each image border whose ink is ignored (a frame line, a scanner's edge).
FRAME_PX = 1


@dataclass
class ImageReadout:
    """Digitized leads of one image and what the stages measured.

    Attributes
    ----------
    leads : dict
        Canonical lead name -> ``(num_samples,)`` float64 mV (NaN where not printed or failed).
    info : dict
        Rotation, scale, layout, gains, failures, per-stage seconds.
    maps : dict or None
        With ``keep_maps``: the deskewed ``ink`` map, the row ``baselines`` (px) and the
        per-row ``tracks`` (:class:`~ecgpaper.digitize.trace.RowTrace`), for training and
        inspection; once calibrated, also the ``pulses`` found and the ``panels`` as read
        (lead, row, window, ``mv`` from sample ``start``, ``zero_px``, ``failed``), which
        :mod:`ecgpaper.report` draws back onto the page.
    """

    leads: dict[str, np.ndarray]
    info: dict = field(default_factory=dict)
    maps: dict | None = None


def _threshold(ink: np.ndarray, p: dict, grey_grid: bool = False) -> float:
    """Ink threshold: half the stroke darkness; on grey grids above the grid-line level."""
    if p.get("ink_threshold") is not None:
        return float(p["ink_threshold"])
    sample = ink[::3, ::3]
    sample = sample[sample > 0.05]
    if sample.size == 0:
        return float(p["ink_threshold_min"])
    hi = float(np.percentile(sample, 97.0))
    thr = float(np.clip(0.5 * hi, p["ink_threshold_min"], p["ink_threshold_max"]))
    if grey_grid:
        # grey grid lines are ink-like: find their darkness (the most common level between 0.15
        # and 80 % of the stroke level) and put the threshold half-way to the strokes
        top = float(np.percentile(sample, 99.8))
        vals = sample[(sample > 0.15) & (sample < 0.8 * top)]
        if vals.size > 100:
            hist, edges = np.histogram(vals, bins=40)
            g = 0.5 * (edges[int(np.argmax(hist))] + edges[int(np.argmax(hist)) + 1])
            thr = max(thr, 0.5 * (g + top))
    return thr


def _choose_rows(baselines: np.ndarray, tolerance: float,
                 counts: tuple[int, ...] | None = None, strengths: np.ndarray | None = None,
                 max_extent_px: float | None = None, row_cover: np.ndarray | None = None,
                 px_per_mm: float | None = None) -> tuple[str | None, np.ndarray]:
    """Pick the layout and its rows among the detected row candidates.

    Trace rows are evenly spaced; spurious candidates (header text, page edges, marks, a big
    QRS between close rows) are not, and a flat or merged row may be missed.  For each
    supported row count ``c``, every pair of candidates is tried as the first or second and
    the last or second-to-last row of an evenly spaced lattice of ``c`` rows; the lattice is
    accepted when

    * at least 75 % of its rows have a candidate within ``tolerance`` spacings,
    * ``c`` rows of that spacing fit in ``max_extent_px`` (the printed rows share the page
      height, so a lattice that would need a taller page is made of a spurious row), and
    * the spacing is 0.5-1.6 x the usual one (``173 mm / c``, with ``px_per_mm``), and
    * every row without a candidate has ink across the page near it (``row_cover`` >= 0.3;
      blank at page edges and creases) and lies between matched rows, or beyond them when
      at least five rows match: a row is added only where a weak trace is, never on blank
      paper (the gap between the two rows of a 2x6 page), and three rows never become four.

    Among accepted lattices of all counts the one with the best score wins: the strength (sum
    of ``strengths`` of the matched rows) minus 5 x their summed offsets from the lattice (in
    spacings) minus, with ``px_per_mm``, ``|log(spacing / (173 mm / c))|`` (the rows of the
    standard layouts share the ~173 mm below the header of a landscape letter or A4 page).
    Every real row adds ~1 to the score, so all rows of a page beat a subset of them, while a
    weak, irregular extra row (a header line, a mark) costs more than it adds.  Matched rows
    keep their measured position, unmatched ones the lattice position.

    Examples
    --------
    >>> _choose_rows(np.array([22.0, 353.0, 671.0, 994.0]), 0.2, max_extent_px=1160.0)[0]
    '3x4'
    """
    order = np.argsort(np.asarray(baselines, float))
    b = np.asarray(baselines, float)[order]
    st = np.ones(b.size) if strengths is None else np.asarray(strengths, float)[order]
    if b.size == 0:
        return None, b

    def evidence(y: float, sp: float, inside: bool) -> bool:
        if row_cover is None:
            return inside
        d = max(1, int(round(tolerance * sp)))
        a_, z_ = max(0, int(round(y)) - d), min(row_cover.size, int(round(y)) + d + 1)
        return inside and z_ > a_ and float(np.max(row_cover[a_:z_])) >= 0.3

    overall, overall_key = None, None
    for c in sorted(counts or ROWS_TO_LAYOUTS, reverse=True):
        need = max(2, int(np.ceil(0.75 * c))) if c > 1 else 1
        if b.size < need or c == 1:
            continue
        ends = [(ia, ib) for ia in (0, 1) for ib in (c - 1, c - 2) if ib > ia]
        for i in range(b.size):
            for j in range(i + 1, b.size):
                for ia, ib in ends:
                    sp = (b[j] - b[i]) / (ib - ia)
                    if max_extent_px is not None and sp * c > max_extent_px:
                        continue
                    if px_per_mm is not None and not \
                            0.5 <= sp / px_per_mm / (ROWS_SHARE_MM / c) <= 1.6:
                        continue  # 3 rows 12 mm apart are not a 3x4 page
                    lattice = b[i] + sp * (np.arange(c) - ia)
                    if lattice[0] < -0.5 * sp or (max_extent_px is not None
                                                  and lattice[-1] > max_extent_px + 0.5 * sp):
                        continue
                    dist = np.abs(b[None, :] - lattice[:, None])
                    near = np.argmin(dist, axis=1)
                    ok = dist[np.arange(c), near] <= tolerance * sp
                    n_ok = int(ok.sum())
                    if n_ok < need:
                        continue
                    # rows are added between matched rows; beyond them only when at least
                    # five rows match (a 12x1 or 3x4+3 page with a faint end row), never to
                    # turn three rows into four
                    m_lo, m_hi = b[near[ok]].min(), b[near[ok]].max()
                    if not all(evidence(y, sp, m_lo < y < m_hi or n_ok >= 5)
                               for y in lattice[~ok]):
                        continue
                    resid = float(np.sum(dist[np.arange(c), near][ok])) / sp
                    prior = 0.0 if px_per_mm is None else \
                        abs(float(np.log(sp / px_per_mm / (ROWS_SHARE_MM / c))))
                    key = float(st[near[ok]].sum()) - 5.0 * resid - prior
                    if overall_key is None or key > overall_key:
                        overall_key = key
                        overall = (ROWS_TO_LAYOUTS[c][0] if c in ROWS_TO_LAYOUTS else None,
                                   np.where(ok, b[near], lattice))
    if overall is not None:
        return overall
    if 1 in (counts or ROWS_TO_LAYOUTS) and b.size:
        return ROWS_TO_LAYOUTS.get(1, (None,))[0], b[[int(np.argmax(st))]]
    return None, b


def digitize_image(image: np.ndarray, fs_hz: float, num_samples: int,
                   params: dict | None = None, centreline=None,
                   keep_maps: bool = False) -> ImageReadout:
    """Digitize one ECG page with the classical pipeline.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8 RGB (grey and RGBA accepted).
    fs_hz : float
        Output sampling rate (the header's).
    num_samples : int
        Output length (the header's).
    params : dict or None
        Overrides of :data:`DEFAULT_PARAMS`.
    centreline : ecgpaper.digitize.cnn.CentreLineModel or None
        Learned centre-line read-out; it re-reads each tracked row's sub-column centre line
        (used with ``fine_readout``).  None = the classical read-out alone.
    keep_maps : bool
        Return the deskewed ink map, row baselines and tracks in ``ImageReadout.maps``.

    Returns
    -------
    ImageReadout
    """
    p = dict(DEFAULT_PARAMS)
    if params:
        unknown = sorted(set(params) - set(DEFAULT_PARAMS))
        if unknown:
            raise ValueError(f"unknown digitizer parameter(s) {unknown}; valid: {sorted(DEFAULT_PARAMS)}")
        p.update(params)
    if p["readout"] not in READOUT_METHODS:
        raise ValueError(f"unknown read-out {p['readout']!r}; valid: {list(READOUT_METHODS)}")
    timings: dict[str, float] = {}
    info: dict = {"timings_s": timings, "failed_leads": []}
    t = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 4)
        t = now

    norm = normalise_image(image, keep_rgb=False, keep_codes=bool(p["remove_grid_lines"]))
    ink, grid_map, codes = norm.ink, norm.grid, norm.codes
    # the image's own border is never a trace: a frame line drawn around the picture (the
    # official generator draws one) would otherwise hold the tracker of a trace that leaves
    # the page (a deep S wave of the bottom strip) until the row's end
    if FRAME_PX > 0:
        f = FRAME_PX
        ink[:f], ink[-f:], ink[:, :f], ink[:, -f:] = 0.0, 0.0, 0.0, 0.0
    tick("load")
    # rotation and perspective are measured on the grid map and applied once, to the two maps
    # the later stages use (ink, grid), as one combined warp
    angle, power = estimate_rotation_deg(grid_map, return_power=True)
    if norm.grid_unblanked is not None:
        # much of the page is ink-dark: keep the map that shows the grid more clearly, the
        # unblanked one on dark grids (blanking erased the lines), the blanked one, free of
        # the trace, under shadows and stamps on a light grid
        angle_u, power_u = estimate_rotation_deg(norm.grid_unblanked, return_power=True)
        # the power is relative: a map that blanking left all but empty shows no grid, however
        # clear the peak of what is left (rounding residue)
        unblanked_level = float(norm.grid_unblanked[::4, ::4].mean())
        empty = float(grid_map[::4, ::4].mean()) < 0.05 * unblanked_level
        info["grid_unblanked"] = bool(empty or power_u > power)
        if info["grid_unblanked"]:
            angle, grid_map = angle_u, norm.grid_unblanked
    hh, ww = grid_map.shape
    warp = np.eye(3)
    g_rot = grid_map
    if abs(angle) > 0.02:
        warp[:2] = cv2.getRotationMatrix2D((ww / 2.0, hh / 2.0), -angle, 1.0)
        g_rot = rotate_image(grid_map, angle, border_value=0.0)
    info["rotation_deg"] = float(angle)
    info["perspective_px"] = 0.0
    if p["rectify"]:
        coarse = estimate_grid_scale(g_rot, bands=8)
        if np.isfinite(coarse.px_per_mm_x) and coarse.px_per_mm_x > 2.0:
            hmat = estimate_rectification(g_rot, 0.5 * (coarse.px_per_mm_x + coarse.px_per_mm_y))
            if hmat is not None:
                disp = homography_displacement_px(hmat, g_rot.shape)
                info["perspective_px"] = round(disp, 2)
                if 1.0 < disp < 0.25 * max(g_rot.shape):
                    warp = hmat @ warp
    prior = None
    if p["rectify"] and np.isfinite(coarse.px_per_mm_x) and coarse.px_per_mm_x > 2.0 \
            and coarse.quality >= p["min_grid_quality"]:
        prior = 0.5 * (coarse.px_per_mm_x + coarse.px_per_mm_y)
    if not np.allclose(warp, np.eye(3)):
        # grow the output frame so that the whole warped page stays inside it (a rotated or
        # rectified page would otherwise lose its corners: pulses, row ends)
        corners = np.array([[0, 0, 1], [ww, 0, 1], [0, hh, 1], [ww, hh, 1]], float) @ warp.T
        corners = corners[:, :2] / corners[:, 2:3]
        lo = np.floor(np.maximum(corners.min(axis=0), [-0.3 * ww, -0.3 * hh]))
        hi = np.ceil(np.minimum(corners.max(axis=0), [1.3 * ww, 1.3 * hh]))
        lo, hi = np.minimum(lo, 0.0), np.maximum(hi, [ww, hh])
        warp = np.array([[1.0, 0.0, -lo[0]], [0.0, 1.0, -lo[1]], [0.0, 0.0, 1.0]]) @ warp
        size = (int(hi[0] - lo[0]), int(hi[1] - lo[1]))
        info["warp"] = warp.round(6).tolist()
        ink, grid_map = (cv2.warpPerspective(m, warp, size, flags=cv2.INTER_LINEAR,
                                             borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
                         for m in (ink, grid_map))
        if codes is not None:
            codes = cv2.warpPerspective(codes, warp, size, flags=cv2.INTER_NEAREST,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tick("geometry")
    scale = estimate_grid_scale(grid_map, prior_px_per_mm=prior)
    ppm_x, ppm_y = scale.px_per_mm_x, scale.px_per_mm_y
    info["grid_found"] = bool(scale.quality >= p["min_grid_quality"] and np.isfinite(ppm_x))
    if not info["grid_found"]:
        # no usable grid: assume a letter page in landscape filling the image width
        ppm_x = ppm_y = grid_map.shape[1] / 279.4
        log.warning("no grid found (quality %.1f); assuming %.3f px/mm", scale.quality, ppm_x)
    info.update(px_per_mm_x=ppm_x, px_per_mm_y=ppm_y, grid_quality=scale.quality)
    tick("grid")

    page = paper_mask(grid_map, ppm_y) if info["grid_found"] else np.ones(ink.shape, bool)
    info["page_fraction"] = round(float(page.mean()), 3)
    if not page.all():
        ink = np.where(page, ink, 0.0).astype(np.float32)
    # a grey page without a grid: the commonest level below the strokes is their own
    # anti-aliased rim, not grid lines
    grey_grid = not norm.is_colour and info["grid_found"]
    thr = _threshold(ink, p, grey_grid=grey_grid)
    # a pulse's edges are measured before grid-line removal (see the calibration below)
    ink_with_lines = ink
    if p["remove_grid_lines"]:
        gl = remove_grid_lines(ink, 0.5 * (ppm_x + ppm_y), 0.5 * thr, codes=codes,
                               ink_threshold=thr)
        info["grid_line_share"] = round(gl.line_share, 4)
        info["grid_line_kept"] = round(gl.kept_share, 4)
        if gl.line_share > 0:
            ink = gl.ink
            thr = _threshold(ink, p, grey_grid=grey_grid)
    info["ink_threshold"] = thr
    # crispness: share of stroke pixels near full darkness (blur and noise lower it)
    strokes = ink[::2, ::2]
    strokes = strokes[strokes > thr]
    crisp = float(np.mean(strokes > 0.8 * np.percentile(strokes, 99))) if strokes.size > 50 else 0.0
    info["crispness"] = round(crisp, 3)
    use_fine = bool(p["fine_readout"]) and crisp >= p["fine_min_crispness"]
    info["fine_readout"] = use_fine
    # blur widens the measured stroke, so the brush of the read-out is narrowed relative to it
    h_param = "morph_h_ratio" if crisp >= p["blurred_below"] else "morph_h_ratio_blurred"
    info["h_ratio_param"] = h_param
    binary = ink > thr
    baselines, strengths, row_cover = find_row_candidates(binary, ppm_y)
    h, w = ink.shape
    layout = p["layout"]
    if layout is None:
        # the rows share the page height: n rows of spacing s need about n * s of it
        layout, baselines = _choose_rows(baselines, p["row_tolerance"], strengths=strengths,
                                         max_extent_px=1.05 * h, row_cover=row_cover,
                                         px_per_mm=ppm_y)
    else:
        grid0, rh0 = LAYOUT_GRIDS[layout]
        want = len(grid0) + len(rh0)
        if baselines.size > want:
            _, baselines = _choose_rows(baselines, 0.5, counts=(want,), strengths=strengths)
    info["rows_px"] = baselines.round(2).tolist()
    if layout is None or baselines.size == 0:
        info["layout"] = None
        info["error"] = "no trace rows found"
        return ImageReadout({}, info, dict(ink=ink, baselines=baselines, tracks=[])
                            if keep_maps else None)
    grid, rhythm_default = LAYOUT_GRIDS[layout]
    spacing = float(np.median(np.diff(baselines))) if baselines.size > 1 else 40 * ppm_y
    tick("rows")

    # --- track every row over the page width
    half_band = p["band_fraction"] * spacing
    x_lo, x_hi = int(0.01 * w), int(0.99 * w)
    track_kw = dict(method=p["readout"], baseline_pull=p["baseline_pull"], h_ratio=p[h_param],
                    level_window=p["morph_level_window"], fine_steep=p["fine_steep"],
                    entry_cost=p["track_entry_cost"], flank_rows=p["flank_rows"],
                    faint_cost=p["track_faint_cost"])
    tracks = [track_row(ink, thr, int(b - half_band), int(b + half_band) + 1, x_lo, x_hi,
                        float(b), spacing, **track_kw) for b in baselines]
    tick("trace")
    maps = dict(ink=ink, baselines=baselines, tracks=tracks) if keep_maps else None

    # --- calibration pulses: time origin and gain
    px_per_s = PAPER_SPEED_MM_PER_S * ppm_x
    falls, heights, zero_px, pulse_rows = [], [], [], []
    for r, (b, rt) in enumerate(zip(baselines, tracks)):
        res = find_calibration_pulse(rt.y_px, rt.x_px, float(b), ppm_x, ppm_y)
        zero_px.append(float(b))
        if res is None:
            continue
        # 0 mV is where the pulse rises from; after the fall comes a foot on some printers and
        # the signal itself on others
        zero = pulse_rise_foot(ink, res.x_rise_px, res.plateau_px, thr, ppm_x, ppm_y)
        if zero is not None and abs(zero - res.zero_px) > 3.0 * ppm_y and not any(
                abs((zero - res.plateau_px) / ppm_y / g - 1.0) < 0.05 for g in STANDARD_PULSE_MM):
            zero = None  # far from the level after the fall, and not a standard pulse height
        if zero is None:
            zero = res.zero_px
        # the falling edge's own stroke gives its column without the read-out's bias.  It is
        # measured on the ink before grid-line removal: the official generator starts the
        # signal on a major grid line, so the fall lies on a vertical line, and removal reworks
        # the stroke's edge pixels where the horizontal lines cross it (up to 0.18 px off, a
        # sub-sample shift of every lead that the scorer's whole-sample alignment keeps).  It
        # is measured between the plateau and the pulse's own 0 mV: where the signal runs on
        # from the fall (ECG-Image-Kit), the level after it is the first sample's value, and
        # rows picked up to that level met the fall's slant (one sample wide) off its middle
        # or took the signal's own stroke below 0 mV (official sample pages: the time origin
        # 0.10 samples RMS off, up to 0.23)
        x_fall = res.x_fall_px
        xr = refine_pulse_edge(ink_with_lines, x_fall, res.plateau_px, zero, ppm_x)
        if xr is not None and abs(xr - x_fall) < 0.5 * ppm_x:
            x_fall = xr
        falls.append(x_fall)
        pulse_rows.append(r)
        if abs(zero - b) < 0.25 * spacing:
            zero_px[-1] = zero
        heights.append((zero - res.plateau_px) / ppm_y)
        if maps is not None:  # for the report's overlay (ecgpaper.report)
            maps.setdefault("pulses", []).append(dict(
                row=r, x_rise_px=float(res.x_rise_px), x_fall_px=float(x_fall),
                plateau_px=float(res.plateau_px), zero_px=float(zero)))
    ends = []
    for rt in tracks:
        ok = np.nonzero(np.isfinite(rt.y_px))[0]
        ends.append(float(rt.x_px[ok[-1]]) + 0.5 if ok.size else np.nan)
    gap_mm = signal_gap_mm(falls, [ends[r] for r in pulse_rows], num_samples / fs_hz
                           - 1.0 / fs_hz, px_per_s, ppm_x, x_hi)
    info["pulse_gap_mm"] = None if gap_mm is None else round(gap_mm, 3)
    span_px = (num_samples - 1) / fs_hz * px_per_s
    x0_ends = rows_start_px(ends, span_px, ppm_x, x_hi)
    if falls:
        x0 = float(np.median(falls)) + (DEFAULT_GAP_MM if gap_mm is None else gap_mm) * ppm_x
        if gap_mm == 0.0:  # the signal continues at the fall: where within the fall?
            x0 -= p["fall_lag_samples"] / fs_hz * px_per_s
        info["time_origin"] = "pulse"
    elif x0_ends is not None:
        # no pulse found: every full row ends at the last sample
        x0 = x0_ends
        info["time_origin"] = "row ends"
    else:
        starts = [rt.x_px[np.argmax(np.isfinite(rt.y_px))] for rt in tracks if np.isfinite(rt.y_px).any()]
        x0 = float(np.median(starts)) if starts else 0.0
        info["time_origin"] = "first ink"
    mm_per_mv = PAPER_GAIN_MM_PER_MV
    if heights:
        # a gain other than the standard 10 mm/mV needs two pulses that agree (one pulse can be
        # a mark or a misread QRS) and, with snap_gain, a standard value (5 or 20 mm/mV)
        hm = float(np.median(heights))
        agree = int(np.sum(np.abs(np.asarray(heights) / hm - 1) < 0.12))
        if p["snap_gain"]:
            for g in STANDARD_PULSE_MM:
                if abs(hm / g - 1) < 0.12:
                    hm = g
        if hm in (5.0, 20.0) and agree >= 2:
            mm_per_mv = hm
        elif not p["snap_gain"] and 2.0 < hm < 40.0 and agree >= 2:
            mm_per_mv = hm
    px_per_mv = mm_per_mv * ppm_y
    ends = [e for e in ends if np.isfinite(e)]
    n_cols = len(grid[0])
    dur_header = num_samples / fs_hz
    dur_meas = (float(np.median(ends)) - x0) / px_per_s if ends else dur_header
    step = 0.1 * n_cols
    # ink beyond the trace end (marks, page edge) can only lengthen the measured extent; a
    # trace that runs to the image border is cut (crop), not a shorter layout; without two
    # pulses the time origin is too uncertain to measure the extent
    cut = bool(ends) and (x_hi - float(np.median(ends))) < 5.0 * ppm_x
    if dur_meas >= 0.97 * dur_header or cut or len(falls) < 2:
        duration = dur_header
    else:
        duration = max(step, round(dur_meas / step) * step)
    info.update(x0_px=x0, mm_per_mv=mm_per_mv, duration_s=duration, n_pulses=len(falls))
    tick("calibrate")

    # --- per-row signals on the output time axis (for layout checks)
    def row_signal(r: int, t0: float, t1: float) -> np.ndarray:
        rt = tracks[r]
        if rt.x_fine is not None and use_fine:
            return place_segment(rt.x_fine, rt.y_fine, x0, px_per_s, zero_px[r], px_per_mv,
                                 t0, t1, fs_hz, num_samples)
        return place_segment(rt.x_px, rt.y_px, x0, px_per_s, zero_px[r], px_per_mv,
                             t0, t1, fs_hz, num_samples)

    if layout in ("3x4+3", "6x2") and p["layout"] is None and baselines.size == 6:
        rows_mv = [row_signal(r, 0.0, duration) for r in range(6)]
        layout = choose_six_row_layout(rows_mv, int(duration * fs_hz))
        grid, rhythm_default = LAYOUT_GRIDS[layout]
    rhythm = rhythm_default
    if rhythm_default and baselines.size == len(grid) + len(rhythm_default):
        short = [row_signal(r, 0.0, duration) for r in range(len(grid))]
        strips = [row_signal(len(grid) + i, 0.0, duration) for i in range(len(rhythm_default))]
        rhythm = identify_rhythm_leads(short, strips, grid, rhythm_default, fs_hz)
    info["layout"] = layout
    info["rhythm_leads"] = list(rhythm)
    panels = layout_panels(layout, duration, rhythm)

    # --- a row of several panels is tracked again panel by panel: where two leads meet, one
    # path over the whole row is tied to the left lead's last samples, and ink just below them
    # (a lead label printed under the baseline, a separator's foot) can carry it past the
    # right lead's first samples
    if p["panel_tracking"]:
        for r in range(min(len(grid), len(tracks))):
            cuts = sorted(x0 + pan.t0_s * px_per_s for pan in panels
                          if pan.row == r and pan.t0_s > 0.5 / fs_hz)
            if cuts:
                b = float(baselines[r])
                tracks[r] = track_panels(ink, thr, tracks[r], cuts, int(b - half_band),
                                         int(b + half_band) + 1, b, spacing, track_kw,
                                         stub_px=int(round(PANEL_STUB_MM * ppm_x)))
        tick("panels")
    info["centreline"] = bool(centreline is not None and use_fine)
    if info["centreline"]:
        for rt in tracks:
            y_new = centreline.refine(ink, rt)
            if y_new is not None:
                rt.y_fine = y_new
        tick("centreline")
    # the classical read-out's spike tips (the centre-line network reads tips itself: on top
    # of it the rule costs more on noisy pages than it gains)
    if p["tip_prominence"] and use_fine and crisp >= p["tip_min_crispness"] and \
            not info["centreline"]:
        for r, rt in enumerate(tracks):
            if rt.y_fine is not None and rt.top_px is not None and \
                    np.isfinite(rt.run_px).any():
                rt.y_tips = sharpen_tips(
                    rt.top_px, rt.bot_px, rt.y_fine, 0.5 * float(np.nanpercentile(rt.run_px, 20)),
                    p["tip_prominence"],
                    above_px=tracks[r - 1].y_px if r > 0 else None,
                    below_px=tracks[r + 1].y_px if r + 1 < len(tracks) else None)

    # --- place leads, failure checks
    leads: dict[str, list[np.ndarray]] = {}
    for pan in panels:
        if pan.row >= baselines.size:
            continue
        rt = tracks[pan.row]
        seg = row_signal(pan.row, pan.t0_s, pan.t1_s)
        a = int(np.ceil(pan.t0_s * fs_hz - 1e-6))
        z = min(num_samples, int(np.ceil(pan.t1_s * fs_hz - 1e-6)))
        n_hold = int(np.ceil(p["edge_hold_s"] * fs_hz - 1e-6))
        xa, xb = x0 + pan.t0_s * px_per_s, x0 + pan.t1_s * px_per_s
        mark_a = edge_mark_px(rt, xa, +1, ppm_x, ppm_y)
        mark_b = edge_mark_px(rt, xb, -1, ppm_x, ppm_y)
        hold_panel_edges(seg, max(a, 0), z, max(n_hold, int(np.ceil(mark_a / px_per_s * fs_hz))),
                         max(n_hold, int(np.ceil(mark_b / px_per_s * fs_hz))))
        win = seg[a:z]
        n_junction = int(round(p["junction_nan_s"] * fs_hz))
        if n_junction and win.size > 4 * n_junction:
            if pan.t0_s > 0.5 / fs_hz:            # another panel ends where this one starts
                win[:n_junction] = np.nan
            if pan.t1_s < duration - 0.5 / fs_hz:  # ... or starts where this one ends
                win[-n_junction:] = np.nan
        if win.size and (p["max_flicker_mv"] or p["min_swing_path_mv"]):
            flick = np.zeros(win.size, bool)
            if p["max_flicker_mv"]:
                flick |= flicker_mask(win, fs_hz, p["max_flicker_mv"])
                if p["max_flicker_sustained_mv"]:
                    flick |= flicker_mask(win, fs_hz, p["max_flicker_sustained_mv"],
                                          window_s=0.3)
            if p["min_swing_path_mv"]:
                flick |= swing_mask(win, fs_hz, p["max_swing_ratio"], p["min_swing_path_mv"])
            if flick.any():
                win[flick] = np.nan  # a view: seg changes too
                info.setdefault("flicker_s", {})[f"{pan.lead}@{pan.row}"] = \
                    round(float(flick.sum()) / fs_hz, 2)
        if p["max_excursion_mv"] and win.size and rt.jump is not None:
            in_win = (rt.x_px >= xa) & (rt.x_px < xb) & rt.jump
            cuts = np.round((rt.x_px[in_win] - x0) / px_per_s * fs_hz).astype(int) - a
            away = excursion_mask(win, cuts, fs_hz, p["max_excursion_mv"])
            if away.any():
                win[away] = np.nan
                info.setdefault("excursion_s", {})[f"{pan.lead}@{pan.row}"] = \
                    round(float(away.sum()) / fs_hz, 2)
        if p["min_island_offset_mv"] and win.size:
            island = island_mask(win, fs_hz, p["min_island_offset_mv"])
            if island.any():
                win[island] = np.nan
                info.setdefault("island_s", {})[f"{pan.lead}@{pan.row}"] = \
                    round(float(island.sum()) / fs_hz, 2)
        cov = float(np.isfinite(win).mean()) if win.size else 0.0
        in_pan = (rt.x_px >= xa + 3) & (rt.x_px < xb - 3)
        jumps_per_s = float(rt.jump[in_pan].sum()) / max(pan.t1_s - pan.t0_s, 1e-6) \
            if rt.jump is not None else 0.0
        info.setdefault("jumps_per_s", {})[f"{pan.lead}@{pan.row}"] = round(jumps_per_s, 2)
        yin = rt.y_px[in_pan]
        off = abs(float(np.nanmedian(yin)) - float(baselines[pan.row])) / spacing \
            if np.isfinite(yin).any() else 1.0
        dev_mv = float(np.nanmax(np.abs(win - np.nanmedian(win)))) if np.isfinite(win).any() \
            else 0.0
        blob = _blob_share(rt.run_px[in_pan], ppm_x, ppm_y) if rt.run_px is not None else 0.0
        info.setdefault("panel_checks", {})[f"{pan.lead}@{pan.row}"] = dict(
            coverage=round(cov, 3), jumps_per_s=round(jumps_per_s, 2), offset=round(off, 3),
            max_dev_mv=round(dev_mv, 2), blob_share=round(blob, 3))
        bad = cov < p["min_coverage"] or jumps_per_s > p["max_jumps_per_s"] or \
            off > p["max_baseline_offset"] or dev_mv > p["max_abs_mv"] or \
            blob > p["max_blob_share"]
        if maps is not None:  # each panel as read, to draw it back onto the page (report)
            maps.setdefault("panels", []).append(dict(
                lead=pan.lead, row=pan.row, col=pan.col, t0_s=pan.t0_s, t1_s=pan.t1_s,
                start=a, mv=win.copy(), zero_px=float(zero_px[pan.row]), failed=bool(bad)))
        if bad:
            info["failed_leads"].append(pan.lead)
            log.warning("lead %s (row %d, col %d): read-out failed (coverage %.2f, %.1f jumps/s, "
                        "offset %.2f rows, %.1f mV, blobs %.2f); set to NaN", pan.lead, pan.row,
                        pan.col, cov, jumps_per_s, off, dev_mv, blob)
            continue
        if rt.y_tips is not None:
            # spike tips put back after the checks (a restored tip is as narrow as the
            # printed spike, which the flicker check would take for a swing)
            # (resampling is linear: the change of the read-out, placed with 0 as its baseline,
            # is the change of the panel's mV)
            tips = place_segment(rt.x_fine, rt.y_tips - rt.y_fine, x0, px_per_s, 0.0, px_per_mv,
                                 pan.t0_s, pan.t1_s, fs_hz, num_samples)
            put = np.isfinite(seg) & np.isfinite(tips)
            # not next to the panel's ends (pulse corners, separators, the other lead)
            n_edge = int(np.ceil(0.03 * fs_hz))
            put[:a + n_edge] = False
            put[max(z - n_edge, 0):] = False
            seg[put] += tips[put]
        leads.setdefault(pan.lead, []).append(seg)
    out = {k: combine_readouts(v) for k, v in leads.items()}
    if p["max_limb_window_mv"]:
        for name, m in limb_window_mask(out, fs_hz, p["max_limb_window_mv"]).items():
            out[name][m] = np.nan
            info.setdefault("limb_window_s", {})[name] = round(float(m.sum()) / fs_hz, 2)
    for group, q in limb_lead_consistency(out).items():
        info.setdefault("limb_residual", {})[group] = round(q, 3)
        if q > p["max_limb_residual"]:
            names = group.split(",")
            log.warning("leads %s disagree with each other (Einthoven/Goldberger residual %.2f of "
                        "their amplitude); set to NaN", group, q)
            info["failed_leads"].extend(names)
            for name in names:
                out.pop(name, None)
    tick("place")
    info["total_s"] = round(sum(timings.values()), 4)
    return ImageReadout(out, info, maps)


#: Heights (mm) of the calibration pulse at the standard gains (5, 10 and 20 mm/mV): the gain
#: snaps to them, and a rising stroke whose foot gives one of them is believed even where the
#: trace after the fall, which is the signal's first sample on some printers, lies far from it.
STANDARD_PULSE_MM = (5.0, 10.0, 20.0)

#: Time from a pulse's falling edge to the signal's first sample when the page does not show
#: it (mm of paper): the 1-mm foot of the usual clinical drawing.
DEFAULT_GAP_MM = 1.0


def rows_start_px(ends_px: list[float], span_px: float, px_per_mm: float, x_max_px: float,
                  tolerance_mm: float = 0.5) -> float | None:
    """Column of the first sample from where the rows end, when no pulse tells.

    Every full row ends at the signal's last sample, ``span_px`` after its first.  At least
    two rows (and most of them) must end within ``tolerance_mm`` of their median, clear of the
    image border (2 mm).

    Examples
    --------
    >>> rows_start_px([2086.0, 2086.6, 2085.7, 1400.0], 1968.1, 7.874, 2178.0)
    118.0
    >>> rows_start_px([2086.0, 1400.0], 1968.1, 7.874, 2178.0) is None
    True
    """
    e = np.asarray([v for v in ends_px if np.isfinite(v) and x_max_px - v > 2.0 * px_per_mm])
    if e.size < 2:
        return None
    med = float(np.median(e))
    close = np.abs(e - med) < tolerance_mm * px_per_mm
    if close.sum() < max(2, 0.6 * e.size):
        return None
    return round(float(np.median(e[close])) - span_px, 1)


def signal_gap_mm(falls_px: list[float], ends_px: list[float], span_s: float, px_per_s: float,
                  px_per_mm: float, x_max_px: float, max_gap_mm: float = 3.0) -> float | None:
    """Paper between the pulses' falling edges and the signal's first sample, from the page.

    Printers differ: some draw a 1-mm foot after the pulse, others (ECG-Image-Kit) start the
    signal at the falling edge.  Every full row ends at the signal's last sample, ``span_s``
    after its first, so the trace end of each row with a pulse gives the start, and the gap
    is the start less the row's falling edge.  Rows whose gap lies outside -0.5 mm to
    ``max_gap_mm`` (a trace end at a mark or in noise) are left out; the others must agree
    within 0.3 mm and end clear of the image border (a cropped page hides the end); values
    within 0.4 mm of a whole millimetre (the stroke's end cap lengthens the trace by a
    fraction of one) are snapped to it.  A single row is believed only within 0.25 mm of a
    whole millimetre.  Rows that disagree give the smallest gap (marks and noise after a
    trace's end only lengthen it) when it lies within 0.3 mm of a whole millimetre.

    Parameters
    ----------
    falls_px, ends_px : list of float
        Per row with a pulse: the falling edge and the last inked column of its trace.
    span_s : float
        Time from the first to the last sample of a full row.
    px_per_s, px_per_mm : float
        Horizontal scale.
    x_max_px : float
        Right limit of the tracked columns.
    max_gap_mm : float
        Larger gaps are not believed.

    Returns
    -------
    float or None
        The gap in mm, or None when the page does not tell.

    Examples
    --------
    >>> signal_gap_mm([100.0, 101.0], [2069.0, 2070.5], 9.998, 196.85, 7.874, 2178.0)
    0.0
    >>> signal_gap_mm([100.0], [2069.0], 9.998, 196.85, 7.874, 2178.0)
    0.0
    >>> signal_gap_mm([100.0], [2073.0], 9.998, 196.85, 7.874, 2178.0) is None
    True
    >>> signal_gap_mm([100.0, 100.0], [2079.4, 2083.3], 9.998, 196.85, 7.874, 2178.0) is None
    True
    >>> signal_gap_mm([100.0, 100.0, 100.0], [2069.5, 2090.8, 2076.6], 9.998, 196.85, 7.874,
    ...               2178.0)
    0.0
    """
    gaps = []
    for xf, xe in zip(falls_px, ends_px):
        if np.isfinite(xe) and x_max_px - xe > 2.0 * px_per_mm:
            gap = (xe - span_s * px_per_s - xf) / px_per_mm
            if -0.5 < gap < max_gap_mm:  # else the trace end is a mark or noise, not the end
                gaps.append(gap)
    if not gaps:
        return None
    g = np.asarray(gaps)
    med = float(np.median(g))
    snap = float(round(med))
    if g.size == 1:
        # one row alone: believed only on a whole millimetre (a printer's convention)
        if abs(med - snap) < 0.25:
            return max(0.0, snap)
    else:
        agree = g[np.abs(g - med) < 0.3]
        if agree.size >= max(2, 0.6 * g.size) and np.ptp(agree) < 0.3:
            return max(0.0, snap if abs(med - snap) < 0.4 else med)
    # the rows disagree (or the one row lies off a whole millimetre): ink after a trace's end
    # (a mark, noise, a crease) lengthens it, so the smallest gap is the closest bound,
    # believed near a whole millimetre
    low = float(g.min())
    return max(0.0, float(round(low))) if abs(low - round(low)) < 0.3 else None


def edge_mark_px(rt, x_edge_px: float, inward: int, px_per_mm_x: float, px_per_mm_y: float,
                 reach_mm: float = 1.0, max_mm: float = 2.5, tall_mm: float = 2.0) -> float:
    """Width of the vertical mark at a panel edge, measured from the edge into the panel (px).

    Pages print a bar where one lead's panel ends and the next begins (bold on some printers),
    and a pulse's falling edge sits at a row's start; the tracked trace climbs the bar, so the
    read-out's samples over it are the bar, not the signal.  A block of consecutive columns
    whose tracked ink runs are taller than ``tall_mm``, starting within ``reach_mm`` of the
    edge and continuing into the panel (at most ``max_mm``), holds the mark.  The mark ends at
    the last column whose run covers the block's median extent (within 0.2 mm; the trace may
    cross the bar and lengthen a run, while a QRS's runs move from column to column), with at
    most one column in between that does not: tall runs beyond it are the signal's own, an R
    wave printed right after the bar.  Most (60 %) of the columns up to that end must cover
    the extent.  One stroke width (0.3 mm) beyond the mark is added.

    Parameters
    ----------
    rt : ecgpaper.digitize.trace.RowTrace
        The row's track.
    x_edge_px : float
        Column of the panel edge.
    inward : {1, -1}
        +1 at a panel's start (the panel lies to the right), -1 at its end.
    px_per_mm_x, px_per_mm_y : float
        Scale.

    Returns
    -------
    float
        Pixels from the edge to hold (0 without a mark).
    """
    run = rt.run_px
    if run is None:
        return 0.0
    step = float(np.median(np.diff(rt.x_px))) if rt.x_px.size > 1 else 1.0
    with np.errstate(invalid="ignore"):
        tall = run > tall_mm * px_per_mm_y
    i_edge = int(np.searchsorted(rt.x_px, x_edge_px))
    reach = int(np.ceil(reach_mm * px_per_mm_x / step))
    far = int(np.ceil(max_mm * px_per_mm_x / step))
    idx = [i_edge + inward * k for k in range(-reach, far + 1)]
    idx = [i for i in idx if 0 <= i < run.size]
    block = []
    for k, i in enumerate(idx):
        if tall[i]:
            block.append(i)
        elif block or k > 2 * reach:
            break
    if not block:
        return 0.0
    # a bar: most of the block's runs cover the block's median extent
    tol = max(1.5, 0.2 * px_per_mm_y)
    top, bot = float(np.median(rt.top_px[block])), float(np.median(rt.bot_px[block]))
    covers = [bool(rt.top_px[i] <= top + tol and rt.bot_px[i] >= bot - tol) for i in block]
    if not any(covers):
        return 0.0
    # the mark ends where its columns stop covering it (one column may fail, an anti-aliased
    # edge); tall runs beyond are the signal's own (an R wave right after a separator)
    end = miss = 0
    for j in range(covers.index(True), len(block)):
        if covers[j]:
            end, miss = j, 0
        else:
            miss += 1
            if miss > 1:
                break
    if sum(covers[:end + 1]) < max(1, 0.6 * (end + 1)):
        return 0.0
    last = block[end]
    depth = inward * (float(rt.x_px[last]) - x_edge_px) + 0.3 * px_per_mm_x
    return float(np.clip(depth, 0.0, max_mm * px_per_mm_x))


#: Limb-lead identities that hold whatever the heart does: II = I + III (Einthoven) and
#: aVR + aVL + aVF = 0 (Goldberger), as signs applied to the three leads.
LIMB_IDENTITIES = {"I,II,III": (1.0, -1.0, 1.0), "aVR,aVL,aVF": (1.0, 1.0, 1.0)}


def limb_lead_consistency(leads: dict[str, np.ndarray], min_samples: int = 100
                          ) -> dict[str, float]:
    """How far each triple of limb leads is from its identity, as a share of their amplitude.

    Three leads read from the same time span must satisfy ``I - II + III = 0`` and
    ``aVR + aVL + aVF = 0`` up to the read-out's noise; a triple with a lead read from a shadow,
    a neighbouring row or a mark does not.  The residual's RMS (each lead's median removed) is
    divided by the RMS of the largest of the three.

    Parameters
    ----------
    leads : dict
        Canonical lead name -> ``(n,)`` mV (NaN where not read).
    min_samples : int
        Fewer jointly read samples: the triple is not judged.

    Returns
    -------
    dict
        ``"I,II,III"`` / ``"aVR,aVL,aVF"`` -> residual share, for each triple judged.

    Examples
    --------
    >>> t = np.linspace(0, 2 * np.pi, 500); i, iii = np.sin(t), np.cos(t)
    >>> q = limb_lead_consistency({"I": i, "II": i + iii, "III": iii})
    >>> round(q["I,II,III"], 3)
    0.0
    """
    out = {}
    for group, signs in LIMB_IDENTITIES.items():
        names = group.split(",")
        if not all(n in leads for n in names):
            continue
        sig = np.stack([leads[n] for n in names])
        ok = np.isfinite(sig).all(axis=0)
        if ok.sum() < min_samples:
            continue
        sig = sig[:, ok] - np.median(sig[:, ok], axis=1, keepdims=True)
        res = np.asarray(signs) @ sig
        scale = float(np.sqrt(np.max(np.mean(sig ** 2, axis=1))))
        if scale > 0:
            out[group] = float(np.sqrt(np.mean(res ** 2))) / scale
    return out


#: Each limb lead as a combination of leads I and II (Einthoven's and Goldberger's laws).
LIMB_BASIS = {"I": (1.0, 0.0), "II": (0.0, 1.0), "III": (-1.0, 1.0), "aVR": (-0.5, -0.5),
              "aVL": (1.0, -0.5), "aVF": (-0.5, 1.0)}


def limb_window_mask(leads: dict[str, np.ndarray], fs_hz: float, max_rms_mv: float,
                     window_s: float = 0.2) -> dict[str, np.ndarray]:
    """Stretches where the limb leads read at the same time contradict each other.

    All six limb leads are combinations of two (:data:`LIMB_BASIS`); a device computes four of
    them from the other two, so on paper they agree to the read-out's noise (about 0.01 mV
    RMS on clean pages).  In each window of ``window_s`` (half-overlapping), the leads read
    throughout it (each with its median removed) are fitted by two leads by least squares.
    Where a lead's residual RMS exceeds ``max_rms_mv``, a lead was read from other ink (a
    shadow, a crease, a neighbouring row).  With four or more leads the one whose removal
    leaves the rest consistent (under half the limit) is blamed; with three, or when no single
    lead explains it, all of them are.

    Parameters
    ----------
    leads : dict
        Canonical lead name -> ``(n,)`` mV, NaN where not read.
    fs_hz : float
        Sampling rate.
    max_rms_mv : float
        Residual RMS above which a window is judged.
    window_s : float
        Window length.

    Returns
    -------
    dict
        Limb lead name -> ``(n,)`` bool, True where the lead is to be left NaN; only leads
        with at least one such sample.

    Examples
    --------
    >>> t = np.arange(1000) / 500.0
    >>> i, ii = 0.5 * np.sin(2 * np.pi * t), 0.8 * np.cos(2 * np.pi * 1.3 * t)
    >>> leads = {"I": i, "II": ii, "III": ii - i, "aVF": ii - i / 2}
    >>> leads["III"] = leads["III"].copy(); leads["III"][400:500] += 0.6   # read off the trace
    >>> m = limb_window_mask(leads, 500.0, 0.06)
    >>> sorted(m), bool(m["III"][420:480].all()), bool(m["III"][:300].any())
    (['III'], True, False)
    """
    names = [n for n in LIMB_BASIS if n in leads]
    if len(names) < 3:
        return {}
    x = np.stack([np.asarray(leads[n], float) for n in names], axis=1)
    with np.errstate(all="ignore"):
        level = np.array([np.nanmedian(c) if np.isfinite(c).any() else 0.0 for c in x.T])
    x = x - level
    basis = np.array([LIMB_BASIS[n] for n in names])
    w = max(4, int(round(window_s * fs_hz)))
    hop = max(1, w // 2)
    bad = np.zeros(x.shape, bool)

    def residual_rms(cols: np.ndarray, seg: np.ndarray) -> np.ndarray:
        coef = np.linalg.lstsq(basis[cols], seg[:, cols].T, rcond=None)[0]
        res = seg[:, cols] - (basis[cols] @ coef).T
        res -= res.mean(axis=0)
        return np.sqrt(np.mean(res ** 2, axis=0))

    for a in range(0, max(1, x.shape[0] - hop), hop):
        seg = x[a:a + w]
        cols = np.nonzero(np.isfinite(seg).all(axis=0))[0]
        if cols.size < 3 or residual_rms(cols, seg).max() <= max_rms_mv:
            continue
        blame = cols
        if cols.size >= 4:
            rest = [float(residual_rms(np.delete(cols, i), seg).max()) for i in range(cols.size)]
            i = int(np.argmin(rest))
            if rest[i] < 0.5 * max_rms_mv:
                blame = cols[i:i + 1]
        bad[a:a + w, blame] = True
    return {n: bad[:, j] for j, n in enumerate(names) if bad[:, j].any()}


def _blob_share(run_px: np.ndarray, px_per_mm_x: float, px_per_mm_y: float) -> float:
    """Share of a panel's columns inside blobs: >= 1 mm of consecutive columns whose tracked
    ink run is longer than 2 mm (a stain, a stamp or a scribble under the trace; a QRS makes
    long runs in a few columns only)."""
    if run_px.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        long_ = run_px > 2.0 * px_per_mm_y
    d = np.diff(np.r_[0, long_.astype(np.int8), 0])
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    width = ends - starts
    return float(width[width >= px_per_mm_x].sum()) / run_px.size


def combine_readouts(segments: list[np.ndarray]) -> np.ndarray:
    """Merge several read-outs of the same lead (short lead + rhythm strip, several images).

    Overlapping finite samples are averaged after removing each read-out's median offset
    relative to the first (baselines of different rows differ slightly).

    Examples
    --------
    >>> a = np.array([1.0, 2.0, np.nan]); b = np.array([np.nan, 2.2, 3.0])
    >>> combine_readouts([a, b]).round(2).tolist()
    [1.0, 2.1, 3.0]
    """
    if len(segments) == 1:
        return segments[0]
    ref = segments[0]
    aligned = [ref]
    for s in segments[1:]:
        both = np.isfinite(ref) & np.isfinite(s)
        off = float(np.median(s[both] - ref[both])) if both.sum() > 10 else 0.0
        aligned.append(s - off)
    stack = np.stack(aligned)
    with np.errstate(all="ignore"):
        cnt = np.isfinite(stack).sum(axis=0)
        tot = np.nansum(stack, axis=0)
    out = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out

