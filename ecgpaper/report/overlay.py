"""Where the digitizer read each lead, in the page's own pixels (no plotting here).

:func:`page_overlay` takes the :class:`~ecgpaper.digitize.pipeline.ImageReadout` of a page
read with ``keep_maps`` and maps every panel's samples back onto the page: a sample ``i``
of a panel read ``v`` mV lies, on the deskewed page, at column ``x0 + i / fs * px_per_s``
and row ``zero_px - v * px_per_mv`` (the inverse of
:func:`~ecgpaper.digitize.resample.place_segment`), and the inverse of the digitizer's
rotation/homography ``info["warp"]`` takes it to the page as loaded.  Rows, panel boxes,
calibration pulses and a 10 mm scale square go the same way.

A panel's **confidence** is the margin left to the nearest failure check of the digitizer
(coverage, jumps per second, baseline offset, blob share; see
:data:`~ecgpaper.digitize.pipeline.DEFAULT_PARAMS`): 1 for a clean read, 0 at a check's
limit; a failed panel (left NaN) has 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecgcore.constants import PAPER_GAIN_MM_PER_MV, PAPER_SPEED_MM_PER_S
from ecgpaper.digitize.pipeline import DEFAULT_PARAMS

__all__ = ["PanelTrace", "PageOverlay", "page_overlay", "panel_confidence", "to_page"]

#: Side of the scale square drawn on the page, mm.
SCALE_SQUARE_MM = 10.0


@dataclass
class PanelTrace:
    """One printed panel as the digitizer read it, in page pixels.

    Attributes
    ----------
    lead : str
        Canonical lead name.
    row, col : int
        Row (0 = top) and column of the panel.
    x_px, y_px : numpy.ndarray
        ``(n,)`` page position of each sample of the panel's window (NaN where not read).
    box_px : numpy.ndarray
        ``(4, 2)`` corners (x, y) of the panel's window, one row spacing tall.
    confidence : float
        Margin to the nearest failure check, in [0, 1] (0 when failed).
    failed : bool
        The digitizer left the panel NaN (a check failed, or its lead triple disagreed).
    checks : dict
        The digitizer's measurements (coverage, jumps_per_s, offset, max_dev_mv, blob_share).
    """

    lead: str
    row: int
    col: int
    x_px: np.ndarray
    y_px: np.ndarray
    box_px: np.ndarray
    confidence: float
    failed: bool
    checks: dict = field(default_factory=dict)


@dataclass
class PageOverlay:
    """Everything :mod:`ecgpaper.report` draws on one page (page pixels).

    Attributes
    ----------
    panels : list of PanelTrace
    rows_px : list of numpy.ndarray
        Per row, ``(2, 2)`` end points of its 0-mV line.
    pulses_px : list of numpy.ndarray
        Per calibration pulse found, ``(4, 2)``: foot of the rise, top of the rise, top of
        the fall, foot of the fall.
    scale_px : numpy.ndarray or None
        ``(5, 2)`` closed outline of a :data:`SCALE_SQUARE_MM` square at the top left.
    info : dict
        Layout, grid scale, rotation, gain, error (from the digitizer).
    """

    panels: list[PanelTrace] = field(default_factory=list)
    rows_px: list[np.ndarray] = field(default_factory=list)
    pulses_px: list[np.ndarray] = field(default_factory=list)
    scale_px: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """Mean panel confidence (0 without panels)."""
        return float(np.mean([p.confidence for p in self.panels])) if self.panels else 0.0


def to_page(x_px, y_px, warp) -> tuple[np.ndarray, np.ndarray]:
    """Map deskewed positions back to the page as loaded (inverse of ``warp``).

    Examples
    --------
    >>> warp = [[1.0, 0.0, 5.0], [0.0, 1.0, -2.0], [0.0, 0.0, 1.0]]
    >>> [v.tolist() for v in to_page([10.0], [10.0], warp)]
    [[5.0], [12.0]]
    >>> [v.tolist() for v in to_page([3.0], [4.0], None)]
    [[3.0], [4.0]]
    """
    x, y = np.asarray(x_px, float), np.asarray(y_px, float)
    if warp is None:
        return x.copy(), y.copy()
    inv = np.linalg.inv(np.asarray(warp, float))
    pts = np.stack([x, y, np.ones_like(x)], axis=-1) @ inv.T
    return pts[..., 0] / pts[..., 2], pts[..., 1] / pts[..., 2]


def panel_confidence(checks: dict, failed: bool, params: dict | None = None) -> float:
    """Margin left to the nearest failure check: 1 = clean, 0 = at a limit or failed.

    Examples
    --------
    >>> panel_confidence(dict(coverage=1.0, jumps_per_s=0.0, offset=0.0, blob_share=0.0), False)
    1.0
    >>> panel_confidence(dict(coverage=0.7, jumps_per_s=0.5, offset=0.0, blob_share=0.0), False,
    ...                  dict(min_coverage=0.6))
    0.25
    >>> panel_confidence(dict(coverage=1.0), True)
    0.0
    """
    if failed:
        return 0.0
    p = dict(DEFAULT_PARAMS, **(params or {}))
    margins = [(checks.get("coverage", 1.0) - p["min_coverage"]) / (1.0 - p["min_coverage"]),
               1.0 - checks.get("jumps_per_s", 0.0) / p["max_jumps_per_s"],
               1.0 - checks.get("offset", 0.0) / p["max_baseline_offset"],
               1.0 - checks.get("blob_share", 0.0) / p["max_blob_share"]]
    return round(float(np.clip(min(margins), 0.0, 1.0)), 3)


def page_overlay(readout, fs_hz: float, params: dict | None = None) -> PageOverlay:
    """Map a page's read-out back to page pixels.

    Parameters
    ----------
    readout : ecgpaper.digitize.pipeline.ImageReadout
        Read with ``keep_maps=True`` (otherwise only ``info`` is kept).
    fs_hz : float
        The sampling rate the page was read at (the header's).
    params : dict, optional
        The digitizer's parameter overrides (the limits of the confidence).

    Returns
    -------
    PageOverlay
    """
    info = readout.info
    maps = readout.maps or {}
    warp = info.get("warp")
    out = PageOverlay(info={k: info.get(k) for k in (
        "layout", "rhythm_leads", "px_per_mm_x", "px_per_mm_y", "grid_found", "grid_quality",
        "rotation_deg", "perspective_px", "mm_per_mv", "time_origin", "n_pulses",
        "failed_leads", "error") if k in info})
    ppm_x, ppm_y = info.get("px_per_mm_x"), info.get("px_per_mm_y")
    if not ppm_x or not np.isfinite(ppm_x) or "x0_px" not in info:
        return out
    px_per_s = PAPER_SPEED_MM_PER_S * ppm_x
    px_per_mv = info.get("mm_per_mv", PAPER_GAIN_MM_PER_MV) * ppm_y
    baselines = np.asarray(maps.get("baselines", info.get("rows_px", [])), float)
    spacing = float(np.median(np.diff(baselines))) if baselines.size > 1 else 40.0 * ppm_y
    x0 = float(info["x0_px"])
    x_end = x0 + float(info.get("duration_s", 10.0)) * px_per_s
    for b in baselines:
        out.rows_px.append(np.stack(to_page([x0, x_end], [b, b], warp), axis=1))
    for pan in maps.get("panels", []):
        mv = np.asarray(pan["mv"], float)
        t = (pan["start"] + np.arange(mv.size)) / fs_hz
        x, y = to_page(x0 + t * px_per_s, pan["zero_px"] - mv * px_per_mv, warp)
        xa, xb = x0 + pan["t0_s"] * px_per_s, x0 + pan["t1_s"] * px_per_s
        ya, yb = pan["zero_px"] - 0.5 * spacing, pan["zero_px"] + 0.5 * spacing
        bx, by = to_page([xa, xb, xb, xa], [ya, ya, yb, yb], warp)
        checks = info.get("panel_checks", {}).get(f"{pan['lead']}@{pan['row']}", {})
        # a lead missing from the read-out failed everywhere (e.g. its limb triple disagreed)
        failed = bool(pan["failed"]) or pan["lead"] not in readout.leads
        out.panels.append(PanelTrace(pan["lead"], pan["row"], pan["col"], x, y,
                                     np.stack([bx, by], axis=1),
                                     panel_confidence(checks, failed, params), failed, checks))
    for pul in maps.get("pulses", []):
        px = [pul["x_rise_px"], pul["x_rise_px"], pul["x_fall_px"], pul["x_fall_px"]]
        py = [pul["zero_px"], pul["plateau_px"], pul["plateau_px"], pul["zero_px"]]
        out.pulses_px.append(np.stack(to_page(px, py, warp), axis=1))
    if baselines.size:
        sx, sy = SCALE_SQUARE_MM * ppm_x, SCALE_SQUARE_MM * ppm_y
        ax, ay = x0, max(float(baselines[0]) - 0.5 * spacing - sy, 2.0)
        out.scale_px = np.stack(to_page([ax, ax + sx, ax + sx, ax, ax],
                                        [ay, ay, ay + sy, ay + sy, ay], warp), axis=1)
    return out
