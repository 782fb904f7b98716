"""Fast I/O for the batch path: annotation JSON and image bytes.

Records are read with :func:`ecgcore.wfdbio.read_signal` (numpy for the
common single-file format-16 case, ``wfdb`` for the rest).
:func:`dumps_annotation` writes the bytes of ``json.dumps`` with a
vectorised path for the long lists of trace coordinates (about 5x faster on
a 12-lead page). :func:`encode_image` encodes a page as PNG (lossless) or,
on request, JPEG or WebP at a given quality.
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any, Mapping

import numpy as np

#: Image formats of :func:`encode_image` (file suffix without the dot).
IMAGE_FORMATS: tuple[str, ...] = ("png", "jpg", "webp")

_dumps = functools.partial(json.dumps, separators=(",", ":"), allow_nan=False)
#: Values below this (absolute) are written by the vectorised path; larger go to json.
_FAST_LIMIT = 1e6
_POW10 = 10 ** np.arange(8, dtype=np.int64)


def _hundredths_text(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Text of each value (a float with at most 2 decimals, or NaN for ``null``) followed by ``,``.

    Returns the bytes and the end offset of each value's text (after its comma).
    ``values`` must satisfy ``rint(v * 100) / 100 == v`` and ``|v| < 1e6`` where finite;
    the text of each is then ``repr(v)``, the shortest decimal that reads back as ``v``.
    Each value is laid out in one row of a fixed-width character table (sign and
    integer digits right-aligned before the point), padded with spaces that are
    then removed (JSON numbers hold none).
    """
    nan = np.isnan(values)
    hundredths = np.abs(np.rint(np.where(nan, 0.0, values) * 100.0)).astype(np.int64)
    neg = np.signbit(values) & ~nan
    ip, fp = np.divmod(hundredths, 100)
    width = len(str(int(ip.max(initial=0)))) + 1  # sign and integer digits
    width = max(3, width)  # room for "nul" before the point's column
    cols = np.empty((width + 4, len(values)), np.uint8)  # one row per character column
    nd = np.ones(len(values), np.int64)  # digits of the integer part
    cols[width - 1] = 48 + ip % 10
    for c in range(width - 1):
        power = int(_POW10[width - 1 - c])
        shown = ip >= power
        nd += shown
        cols[c] = np.where(shown, 48 + (ip // power) % 10, 32)
    cols[width - 1 - nd[neg], np.flatnonzero(neg)] = ord("-")
    cols[width] = ord(".")
    cols[width + 1] = 48 + fp // 10
    two = fp % 10 != 0  # "1.25" has two decimals, "1.5" and "1.0" one
    cols[width + 2] = np.where(two, 48 + fp % 10, 32)
    cols[width + 3] = ord(",")
    length = nd + neg + 3 + two
    if nan.any():
        cols[:, nan] = 32
        cols[width - 3:width + 1, nan] = np.frombuffer(b"null", np.uint8)[:, None]
        cols[width + 3, nan] = ord(",")
        length[nan] = 5
    text = np.ascontiguousarray(cols.T).tobytes().replace(b" ", b"")
    return text, np.cumsum(length)


def _float_lists_json(lists: list[list]) -> list[str] | None:
    """``json.dumps`` text of each list of 2-decimal floats and ``None``; ``None`` if any value
    is something else (then the caller falls back to ``json``).
    """
    flat = list(itertools.chain.from_iterable(lists))
    if not flat or not set(map(type, flat)) <= {float, type(None)}:
        return None
    v = np.array(flat, dtype=np.float64)  # None -> NaN
    nan = np.isnan(v)
    if nan.any() and int(nan.sum()) != sum(x.count(None) for x in lists):
        return None  # a float NaN: json refuses it, let it say so
    finite = np.where(nan, 0.0, v)
    if not (np.abs(finite) < _FAST_LIMIT).all() or not (np.rint(finite * 100.0) / 100.0 == finite).all():
        return None
    text, end = _hundredths_text(v)
    bounds = np.cumsum([0] + [len(x) for x in lists])
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        lo = int(end[a - 1]) if a else 0
        out.append("[" + text[lo:int(end[b - 1]) - 1].decode("ascii") + "]" if b > a else "[]")
    return out


def dumps_annotation(annotation: Mapping[str, Any]) -> bytes:
    """Compact JSON bytes of an annotation: ``json.dumps(annotation, separators=(",", ":"),
    allow_nan=False)``, byte for byte, with the per-lead coordinate lists written vectorised.

    Raises
    ------
    ValueError
        A NaN or infinite float anywhere (as ``json`` does).

    Examples
    --------
    >>> dumps_annotation({"a": 1, "leads": [{"x_px": [1.5, None, -0.0, 120.25]}]})
    b'{"a":1,"leads":[{"x_px":[1.5,null,-0.0,120.25]}]}'
    """
    leads = annotation.get("leads")
    if (not isinstance(leads, list) or not all(isinstance(x, dict) for x in leads)
            or not all(isinstance(k, str) for k in annotation)):
        return _dumps(annotation).encode("utf-8")
    slots = [(i, key) for i, lead in enumerate(leads) for key in ("x_px", "y_px")
             if isinstance(lead.get(key), list)]
    texts = _float_lists_json([leads[i][key] for i, key in slots])
    if texts is None:
        return _dumps(annotation).encode("utf-8")
    fast = dict(zip(slots, texts))
    lead_texts = []
    for i, lead in enumerate(leads):
        if not all(isinstance(k, str) for k in lead):
            return _dumps(annotation).encode("utf-8")
        items = (f"{_dumps(k)}:{fast[(i, k)] if (i, k) in fast else _dumps(v)}" for k, v in lead.items())
        lead_texts.append("{" + ",".join(items) + "}")
    parts = (f"{_dumps(k)}:" + ("[" + ",".join(lead_texts) + "]" if k == "leads" else _dumps(v))
             for k, v in annotation.items())
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def encode_image(image_bgr: np.ndarray, fmt: str = "png", png_compression: int = 3,
                 noisy: bool = False, quality: int = 90) -> np.ndarray:
    """Encoded bytes (a uint8 buffer) of a BGR page or a uint8 label image.

    Parameters
    ----------
    image_bgr : ndarray, uint8, shape (H, W, 3) or (H, W)
        Channels in OpenCV's BGR order.
    fmt : {"png", "jpg", "webp"}
        PNG is lossless; JPEG and WebP are lossy at ``quality``.
    png_compression : int
        zlib level 0-9 of PNG, with the "up" filter; see :func:`ecg_image_kit.encode_png`.
    noisy : bool
        PNG only: Huffman-only coding for pages that deflate poorly.
    quality : int
        JPEG quality 1-100 or WebP quality 1-100 (WebP above 100 is lossless).

    Examples
    --------
    >>> bytes(encode_image(np.zeros((4, 5, 3), np.uint8))[1:4])
    b'PNG'
    >>> bytes(encode_image(np.zeros((8, 8, 3), np.uint8), "jpg", quality=80)[:2])
    b'\\xff\\xd8'
    """
    import cv2

    if fmt == "png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, int(png_compression),
                  cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
        if noisy:
            params += [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    elif fmt == "jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif fmt == "webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    else:
        raise ValueError(f"unknown image format {fmt!r}; valid: {', '.join(IMAGE_FORMATS)}")
    ok, buf = cv2.imencode("." + fmt, image_bgr, params)
    if not ok:
        raise RuntimeError(f"{fmt.upper()} encoding failed")
    return buf
