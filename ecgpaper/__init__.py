"""ecgpaper: ECG image digitization, classification, scoring and data tools.

The package behind this PhysioNet Challenge 2024 entry. Subpackages:

- :mod:`ecgpaper.digitize` -- ECG image -> 12-lead signal in mV (the digitizer).
- :mod:`ecgpaper.classify` -- multi-label classification of the 11 Challenge classes.
- :mod:`ecgpaper.scoring` -- the Challenge 2024 scorer (SNR with alignment, macro F).
- :mod:`ecgpaper.simulate` -- synthetic labelled 12-lead ECGs (cardiac dipole model).
- :mod:`ecgpaper.prepare` -- PTB-XL / CinC-2021 preparation, image lines, hidden test folders.
- :mod:`ecgpaper.report` -- page overlays and run/evaluation reports.

Modules (the lead order, classes and paper scale, :mod:`ecgcore.constants`, and the WFDB
reading and writing, :mod:`ecgcore.wfdbio`, live in the base package :mod:`ecgcore`, which
``ecg_image_kit`` uses too):

- :mod:`ecgpaper.delineate` -- R peaks and RR, QRS, QT, PR intervals.
- :mod:`ecgpaper.modelfiles` -- defensive reading of model files.
- :mod:`ecgpaper.runner` -- the robust record loop behind ``run_model.py``.
- :mod:`ecgpaper.demo` -- the main job end to end (``python -m ecgpaper.demo``).
"""

__version__ = "0.1.0"
