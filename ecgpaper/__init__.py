"""ecgpaper: ECG image digitization, classification, scoring and data tools.

The package behind this PhysioNet Challenge 2024 entry. Sub-modules:

- :mod:`ecgpaper.constants` -- lead order, Challenge classes, paper scale.
- :mod:`ecgpaper.wfdbio` -- tolerant WFDB header parsing and record writing.
- :mod:`ecgpaper.scoring` -- the Challenge 2024 scorer (SNR with alignment, macro F).
- :mod:`ecgpaper.prepare` -- PTB-XL / CinC-2021 preparation, hidden test folders.
- :mod:`ecgpaper.runner` -- the robust record loop behind ``run_model.py``.
"""

__version__ = "0.1.0"
