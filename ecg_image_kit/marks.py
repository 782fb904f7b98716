"""Text and ink on the page: the header block, handwriting-like marks and stamps.

Handwriting is procedural: words in cv2's Hershey script fonts, rotated and
warped by a smooth random displacement field, and pen strokes (circles,
underlines, arrows, ticks, scribbles) as Catmull-Rom splines through random
control points with a wobbling pen. No downloaded models.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from ecg_image_kit.paper import blend_patch, draw_text

_SHIFT = 4
_SCALE = float(1 << _SHIFT)

_DEVICES = ("ECG-1200 v3.1", "CardioScan 12", "MAC 5500 HD", "PageWriter TC50", "Cardiograph 7",
            "EKG-3000 v2.4", "ElectroCard 12L")
_WORDS = ("NSR", "ok", "AF?", "STEMI", "repeat", "see prev", "Dr. K", "LBBB", "RBBB", "ST ^",
          "call", "cf. old ECG", "inferior", "PVCs", "no change", "HR 72", "urgent", "review",
          "12:45", "03/11", "QTc?", "LVH", "done", "pt. moved", "v. low voltage")
_INKS = ((25, 45, 150), (20, 20, 25), (160, 25, 30), (40, 40, 110))


def draw_header(img: np.ndarray, rng: np.random.Generator, px_per_mm: float, lay, mm_per_s: float,
                mm_per_mv: float, font_path: str | None, color=(0, 0, 0)) -> list[str]:
    """Draw a patient-like header block and a device footer; return the text lines.

    Values are random and plausible, never derived from labels.
    """
    hr = int(rng.integers(48, 130))
    rr_ms = 60000.0 / hr
    qt = int(rng.integers(320, 440))
    qtc = int(round(qt / math.sqrt(rr_ms / 1000.0)))
    year = int(rng.integers(1995, 2025))
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[
        int(rng.integers(12))]
    lines = [
        f"ID: {int(rng.integers(10**7, 10**8))}   {int(rng.integers(1, 29)):02d}-{month}-{year} "
        f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}",
        f"Vent. rate {hr} BPM   PR interval {int(rng.integers(120, 210))} ms   "
        f"QRS duration {int(rng.integers(70, 130))} ms",
        f"QT/QTc {qt}/{qtc} ms   P-R-T axes {int(rng.integers(-30, 90))} "
        f"{int(rng.integers(-30, 100))} {int(rng.integers(-30, 120))}",
    ]
    size_px = 3.4 * px_per_mm
    for k, text in enumerate(lines):
        draw_text(img, text, 10.0 * px_per_mm, (8.0 + 6.0 * k) * px_per_mm, size_px, font_path, color)
    footer = (f"{mm_per_s:g} mm/s   {mm_per_mv:g} mm/mV   0.05-150 Hz   "
              f"{_DEVICES[int(rng.integers(len(_DEVICES)))]}")
    draw_text(img, footer, 10.0 * px_per_mm, (lay.height_mm - 4.0) * px_per_mm, size_px * 0.9,
              font_path, color)
    return lines + [footer]


def catmull_rom(points: np.ndarray, per_segment: int = 12) -> np.ndarray:
    """Dense points of a Catmull-Rom spline through ``points`` (m, 2).

    Examples
    --------
    >>> catmull_rom(np.array([[0, 0], [1, 1], [2, 0.0]]), 4).shape
    (9, 2)
    """
    p = np.asarray(points, np.float64)
    if len(p) < 2:
        return p
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-1:])
    return np.vstack(out)


def _stroke(img, pts, color, width_px):
    arr = np.round(pts * _SCALE).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img, [arr], False, color, max(1, int(round(width_px))), cv2.LINE_AA, _SHIFT)


def _warp_patch(rng, patch: np.ndarray, angle_deg: float, wobble_px: float) -> np.ndarray:
    """Rotate an alpha patch (expanding the canvas) and warp it by a smooth random field."""
    h, w = patch.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos) + 4, int(h * cos + w * sin) + 4
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(patch, m, (nw, nh), flags=cv2.INTER_LINEAR)
    if wobble_px > 0:
        gx = cv2.resize(rng.standard_normal((4, 6)).astype(np.float32), (nw, nh), interpolation=cv2.INTER_CUBIC)
        gy = cv2.resize(rng.standard_normal((4, 6)).astype(np.float32), (nw, nh), interpolation=cv2.INTER_CUBIC)
        yy, xx = np.mgrid[0:nh, 0:nw].astype(np.float32)
        out = cv2.remap(out, xx + wobble_px * gx, yy + wobble_px * gy, cv2.INTER_LINEAR)
    return out


def draw_handwriting(img: np.ndarray, count: int, rng: np.random.Generator, px_per_mm: float,
                     font_path: str | None = None, bgr: bool = False) -> list[dict[str, Any]]:
    """Draw ``count`` handwriting-like marks in pen colours; return their kinds and boxes.

    ``bgr``: ``img`` has its channels in BGR order.

    Examples
    --------
    >>> img = np.full((300, 400, 3), 255, np.uint8)
    >>> marks = draw_handwriting(img, 3, np.random.default_rng(0), 4.0)
    >>> len(marks), bool(img.min() < 200)
    (3, True)
    """
    h, w = img.shape[:2]
    out: list[dict[str, Any]] = []
    for _ in range(count):
        ink = tuple(int(np.clip(c + rng.normal(0, 10), 0, 255)) for c in _INKS[int(rng.integers(len(_INKS)))])
        ink = ink[::-1] if bgr else ink
        pen = rng.uniform(0.25, 0.5) * px_per_mm
        kind = ("word", "word", "circle", "underline", "arrow", "tick", "scribble")[int(rng.integers(7))]
        cx, cy = rng.uniform(0.05 * w, 0.95 * w), rng.uniform(0.05 * h, 0.95 * h)
        if kind == "word":
            text = _WORDS[int(rng.integers(len(_WORDS)))]
            size_mm = rng.uniform(4.0, 8.0)
            scale = size_mm * px_per_mm / 22.0
            face = (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)[int(rng.integers(2))]
            thick = max(1, int(round(pen)))
            (tw, th), base = cv2.getTextSize(text, face, scale, thick)
            pad = thick + 4
            patch = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
            cv2.putText(patch, text, (pad, th + pad), face | (cv2.FONT_ITALIC if rng.random() < 0.5 else 0),
                        scale, 255, thick, cv2.LINE_AA)
            patch = _warp_patch(rng, patch, rng.uniform(-20, 20), 0.15 * size_mm * px_per_mm / 4)
            x, y = int(cx - patch.shape[1] / 2), int(cy - patch.shape[0] / 2)
            blend_patch(img, patch, x, y, ink, rng.uniform(0.75, 1.0))
            box = [x, y, x + patch.shape[1], y + patch.shape[0]]
            out.append(dict(kind=kind, text=text, bbox=[float(v) for v in box]))
            continue
        if kind == "circle":
            rx, ry = rng.uniform(5, 20, 2) * px_per_mm
            a = np.linspace(0, 2 * math.pi + rng.uniform(0.2, 0.8), 14) + rng.uniform(0, 2 * math.pi)
            r = 1 + rng.normal(0, 0.06, a.size)
            ctrl = np.c_[cx + rx * r * np.cos(a), cy + ry * r * np.sin(a)]
        elif kind == "underline":
            length = rng.uniform(15, 60) * px_per_mm
            xs = np.linspace(cx - length / 2, cx + length / 2, 6)
            ctrl = np.c_[xs, cy + rng.normal(0, 0.6 * px_per_mm, 6)]
        elif kind == "arrow":
            ang = rng.uniform(0, 2 * math.pi)
            length = rng.uniform(15, 40) * px_per_mm
            tip = np.array([cx + length * math.cos(ang), cy + length * math.sin(ang)])
            mid = np.array([cx, cy]) + (tip - [cx, cy]) / 2 + rng.normal(0, 2 * px_per_mm, 2)
            ctrl = np.vstack([[cx, cy], mid, tip])
            head = 3.5 * px_per_mm
            for da in (2.6, -2.6):
                barb = tip + head * np.array([math.cos(ang + da), math.sin(ang + da)])
                _stroke(img, np.vstack([tip, barb]), ink, pen)
        elif kind == "tick":
            s = rng.uniform(3, 7) * px_per_mm
            ctrl = np.array([[cx - s, cy - 0.2 * s], [cx - 0.4 * s, cy + 0.5 * s], [cx + s, cy - s]])
        else:  # scribble
            ctrl = np.c_[cx + np.cumsum(rng.normal(0, 3, 9)) * px_per_mm,
                         cy + np.cumsum(rng.normal(0, 2, 9)) * px_per_mm]
        pts = catmull_rom(ctrl, 16)
        pts = pts + rng.normal(0, 0.05 * px_per_mm, pts.shape)
        _stroke(img, pts, ink, pen)
        out.append(dict(kind=kind, bbox=[round(float(v), 1) for v in (*pts.min(0), *pts.max(0))]))
    return out


def draw_stamps(img: np.ndarray, count: int, rng: np.random.Generator, px_per_mm: float,
                font_path: str | None = None, bgr: bool = False) -> list[dict[str, Any]]:
    """Draw ``count`` rubber-stamp marks (framed text, patchy ink); return their boxes."""
    h, w = img.shape[:2]
    out: list[dict[str, Any]] = []
    words = ("RECEIVED", "COPY", "REVIEWED", "CONFIDENTIAL", "SCANNED", "ARCHIVE")
    for _ in range(count):
        text = words[int(rng.integers(len(words)))]
        ink = ((180, 30, 40), (40, 60, 160), (110, 40, 130))[int(rng.integers(3))]
        ink = ink[::-1] if bgr else ink
        scale = rng.uniform(5, 9) * px_per_mm / 22.0
        thick = max(1, int(round(0.5 * px_per_mm)))
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, thick)
        pad = int(2.5 * px_per_mm)
        patch = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
        cv2.putText(patch, text, (pad, th + pad), cv2.FONT_HERSHEY_DUPLEX, scale, 255, thick, cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.rectangle(patch, (thick, thick), (patch.shape[1] - 1 - thick, patch.shape[0] - 1 - thick),
                          255, thick, cv2.LINE_AA)
        else:
            cv2.ellipse(patch, (patch.shape[1] // 2, patch.shape[0] // 2),
                        (patch.shape[1] // 2 - thick, patch.shape[0] // 2 - thick), 0, 0, 360, 255, thick,
                        cv2.LINE_AA)
        patch = _warp_patch(rng, patch, rng.uniform(-30, 30), 0.0)
        texture = rng.uniform(0.45, 1.0, patch.shape).astype(np.float32)
        texture = cv2.GaussianBlur(texture, (0, 0), 1.0)
        patch = np.clip(patch * texture, 0, 255).astype(np.uint8)
        x = int(rng.uniform(0, max(1, w - patch.shape[1])))
        y = int(rng.uniform(0, max(1, h - patch.shape[0])))
        blend_patch(img, patch, x, y, ink, rng.uniform(0.6, 0.9))
        out.append(dict(kind="stamp", text=text,
                        bbox=[float(x), float(y), float(x + patch.shape[1]), float(y + patch.shape[0])]))
    return out
