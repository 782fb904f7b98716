"""Helpers (no tests): tiny hermetic PTB-XL-like and CinC-like folders for the preparation tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ecgcore.wfdbio import format_header, write_record

PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
CINC_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

SCP_ROWS = [  # code, diagnostic, diagnostic_class
    ("NORM", "1.0", "NORM"), ("IMI", "1.0", "MI"), ("ASMI", "1.0", "MI"), ("NDT", "1.0", "STTC"),
    ("LVH", "1.0", "HYP"), ("CLBBB", "1.0", "CD"), ("IRBBB", "1.0", "CD"),
    ("PVC", "", ""), ("PAC", "", ""), ("SR", "", ""), ("SBRAD", "", ""), ("STACH", "", ""),
    ("AFIB", "", ""), ("AFLT", "", ""), ("PSVT", "", ""), ("SVTAC", "", ""), ("INVT", "", ""),
]

#: ecg_id → (scp_codes text, age, sex, height, weight, recording_date, strat_fold)
PTBXL_ROWS = {
    1: ("{'NORM': 100.0, 'SR': 0.0}", "56.0", "1", "", "63.0", "1984-11-09 09:17:34", "3"),
    2: ("{'NORM': 80.0, 'SBRAD': 0.0}", "300.0", "0", "180.0", "70.5", "1984-11-14 12:55:37", "2"),
    3: ("{'IMI': 50.0, 'PVC': 100.0, 'AFLT': 0.0}", "", "", "", "", "garbage", "1"),
    4: ("{'ASMI': 100.0, 'LVH': 50.0, 'NDT': 0.0, 'STACH': 0.0}", "70", "0", "", "", "1985-01-02 03:04:05", "3"),
    5: ("{'INVT': 0.0, 'SR': 0.0}", "40", "1", "", "", "1985-01-03 10:00:00", "1"),
    6: ("{'CLBBB': 100.0, 'PAC': 0.0, 'AFIB': 0.0, 'PSVT': 0.0}", "66", "0", "", "", "1985-01-04 11:00:00", "2"),
}


def ptbxl_signal(ecg_id: int, n_samples: int) -> np.ndarray:
    rng = np.random.default_rng(ecg_id)
    return np.round(rng.normal(0.0, 0.3, size=(n_samples, 12)), 3)


def make_ptbxl(root: Path, ids=tuple(PTBXL_ROWS), rows=PTBXL_ROWS, with_100=True) -> Path:
    """A PTB-XL-like folder: CSVs and records500 (and records100) for ``ids``."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "scp_statements.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["", "description", "diagnostic", "form", "rhythm", "diagnostic_class"])
        for code, diag, cls in SCP_ROWS:
            w.writerow([code, code.lower(), diag, "", "" if diag else "1.0", cls])
    with open(root / "ptbxl_database.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ecg_id", "patient_id", "age", "sex", "height", "weight", "recording_date",
                    "scp_codes", "strat_fold", "filename_lr", "filename_hr"])
        for ecg_id, (scp, age, sex, height, weight, date, fold) in rows.items():
            w.writerow([ecg_id, 1000.0 + ecg_id, age, sex, height, weight, date, scp, fold,
                        f"records100/00000/{ecg_id:05d}_lr", f"records500/00000/{ecg_id:05d}_hr"])
    for ecg_id in ids:
        write_record(root / f"records500/00000/{ecg_id:05d}_hr", ptbxl_signal(ecg_id, 5000), 500,
                     PTBXL_LEADS)
        if with_100:
            write_record(root / f"records100/00000/{ecg_id:05d}_lr", ptbxl_signal(ecg_id, 1000)[:1000],
                         100, PTBXL_LEADS)
    return root


def make_12sl(root: Path) -> tuple[Path, Path]:
    """PTB-XL+-like ``12sl_statements.csv`` and ``12slv23ToSNOMED.csv``: record 3 acute (ACUTEMI)."""
    statements = root / "12sl_statements.csv"
    with open(statements, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ecg_id", "statements"])
        w.writerow([1, "['NSR', 'NORMAL']"])
        w.writerow([3, "['SR', 'IMI', 'ACUTEMI']"])
        w.writerow([4, "['STACH', 'ASMI']"])
        w.writerow([5, "['NSR', 'XANTEXAMI']"])  # substring match, as the organizers do
    snomed = root / "12slv23ToSNOMED.csv"
    with open(snomed, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["StatementNumber", "Acronym", "Description"])
        w.writerow([821, "ACUTEMI", "acute MI"])
        w.writerow([822, "ANTEXAMI", "anterior acute MI"])
        w.writerow([700, "IMI", "inferior infarct"])
        w.writerow([904, "", "no acronym"])
    return statements, snomed


def cinc_signal(seed: int, n_samples: int = 2500) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-3000, 3000, size=(12, n_samples)).astype(np.int16)


def make_cinc_record(folder: Path, name: str, dx: str, age: str = "62", sex: str = "Male",
                     mat_name_on_record_line: bool = False, seed: int = 0, n_samples: int = 2500,
                     extra_comments: tuple[str, ...] = ()) -> np.ndarray:
    """A CinC-2021-like record: ``.mat`` v4 (``val``, 12 × n int16) + header with ``#Dx:``."""
    import scipy.io

    folder.mkdir(parents=True, exist_ok=True)
    val = cinc_signal(seed, n_samples)
    scipy.io.savemat(str(folder / f"{name}.mat"), {"val": val}, format="4")
    head = format_header(name, 500, n_samples, CINC_LEADS, (), digital=val.T,
                         signal_file=f"{name}.mat").splitlines()
    first = f"{name}.mat" if mat_name_on_record_line else name
    lines = [f"{first} 12 500 {n_samples} 05-May-2020 14:50:55"]
    lines += [ln.replace(" 16 1000.0(0)/mV ", " 16+24 1000/mV ") for ln in head[1:13]]
    lines += [f"#Age: {age}", f"#Sex: {sex}", f"#Dx: {dx}", "#Rx: Unknown", *extra_comments]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return val


__all__ = ["make_ptbxl", "make_12sl", "make_cinc_record", "ptbxl_signal",
           "PTBXL_LEADS", "CINC_LEADS", "PTBXL_ROWS"]
