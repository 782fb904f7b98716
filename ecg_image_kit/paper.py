"""The blank page: ECG grids (cached per size and style) and text drawing.

Grids are computed once per (size, dpi, style, colour) with vectorised
anti-aliased line profiles and kept in a small in-process cache; a page
starts as a copy of the cached grid. Text is drawn with TrueType fonts found
under ``/usr/share/fonts`` (Debian ``fonts-dejavu`` and friends) through
Pillow, each string rendered once into a cached alpha patch; without any
TrueType font the cv2 Hershey fonts are used instead, so rendering never
fails for lack of fonts.
"""

from __future__ import annotations

import colorsys
import functools
import glob
import os

import cv2
import numpy as np

from ecgcore.constants import LARGE_SQUARE_MM, SMALL_SQUARE_MM

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
_FONT_PREFERENCES = {
    "sans": ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "FreeSans.ttf"),
    "serif": ("DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "FreeSerif.ttf"),
    "mono": ("DejaVuSansMono.ttf", "LiberationMono-Regular.ttf", "FreeMono.ttf"),
}
FONT_FAMILIES: tuple[str, ...] = ("sans", "serif", "mono", "random")


def _coverage(n: int, spacing_px: float, offset_px: float, width_px: float) -> np.ndarray:
    """Fraction of each pixel (centres 0..n-1) covered by lines of ``width_px``.

    Lines lie at ``offset_px + k * spacing_px``; a box filter of one pixel.
    """
    pos = np.arange(n, dtype=np.float64)
    d = np.abs((pos - offset_px + spacing_px / 2.0) % spacing_px - spacing_px / 2.0)
    w = max(width_px, 1e-3)
    cov = np.clip(0.5 + w / 2.0 - d, 0.0, min(1.0, w))
    return cov.astype(np.float32)


def grid_colors(style: str, color, rng_color: np.random.Generator | None = None):
    """(minor RGB, major RGB) of a grid style; ``random_color`` uses ``rng_color``."""
    from ecg_image_kit.config import GRID_COLORS

    if style == "bw":
        major = np.array([110, 110, 110], np.float32)
    elif style == "random_color":
        rng = rng_color if rng_color is not None else np.random.default_rng(0)
        h = float(rng.random())
        major = np.array(colorsys.hsv_to_rgb(h, 0.55, 0.85), np.float32) * 255
    else:
        major = np.array(GRID_COLORS[color] if isinstance(color, str) else color, np.float32)
    minor = 255 - (255 - major) * 0.45
    return minor, major


@functools.lru_cache(maxsize=6)
def _grid_cached(width_px: int, height_px: int, px_per_mm: float, style: str,
                 minor: tuple, major: tuple, paper: tuple) -> np.ndarray:
    paper_c = np.array(paper, np.float32)
    out = np.empty((height_px, width_px, 3), np.uint8)
    if style == "none":
        out[:] = np.array(paper, np.uint8)
        out.setflags(write=False)
        return out
    minor_c = np.array(minor, np.float32)
    major_c = np.array(major, np.float32)
    small = SMALL_SQUARE_MM * px_per_mm
    large = LARGE_SQUARE_MM * px_per_mm
    if style == "dotted":
        dot = max(1.0, 0.2 * px_per_mm)
        a_minor = _coverage(height_px, small, 0.0, dot)[:, None] * _coverage(width_px, small, 0.0, dot)[None, :]
        big = dot * 1.6
        a_major = np.maximum(
            _coverage(height_px, large, 0.0, big)[:, None] * _coverage(width_px, small, 0.0, big)[None, :],
            _coverage(height_px, small, 0.0, big)[:, None] * _coverage(width_px, large, 0.0, big)[None, :])
    else:
        w_minor = max(0.6, 0.1 * px_per_mm)
        w_major = max(1.0, 0.2 * px_per_mm)
        a_minor = np.maximum(_coverage(height_px, small, 0.0, w_minor)[:, None],
                             _coverage(width_px, small, 0.0, w_minor)[None, :])
        a_major = np.maximum(_coverage(height_px, large, 0.0, w_major)[:, None],
                             _coverage(width_px, large, 0.0, w_major)[None, :])
    for c in range(3):  # one channel at a time keeps the float temporaries small
        ch = paper_c[c] + a_minor * (minor_c[c] - paper_c[c])
        ch += a_major * (major_c[c] - ch)
        out[..., c] = np.clip(ch + 0.5, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def grid_page(width_px: int, height_px: int, px_per_mm: float, style: str, minor, major,
              paper_color) -> np.ndarray:
    """A writable page with the grid drawn; grid lines at multiples of 1 mm from (0, 0).

    Parameters
    ----------
    width_px, height_px : int
    px_per_mm : float
    style : str
        One of :data:`ecg_image_kit.config.GRID_STYLES`.
    minor, major, paper_color : RGB

    Returns
    -------
    ndarray, uint8, shape (height_px, width_px, 3)

    Examples
    --------
    >>> img = grid_page(100, 80, 200 / 25.4, "standard", (250, 180, 180), (235, 80, 80), (255, 255, 255))
    >>> img.shape, img.dtype, int(img[0, 0, 1]) < 200
    ((80, 100, 3), dtype('uint8'), True)
    """
    if style not in ("standard", "random_color", "bw", "dotted", "none"):
        raise ValueError(f"unknown grid style {style!r}; valid: standard, random_color, bw, dotted, none")
    key = (int(width_px), int(height_px), float(px_per_mm), style,
           tuple(int(round(v)) for v in minor), tuple(int(round(v)) for v in major),
           tuple(int(v) for v in paper_color))
    return _grid_cached(*key).copy()


# --------------------------------------------------------------------------- text

@functools.lru_cache(maxsize=1)
def _all_ttf() -> tuple[str, ...]:
    found: list[str] = []
    for d in _FONT_DIRS:
        if os.path.isdir(d):
            found += glob.glob(os.path.join(d, "**", "*.ttf"), recursive=True)
    return tuple(sorted(found))


def find_font(family: str) -> str | None:
    """Path of a TrueType font of ``family`` ("sans", "serif", "mono"), or ``None``."""
    fonts = _all_ttf()
    by_name = {os.path.basename(p): p for p in fonts}
    for name in _FONT_PREFERENCES.get(family, ()):
        if name in by_name:
            return by_name[name]
    plain = [p for p in fonts if not any(s in os.path.basename(p) for s in ("Bold", "Oblique", "Italic", "Light"))]
    return plain[0] if plain else (fonts[0] if fonts else None)


@functools.lru_cache(maxsize=32)
def _truetype(font_path: str, size_px: int):
    """A loaded Pillow font (loading one costs about 0.3 ms; pages share a few sizes)."""
    from PIL import ImageFont

    return ImageFont.truetype(font_path, size_px)


@functools.lru_cache(maxsize=512)
def text_patch(text: str, font_path: str | None, size_px: int) -> tuple[np.ndarray, int]:
    """Alpha patch (uint8, 0..255) of ``text`` and its baseline offset from the top.

    Uses Pillow with ``font_path`` when given and loadable, else a Hershey font.
    """
    size_px = max(6, int(size_px))
    if font_path is not None:
        try:
            from PIL import Image, ImageDraw

            font = _truetype(font_path, size_px)
            x0, y0, x1, y1 = font.getbbox(text)
            ascent, _ = font.getmetrics()
            w, h = max(1, x1 - x0 + 2), max(1, y1 - y0 + 2)
            im = Image.new("L", (w, h), 0)
            ImageDraw.Draw(im).text((1 - x0, 1 - y0), text, font=font, fill=255)
            arr = np.asarray(im, dtype=np.uint8).copy()
            arr.setflags(write=False)
            return arr, ascent - y0 + 1
        except (OSError, ImportError):
            pass
    scale = size_px / 30.0
    thick = max(1, int(round(size_px / 14)))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    arr = np.zeros((h + base + 2 * thick, w + 2 * thick), np.uint8)
    cv2.putText(arr, text, (thick, h + thick), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
    arr.setflags(write=False)
    return arr, h + thick


def blend_patch(img: np.ndarray, alpha: np.ndarray, x: int, y: int, color, opacity: float = 1.0) -> None:
    """Blend a uint8 alpha patch in ``color`` into ``img`` at top-left (x, y), clipped."""
    h, w = alpha.shape
    H, W = img.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32) * (opacity / 255.0)
    region = img[y0:y1, x0:x1].astype(np.float32)
    region += a[..., None] * (np.asarray(color, np.float32) - region)
    img[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def draw_text(img: np.ndarray, text: str, x_px: float, y_baseline_px: float, size_px: float,
              font_path: str | None, color=(0, 0, 0)) -> list[float]:
    """Draw ``text`` with its left end at ``x_px`` and baseline at ``y_baseline_px``.

    Returns
    -------
    list of float
        Bounding box ``[x0, y0, x1, y1]`` of the drawn patch in page pixels.
    """
    alpha, base = text_patch(text, font_path, int(round(size_px)))
    x = int(round(x_px))
    y = int(round(y_baseline_px)) - base
    blend_patch(img, alpha, x, y, color)
    h, w = alpha.shape
    return [float(x), float(y), float(x + w), float(y + h)]
