"""The report's pictures, drawn with matplotlib (imported here only, lazily, Agg canvas).

matplotlib is a development dependency, not one of the Challenge entry's: every function
here calls :func:`require_matplotlib` first, which raises :class:`ReportError` with the
install command when it is missing.  Figures are made with ``matplotlib.figure.Figure``
on an Agg canvas (no pyplot, no global backend switch) and saved as palette PNGs.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Sequence

import numpy as np

from ecgcore.constants import PAPER_GAIN_MM_PER_MV, PAPER_SPEED_MM_PER_S
from ecgcore.wfdbio import atomic_write_bytes

__all__ = ["ReportError", "require_matplotlib", "confidence_rgba", "record_figure", "error_figure",
           "lead_snr_chart", "snr_histogram", "reference_figure"]

#: Colour map of the confidence (0 red, 1 green).
CONFIDENCE_CMAP = "RdYlGn"
#: Width of the saved figures, px.
FIGURE_WIDTH_PX = 1000
_DPI = 100
#: Longest side of the page image as shown (downsampled before drawing), px.
PAGE_SHOWN_PX = 800
#: Vertical spacing of the leads in the 12-lead plot, mV (15 mm at 10 mm/mV).
LEAD_SPACING_MV = 1.5
_PAPER_MAJOR, _PAPER_MINOR = "#f2a0a0", "#fbe0e0"


class ReportError(RuntimeError):
    """The report cannot be made (matplotlib missing); the message says what to do."""


def require_matplotlib():
    """Import matplotlib or raise :class:`ReportError` naming the install command."""
    try:
        import matplotlib
    except ImportError:
        raise ReportError("the report needs matplotlib, which is not installed: run "
                          "'python -m pip install -r requirements-dev.txt' (or 'python -m pip "
                          "install matplotlib'), or leave out --report") from None
    return matplotlib


@functools.lru_cache(maxsize=1)
def _confidence_lut() -> np.ndarray:
    from matplotlib import colormaps

    return colormaps[CONFIDENCE_CMAP](np.linspace(0.0, 1.0, 256))


def confidence_rgba(value: float) -> tuple[float, float, float, float]:
    """The colour of a confidence in [0, 1] (RGBA floats; one colour-map lookup, cached)."""
    require_matplotlib()
    k = int(round(float(np.clip(np.nan_to_num(value), 0.0, 1.0)) * 255))
    return tuple(float(c) for c in _confidence_lut()[k])


def _figure(width_in: float, height_in: float):
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path, colours: int = 256) -> Path:
    """Save as an 8-bit palette PNG (a third of the RGB size, same look)."""
    from PIL import Image

    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    img = Image.fromarray(rgb).quantize(colours, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def _page_background(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The page in faded grey, downsampled: (image, scale of the shown image)."""
    import cv2

    img = np.asarray(image)
    grey = img if img.ndim == 2 else cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY)
    scale = min(1.0, PAGE_SHOWN_PX / max(grey.shape))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return (255.0 - 0.5 * (255.0 - grey.astype(np.float32))).astype(np.uint8), scale


def _draw_page(ax, image: np.ndarray, overlay, title: str) -> None:
    """The page with every panel drawn back, coloured by confidence, and its annotations."""
    shown, _ = _page_background(image)
    h, w = np.asarray(image).shape[:2]
    ax.imshow(shown, cmap="gray", vmin=0, vmax=255, extent=(0, w, h, 0), interpolation="none")
    for row in overlay.rows_px:
        ax.plot(row[:, 0], row[:, 1], color="#3060c0", lw=0.6, ls=(0, (4, 4)), alpha=0.8)
    for pan in overlay.panels:
        box = np.vstack([pan.box_px, pan.box_px[:1]])
        ok = np.isfinite(pan.x_px) & np.isfinite(pan.y_px)
        if pan.failed:
            ax.plot(box[:, 0], box[:, 1], color="#d00000", lw=1.2, ls="--")
            if ok.any():
                ax.plot(np.where(ok, pan.x_px, np.nan), pan.y_px, color="#d00000", lw=0.5,
                        alpha=0.6)
            ax.text(pan.box_px[0, 0] + 3, pan.box_px[0, 1] + 3, f"{pan.lead}: NaN",
                    color="white", fontsize=7, va="top", weight="bold",
                    bbox=dict(fc="#d00000", ec="none", pad=1.0))
            continue
        ax.plot(box[:, 0], box[:, 1], color="#909090", lw=0.4)
        colour = confidence_rgba(pan.confidence)
        ax.plot(pan.x_px, pan.y_px, color=colour, lw=0.9)
        if (~ok).any():  # samples left NaN inside a read panel: dotted on their 0-mV line
            zero = np.nanmedian(pan.y_px) if ok.any() else pan.box_px[:, 1].mean()
            gaps = np.where(~ok, zero, np.nan)
            ax.plot(pan.x_px, gaps, color="#d00000", lw=1.0, ls=":")
        ax.text(pan.box_px[0, 0] + 3, pan.box_px[0, 1] + 3, f"{pan.lead} {pan.confidence:.2f}",
                color="black", fontsize=6, va="top",
                bbox=dict(fc=colour, ec="none", alpha=0.8, pad=0.8))
    for pulse in overlay.pulses_px:
        ax.plot(pulse[:, 0], pulse[:, 1], color="#00a0c0", lw=1.6)
    if overlay.scale_px is not None:
        s = overlay.scale_px
        ax.plot(s[:, 0], s[:, 1], color="#a000a0", lw=1.0)
        ppm = overlay.info.get("px_per_mm_x", float("nan"))
        ax.text(s[1, 0] + 4, s[1, 1], f"10 mm = {10 * ppm:.1f} px", color="#a000a0",
                fontsize=7, va="top")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8, loc="left")


def page_title(name: str, overlay) -> str:
    """One line on what the digitizer found on a page."""
    i = overlay.info
    if i.get("error"):
        return f"{name}: digitization failed: {i['error']}"
    parts = [f"{name}: layout {i.get('layout')}"]
    if i.get("px_per_mm_x"):
        parts.append(f"grid {i['px_per_mm_x']:.2f} px/mm"
                     + ("" if i.get("grid_found", True) else " (no grid: assumed)"))
    parts.append(f"rotation {i.get('rotation_deg', 0.0):.2f} deg")
    if i.get("mm_per_mv"):
        parts.append(f"{i['mm_per_mv']:g} mm/mV, {i.get('n_pulses', 0)} pulse(s)")
    parts.append(f"confidence {overlay.confidence:.2f}")
    return ", ".join(parts)


def _paper_axes(ax, duration_s: float, bottom_mv: float, top_mv: float) -> None:
    """Axes drawn as ECG paper: 1 mm and 5 mm squares at 25 mm/s and 10 mm/mV."""
    from matplotlib.collections import LineCollection

    mm_s, mm_mv = 1.0 / PAPER_SPEED_MM_PER_S, 1.0 / PAPER_GAIN_MM_PER_MV
    for k, (colour, lw) in enumerate(((_PAPER_MINOR, 0.3), (_PAPER_MAJOR, 0.5))):
        step_s, step_mv = mm_s * 5 ** k, mm_mv * 5 ** k
        xs = np.arange(0.0, duration_s + 1e-9, step_s)
        ys = np.arange(np.floor(bottom_mv / step_mv) * step_mv, top_mv + 1e-9, step_mv)
        lines = [((x, bottom_mv), (x, top_mv)) for x in xs] + \
            [((0.0, y), (duration_s, y)) for y in ys]
        ax.add_collection(LineCollection(lines, colors=colour, linewidths=lw, zorder=0))
    ax.set_xlim(0, duration_s)
    ax.set_ylim(bottom_mv, top_mv)
    ax.set_aspect(PAPER_GAIN_MM_PER_MV / PAPER_SPEED_MM_PER_S)
    ax.set_yticks([])
    ax.tick_params(labelsize=6)
    ax.set_xlabel("s (25 mm/s, 10 mm/mV)", fontsize=7)


def _draw_leads(ax, signal: np.ndarray, fs_hz: float, lead_names: Sequence[str],
                reference: np.ndarray | None = None, snr_db: Sequence[float] | None = None
                ) -> None:
    """Leads stacked one under the other on paper; NaN leads marked in red."""
    n, m = signal.shape
    t = np.arange(n) / fs_hz
    duration = n / fs_hz
    _paper_axes(ax, duration, -LEAD_SPACING_MV * (m - 0.4), LEAD_SPACING_MV * 0.6)
    for j in range(m):
        off = -LEAD_SPACING_MV * j
        if reference is not None:
            ax.plot(t, reference[:, j] + off, color="black", lw=1.1, alpha=0.45)
        y = signal[:, j]
        label = lead_names[j] + ("" if snr_db is None else f"  {snr_db[j]:.1f} dB")
        if np.isfinite(y).any():
            ax.plot(t, y + off, color="black" if reference is None else "#c00000", lw=0.6)
            ax.text(0.02, off + 0.35, label, fontsize=6, va="bottom")
        else:
            ax.text(0.02, off + 0.35, f"{label}: not digitized (NaN)", fontsize=6,
                    va="bottom", color="white", bbox=dict(fc="#d00000", ec="none", pad=1.0))


def _label_text(labels: Sequence[str] | None, probabilities: dict | None,
                thresholds: dict | None) -> str:
    if probabilities:
        lines = ["class       p    thr"]
        for c, p in probabilities.items():
            thr = (thresholds or {}).get(c, float("nan"))
            mark = "  <-" if labels and c in labels else ""
            lines.append(f"{c:<9} {p:5.2f} {thr:5.2f}{mark}")
        return "\n".join(lines)
    if labels is None:
        return "no classifier"
    return "labels: " + (", ".join(labels) if labels else "none")


def record_figure(path: str | Path, record: str, pages: list[tuple[str, np.ndarray, object]],
                  signal: np.ndarray | None, fs_hz: float, lead_names: Sequence[str],
                  labels: Sequence[str] | None = None, probabilities: dict | None = None,
                  thresholds: dict | None = None) -> Path:
    """One record's PNG: every page with its overlay, the 12-lead plot and the labels.

    Parameters
    ----------
    path : path-like
        The PNG to write.
    record : str
        Shown in the title.
    pages : list of (name, image, PageOverlay)
        ``image`` is the page as loaded; the overlay is in its pixels.
    signal : numpy.ndarray or None
        ``(n, leads)`` mV as output (None: not digitized).
    fs_hz : float
    lead_names : sequence of str
    labels, probabilities, thresholds
        The classifier's output, class -> probability, class -> threshold.

    Returns
    -------
    pathlib.Path
    """
    width_in = FIGURE_WIDTH_PX / _DPI
    page_h = [width_in * 0.78 * np.asarray(img).shape[0] / np.asarray(img).shape[1]
              for _, img, _ in pages]
    m = len(lead_names)
    plot_h = width_in * 0.78 * (LEAD_SPACING_MV * m * PAPER_GAIN_MM_PER_MV) / (
        PAPER_SPEED_MM_PER_S * (signal.shape[0] / fs_hz if signal is not None else 10.0)) + 0.5
    heights = page_h + [plot_h]
    fig = _figure(width_in, sum(heights) + 0.4)
    gs = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[0.8, 0.2],
                          left=0.01, right=0.99, top=0.97, bottom=0.03, hspace=0.12, wspace=0.02)
    for k, (name, image, overlay) in enumerate(pages):
        _draw_page(fig.add_subplot(gs[k, 0]), image, overlay,
                   f"{record} | {page_title(name, overlay)}")
    side = fig.add_subplot(gs[0, 1])
    side.axis("off")
    side.text(0.02, 0.98, _label_text(labels, probabilities, thresholds), family="monospace",
              fontsize=7, va="top", transform=side.transAxes)
    _colour_key(side)
    ax = fig.add_subplot(gs[len(pages), 0])
    if signal is not None:
        _draw_leads(ax, signal, fs_hz, lead_names)
        ax.set_title("digitized signal", fontsize=8, loc="left")
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, "no signal", ha="center", va="center", color="#d00000")
    if not pages:
        side.set_title(record, fontsize=9, loc="left")
    return _save(fig, path)


def _colour_key(ax) -> None:
    ax.text(0.02, 0.30, "confidence", fontsize=7, transform=ax.transAxes)
    for k, v in enumerate(np.linspace(0.0, 1.0, 11)):
        ax.add_patch(_rect((0.02 + 0.08 * k, 0.24), 0.08, 0.05, confidence_rgba(v), ax))
    ax.text(0.02, 0.21, "0", fontsize=6, transform=ax.transAxes, va="top")
    ax.text(0.90, 0.21, "1", fontsize=6, transform=ax.transAxes, va="top")
    ax.text(0.02, 0.14, "red dashed box: lead left NaN\nred dots: samples left NaN\n"
            "cyan: calibration pulse\nblue dashes: rows (0 mV)\nviolet: 10 mm square",
            fontsize=6, transform=ax.transAxes, va="top")


def _rect(xy, w, h, colour, ax):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, color=colour, transform=ax.transAxes)


def error_figure(path: str | Path, record: str, message: str) -> Path:
    """A small PNG saying why a record has no overlay."""
    fig = _figure(FIGURE_WIDTH_PX / _DPI, 1.2)
    fig.text(0.01, 0.7, record, fontsize=10)
    fig.text(0.01, 0.3, message[:160], fontsize=8, color="#d00000")
    return _save(fig, path, colours=16)


def lead_snr_chart(path: str | Path, per_lead_snr: dict[str, float]) -> Path:
    """Bar chart of the mean SNR per lead (dB)."""
    fig = _figure(FIGURE_WIDTH_PX / _DPI * 0.6, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    names = list(per_lead_snr)
    vals = np.array([per_lead_snr[n] for n in names], float)
    ax.bar(names, np.nan_to_num(vals), color=["#3060c0" if v >= 0 else "#d00000" for v in vals])
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_ylabel("mean SNR, dB", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _save(fig, path, colours=32)


def snr_histogram(path: str | Path, per_record_snr: dict[str, float]) -> Path:
    """Histogram of the per-record mean SNR (dB)."""
    fig = _figure(FIGURE_WIDTH_PX / _DPI * 0.6, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    vals = np.array([v for v in per_record_snr.values() if np.isfinite(v)], float)
    if vals.size:
        ax.hist(vals, bins=min(30, max(5, vals.size // 2)), color="#3060c0")
    ax.set_xlabel("record mean SNR, dB", fontsize=8)
    ax.set_ylabel("records", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _save(fig, path, colours=32)


def reference_figure(path: str | Path, record: str, reference: np.ndarray, estimate: np.ndarray,
                     fs_hz: float, lead_names: Sequence[str], snr_db: Sequence[float]) -> Path:
    """Reference (black) and aligned digitized (red) signal of every lead, with its SNR."""
    m = len(lead_names)
    width_in = FIGURE_WIDTH_PX / _DPI
    h = width_in * (LEAD_SPACING_MV * m * PAPER_GAIN_MM_PER_MV) / (
        PAPER_SPEED_MM_PER_S * reference.shape[0] / fs_hz) + 0.6
    fig = _figure(width_in, h)
    ax = fig.add_axes((0.01, 0.06, 0.98, 0.88))
    _draw_leads(ax, estimate, fs_hz, lead_names, reference=reference, snr_db=snr_db)
    ax.set_title(f"{record}: reference (black) and digitized (red, aligned as scored)",
                 fontsize=8, loc="left")
    return _save(fig, path, colours=64)
