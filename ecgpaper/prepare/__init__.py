"""Data preparation: PTB-XL and CinC-2020/2021 records → Challenge 2024 folders.

- :func:`prepare_ptbxl` -- PTB-XL (+ PTB-XL+ 12SL) → training records with the 11 labels.
- :func:`prepare_cinc` -- CinC 2020/2021 ``.mat`` records with SNOMED ``# Dx:`` → training records.
- :func:`add_image_lines` -- ``# Image:`` lines for the images beside each record.
- :func:`make_hidden` -- a hidden test folder (no signals, labels or demographics).

Command line: ``python -m ecgpaper.prepare {ptbxl,cinc,images,hidden} ...``;
see ``docs/data_preparation.md``.
"""

from ecgpaper.prepare._common import PrepareError, find_records
from ecgpaper.prepare.cinc import SNOMED_TO_CLASS, prepare_cinc, snomed_to_labels
from ecgpaper.prepare.hidden import hidden_header_text, make_hidden
from ecgpaper.prepare.images import add_image_lines
from ecgpaper.prepare.ptbxl import load_scp_statements, prepare_ptbxl, ptbxl_labels

__all__ = [
    "PrepareError", "find_records", "SNOMED_TO_CLASS", "prepare_cinc", "snomed_to_labels",
    "hidden_header_text", "make_hidden", "add_image_lines", "load_scp_statements",
    "prepare_ptbxl", "ptbxl_labels",
]
