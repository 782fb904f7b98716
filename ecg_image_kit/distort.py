"""Distortions: page geometry (one homography) and photometric effects.

Geometry: rotation about the page centre, a perspective warp (random corner
displacements) and crop/pad are composed into a single 3x3 homography, so
the image is resampled once and every ground-truth coordinate is mapped
exactly by the same matrix.

Photometric effects that multiply the image (uneven light, shadow,
wrinkles, blotches, creases, stains, colour temperature, banding) are accumulated in
one eighth-resolution gain map, upsampled once and applied with one saturating
``cv2.multiply``; then blur, Gaussian noise (a byte stream mapped through a
normal-quantile look-up table), salt and pepper and a JPEG round trip.
Each effect draws from its own seeded stream.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import cv2
import numpy as np
from ecg_image_kit.config import stream

_GAIN_SCALE = 127.5  # uint8 gain code: value / 127.5, so gains up to 2


def geometry(p: dict[str, Any], width_px: int, height_px: int, seed: int):
    """Homography (page -> image) and output size for rotation, perspective, crop/pad.

    Parameters
    ----------
    p : dict
        Sampled parameters (``rotation_deg``, ``perspective``, ``crop``, ``pad``).
    width_px, height_px : int
        Page size.
    seed : int

    Returns
    -------
    hmat : ndarray, shape (3, 3), or None
        ``None`` when there is no geometric distortion.
    out_w, out_h : int
        Output image size.
    derived : dict
        Sampled details (``rotation_deg``, ``perspective_corners_px``, ``crop_px``).

    Examples
    --------
    >>> h, w, hh, d = geometry({"rotation_deg": 0, "perspective": 0, "crop": 0, "pad": 0}, 100, 50, 0)
    >>> h is None, w, hh
    (True, 100, 50)
    """
    rot = float(p.get("rotation_deg") or 0.0)
    persp = float(p.get("perspective") or 0.0)
    crop = float(p.get("crop") or 0.0)
    pad = float(p.get("pad") or 0.0)
    derived: dict[str, Any] = {"rotation_deg": rot}
    if rot == 0.0 and persp == 0.0 and crop == 0.0 and pad == 0.0:
        return None, width_px, height_px, derived
    hmat = np.eye(3)
    if persp > 0:
        rng = stream(seed, "perspective")
        src = np.array([[0, 0], [width_px - 1, 0], [width_px - 1, height_px - 1], [0, height_px - 1]],
                       np.float64)
        d = rng.uniform(-persp, persp, (4, 2)) * np.array([width_px, height_px])
        hmat = cv2.getPerspectiveTransform(src.astype(np.float32), (src + d).astype(np.float32))
        derived["perspective_corners_px"] = np.round(d, 2).tolist()
    if rot != 0.0:
        r = np.eye(3)
        r[:2] = cv2.getRotationMatrix2D(((width_px - 1) / 2.0, (height_px - 1) / 2.0), rot, 1.0)
        hmat = r @ hmat
    out_w, out_h = width_px, height_px
    if crop > 0 or pad > 0:
        rng = stream(seed, "crop_pad")
        frac = rng.uniform(-pad, crop, 4)  # left, top, right, bottom; negative = pad
        cut = np.round(frac * np.array([width_px, height_px, width_px, height_px])).astype(int)
        out_w = int(width_px - cut[0] - cut[2])
        out_h = int(height_px - cut[1] - cut[3])
        t = np.eye(3)
        t[0, 2], t[1, 2] = -cut[0], -cut[1]
        hmat = t @ hmat
        derived["crop_px"] = cut.tolist()
    return hmat / hmat[2, 2], out_w, out_h, derived


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth random field in [-1, 1]-ish: Gaussian noise on a coarse grid, bicubic-upsampled."""
    h, w = shape
    ch = max(2, int(round(cells * h / max(h, w))) + 2)
    cw = max(2, int(round(cells * w / max(h, w))) + 2)
    coarse = rng.standard_normal((ch, cw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _wrinkles(rng, h, w, strength) -> np.ndarray:
    height = np.zeros((h, w), np.float32)
    for cells, amp in ((4, 1.0), (9, 0.5), (18, 0.2)):
        height -= amp * np.abs(_smooth_noise(rng, (h, w), cells))  # ridged: sharp creases
    gy, gx = np.gradient(height)
    ang = rng.uniform(0, 2 * math.pi)
    shade = gx * math.cos(ang) + gy * math.sin(ang)
    shade /= float(shade.std()) + 1e-6
    return 1.0 + 0.05 * strength * np.clip(shade, -3, 3)


def _blotches(rng, h, w, strength) -> np.ndarray:
    """Mottled dark patches: a few coarse noise octaves, thresholded so that about a quarter
    of the page darkens, steeply towards the patches' cores (up to 85 % at strength 1)."""
    t = np.zeros((h, w), np.float32)
    for cells, amp in ((5, 1.0), (11, 0.6), (23, 0.35), (47, 0.2)):
        t += amp * _smooth_noise(rng, (h, w), cells)
    t /= float(t.std()) + 1e-6
    lo = float(np.quantile(t, rng.uniform(0.6, 0.85)))
    dark = np.clip((t - lo) / 1.2, 0.0, 1.0) ** 1.3
    return 1.0 - 0.85 * strength * dark


def _creases(rng, h, w, count, low_px_per_mm) -> np.ndarray:
    g = np.ones((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(count):
        if rng.random() < 0.8:  # folds mostly across or along the page
            ang = (0.0 if rng.random() < 0.5 else math.pi / 2) + rng.normal(0, 0.05)
        else:
            ang = rng.uniform(0, math.pi)
        cx, cy = rng.uniform(0.2 * w, 0.8 * w), rng.uniform(0.2 * h, 0.8 * h)
        nx, ny = -math.sin(ang), math.cos(ang)
        d = (xx - cx) * nx + (yy - cy) * ny
        width = rng.uniform(1.5, 5.0) * low_px_per_mm
        depth = rng.uniform(0.03, 0.09)
        e = np.exp(-np.abs(d) / width)
        g *= 1.0 - depth * e * (d > 0) + 0.4 * depth * e * (d <= 0)
        g *= 1.0 - rng.uniform(0.1, 0.25) * np.exp(-(d / max(0.6, 0.2 * low_px_per_mm)) ** 2)
    return g


def _stains(rng, h, w, count, low_px_per_mm) -> np.ndarray:
    g = np.ones((h, w, 3), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(count):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        radius = rng.uniform(8.0, 35.0) * low_px_per_mm
        theta = np.arctan2(yy - cy, xx - cx)
        r = np.hypot(xx - cx, yy - cy)
        wobble = np.zeros_like(theta)
        for k in range(2, 6):
            wobble += rng.uniform(0, 0.08) * np.sin(k * theta + rng.uniform(0, 2 * math.pi))
        rr = r / (radius * (1.0 + wobble))
        tint = np.array([rng.uniform(0.75, 0.95), rng.uniform(0.55, 0.8), rng.uniform(0.3, 0.6)],
                        np.float32)
        fill = rng.uniform(0.1, 0.45)
        texture = 0.65 + 0.35 * np.clip(_smooth_noise(rng, (h, w), 40), -1, 1)
        inside = 1.0 / (1.0 + np.exp(np.clip((rr - 1.0) * 25.0, -30.0, 30.0)))
        ring = np.exp(-((rr - 0.985) / 0.03) ** 2) * rng.uniform(0.4, 0.9)
        amount = np.clip(fill * inside * texture + ring * (1 - fill), 0, 1)[..., None]
        g *= 1.0 - amount * (1.0 - tint)
    return g


def _lighting(rng, h, w, strength) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xn, yn = xx / w - 0.5, yy / h - 0.5
    cx, cy = rng.uniform(-0.4, 0.4, 2)
    vignette = (xn - cx) ** 2 + (yn - cy) ** 2
    a, b = rng.normal(0, 1, 2)
    grad = (a * xn + b * yn) / (math.hypot(a, b) + 1e-6)
    return np.clip(1.0 - strength * (0.7 * vignette + 0.35 * (grad + 0.5)), 0.2, 1.2)


def _shadow(rng, h, w, strength) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    nx, ny = math.cos(ang), math.sin(ang)
    px, py = rng.uniform(0.1 * w, 0.9 * w), rng.uniform(0.1 * h, 0.9 * h)
    d = (xx - px) * nx + (yy - py) * ny
    soft = rng.uniform(0.01, 0.08) * max(h, w)
    with np.errstate(over="ignore"):  # far on the lit side exp overflows to inf: gain 1
        return 1.0 - strength * 0.6 / (1.0 + np.exp(-d / soft))


def _color_gains(temp_k: float) -> np.ndarray:
    t = (temp_k - 6500.0) / 2500.0
    r = 1.0 - 0.10 * max(t, 0.0)
    b = 1.0 - 0.14 * max(-t, 0.0)
    g = 1.0 - 0.03 * abs(t)
    return np.array([r, g, b], np.float32)


@functools.lru_cache(maxsize=1)
def _normal_quantiles() -> np.ndarray:
    """Standard normal quantiles at (k + 0.5) / 256, k = 0..255 (bisection on erf; no scipy)."""
    out = np.empty(256)
    for k in range(256):
        p = (k + 0.5) / 256.0
        lo, hi = -10.0, 10.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < p:
                lo = mid
            else:
                hi = mid
        out[k] = 0.5 * (lo + hi)
    return out


def noise_lut(sigma: float) -> np.ndarray:
    """Look-up table byte -> ``128 + round(sigma * z)`` with ``z`` the byte's normal quantile.

    Examples
    --------
    >>> lut = noise_lut(10.0)
    >>> int(lut[0]), int(lut[127]), int(lut[128]), int(lut[255])
    (99, 128, 128, 157)
    """
    return np.clip(np.round(128.0 + sigma * _normal_quantiles()), 0, 255).astype(np.uint8)


def random_bytes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform random bytes (uint8) straight from the bit generator's raw 64-bit output."""
    return rng.bit_generator.random_raw((n + 7) // 8).view(np.uint8)[:n]


def add_gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian luminance noise (the same on all channels), saturating; uint8 in and out.

    Random bytes (:func:`random_bytes`) are mapped through a normal-quantile
    look-up table (256 levels, tails cut at +-2.9 sigma), spread over the
    channels and added with one ``cv2.addWeighted``.

    Examples
    --------
    >>> out = add_gaussian_noise(np.full((80, 90, 3), 128, np.uint8), 5.0, np.random.default_rng(0))
    >>> bool((out[..., 0] == out[..., 2]).all()), bool(4.5 < out.std() < 5.5)
    (True, True)
    """
    h, w = img.shape[:2]
    noise = cv2.LUT(random_bytes(rng, h * w).reshape(h, w), noise_lut(sigma))
    if img.ndim == 3 and img.shape[2] == 3:
        noise = cv2.cvtColor(noise, cv2.COLOR_GRAY2RGB)
    elif img.ndim == 3:
        noise = np.repeat(noise[..., None], img.shape[2], axis=2)
    return cv2.addWeighted(img, 1.0, noise, 1.0, -128.0)


def photometric(img: np.ndarray, p: dict[str, Any], seed: int, px_per_mm: float, bgr: bool = False):
    """Apply the photometric distortions of ``p`` to ``img`` (uint8 RGB, or BGR with ``bgr``).

    Returns
    -------
    img : ndarray, uint8
    derived : dict
        Details that were sampled here.

    Examples
    --------
    >>> img = np.full((40, 60, 3), 255, np.uint8)
    >>> out, _ = photometric(img, {"noise_std": 5.0}, 0, 4.0)
    >>> out.shape, out.dtype, bool(out.std() > 0)
    ((40, 60, 3), dtype('uint8'), True)
    """
    derived: dict[str, Any] = {}
    h, w = img.shape[:2]
    lh, lw = max(2, (h + 7) // 8), max(2, (w + 7) // 8)
    low_ppm = px_per_mm / 8.0
    gain = None

    def mul(g):
        nonlocal gain
        g = g if g.ndim == 3 else g[..., None]
        gain = g if gain is None else gain * g

    if float(p.get("lighting") or 0) > 0:
        mul(_lighting(stream(seed, "lighting"), lh, lw, float(p["lighting"])))
    if float(p.get("shadow") or 0) > 0:
        mul(_shadow(stream(seed, "shadow"), lh, lw, float(p["shadow"])))
    if float(p.get("wrinkles") or 0) > 0:
        mul(_wrinkles(stream(seed, "wrinkles"), lh, lw, float(p["wrinkles"])))
    if float(p.get("blotches") or 0) > 0:
        mul(_blotches(stream(seed, "blotches"), lh, lw, float(p["blotches"])))
    if int(p.get("creases") or 0) > 0:
        mul(_creases(stream(seed, "creases"), lh, lw, int(p["creases"]), low_ppm))
    if int(p.get("stains") or 0) > 0:
        mul(_stains(stream(seed, "stains"), lh, lw, int(p["stains"]), low_ppm))
    temp = p.get("color_temperature_k")
    if temp:
        cg = _color_gains(float(temp))
        gain = (np.ones((lh, lw, 1), np.float32) if gain is None else gain) * cg
    band = None
    if float(p.get("banding") or 0) > 0:
        rng = stream(seed, "banding")
        prof = np.zeros(h, np.float32)
        y = np.arange(h, dtype=np.float32)
        for _ in range(3):
            period = rng.uniform(4.0, 60.0) * px_per_mm
            prof += np.sin(2 * np.pi * y / period + rng.uniform(0, 2 * np.pi)).astype(np.float32)
        prof += 0.5 * np.repeat(rng.standard_normal(h // 8 + 1), 8)[:h].astype(np.float32)
        band = 1.0 + 0.05 * float(p["banding"]) * prof
    if gain is not None or band is not None:
        if gain is None:
            gain = np.ones((lh, lw, 1), np.float32)
        if gain.shape[2] == 1:
            gain = np.repeat(gain, 3, axis=2)
        elif bgr:
            gain = gain[..., ::-1]
        code = np.clip(gain * _GAIN_SCALE + 0.5, 0, 255).astype(np.uint8)
        full = cv2.resize(code, (w, h), interpolation=cv2.INTER_LINEAR)
        if band is not None:
            full = np.clip(full * band[:, None, None] + 0.5, 0, 255).astype(np.uint8)
        img = cv2.multiply(img, full, scale=1.0 / _GAIN_SCALE)
    sigma = float(p.get("blur_sigma_px") or 0)
    if sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    nstd = float(p.get("noise_std") or 0)
    if nstd > 0:
        img = add_gaussian_noise(img, nstd, stream(seed, "noise"))
    sp = float(p.get("salt_pepper") or 0)
    if sp > 0:
        rng = stream(seed, "salt_pepper")
        count = int(sp * h * w)
        idx = rng.integers(0, h * w, count)
        flat = img.reshape(h * w, -1)
        flat[idx[: count // 2]] = 0
        flat[idx[count // 2:]] = 255
    q = p.get("jpeg_quality")
    if q:
        ok, buf = cv2.imencode(".jpg", img if bgr else img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(q)])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        img = img if bgr else np.ascontiguousarray(img[..., ::-1])
    return img, derived
