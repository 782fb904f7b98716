"""Constants shared across the project: lead order, Challenge classes, paper scale.

Every paper constant is named once, here.
"""

from __future__ import annotations

#: The standard 12-lead order of PTB-XL and the Challenge (canonical spelling).
LEADS_12: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)

_GRID_3X4 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
_LIMB = LEADS_12[:6]
_CHEST = LEADS_12[6:]

#: Page layouts: the lead grid (rows of columns) and the default rhythm-strip leads.
#: The standard clinical arrangements, shared by the generator and the digitizer.
LAYOUT_GRIDS: dict[str, tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]] = {
    "3x4": (_GRID_3X4, ()),
    "3x4+1": (_GRID_3X4, ("II",)),
    "3x4+3": (_GRID_3X4, ("II", "V1", "V5")),
    "6x2": (tuple(zip(_LIMB, _CHEST)), ()),
    "12x1": (tuple((lead,) for lead in LEADS_12), ()),
    "2x6": ((_LIMB, _CHEST), ()),
}

#: The 11 Challenge 2024 classes, exact strings, in the order the official
#: preparation writes them on a ``# Labels:`` line.
CLASSES: tuple[str, ...] = (
    "NORM", "Acute MI", "Old MI", "STTC", "CD", "HYP",
    "PAC", "PVC", "AFIB/AFL", "TACHY", "BRADY",
)

#: Standard paper speed and gain.
PAPER_SPEED_MM_PER_S: float = 25.0
PAPER_GAIN_MM_PER_MV: float = 10.0
#: Grid: a small square of 1 mm, a large square of 5 mm.
SMALL_SQUARE_MM: float = 1.0
LARGE_SQUARE_MM: float = 5.0
MM_PER_INCH: float = 25.4

#: Default WFDB storage of Challenge records: format 16, 1000 ADC units per mV.
DEFAULT_ADC_GAIN: float = 1000.0
DEFAULT_FMT: str = "16"
#: The 16-bit digital range usable for samples (-32768 is WFDB's invalid code).
DIGITAL_MIN: int = -32767
DIGITAL_MAX: int = 32767


def canonical_lead_name(name: str) -> str:
    """Return the canonical spelling of a 12-lead name, any case in.

    Unknown names are returned stripped but otherwise unchanged.

    Examples
    --------
    >>> canonical_lead_name("AVR"), canonical_lead_name("v1"), canonical_lead_name("ii")
    ('aVR', 'V1', 'II')
    """
    key = name.strip().upper()
    for lead in LEADS_12:
        if lead.upper() == key:
            return lead
    return name.strip()
