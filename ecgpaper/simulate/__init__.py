"""Synthetic labelled 12-lead ECGs from a beat-by-beat cardiac dipole model.

The project's own demo and test data: records carry the 11 Challenge labels,
set by clinical criteria (see ``docs/simulator.md``), and their leads obey
Einthoven's and Goldberger's relations exactly because they are formed from
electrode potentials of one heart dipole.

Public API
----------
simulate_ecg(labels, rng, fs_hz=500.0, duration_s=10.0, noise_level="low")
    -> (signal_mv (n, 12) in ``LEADS_12`` order, params dict)
make_dataset(out_dir, n_records, seed, fs_hz=500.0, duration_s=10.0,
             class_mix=None, noise_level="low", jobs=1) -> sorted record paths
SIMULATABLE_CLASSES
    The classes the simulator can make (all 11 Challenge classes).

Command line: ``python -m ecgpaper.simulate -o OUT -n N [--seed S] ...``.

Modules: :mod:`.dipole` (lead vectors, rendering, projection), :mod:`.rhythm`
(beat timing), :mod:`.noise` (electrode noise), :mod:`.classes` (parameters
per class), :mod:`.simulator` (records and datasets).
"""

from ecgpaper.simulate.classes import (
    CLASS_CRITERIA,
    DEFAULT_CLASS_MIX,
    SIMULATABLE_CLASSES,
    validate_labels,
)
from ecgpaper.simulate.simulator import assign_labels, make_dataset, parse_class_mix, simulate_ecg

__all__ = [
    "CLASS_CRITERIA",
    "DEFAULT_CLASS_MIX",
    "SIMULATABLE_CLASSES",
    "assign_labels",
    "make_dataset",
    "parse_class_mix",
    "simulate_ecg",
    "validate_labels",
]
