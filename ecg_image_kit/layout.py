"""Page layouts: which lead goes where and which time window each panel shows.

All positions here are in mm on the undistorted page (origin top-left, y
down). Time maps to x the same way on every row: a sample at time ``t`` (s,
relative to the first shown sample) lies at ``x0_mm + t * mm_per_s``, so a
3x4 column ``c`` showing ``[c*w, (c+1)*w)`` sits right of column ``c-1`` and
rhythm strips line up with the columns above them, as on Challenge/KIT pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from ecgcore.constants import LAYOUT_GRIDS

#: Layout names understood by :func:`page_layout`.
LAYOUTS: tuple[str, ...] = tuple(LAYOUT_GRIDS)


@dataclass(frozen=True)
class PagePanel:
    """One drawn lead segment, placed on the page.

    Not ``ecgpaper.digitize.layout.Panel``: that one is the digitizer's expected time window
    of a lead in a layout it has recognised (no page geometry, rounded differently); this one
    is what the generator drew, with its position in mm, and is frozen into the page
    annotation.  The different name keeps the two apart.

    Attributes
    ----------
    lead : str
        Canonical lead name.
    row, col : int
        Row (0 = top) and column of the panel; rhythm strips have ``col = 0``.
    t0_s, t1_s : float
        Shown window relative to the first shown sample, ``[t0_s, t1_s)``.
    x0_mm : float
        x of time 0 on the page (same for every panel).
    baseline_mm : float
        y of 0 mV of the row.
    rhythm : bool
        Whether the panel is a full-length rhythm strip.
    """

    lead: str
    row: int
    col: int
    t0_s: float
    t1_s: float
    x0_mm: float
    baseline_mm: float
    rhythm: bool


@dataclass(frozen=True)
class PageLayout:
    """Geometry of a page in mm.

    Attributes
    ----------
    width_mm, height_mm : float
    panels : tuple of PagePanel
    row_baselines_mm : tuple of float
    x0_mm : float
        x of the first shown sample.
    cal_x_mm : float or None
        Left edge of the calibration pulses (``None`` without pulses).
    duration_s : float
        Time shown per row.
    n_cols : int
        Columns of the lead grid.
    row_spacing_mm : float
    header_bottom_mm : float
        Lower edge of the header text block.
    """

    width_mm: float
    height_mm: float
    panels: tuple[PagePanel, ...]
    row_baselines_mm: tuple[float, ...]
    x0_mm: float
    cal_x_mm: float | None
    duration_s: float
    n_cols: int
    row_spacing_mm: float
    header_bottom_mm: float


def layout_grid(layout: str, rhythm_leads: list[str] | tuple[str, ...] | None = None):
    """Lead grid and rhythm leads of ``layout``.

    Raises
    ------
    ValueError
        Unknown layout (message lists the valid names), or a ``rhythm_leads``
        count that does not match a ``3x4+N`` layout.

    Examples
    --------
    >>> grid, rhythm = layout_grid("3x4+1")
    >>> grid[0], rhythm
    (('I', 'aVR', 'V1', 'V4'), ('II',))
    """
    if layout not in LAYOUT_GRIDS:
        raise ValueError(f"unknown layout {layout!r}; valid layouts: {list(LAYOUTS)}")
    grid, default_rhythm = LAYOUT_GRIDS[layout]
    if rhythm_leads is None:
        return grid, default_rhythm
    from ecgcore.constants import canonical_lead_name

    rhythm = tuple(canonical_lead_name(x) for x in rhythm_leads)
    if len(rhythm) != len(default_rhythm):
        raise ValueError(
            f"layout {layout!r} takes {len(default_rhythm)} rhythm lead(s), got {list(rhythm)}"
        )
    return grid, rhythm


def page_layout(
    layout: str,
    width_mm: float,
    height_mm: float,
    mm_per_s: float,
    duration_s: float = 10.0,
    rhythm_leads=None,
    calibration_pulse: bool = True,
    header_text: bool = True,
    leads: Sequence[str] | None = None,
) -> PageLayout:
    """Place the panels of ``layout`` on a page.

    Parameters
    ----------
    layout : str
        One of :data:`LAYOUTS`.
    width_mm, height_mm : float
        Page size in the chosen orientation.
    mm_per_s : float
        Paper speed.
    duration_s : float
        Wanted time per row; shortened (to a multiple of 0.1 s per column)
        when it does not fit the page width.
    rhythm_leads : sequence of str or None
    calibration_pulse, header_text : bool
        Reserve room for the pulses (left) and the header block (top).
    leads : sequence of str or None
        Any lead names: one full-length row per lead, in this order, instead of
        ``layout``'s grid (for records whose leads are not the 12 standard ones).

    Returns
    -------
    PageLayout

    Examples
    --------
    >>> lay = page_layout("3x4+1", 279.4, 215.9, 25.0)
    >>> len(lay.panels), lay.duration_s, lay.panels[3].lead, lay.panels[3].t0_s
    (13, 10.0, 'V4', 7.5)
    >>> [p.lead for p in page_layout("3x4+1", 279.4, 215.9, 25.0, leads=["ECG1", "ECG2"]).panels]
    ['ECG1', 'ECG2']
    """
    if leads is not None:
        grid, rhythm = tuple((str(x),) for x in leads), ()
        if not grid:
            raise ValueError("no leads to place")
    else:
        grid, rhythm = layout_grid(layout, rhythm_leads)
    n_cols = len(grid[0])
    margin_mm = 6.0
    cal_w_mm = (0.2 * mm_per_s + 3.0) if calibration_pulse else 0.0
    avail_mm = width_mm - 2 * margin_mm - cal_w_mm
    dur = float(duration_s)
    if dur * mm_per_s > avail_mm:
        step = 0.1 * n_cols
        dur = math.floor(avail_mm / mm_per_s / step + 1e-9) * step
    dur = round(dur, 6)
    if dur <= 0:
        raise ValueError(f"page of width {width_mm} mm cannot show any signal at {mm_per_s} mm/s")
    used_mm = cal_w_mm + dur * mm_per_s
    left_mm = math.floor((width_mm - used_mm) / 2.0)
    x0_mm = left_mm + math.ceil(cal_w_mm)
    cal_x_mm = (x0_mm - cal_w_mm + 1.0) if calibration_pulse else None

    top_mm = 30.0 if header_text else 8.0
    bottom_mm = 10.0
    n_rows = len(grid) + len(rhythm)
    spacing = (height_mm - top_mm - bottom_mm) / n_rows
    baselines = tuple(float(round(top_mm + (r + 0.55) * spacing)) for r in range(n_rows))
    col_w = dur / n_cols
    panels: list[PagePanel] = []
    for r, row in enumerate(grid):
        for c, lead in enumerate(row):
            panels.append(PagePanel(lead, r, c, round(c * col_w, 9), round((c + 1) * col_w, 9),
                                float(x0_mm), baselines[r], False))
    for i, lead in enumerate(rhythm):
        r = len(grid) + i
        panels.append(PagePanel(lead, r, 0, 0.0, dur, float(x0_mm), baselines[r], True))
    return PageLayout(width_mm, height_mm, tuple(panels), baselines, float(x0_mm), cal_x_mm,
                      dur, n_cols, spacing, top_mm - 2.0)
