#!/usr/bin/env python
"""Score model outputs like the PhysioNet Challenge 2024 ``evaluate_model.py``.

    python evaluate_model.py -d REFERENCE_FOLDER -o OUTPUT_FOLDER [-n] [-x] [-s SCORES.txt]
                             [-ta SNR_TABLE] [-tb F_TABLE] [-ti INTERVAL_TABLE] [-j JOBS]
                             [--no-intervals] [--alignment {global,window,official}]
                             [--report DIR [--run-report RUN_DIR]]

The official flags keep their meaning; see ``docs/scoring.md`` and
:mod:`ecgpaper.scoring.evaluate`.
"""

import sys

from ecgpaper.scoring.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
