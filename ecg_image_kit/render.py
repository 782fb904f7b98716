"""Render an ECG signal as a paper-like page image with exact ground truth.

Coordinate convention: pixel ``(column j, row i)`` has its centre at
``(x, y) = (j, i)``; the page origin is the top-left pixel centre. A sample
at time ``t`` (s after the first shown sample) and value ``v`` (mV) of a panel
whose row baseline is ``b`` (mm) is drawn at page position
``x = (x0_mm + t * mm_per_s) * px_per_mm``, ``y = (b - v * mm_per_mv) * px_per_mm``
and then mapped through the page-to-image homography of the geometric
distortions; the annotation stores the mapped coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from ecgcore.constants import LEADS_12, MM_PER_INCH, canonical_lead_name

from ecg_image_kit import distort, marks
from ecg_image_kit.config import (PAPER_SIZES_MM, TRACE_COLORS, RenderConfig, as_config,
                                  sample_params, stream)
from ecg_image_kit.layout import PageLayout, page_layout
from ecg_image_kit.paper import draw_text, find_font, grid_colors, grid_page

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_SCALE = float(1 << _SHIFT)


@dataclass
class RenderResult:
    """Output of :func:`render`.

    Attributes
    ----------
    image : ndarray, uint8, shape (H, W, 3)
        RGB page image.
    annotation : dict
        JSON-serialisable ground truth (see ``docs/image_kit.md``).
    trace_mask : ndarray, uint8, shape (H, W) or None
        0 background, ``k + 1`` on the stroke of ``annotation["leads"][k]``.
    centerline_mask : ndarray, uint8, shape (H, W) or None
        Same labels on a 1-px centre line drawn from the ground-truth coordinates.
    """

    image: np.ndarray
    annotation: dict
    trace_mask: np.ndarray | None = None
    centerline_mask: np.ndarray | None = None


def _rgb(value, table: Mapping[str, tuple[int, int, int]], what: str) -> tuple[int, int, int]:
    if isinstance(value, str):
        if value not in table:
            raise ValueError(f"unknown {what} {value!r}; valid: {sorted(table)} or an RGB triple")
        return tuple(int(v) for v in table[value])
    return tuple(int(v) for v in value)


def _finite_runs(xy: np.ndarray) -> list[np.ndarray]:
    """Split an (n, 2) float array at non-finite rows into runs of consecutive finite rows."""
    if np.isfinite(xy).all():  # the common case: one reduction over the whole array
        return [xy] if len(xy) else []
    idx = np.flatnonzero(np.isfinite(xy).all(axis=1))
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1
    return [xy[g] for g in np.split(idx, breaks)]


def _draw_runs(img: np.ndarray, runs: list[np.ndarray], color, thickness: int,
               aa: bool = True) -> None:
    """Draw finite runs (from :func:`_finite_runs`) as polylines."""
    if not runs:
        return
    fixed = [np.round(r * _SCALE).astype(np.int32).reshape(-1, 1, 2) for r in runs]
    line = cv2.LINE_AA if aa else cv2.LINE_8
    single = [r for r in fixed if len(r) == 1]
    multi = [r for r in fixed if len(r) > 1]
    if multi:
        cv2.polylines(img, multi, False, color, thickness, line, _SHIFT)
    for r in single:  # isolated samples: a dot
        cv2.circle(img, (int(r[0, 0, 0]), int(r[0, 0, 1])), int(max(1, thickness) * _SCALE / 2),
                   color, -1, line, _SHIFT)


def _draw_polyline(img: np.ndarray, xy: np.ndarray, color, thickness: int, aa: bool = True) -> None:
    _draw_runs(img, _finite_runs(xy), color, thickness, aa)


#: Largest distance (px) between a drawn stroke's path and the polyline through the samples:
#: runs of samples that lie this close to a straight line are drawn as one segment.
STROKE_SIMPLIFY_PX = 0.05


def _stroke_cover(runs: list[np.ndarray], width_px: float):
    """Area coverage of a band of width ``width_px`` around polylines, by exact distance.

    Every pixel within ``width_px / 2 + 0.5`` of a segment gets the coverage
    ``min(1, width_px / 2 + 0.5 - d)`` of its distance ``d`` from the nearest segment (a
    one-pixel linear ramp across the band's edge, the area a straight edge covers of a pixel
    it crosses at right angles).  Runs are first simplified to within
    :data:`STROKE_SIMPLIFY_PX` (Douglas-Peucker), so flat stretches of hundreds of samples
    are a few segments.  Returns ``(x, y, cover)``: the covered pixels' columns and rows
    (each pixel once) and their float32 coverage, or None when nothing is covered.
    """
    half = 0.5 * width_px + 0.5
    starts, ends = [], []
    for p in runs:
        if len(p) > 2:
            p = cv2.approxPolyDP(p.astype(np.float32).reshape(-1, 1, 2), STROKE_SIMPLIFY_PX,
                                 False).reshape(-1, 2).astype(np.float64)
        starts.append(p[:-1] if len(p) > 1 else p)
        ends.append(p[1:] if len(p) > 1 else p)
    a, b = np.vstack(starts), np.vstack(ends)
    # candidate pixels: each segment's bounding box grown by the band's half width
    lo = np.floor(np.minimum(a, b) - half + 0.5).astype(np.int64)
    hi = np.floor(np.maximum(a, b) + half + 0.5).astype(np.int64)
    nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    cnt = nx * ny
    seg = np.repeat(np.arange(len(a)), cnt)
    k = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    px = lo[seg, 0] + k % nx[seg]
    py = lo[seg, 1] + k // nx[seg]
    d = b - a
    ax, ay, dx, dy = a[seg, 0], a[seg, 1], d[seg, 0], d[seg, 1]
    len2 = dx * dx + dy * dy
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    ex, ey = px - ax - t * dx, py - ay - t * dy
    cover = half - np.sqrt(ex * ex + ey * ey)
    keep = cover > 0
    if not keep.any():
        return None
    px, py, cover = px[keep], py[keep], np.minimum(cover[keep], 1.0).astype(np.float32)
    # a pixel near several segments takes its largest coverage; one of its entries (any one:
    # the last written) stands for it, so no dense patch is searched for its covered pixels
    x0, y0 = int(px.min()), int(py.min())
    w = int(px.max()) - x0 + 1
    key = (py - y0) * w + (px - x0)
    best = np.zeros((int(py.max()) - y0 + 1) * w, np.float32)
    np.maximum.at(best, key, cover)
    owner = np.empty(best.size, np.int64)
    idx = np.arange(key.size)
    owner[key] = idx
    pick = owner[key] == idx
    return px[pick], py[pick], best[key[pick]]


def _draw_stroke(img: np.ndarray, xy: np.ndarray, color, width_px: float, aa: bool = True) -> None:
    """Draw a polyline of stroke width ``width_px`` (float) through the rows of ``xy``.

    With ``aa`` the stroke is drawn as a vector plotting library draws it: a band of constant
    width ``width_px`` around the path, each pixel taking the stroke's colour in proportion to
    the share of its area that the band covers (:func:`_stroke_cover`).  Without ``aa`` (label
    masks) it is cv2's aliased line of the rounded width.

    Examples
    --------
    >>> img = np.full((20, 40, 3), 255, np.uint8)
    >>> _draw_stroke(img, np.array([[5.0, 10.25], [35.0, 10.25]]), (0, 0, 0), 2.0)
    >>> img[8:13, 20, 0].tolist()   # rows 9.25-11.25 covered: 1/4, all, 3/4 of the pixels
    [255, 191, 0, 64, 255]
    """
    runs = _finite_runs(xy)
    if not runs:
        return
    if not aa:
        _draw_runs(img, runs, color, max(1, int(round(width_px))), aa=False)
        return
    got = _stroke_cover(runs, width_px)
    if got is None:
        return
    xx, yy, a = got
    inside = (yy >= 0) & (yy < img.shape[0]) & (xx >= 0) & (xx < img.shape[1])
    yy, xx, a = yy[inside], xx[inside], a[inside]
    if img.ndim == 3:
        a = a[:, None]
    col = np.asarray(color, np.float32)
    img[yy, xx] = np.rint(img[yy, xx] * (1.0 - a) + col * a).astype(img.dtype)


def _apply_h(hmat: np.ndarray | None, xy: np.ndarray) -> np.ndarray:
    if hmat is None:
        return xy.copy()
    pts = np.c_[xy, np.ones(len(xy))] @ hmat.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return pts[:, :2] / pts[:, 2:3]


def _bbox(xy: np.ndarray, pad: float = 0.0) -> list[float] | None:
    finite = xy if np.isfinite(xy).all() else xy[np.isfinite(xy).all(axis=1)]
    if len(finite) == 0:
        return None
    lo = finite.min(axis=0) - pad
    hi = finite.max(axis=0) + pad
    return [round(float(lo[0]), 2), round(float(lo[1]), 2), round(float(hi[0]), 2), round(float(hi[1]), 2)]


def _corners(box: Sequence[float]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def _coord_list(v: np.ndarray) -> list:
    r = np.round(v, 2)
    if np.isfinite(r).all():
        return r.tolist()
    return [None if not math.isfinite(a) else a for a in r.tolist()]


def prepare_signal(signal_mv, lead_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Check and canonicalise the input: float64 ``(n_samples, n_leads)`` and lead names."""
    sig = np.asarray(signal_mv, dtype=np.float64)
    if isinstance(lead_names, str):
        lead_names = [lead_names]
    if sig.ndim == 1:
        sig = sig[:, None]
    if sig.ndim != 2 or sig.shape[1] != len(lead_names):
        raise ValueError(f"signal shape {sig.shape} does not match {len(lead_names)} lead names")
    return sig, [canonical_lead_name(str(n)) for n in lead_names]


def own_rows(lead_names: Sequence[str]) -> list[str] | None:
    """Leads of a page drawn one row per lead, or None for a standard layout.

    A record with any lead outside the 12 standard leads (``ECG1``, ``MLII``,
    ``vx``) would lose that lead on a standard layout; its page shows every
    lead (first column of a repeated name) as a full-length row instead.

    Examples
    --------
    >>> own_rows(["II", "aVR"]) is None, own_rows(["MLII", "V1"])
    (True, ['MLII', 'V1'])
    """
    names = [canonical_lead_name(str(n)) for n in lead_names]
    if all(n in LEADS_12 for n in names):
        return None
    return list(dict.fromkeys(names))


def render(
    signal_mv,
    fs_hz: float,
    lead_names: Sequence[str],
    config: RenderConfig | str | Mapping[str, Any] | None = None,
    seed: int = 0,
    with_masks: bool = False,
    channel_order: str = "RGB",
) -> RenderResult:
    """Render a multi-lead ECG as a page image with its ground truth.

    Parameters
    ----------
    signal_mv : array_like, shape (n_samples, n_leads)
        Signal in mV; NaN samples are not drawn.
    fs_hz : float
        Sampling frequency (any rate).
    lead_names : sequence of str
        One name per column, any case (``"AVR"``, ``"v1"``); standard
        layouts place the 12 standard leads, absent leads leave their panel
        empty. A record with any other lead (``ECG1``, ``MLII``, ``vx``) is
        drawn one full-length row per lead (see :func:`own_rows`), and the
        annotation's ``layout`` is then ``"<n>x1"``.
    config : RenderConfig, preset name, dict or None
        Settings; ``None`` = ``preset("clean")``. Ranges are sampled from ``seed``.
    seed : int
        Seed of every random choice of this image.
    with_masks : bool
        Also return the per-lead trace mask and the 1-px centre-line mask.
    channel_order : {"RGB", "BGR"}
        Channel order of ``image``; "BGR" gives the same pixels with the
        channels reversed, ready for OpenCV (saves a conversion per page).

    Returns
    -------
    RenderResult

    Examples
    --------
    >>> t = np.arange(5000) / 500.0
    >>> sig = np.stack([np.sin(2 * np.pi * 1.2 * t)] * 12, axis=1)
    >>> from ecgcore.constants import LEADS_12
    >>> res = render(sig, 500, LEADS_12, seed=1)
    >>> res.image.shape, len(res.annotation["leads"])
    ((1700, 2200, 3), 13)
    """
    if channel_order not in ("RGB", "BGR"):
        raise ValueError(f"channel_order must be 'RGB' or 'BGR', not {channel_order!r}")
    bgr = channel_order == "BGR"

    def order(color) -> tuple:
        return tuple(color)[::-1] if bgr else tuple(color)

    cfg = as_config(config)
    sig, names = prepare_signal(signal_mv, lead_names)
    fs_hz = float(fs_hz)
    if not fs_hz > 0:
        raise ValueError(f"fs_hz must be positive, got {fs_hz}")
    seed = int(seed)
    p = sample_params(cfg, seed)  # values already checked by RenderConfig
    derived: dict[str, Any] = {}

    dpi = float(p["dpi"])
    px_per_mm = dpi / MM_PER_INCH
    w_mm, h_mm = PAPER_SIZES_MM[p["paper"]]
    if p["orientation"] == "landscape":
        w_mm, h_mm = h_mm, w_mm
    width_px, height_px = int(round(w_mm * px_per_mm)), int(round(h_mm * px_per_mm))
    mm_per_s, mm_per_mv = float(p["mm_per_s"]), float(p["mm_per_mv"])
    row_leads = own_rows(names)
    lay: PageLayout = page_layout(p["layout"], w_mm, h_mm, mm_per_s, float(p["duration_s"]),
                                  p["rhythm_leads"], p["calibration_pulse"], p["header_text"],
                                  leads=row_leads)
    layout_name = p["layout"] if row_leads is None else f"{len(row_leads)}x1"

    # ---- blank page
    minor, major = grid_colors(p["grid_style"], p["grid_color"], stream(seed, "grid_color"))
    derived["grid_minor_rgb"] = [int(round(v)) for v in minor]
    derived["grid_major_rgb"] = [int(round(v)) for v in major]
    paper_rgb = tuple(int(v) for v in p["paper_color"])
    img = grid_page(width_px, height_px, px_per_mm, p["grid_style"], order(minor), order(major),
                    order(paper_rgb))

    family = p["font"]
    if family == "random":
        family = ("sans", "serif", "mono")[int(stream(seed, "font").integers(3))]
    font_path = find_font(family)
    derived["font_file"] = None if font_path is None else font_path.rsplit("/", 1)[-1]
    trace_rgb = order(_rgb(p["trace_color"], TRACE_COLORS, "trace_color"))
    lw_px = max(1.0, float(p["line_width_pt"]) / 72.0 * dpi)
    thick = max(1, int(round(lw_px)))  # separators
    derived["line_width_px"] = round(lw_px, 3)
    text_rgb = (0, 0, 0)

    # ---- header block
    if p["header_text"]:
        derived["header_lines"] = marks.draw_header(
            img, stream(seed, "header"), px_per_mm, lay, mm_per_s, mm_per_mv, font_path, text_rgb)

    # ---- panels: coordinates on the undistorted page
    n = sig.shape[0]
    start_off = int(round(float(p["start_s"]) * fs_hz))
    lead_index: dict[str, int] = {}
    for j, name in enumerate(names):
        lead_index.setdefault(name, j)
    panel_xy: list[np.ndarray] = []
    panel_info: list[dict[str, Any]] = []
    label_boxes: list[list[float] | None] = []
    rows_drawn: set[int] = set()
    label_px = float(p["font_size_pt"]) / 72.0 * dpi
    for pan in lay.panels:
        j = lead_index.get(pan.lead)
        if j is None:
            continue
        start = start_off + int(math.ceil(pan.t0_s * fs_hz - 1e-6))
        end = min(n, start_off + int(math.ceil(pan.t1_s * fs_hz - 1e-6)))
        if start >= end:
            continue
        i = np.arange(start, end)
        t_s = (i - start_off) / fs_hz
        x = (pan.x0_mm + t_s * mm_per_s) * px_per_mm
        y = (pan.baseline_mm - sig[start:end, j] * mm_per_mv) * px_per_mm
        xy = np.c_[x, y]
        panel_xy.append(xy)
        rows_drawn.add(pan.row)
        panel_info.append(dict(name=pan.lead, row=pan.row, col=pan.col, rhythm=pan.rhythm,
                               start_sample=int(start), end_sample=int(end),
                               baseline_mm=pan.baseline_mm,
                               x_start_px=(pan.x0_mm + pan.t0_s * mm_per_s) * px_per_mm,
                               x_end_px=(pan.x0_mm + pan.t1_s * mm_per_s) * px_per_mm))
        # separators and labels
        bl_px = pan.baseline_mm * px_per_mm
        x_left = (pan.x0_mm + pan.t0_s * mm_per_s) * px_per_mm
        if p["separators"] and pan.col > 0 and not pan.rhythm:
            half = min(4.0, 0.3 * lay.row_spacing_mm) * px_per_mm
            bar = float(p["separator_width_mm"]) * px_per_mm
            if bar > thick:  # a bold bar centred on the panel edge
                cv2.rectangle(img, (int(round((x_left - bar / 2) * _SCALE)),
                                    int(round((bl_px - half) * _SCALE))),
                              (int(round((x_left + bar / 2) * _SCALE)),
                               int(round((bl_px + half) * _SCALE))),
                              trace_rgb, -1, cv2.LINE_AA, _SHIFT)
            else:
                cv2.line(img, (int(round(x_left * _SCALE)), int(round((bl_px - half) * _SCALE))),
                         (int(round(x_left * _SCALE)), int(round((bl_px + half) * _SCALE))),
                         trace_rgb, thick, cv2.LINE_AA, _SHIFT)
        if p["lead_labels"]:
            off_mm = min(5.0, 0.3 * lay.row_spacing_mm)
            y_text = bl_px + (off_mm + 0.5 * label_px / px_per_mm) * px_per_mm \
                if p["label_below"] else bl_px - off_mm * px_per_mm
            box = draw_text(img, pan.lead, x_left + 1.0 * px_per_mm, y_text,
                            label_px, font_path, text_rgb)
            label_boxes.append(box)
        else:
            label_boxes.append(None)

    # ---- calibration pulses
    cal_polys: list[tuple[int, np.ndarray]] = []
    if p["calibration_pulse"] and lay.cal_x_mm is not None:
        for r in sorted(rows_drawn):
            b = lay.row_baselines_mm[r]
            x0 = lay.cal_x_mm
            w = 0.2 * mm_per_s
            top = b - 1.0 * mm_per_mv
            if p["pulse_foot"]:
                pts = np.array([[x0, b], [x0 + 1, b], [x0 + 1, top], [x0 + 1 + w, top],
                                [x0 + 1 + w, b], [x0 + 2 + w, b]], np.float64) * px_per_mm
            else:  # the signal starts at the fall; as on the official generator's pages
                # (pulse drawn from samples), the fall's centre lies 1.5 samples after the
                # signal's first sample
                d = 1.5 / fs_hz * mm_per_s
                pts = np.array([[x0 + 1, b], [x0 + 2 + d, b], [x0 + 2 + d, top],
                                [x0 + 2 + w + d, top], [x0 + 2 + w + d, b]],
                               np.float64) * px_per_mm
            cal_polys.append((r, pts))
            _draw_stroke(img, pts, trace_rgb, lw_px)

    # ---- traces
    for xy in panel_xy:
        _draw_stroke(img, xy, trace_rgb, lw_px)

    # ---- ink marks on the paper
    if int(p["handwriting"]) > 0:
        derived["handwriting"] = marks.draw_handwriting(
            img, int(p["handwriting"]), stream(seed, "handwriting"), px_per_mm, font_path, bgr)
    if int(p["stamps"]) > 0:
        derived["stamps"] = marks.draw_stamps(img, int(p["stamps"]), stream(seed, "stamps"),
                                              px_per_mm, font_path, bgr)

    # ---- geometry
    hmat, out_w, out_h, geo = distort.geometry(p, width_px, height_px, seed)
    derived.update(geo)
    if hmat is not None:
        bg = order(int(v) for v in p["background_color"])
        if np.allclose(hmat[2], [0.0, 0.0, 1.0], atol=1e-12):  # affine: cheaper resampling
            img = cv2.warpAffine(img, hmat[:2], (out_w, out_h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=bg)
        else:
            img = cv2.warpPerspective(img, hmat, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=bg)
    for key in ("handwriting", "stamps"):  # mark boxes in output-image pixels
        for item in derived.get(key, ()):
            item["bbox"] = _bbox(_apply_h(hmat, _corners(item["bbox"])))
    # ---- photometric
    img, photo = distort.photometric(img, p, seed, px_per_mm, bgr)
    derived.update(photo)

    # ---- annotation
    leads_out: list[dict[str, Any]] = []
    out_xy: list[np.ndarray] = []
    half_lw = lw_px / 2.0
    for info, xy, lbox in zip(panel_info, panel_xy, label_boxes):
        txy = _apply_h(hmat, xy)
        txy[~np.isfinite(txy).all(axis=1)] = np.nan  # a sample without value has no position
        out_xy.append(txy)
        bl = _apply_h(hmat, np.array([[info["x_start_px"], info["baseline_mm"] * px_per_mm],
                                      [info["x_end_px"], info["baseline_mm"] * px_per_mm]]))
        leads_out.append(dict(
            name=info["name"], row=info["row"], col=info["col"], rhythm=info["rhythm"],
            start_sample=info["start_sample"], end_sample=info["end_sample"],
            bbox=_bbox(txy, half_lw),
            label_bbox=None if lbox is None else _bbox(_apply_h(hmat, _corners(lbox))),
            baseline_y_px=round(float(bl[0, 1]), 2),
            baseline_px=[[round(float(v), 2) for v in pt] for pt in bl],
            x_px=_coord_list(txy[:, 0]),
            y_px=_coord_list(txy[:, 1]),
        ))
    cal_out = [dict(row=r, bbox=_bbox(_apply_h(hmat, pts), half_lw)) for r, pts in cal_polys]
    origin = _apply_h(hmat, np.zeros((1, 2)))[0]
    annotation: dict[str, Any] = dict(
        generator="ecg_image_kit",
        dpi=int(round(dpi)) if float(dpi).is_integer() else dpi,
        width_px=int(img.shape[1]),
        height_px=int(img.shape[0]),
        page_width_px=width_px,
        page_height_px=height_px,
        paper=p["paper"],
        orientation=p["orientation"],
        layout=layout_name,
        mm_per_s=mm_per_s,
        mm_per_mv=mm_per_mv,
        px_per_mm_x=px_per_mm,
        px_per_mm_y=px_per_mm,
        s_per_px=1.0 / (mm_per_s * px_per_mm),
        mv_per_px=1.0 / (mm_per_mv * px_per_mm),
        fs_hz=fs_hz,
        num_samples=int(n),
        lead_names_in=list(names),
        duration_s=lay.duration_s,
        seed=seed,
        params=p,
        derived=derived,
        rotation_deg=float(derived.get("rotation_deg", 0.0)),
        homography=(np.eye(3) if hmat is None else hmat).round(9).tolist(),
        leads=leads_out,
        calibration_pulses=cal_out,
        grid=dict(style=p["grid_style"], origin_px=[round(float(v), 2) for v in origin],
                  small_square_mm=1.0, large_square_mm=5.0,
                  small_square_px=px_per_mm, large_square_px=5.0 * px_per_mm,
                  minor_rgb=derived["grid_minor_rgb"], major_rgb=derived["grid_major_rgb"]),
    )

    trace_mask = centerline_mask = None
    if with_masks:
        if len(leads_out) > 255:
            raise ValueError("more than 255 panels cannot be labelled in a uint8 mask")
        shape = img.shape[:2]
        trace_mask = np.zeros(shape, np.uint8)
        centerline_mask = np.zeros(shape, np.uint8)
        scale = math.sqrt(abs(np.linalg.det(hmat[:2, :2]))) if hmat is not None else 1.0
        for k, txy in enumerate(out_xy):
            _draw_stroke(trace_mask, txy, k + 1, lw_px * scale, aa=False)
            _draw_polyline(centerline_mask, txy, k + 1, 1, aa=False)
    return RenderResult(img, annotation, trace_mask, centerline_mask)


def masked_signal(signal_mv, annotation: Mapping[str, Any], lead_names: Sequence[str]) -> np.ndarray:
    """The signal with NaN for every sample not drawn on the image (masked reference).

    Parameters
    ----------
    signal_mv : array_like, shape (n_samples, n_leads)
    annotation : dict
        The annotation of the image.
    lead_names : sequence of str
        Names of the signal's columns (any case).

    Returns
    -------
    ndarray, float64, shape (n_samples, n_leads)

    Examples
    --------
    >>> ann = {"leads": [{"name": "II", "start_sample": 2, "end_sample": 4}]}
    >>> masked_signal(np.ones((5, 2)), ann, ["I", "ii"])[:, 1].tolist()
    [nan, nan, 1.0, 1.0, nan]
    """
    sig, names = prepare_signal(signal_mv, lead_names)
    keep = np.zeros(sig.shape, bool)
    for lead in annotation["leads"]:
        name = canonical_lead_name(lead["name"])
        for j, nm in enumerate(names):
            if nm == name:
                keep[lead["start_sample"]:lead["end_sample"], j] = True
                break
    out = sig.copy()
    out[~keep] = np.nan
    return out
