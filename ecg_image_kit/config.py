"""Render settings: the :class:`RenderConfig` dataclass, presets and sampling.

Every field holds either a fixed value or a *range* from which the renderer
draws one value per image with a seeded generator:

* a numeric 2-sequence ``(lo, hi)`` is a uniform range (integers when both
  ends are integers, then ``hi`` inclusive);
* a list of strings (or of RGB triples) is a set of choices;
* a boolean field given a float ``p`` in ``[0, 1]`` is ``True`` with
  probability ``p``.

Each field is sampled from its own stream (seed and field name), so adding a
field never changes the values drawn for the others.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np

from ecgpaper.constants import PAPER_GAIN_MM_PER_MV, PAPER_SPEED_MM_PER_S

#: Paper sizes in mm (width, height) in portrait orientation.
PAPER_SIZES_MM: dict[str, tuple[float, float]] = {
    "letter": (215.9, 279.4),
    "a4": (210.0, 297.0),
}

#: Grid styles understood by the renderer.
GRID_STYLES: tuple[str, ...] = ("standard", "random_color", "bw", "dotted", "none")

#: Named grid colours (RGB of the major lines; minor lines are a lighter tint).
GRID_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (235, 80, 80),
    "pink": (240, 140, 170),
    "orange": (245, 150, 60),
}

#: Named trace colours (RGB).
TRACE_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "darkblue": (20, 30, 110),
    "blue": (10, 40, 170),
    "darkgreen": (10, 80, 30),
    "darkgrey": (50, 50, 50),
}


@dataclass(frozen=True)
class RenderConfig:
    """All settings of one rendered page; see the module docstring for ranges.

    Page and plotting
    -----------------
    paper : {"letter", "a4"}
    orientation : {"landscape", "portrait"}
    dpi : int
        Resolution of the page, 100-600.
    mm_per_s : float
        Paper speed, 25 or 50.
    mm_per_mv : float
        Gain, 5, 10 or 20.
    layout : str
        One of :data:`ecg_image_kit.layout.LAYOUTS`.
    rhythm_leads : tuple of str or None
        Leads of the rhythm strips; ``None`` = the layout's default.
    duration_s : float
        Time shown per row (shortened to fit the page).
    start_s : float
        Offset into the signal of the first shown sample.
    calibration_pulse, lead_labels, separators, header_text : bool
        Page elements (bool or probability).
    pulse_foot : bool
        Draw a 1-mm foot at 0 mV after the pulse's fall, the signal starting at its end
        (bool or probability); without it the signal starts at the fall (as ECG-Image-Kit
        draws).
    label_below : bool
        Lead labels below the baseline instead of above (bool or probability).
    separator_width_mm : float
        Width of the bar between panels; 0 = a line of the trace's width.
    grid_style : str
        One of :data:`GRID_STYLES`.
    grid_color : str or RGB
        A key of :data:`GRID_COLORS` or an RGB triple (``standard``/``dotted``).
    paper_color : RGB
    line_width_pt : float
        Trace stroke width in points (1 pt = 1/72 inch).
    trace_color : str or RGB
        A key of :data:`TRACE_COLORS` or an RGB triple.
    font : {"sans", "serif", "mono", "random"}
    font_size_pt : float
        Lead-label font size.

    Distortions (0 / None = off)
    ----------------------------
    rotation_deg : float
        In-plane rotation about the page centre (positive = counter-clockwise).
    perspective : float
        Largest corner displacement as a fraction of the page size.
    crop : float
        Largest fraction of the page cut from each side.
    pad : float
        Largest fraction of the page added (in ``background_color``) per side.
    background_color : RGB
        Colour outside the paper after geometric distortions.
    wrinkles : float
        Strength 0-1 of crumpling shading.
    creases : int
        Number of fold lines with shading.
    stains : int
        Number of stains (coffee-like rings and blots).
    shadow : float
        Strength 0-1 of a soft shadow across part of the page.
    lighting : float
        Strength 0-1 of uneven illumination (gradient + vignette).
    color_temperature_k : float or None
        White balance; 6500 = neutral, lower is warmer.
    noise_std : float
        Gaussian noise standard deviation in grey levels.
    salt_pepper : float
        Fraction of pixels set to black or white.
    blur_sigma_px : float
        Gaussian blur sigma in pixels of the output image.
    jpeg_quality : int or None
        JPEG round trip at this quality; ``None`` or 0 = off.
    banding : float
        Strength 0-1 of scanner banding (row-wise gain stripes).
    handwriting : int
        Number of handwriting-like marks (words, circles, underlines).
    stamps : int
        Number of ink stamps.
    """

    paper: Any = "letter"
    orientation: Any = "landscape"
    dpi: Any = 200
    mm_per_s: Any = PAPER_SPEED_MM_PER_S
    mm_per_mv: Any = PAPER_GAIN_MM_PER_MV
    layout: Any = "3x4+1"
    rhythm_leads: Any = None
    duration_s: Any = 10.0
    start_s: Any = 0.0
    calibration_pulse: Any = True
    lead_labels: Any = True
    separators: Any = True
    header_text: Any = True
    pulse_foot: Any = True
    label_below: Any = False
    separator_width_mm: Any = 0.0
    grid_style: Any = "standard"
    grid_color: Any = "red"
    paper_color: Any = (255, 255, 255)
    line_width_pt: Any = 0.75
    trace_color: Any = "black"
    font: Any = "sans"
    font_size_pt: Any = 10.0
    rotation_deg: Any = 0.0
    perspective: Any = 0.0
    crop: Any = 0.0
    pad: Any = 0.0
    background_color: Any = (255, 255, 255)
    wrinkles: Any = 0.0
    creases: Any = 0
    stains: Any = 0
    shadow: Any = 0.0
    lighting: Any = 0.0
    color_temperature_k: Any = None
    noise_std: Any = 0.0
    salt_pepper: Any = 0.0
    blur_sigma_px: Any = 0.0
    jpeg_quality: Any = None
    banding: Any = 0.0
    handwriting: Any = 0
    stamps: Any = 0

    def replace(self, **changes: Any) -> "RenderConfig":
        """Return a copy with ``changes`` applied (unknown keys raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict of the settings (tuples become lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RenderConfig":
        """Build from a dict; a ``"preset"`` key names the base configuration.

        Raises
        ------
        ValueError
            On unknown keys (the message lists the valid ones).
        """
        data = dict(data)
        base = preset(data.pop("preset")) if "preset" in data else cls()
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; valid keys: {sorted(names)}")
        return dataclasses.replace(base, **data)


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


_MODERATE = dict(
    rotation_deg=(-5.0, 5.0),
    noise_std=(2.0, 6.0),
    blur_sigma_px=(0.3, 1.0),
    wrinkles=(0.3, 0.8),
    creases=(1, 3),
    handwriting=(1, 4),
)

_HEAVY = dict(
    _MODERATE,
    dpi=(100, 150),
    perspective=(0.01, 0.04),
    crop=0.02,
    pad=0.04,
    background_color=[(255, 255, 255), (40, 40, 40), (120, 110, 100)],
    stains=(1, 3),
    shadow=(0.0, 0.5),
    lighting=(0.2, 0.5),
    color_temperature_k=(4000.0, 8000.0),
    salt_pepper=(0.0, 0.002),
    jpeg_quality=(30, 70),
    banding=(0.0, 0.3),
    stamps=(0, 1),
    noise_std=(3.0, 10.0),
    blur_sigma_px=(0.5, 1.5),
)

#: Printing styles of other printers and generators (issue 16): grids light to dark and
#: black-and-white, thin grey to thick black traces, pulses with or without a foot, labels
#: above or below, thin or bold separator bars.  The digitizer's training renders part of its
#: pages with it, so that nothing it learns is one printer's convention.
_STYLES = dict(
    grid_color=["red", "pink", (200, 60, 40), (140, 40, 30), (90, 55, 35), (40, 90, 50),
                (20, 60, 110), (110, 40, 120), (60, 60, 60), (110, 110, 110)],
    trace_color=[(0, 0, 0), (25, 25, 25), (50, 50, 50), (75, 75, 75), (20, 20, 70)],
    line_width_pt=(0.45, 1.1),
    pulse_foot=0.5,
    label_below=0.5,
    separator_width_mm=[0.0, 0.0, 0.5, 1.0],
)

#: Named presets: the benchmark distortion levels (issue 5) and printing styles (issue 16).
PRESETS: dict[str, dict[str, Any]] = {
    "clean": {},
    "moderate": _MODERATE,
    "heavy": _HEAVY,
    "styles": _STYLES,
}


def preset(name: str) -> RenderConfig:
    """Return a named preset configuration.

    ``"clean"``: 200 DPI, no distortion. ``"moderate"``: rotation up to 5
    degrees, noise, blur, wrinkles and creases, handwriting. ``"heavy"``:
    moderate plus perspective, crop/pad, stains, shadow, uneven light, colour
    temperature, salt and pepper, JPEG, banding, stamps, 100-150 DPI.  ``"styles"``: clean
    geometry in other printers' styles (grid and trace colours, trace width, pulse foot,
    label position, separator width).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid names).

    Examples
    --------
    >>> preset("clean").dpi
    200
    >>> preset("moderate").rotation_deg
    (-5.0, 5.0)
    """
    try:
        return RenderConfig(**PRESETS[name])
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; valid presets: {sorted(PRESETS)}") from None


def as_config(config: "RenderConfig | str | Mapping[str, Any] | None") -> RenderConfig:
    """Coerce ``config`` (RenderConfig, preset name, dict or None = clean)."""
    if config is None:
        return RenderConfig()
    if isinstance(config, RenderConfig):
        return config
    if isinstance(config, str):
        return preset(config)
    if isinstance(config, Mapping):
        return RenderConfig.from_dict(config)
    raise TypeError(f"config must be RenderConfig, preset name, dict or None, not {type(config)}")


def stream(seed: int, name: str) -> np.random.Generator:
    """Independent generator for one named stage/parameter of one image.

    Examples
    --------
    >>> float(stream(0, "noise").random()) == float(stream(0, "noise").random())
    True
    """
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence([int(seed) & (2**63 - 1), key]))


_BOOL_FIELDS = {"calibration_pulse", "lead_labels", "separators", "header_text", "pulse_foot",
                "label_below"}
_COLOR_FIELDS = {"paper_color", "background_color", "grid_color", "trace_color"}


def _is_color(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 3
        and all(isinstance(v, (int, np.integer)) for v in value)
    )


def sample_value(name: str, value: Any, rng: np.random.Generator) -> Any:
    """Draw one value of field ``name`` from ``value`` (fixed, range or choices).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> 1 <= sample_value("creases", (1, 3), rng) <= 3
    True
    >>> sample_value("layout", ["6x2", "12x1"], rng) in ("6x2", "12x1")
    True
    """
    if name in _BOOL_FIELDS:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        return bool(rng.random() < float(value))
    if name in _COLOR_FIELDS:
        if isinstance(value, str) or _is_color(value):
            return list(value) if _is_color(value) else value
        choice = value[int(rng.integers(len(value)))]
        return list(choice) if _is_color(choice) else choice
    if name == "rhythm_leads":
        return None if value is None else [str(v) for v in ([value] if isinstance(value, str) else value)]
    if isinstance(value, (tuple, list)):
        if len(value) == 2 and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in value
        ):
            lo, hi = value
            if isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer)):
                return int(rng.integers(int(lo), int(hi) + 1))
            return float(rng.uniform(float(lo), float(hi)))
        if len(value) == 0:
            raise ValueError(f"config field {name!r}: empty list of choices")
        return _plain(value[int(rng.integers(len(value)))])
    return _plain(value)


def sample_params(config: RenderConfig, seed: int) -> dict[str, Any]:
    """Sample every field of ``config`` for the image with ``seed``.

    Returns
    -------
    dict
        Field name to plain value (JSON-serialisable).
    """
    return {f.name: sample_value(f.name, getattr(config, f.name), stream(seed, "param:" + f.name))
            for f in fields(config)}


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings; values are JSON when they parse, else strings.

    Examples
    --------
    >>> parse_overrides(["dpi=300", "layout=6x2", "rotation_deg=[-3, 3]"])
    {'dpi': 300, 'layout': '6x2', 'rotation_deg': [-3, 3]}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not of the form key=value")
        try:
            out[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            out[key.strip()] = text
    return out
