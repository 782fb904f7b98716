"""Image loading and normalisation (stage 1 of the digitizer).

Any input image (uint8 or float, grey ``(H, W)``, ``(H, W, 1)``, RGB or RGBA) is turned into a
float32 RGB array in ``[0, 1]`` and two derived maps:

* ``ink`` -- darkness of the ink, high on the trace, low on a coloured grid and on white
  paper: ``1 - max(R, G, B)`` on grey pages; on a coloured grid the darkness of the channel in
  which the grid is brightest (red for red/pink/orange grids), so the grid nearly vanishes and
  black, blue or green traces all stay dark.
* ``grid`` -- a map in which the grid lines are bright: the colour saturation
  ``max - min`` over channels for colour grids, or the darkness itself for grey images.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["NormalisedImage", "read_image", "image_info", "confined_path", "MAX_IMAGE_PIXELS",
           "to_float_rgb", "flatten_background", "normalise_image", "paper_mask",
           "page_surround"]

#: Largest image (width x height) that :func:`read_image` decodes: 100 M pixels take 300 MB
#: as 8-bit RGB and a few times that in the digitizer's float maps.  A Challenge page
#: (2200 x 1700 px at 200 dpi) has 3.7 M; a page scanned at 1200 dpi 135 M.  Checked from the
#: file's header, before anything is decoded (a 30 kB PNG can claim 30000 x 30000 px).
MAX_IMAGE_PIXELS = 100_000_000


#: Share of pixels darker than the ink level above which the grid lines may themselves be
#: ink-dark (a trace, its labels and the pulses cover 1-3 % of a page; a dark 1-mm grid
#: 15-40 %, shadows and stamps on a light grid up to ~10 %).
DARK_GRID_SHARE = 0.04

#: Window (px) of the local paper level that :func:`flatten_background` divides out: wider than
#: a trace stroke and than one 1-mm grid cell at 100-300 dpi (4-12 px), so that every window
#: holds some bare paper, and narrow enough to follow the edge of a wrinkle's shadow.  A
#: 31-px window let the paper around a shadow set the level inside it: shadows became ink.
BACKGROUND_WINDOW_PX = 12
#: Blur (sigma, px) before the paper level is read: enough to quiet pixel and compression
#: noise, small against the gap between 1-mm grid lines (4-12 px at 100-300 dpi).
PAPER_BLUR_PX = 2.0

#: A pixel darker than this share of the page's bright paper level (its 90th percentile) may
#: be the surround of the page: the table or the black corners a rotated photo or scan adds.
SURROUND_LEVEL = 0.1
#: The surround of a page photographed on a dark grey table, with no black beside it, may be
#: this light (see :func:`page_surround`).
SURROUND_LEVEL_GREY = 0.2


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: JPEG start-of-frame markers (they carry the size): C0-CF less DHT, JPG and DAC.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _png_info(fh) -> tuple[int, int, bool]:
    """Width, height and alpha (colour type 4/6 or a ``tRNS`` chunk) of a PNG stream."""
    head = fh.read(33)
    if len(head) < 33 or head[12:16] != b"IHDR":
        raise ValueError("truncated PNG header")
    width, height = struct.unpack(">II", head[16:24])
    alpha = head[25] in (4, 6)
    fh.seek(33)
    for _ in range(10_000):  # the chunks before the image data (tRNS comes before IDAT)
        chunk = fh.read(8)
        if len(chunk) < 8 or chunk[4:8] in (b"IDAT", b"IEND"):
            break
        if chunk[4:8] == b"tRNS":
            alpha = True
            break
        fh.seek(struct.unpack(">I", chunk[:4])[0] + 4, 1)
    return width, height, alpha


def _jpeg_info(fh) -> tuple[int, int, bool]:
    """Width and height of a JPEG stream from its start-of-frame segment."""
    fh.seek(2)
    for _ in range(10_000):
        byte = fh.read(1)
        while byte == b"\xff":  # fill bytes before a marker
            byte = fh.read(1)
        if not byte:
            break
        marker = byte[0]
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a segment
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            break
        length = fh.read(2)
        if len(length) < 2:
            break
        if marker in _JPEG_SOF:
            frame = fh.read(5)
            if len(frame) < 5:
                break
            height, width = struct.unpack(">HH", frame[1:5])
            return width, height, False
        fh.seek(struct.unpack(">H", length)[0] - 2, 1)
        if fh.read(1) != b"\xff":
            break
        fh.seek(-1, 1)
    raise ValueError("no JPEG frame header")


def image_info(path) -> tuple[int, int, bool]:
    """Width, height (px) and whether there is an alpha channel, from the file's header only.

    PNG and JPEG headers are parsed here; other formats through Pillow's lazy ``open``,
    which reads the header and decodes nothing.

    Raises
    ------
    OSError
        When the file cannot be read.
    ValueError
        When the file is empty or its header is not that of an image (the message names the
        file).

    Examples
    --------
    >>> import tempfile, cv2
    >>> p = Path(tempfile.mkdtemp()) / "a.png"
    >>> _ = cv2.imwrite(str(p), np.zeros((3, 5, 4), np.uint8))
    >>> image_info(p)
    (5, 3, True)
    """
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(8)
        fh.seek(0)
        try:
            if not magic:
                raise ValueError("empty file")
            if magic == _PNG_SIGNATURE:
                return _png_info(fh)
            if magic[:2] == b"\xff\xd8":
                return _jpeg_info(fh)
        except (ValueError, struct.error) as exc:
            raise ValueError(f"{path}: not a readable image ({exc})") from None
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                (width, height), mode = im.size, im.mode
                alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{path}: image larger than MAX_IMAGE_PIXELS ({exc}); not decoded") \
            from None
    except (Image.UnidentifiedImageError, SyntaxError, struct.error, ValueError) as exc:
        raise ValueError(f"{path}: not an image whose size can be read before decoding "
                         f"({type(exc).__name__}: {exc})") from None
    return int(width), int(height), bool(alpha)


def confined_path(folder, name: str) -> Path:
    """``folder / name`` when it stays inside ``folder`` (symbolic links followed).

    A header's ``# Image:`` entry is relative to the header's folder; an absolute path, a
    ``..`` that leaves the folder or a link to a file outside it is refused.

    Raises
    ------
    ValueError
        Naming the entry and the folder.

    Examples
    --------
    >>> confined_path("/data/a", "r1-0.png").as_posix()
    '/data/a/r1-0.png'
    >>> confined_path("/data/a", "../../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: image entry '../../etc/passwd' points outside the record's folder /data/a
    """
    folder = Path(folder)
    rel = Path(name)
    path = folder / rel
    try:
        inside = (not rel.is_absolute() and bool(name.strip())
                  and path.resolve().is_relative_to(folder.resolve()))
    except (OSError, ValueError, RuntimeError):  # NUL bytes, link loops
        inside = False
    if not inside:
        raise ValueError(f"image entry {name!r} points outside the record's folder {folder}")
    return path


def _composite_on_white(raw: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` BGRA (8 or 16 bit) as ``(H, W, 3)`` uint8 RGB on white paper."""
    top = float(np.iinfo(raw.dtype).max) if raw.dtype.kind in "ui" else 1.0
    a = raw[:, :, 3].astype(np.float32) * np.float32(1.0 / top)
    out = np.empty(raw.shape[:2] + (3,), np.uint8)
    for k in range(3):  # one float plane at a time
        c = raw[:, :, 2 - k].astype(np.float32) * np.float32(255.0 / top)
        c *= a
        c += np.float32(255.0) * (np.float32(1.0) - a)
        out[:, :, k] = np.clip(np.rint(c), 0, 255)
    return out


def read_image(path) -> np.ndarray:
    """Decode an image file (PNG, JPEG, ...) as ``(H, W, 3)`` uint8 RGB.

    The size is read from the header first (:func:`image_info`): an image of more than
    :data:`MAX_IMAGE_PIXELS` pixels is refused before it is decoded.  Transparent pixels
    (an alpha channel, or a PNG ``tRNS`` chunk) are composited on white paper, as
    :func:`to_float_rgb` does.

    Raises
    ------
    OSError
        When the file cannot be read.
    ValueError
        When it is too large, or its bytes are not an image OpenCV can decode (the message
        names the file).
    """
    import cv2

    width, height, alpha = image_info(path)
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"{path}: {width} x {height} px is more than MAX_IMAGE_PIXELS = "
                         f"{MAX_IMAGE_PIXELS}; not decoded")
    if width == 0 or height == 0:
        raise ValueError(f"{path}: the header gives a size of {width} x {height} px")
    data = np.fromfile(path, dtype=np.uint8)
    try:
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED if alpha else cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ValueError(f"{path}: cannot decode the image "
                         f"({str(exc).strip().splitlines()[-1]})") from None
    if raw is None:
        raise ValueError(f"{path}: cannot decode the image")
    if not alpha:
        return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    if raw.ndim == 3 and raw.shape[2] == 4:
        return _composite_on_white(raw)
    if raw.dtype != np.uint8:  # 16-bit without an alpha channel after all
        raw = (raw >> 8).astype(np.uint8) if raw.dtype == np.uint16 else \
            np.clip(np.rint(raw * 255.0), 0, 255).astype(np.uint8)
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 2:  # grey + alpha
        grey = raw[:, :, 0].astype(np.float32)
        a = raw[:, :, 1].astype(np.float32) / np.float32(255.0)
        g = np.clip(np.rint(grey * a + 255.0 * (1.0 - a)), 0, 255).astype(np.uint8)
        return cv2.cvtColor(g, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(raw[:, :, :3], cv2.COLOR_BGR2RGB)


@dataclass
class NormalisedImage:
    """An image ready for the geometry stages.

    Attributes
    ----------
    rgb : numpy.ndarray or None
        ``(H, W, 3)`` float32 in ``[0, 1]`` (None when not asked for).
    ink : numpy.ndarray
        ``(H, W)`` float32 ink darkness in ``[0, 1]``: ``1 - max(R, G, B)`` on grey pages,
        the darkness of the channel in which a coloured grid is brightest otherwise.
    grid : numpy.ndarray
        ``(H, W)`` float32 map where grid lines are bright.
    is_colour : bool
        True when a coloured grid was found (saturation carries the grid).
    codes : numpy.ndarray or None
        ``(H, W)`` uint16 quantised colours of the flattened image
        (:func:`ecgpaper.digitize.gridlines.colour_codes`), when asked for.
    grid_unblanked : numpy.ndarray or None
        The grid map without the ink blanked, when more than ``DARK_GRID_SHARE`` of the page
        is ink-dark (a dark grid, or shadows and stamps): the caller decides which of the two
        maps shows the grid.
    """

    rgb: np.ndarray | None
    ink: np.ndarray
    grid: np.ndarray
    is_colour: bool
    codes: np.ndarray | None = None
    grid_unblanked: np.ndarray | None = None


def to_float_rgb(image: np.ndarray) -> np.ndarray:
    """Convert any image array to float32 RGB in ``[0, 1]``.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``; uint8 (0..255), uint16
        (0..65535) or float (0..1).  Alpha is composited on white.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` float32.

    Examples
    --------
    >>> to_float_rgb(np.full((2, 3), 255, np.uint8)).shape
    (2, 3, 3)
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3):
        raise ValueError(f"image must be 2-D or 3-D, got shape {arr.shape}")
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3:
        img = arr.astype(np.float32)
        img *= np.float32(1.0 / 255.0)
        return img
    if arr.dtype == np.uint8:
        img = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        img = arr.astype(np.float32) / 65535.0
    elif arr.dtype == bool:
        img = arr.astype(np.float32)
    else:
        img = arr.astype(np.float32)
        if img.size and np.nanmax(img) > 1.5:
            img = img / 255.0
    img = np.nan_to_num(img, nan=1.0)
    if img.ndim == 2:
        img = img[:, :, None]
    c = img.shape[2]
    if c == 1:
        img = np.repeat(img, 3, axis=2)
    elif c == 2:  # grey + alpha
        a = img[:, :, 1:2]
        img = np.repeat(img[:, :, :1] * a + (1 - a), 3, axis=2)
    elif c >= 4:
        a = img[:, :, 3:4]
        img = img[:, :, :3] * a + (1 - a)
    return np.clip(img[:, :, :3], 0.0, 1.0).astype(np.float32)


def flatten_background(rgb: np.ndarray, size_px: int = BACKGROUND_WINDOW_PX) -> np.ndarray:
    """Divide out slowly varying illumination (shadows, uneven light, tinted paper).

    The paper level is the local maximum of the brightest channel (see
    :func:`_background_gain`), smoothed and upscaled back.

    Parameters
    ----------
    rgb : numpy.ndarray
        ``(H, W, 3)`` float32 in ``[0, 1]``.
    size_px : int
        Window (full-resolution pixels) of the local paper estimate; larger than the stroke and
        the grid spacing.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` float32 with the paper close to 1.
    """
    import cv2

    ch = cv2.split(np.ascontiguousarray(rgb, np.float32))
    gain = _background_gain(cv2.max(cv2.max(ch[0], ch[1]), ch[2]), 1.0, size_px)
    return cv2.merge([cv2.min(cv2.multiply(c, gain), 1.0) for c in ch])


def _planes(image: np.ndarray) -> tuple[list[np.ndarray], float, np.ndarray | None]:
    """Colour planes of the image, the factor that maps their values to ``[0, 1]`` and the
    8-bit RGB array itself (None for other inputs).

    8-bit RGB (the common case) stays 8-bit: the planes are split without a float copy of the
    whole image; anything else goes through :func:`to_float_rgb`.
    """
    import cv2

    arr = np.asarray(image)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3:
        arr = np.ascontiguousarray(arr)
        return list(cv2.split(arr)), 1.0 / 255.0, arr
    return list(cv2.split(np.ascontiguousarray(to_float_rgb(arr)))), 1.0, None


def _background_gain(mx: np.ndarray, scale: float, size_px: int = BACKGROUND_WINDOW_PX
                     ) -> np.ndarray:
    """Per-pixel gain ``scale / paper level`` (see :func:`flatten_background`), float32.

    The paper level of each 4x4 block is its brightest pixel after a blur of
    :data:`PAPER_BLUR_PX` (without it, pixel noise would set the level); a block average
    would not do: the 7.87-px grid of a 200-dpi page beats with 4-px blocks, and whole bands
    of blocks straddle a grid line.  The local maximum of those levels over ``size_px``,
    smoothed, is the paper.
    """
    import cv2

    h, w = mx.shape
    f = 4
    m = cv2.GaussianBlur(mx, (0, 0), PAPER_BLUR_PX)
    small = cv2.dilate(m, np.ones((f, f), np.uint8))[f // 2::f, f // 2::f]
    small = small.astype(np.float32) * np.float32(scale)
    k = max(3, size_px // f) | 1
    bg = cv2.dilate(small, np.ones((k, k), np.uint8))
    bg = cv2.GaussianBlur(bg, (0, 0), k / 2.0)
    inv = np.float32(scale) / np.maximum(bg, np.float32(0.15))
    return cv2.resize(inv, (w, h), interpolation=cv2.INTER_LINEAR)


def page_surround(mx: np.ndarray, scale: float = 1.0) -> np.ndarray | None:
    """Near-black regions around the page: the table, the corners a rotated photo adds.

    Pixels darker than :data:`SURROUND_LEVEL` times the bright paper level, in regions wider
    than 12 px (1-3 mm at 300-100 dpi; a trace or a frame line that leaves the image is
    thinner) that touch the image's edge.  A shadow inside the page is never that dark
    relative to the paper; one that is leaves nothing to read.  Regions up to
    :data:`SURROUND_LEVEL_GREY` count too where nothing that dark lies in them: a dark grey
    table around a photographed page.  Beside black, such a band is the page's own shadow.

    Parameters
    ----------
    mx : numpy.ndarray
        ``(H, W)`` brightest channel of the raw image.
    scale : float
        Factor that maps ``mx`` to ``[0, 1]``.

    Returns
    -------
    numpy.ndarray or None
        ``(H, W)`` bool, or None when nothing around the page is dark.

    Examples
    --------
    >>> mx = np.full((80, 120), 230, np.uint8); mx[:, :20] = 3; mx[40, 20:] = 0
    >>> m = page_surround(mx, 1 / 255)
    >>> bool(m[:, :20].all()), bool(m[40, 40:].any()), round(float(m.mean()), 2)
    (True, False, 0.2)
    """
    import cv2

    h, w = mx.shape
    f = 4
    small = cv2.resize(mx, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32) * np.float32(scale)
    paper = float(np.percentile(small, 90))

    def at_edge(level: float) -> tuple[np.ndarray, np.ndarray]:
        """Regions darker than ``level`` x paper, wider than 3 blocks, touching the edge;
        and the labels of all such regions."""
        m = (small < level * paper).view(np.uint8)
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n, lab = cv2.connectedComponents(m, connectivity=8)
        edge = np.unique(np.r_[lab[0], lab[-1], lab[:, 0], lab[:, -1]])
        return (np.isin(lab, edge[edge > 0]) if n > 1 else np.zeros(m.shape, bool)), lab

    sur, _ = at_edge(SURROUND_LEVEL)
    # A dark grey table (a photo's surround lit like the page) is lighter than black.  Its
    # regions count where they hold nothing black: beside a black surround, the lighter band is
    # the page's own shadow (the official generator's wrinkled pages), which still shows the
    # grid and the trace.  The black regions lie inside the grey ones (a lower level, the same
    # opening), so the grey labels under them name the regions to leave out.
    grey, lab = at_edge(SURROUND_LEVEL_GREY)
    if grey.any():
        black = np.unique(lab[sur])
        sur |= grey & ~np.isin(lab, black[black > 0])
    if not sur.any():
        return None
    # one block more: the page edge's own blur and compression ringing
    sur = cv2.dilate(sur.view(np.uint8), np.ones((3, 3), np.uint8))
    return cv2.resize(sur, (w, h), interpolation=cv2.INTER_NEAREST).view(bool)


def normalise_image(image: np.ndarray, flatten: bool = True, keep_rgb: bool = True,
                    keep_codes: bool = False) -> NormalisedImage:
    """Normalise an ECG image and split it into ink and grid maps.

    Only the two maps the later stages use are computed at full resolution (the colour
    decisions use every 4th pixel); 8-bit input is never converted to a float RGB copy unless
    ``keep_rgb`` asks for it.

    Parameters
    ----------
    image : numpy.ndarray
        Any layout accepted by :func:`to_float_rgb`.
    flatten : bool
        Divide out uneven illumination first (see :func:`flatten_background`).
    keep_rgb : bool
        Also return the (flattened) float RGB image; ``rgb`` is None otherwise.
    keep_codes : bool
        Also return the quantised colours (``codes``) that grid-line removal learns from.

    Returns
    -------
    NormalisedImage

    Examples
    --------
    >>> img = np.full((20, 20, 3), 255, np.uint8); img[4:8, :] = (240, 120, 120); img[10, :] = 0
    >>> n = normalise_image(img)
    >>> bool(n.is_colour), round(float(n.ink[10, 0]), 2), round(float(n.ink[5, 0]), 2)
    (True, 1.0, 0.06)
    """
    import cv2

    planes, scale, rgb8 = _planes(image)
    h, w = planes[0].shape
    mx = cv2.max(cv2.max(planes[0], planes[1]), planes[2])
    if flatten:
        gain = _background_gain(mx, scale)
    else:
        gain = np.full((h, w), scale, np.float32)

    def flat(c: np.ndarray) -> np.ndarray:
        return cv2.min(cv2.multiply(c.astype(np.float32, copy=False), gain), 1.0)

    # colour decisions on every 4th pixel of the flattened planes
    gs = gain[::4, ::4]
    sub = [np.minimum(c[::4, ::4].astype(np.float32) * gs, 1.0) for c in planes]
    mx_s = np.maximum(np.maximum(sub[0], sub[1]), sub[2])
    sat_s = mx_s - np.minimum(np.minimum(sub[0], sub[1]), sub[2])
    # Colour grid: a clear share of pixels is noticeably saturated.
    is_colour = bool(np.mean(sat_s > 0.08) > 0.01)
    ink_src = mx
    if is_colour:
        # The grid is (nearly) invisible in the channel where its lines are brightest (red for
        # red/pink/orange grids); darkness in that channel is the ink, whatever the ink's hue
        # (black, blue, green traces all absorb it).
        sel = (sat_s > 0.15) & (mx_s > 0.5)
        if sel.sum() > 100:
            med = [float(np.median(c[sel])) for c in sub]
            ink_src = planes[int(np.argmax(med))]
    ink = cv2.subtract(1.0, flat(ink_src))
    # Grid = luminance darkness (full resolution even after JPEG chroma subsampling) with the
    # trace and other dark ink blanked out.
    if rgb8 is not None:
        lum = cv2.cvtColor(rgb8, cv2.COLOR_RGB2GRAY)
    else:
        lum = 0.299 * planes[0] + 0.587 * planes[1] + 0.114 * planes[2]
    grid = cv2.subtract(1.0, flat(lum))
    surround = page_surround(mx, scale)
    if surround is not None:
        # flattened, the noise of a black surround is as dark as ink and as busy as a grid
        ink[surround] = 0.0
        grid[surround] = 0.0
    dark = (ink > 0.35).view(np.uint8)
    grid_unblanked = None
    if float(np.mean(dark[::4, ::4])) >= DARK_GRID_SHARE:
        # the grid lines may themselves be as dark as ink (dark grid colours), and blanking
        # would erase them; the caller keeps whichever map shows the grid more clearly
        grid_unblanked = grid.copy()
    grid[cv2.dilate(dark, np.ones((3, 3), np.uint8)) > 0] = 0.0
    rgb = None
    if keep_rgb:
        rgb = cv2.merge([flat(c) for c in planes])
    codes = None
    if keep_codes:
        from .gridlines import colour_codes
        codes = colour_codes(planes, gain)
    return NormalisedImage(rgb=rgb, ink=ink, grid=grid, is_colour=is_colour, codes=codes,
                           grid_unblanked=grid_unblanked)


def paper_mask(grid: np.ndarray, px_per_mm: float, erode_mm: float = 2.0) -> np.ndarray:
    """Pixels on the printed page: where the grid's fine texture is present.

    The local energy of the band-passed grid map is high wherever grid lines are printed and
    low on a table or scanner lid around the page.  The largest such region, eroded by
    ``erode_mm``, is the page.

    Parameters
    ----------
    grid : numpy.ndarray
        ``(H, W)`` grid map.
    px_per_mm : float
        Approximate scale.
    erode_mm : float
        Safety margin inside the page edge.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` bool; all True when no clear page edge is found.
    """
    import cv2

    h, w = grid.shape
    f = 4
    g = cv2.resize(grid, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    hp = np.abs(g - cv2.GaussianBlur(g, (0, 0), max(1.0, px_per_mm / f)))
    k = max(3, int(6 * px_per_mm / f)) | 1
    energy = cv2.blur(hp, (k, k))
    level = float(np.median(energy))
    if level <= 0:
        return np.ones((h, w), bool)
    m = (energy > 0.3 * level).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=4)
    if n <= 1:
        return np.ones((h, w), bool)
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    m = (lab == big).astype(np.uint8)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    e = max(1, int(erode_mm * px_per_mm / f))
    m = cv2.erode(m, np.ones((2 * e + 1, 2 * e + 1), np.uint8))
    full = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    if full.mean() < 0.3:
        return np.ones((h, w), bool)
    return full
