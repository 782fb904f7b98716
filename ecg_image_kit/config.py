"""Render settings: the :class:`RenderConfig` dataclass, presets and sampling.

Every field holds either a fixed value or a *range* from which the renderer
draws one value per image with a seeded generator:

* a numeric 2-sequence ``(lo, hi)`` is a uniform range (integers when both
  ends are integers, then ``hi`` inclusive);
* a list of strings (or of RGB triples) is a set of choices;
* a boolean field given a float ``p`` in ``[0, 1]`` is ``True`` with
  probability ``p``.

Every value (each end of a range, each choice) is checked when a
:class:`RenderConfig` is made (:func:`check_config`), so a bad setting fails
once, with the key named, before anything is rendered.

Each field is sampled from its own stream (seed and field name), so adding a
field never changes the values drawn for the others.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from ecgcore.constants import LAYOUT_GRIDS, PAPER_GAIN_MM_PER_MV, PAPER_SPEED_MM_PER_S

from ecg_image_kit.paper import FONT_FAMILIES

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

#: RGB triple, 0-255 each.
RGB = tuple[int, int, int]
#: A fixed number, a ``(lo, hi)`` uniform range or a list of choices.
NumSpec = float | tuple[float, float] | list[float]
#: A fixed integer, a ``(lo, hi)`` range (``hi`` inclusive) or a list of choices.
IntSpec = int | tuple[int, int] | list[int]
#: A fixed name or a list of choices.
StrSpec = str | Sequence[str]
#: A fixed value or the probability of ``True``.
BoolSpec = bool | float
#: A colour name, an RGB triple, or a list of choices of either.
ColorSpec = str | RGB | Sequence[str | RGB]


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
    blotches : float
        Strength 0-1 of a mottled dark texture over the paper and the trace (the photographic
        wrinkle textures of other generators: irregular patches that darken the page by up
        to 85 % at strength 1).
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

    paper: StrSpec = "letter"
    orientation: StrSpec = "landscape"
    dpi: NumSpec = 200
    mm_per_s: NumSpec = PAPER_SPEED_MM_PER_S
    mm_per_mv: NumSpec = PAPER_GAIN_MM_PER_MV
    layout: StrSpec = "3x4+1"
    rhythm_leads: str | Sequence[str] | None = None
    duration_s: NumSpec = 10.0
    start_s: NumSpec = 0.0
    calibration_pulse: BoolSpec = True
    lead_labels: BoolSpec = True
    separators: BoolSpec = True
    header_text: BoolSpec = True
    pulse_foot: BoolSpec = True
    label_below: BoolSpec = False
    separator_width_mm: NumSpec = 0.0
    grid_style: StrSpec = "standard"
    grid_color: ColorSpec = "red"
    paper_color: ColorSpec = (255, 255, 255)
    line_width_pt: NumSpec = 0.75
    trace_color: ColorSpec = "black"
    font: StrSpec = "sans"
    font_size_pt: NumSpec = 10.0
    rotation_deg: NumSpec = 0.0
    perspective: NumSpec = 0.0
    crop: NumSpec = 0.0
    pad: NumSpec = 0.0
    background_color: ColorSpec = (255, 255, 255)
    wrinkles: NumSpec = 0.0
    blotches: NumSpec = 0.0
    creases: IntSpec = 0
    stains: IntSpec = 0
    shadow: NumSpec = 0.0
    lighting: NumSpec = 0.0
    color_temperature_k: NumSpec | None = None
    noise_std: NumSpec = 0.0
    salt_pepper: NumSpec = 0.0
    blur_sigma_px: NumSpec = 0.0
    jpeg_quality: IntSpec | None = None
    banding: NumSpec = 0.0
    handwriting: IntSpec = 0
    stamps: IntSpec = 0

    def __post_init__(self) -> None:
        check_config(self)

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
            On unknown keys (the message lists the valid ones) or invalid values
            (the message names the key).
        """
        data = dict(data)
        name = data.pop("preset", None)
        if name is not None and not isinstance(name, str):
            raise ValueError(f"config key 'preset': expected a preset name, got {name!r}; "
                             f"valid presets: {sorted(PRESETS)}")
        base = cls() if name is None else preset(name)
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; valid keys: {sorted(names)}")
        return dataclasses.replace(base, **data)


@dataclass(frozen=True)
class _Rule:
    """What one field accepts: ``kind`` is "num", "int", "name", "bool", "rgb" or "color"."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    names: tuple[str, ...] = ()
    label: str = "value"
    none_ok: bool = False


def _rules() -> dict[str, _Rule]:
    pos = dict(lo=0.0, lo_open=True)
    unit = dict(lo=0.0, hi=1.0)
    return dict(
        paper=_Rule("name", names=tuple(PAPER_SIZES_MM), label="paper"),
        orientation=_Rule("name", names=("landscape", "portrait"), label="orientation"),
        dpi=_Rule("num", 30.0, 1200.0),
        mm_per_s=_Rule("num", **pos),
        mm_per_mv=_Rule("num", **pos),
        layout=_Rule("name", names=tuple(LAYOUT_GRIDS), label="layout"),
        rhythm_leads=_Rule("leads", none_ok=True),
        duration_s=_Rule("num", **pos),
        start_s=_Rule("num", 0.0),
        **{name: _Rule("bool") for name in _BOOL_FIELDS},
        separator_width_mm=_Rule("num", 0.0),
        grid_style=_Rule("name", names=GRID_STYLES, label="grid style"),
        grid_color=_Rule("color", names=tuple(GRID_COLORS), label="grid colour"),
        paper_color=_Rule("rgb"),
        line_width_pt=_Rule("num", **pos),
        trace_color=_Rule("color", names=tuple(TRACE_COLORS), label="trace colour"),
        font=_Rule("name", names=FONT_FAMILIES, label="font"),
        font_size_pt=_Rule("num", **pos),
        rotation_deg=_Rule("num", -180.0, 180.0),
        perspective=_Rule("num", 0.0, 0.5),
        crop=_Rule("num", 0.0, 0.45),
        pad=_Rule("num", 0.0, 1.0),
        background_color=_Rule("rgb"),
        wrinkles=_Rule("num", **unit),
        blotches=_Rule("num", **unit),
        creases=_Rule("int", 0.0),
        stains=_Rule("int", 0.0),
        shadow=_Rule("num", **unit),
        lighting=_Rule("num", **unit),
        color_temperature_k=_Rule("num", 0.0, 40000.0, none_ok=True),
        noise_std=_Rule("num", 0.0),
        salt_pepper=_Rule("num", **unit),
        blur_sigma_px=_Rule("num", 0.0),
        jpeg_quality=_Rule("int", 0.0, 100.0, none_ok=True),
        banding=_Rule("num", **unit),
        handwriting=_Rule("int", 0.0),
        stamps=_Rule("int", 0.0),
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_one(rule: _Rule, v: Any) -> str | None:
    """Why the single (already sampled) value ``v`` is not valid, or None."""
    if v is None and rule.none_ok:
        return None
    if rule.kind in ("num", "int"):
        if rule.kind == "int" and not (_is_number(v) and float(v).is_integer()):
            return f"expected an integer, got {v!r}"
        if not _is_number(v) or not np.isfinite(float(v)):
            return f"expected a number, got {v!r}"
        x = float(v)
        if rule.lo is not None and (x <= rule.lo if rule.lo_open else x < rule.lo):
            return f"{v!r} is {'not above' if rule.lo_open else 'below'} {rule.lo:g}"
        if rule.hi is not None and x > rule.hi:
            return f"{v!r} is above {rule.hi:g}"
        return None
    if rule.kind == "bool":
        if isinstance(v, (bool, np.bool_)) or (_is_number(v) and 0.0 <= float(v) <= 1.0):
            return None
        return f"expected true/false or a probability in [0, 1], got {v!r}"
    if rule.kind == "rgb" or (rule.kind == "color" and not isinstance(v, str)):
        if _is_color(v) and all(0 <= int(c) <= 255 for c in v):
            return None
        want = "an RGB triple of integers 0-255" if rule.kind == "rgb" else \
            f"one of {sorted(rule.names)} or an RGB triple of integers 0-255"
        return f"expected {want}, got {v!r}"
    if isinstance(v, str) and v in rule.names:
        return None
    return f"{v!r} is not a valid {rule.label}; valid {rule.label}s: {list(rule.names)}"


def _check_field(rule: _Rule, value: Any) -> str | None:
    """Why a field's value (fixed, range or choices, as :func:`sample_value` reads it) is invalid."""
    if rule.kind == "bool" or value is None:
        return _check_one(rule, value)
    if rule.kind in ("num", "int"):
        if not isinstance(value, (tuple, list)):
            return _check_one(rule, value)
        if len(value) == 2 and all(_is_number(v) for v in value):  # a range
            if rule.kind == "int" and not all(isinstance(v, (int, np.integer)) for v in value):
                return f"an integer range needs integer ends, got {list(value)!r}"
            if float(value[0]) > float(value[1]):
                return f"range {list(value)!r} has lo > hi"
    elif rule.kind in ("rgb", "color"):
        if (isinstance(value, str) or _is_color(value) or not isinstance(value, (tuple, list))
                or all(_is_number(v) for v in value)):
            return _check_one(rule, value)
    elif not isinstance(value, (tuple, list)):  # a name
        return _check_one(rule, value)
    if len(value) == 0:
        return "empty list of choices"
    for v in value:
        why = _check_one(rule, v)
        if why:
            return why
    return None


def _check_rhythm(cfg: "RenderConfig") -> str | None:
    from ecg_image_kit.layout import layout_grid

    value = cfg.rhythm_leads
    if value is None:
        return None
    leads = [value] if isinstance(value, str) else value
    if not isinstance(leads, (tuple, list)) or not all(isinstance(x, str) for x in leads):
        return f"expected null, a lead name or a list of lead names, got {value!r}"
    layouts = [cfg.layout] if isinstance(cfg.layout, str) else cfg.layout
    try:
        for layout in layouts:
            layout_grid(layout, leads)
    except ValueError as exc:
        return str(exc)
    return None


def check_config(cfg: "RenderConfig") -> None:
    """Check every value of ``cfg`` (each range end and choice); called by ``RenderConfig()``.

    Raises
    ------
    ValueError
        One line naming the first invalid key and why.

    Examples
    --------
    >>> RenderConfig(dpi="abc")
    Traceback (most recent call last):
    ...
    ValueError: config key 'dpi': expected a number, got 'abc'
    """
    rules = _rules()
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        why = _check_rhythm(cfg) if f.name == "rhythm_leads" else _check_field(rules[f.name], value)
        if why:
            raise ValueError(f"config key {f.name!r}: {why}")


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
    "moderate-styles": dict(_MODERATE, **_STYLES, blotches=(0.0, 0.6)),
    "heavy-styles": dict(_HEAVY, **_STYLES, blotches=(0.3, 1.0)),
}


def preset(name: str) -> RenderConfig:
    """Return a named preset configuration.

    ``"clean"``: 200 DPI, no distortion. ``"moderate"``: rotation up to 5
    degrees, noise, blur, wrinkles and creases, handwriting. ``"heavy"``:
    moderate plus perspective, crop/pad, stains, shadow, uneven light, colour
    temperature, salt and pepper, JPEG, banding, stamps, 100-150 DPI.  ``"styles"``: clean
    geometry in other printers' styles (grid and trace colours, trace width, pulse foot,
    label position, separator width).  ``"moderate-styles"`` and ``"heavy-styles"``: those
    distortions on pages in those styles, with blotches (dark grids under textured wrinkles,
    noise and JPEG, as the official generator's distorted pages show them).

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
