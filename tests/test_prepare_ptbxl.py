"""PTB-XL preparation: label rules (spec §3.2), headers, folds, rates, failures, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgcore.constants import CLASSES
from ecgcore.wfdbio import read_header
from ecgpaper.prepare import load_scp_statements, prepare_ptbxl, ptbxl_labels
from ecgpaper.prepare.ptbxl import NO_12SL_MESSAGE, load_12sl
from tests.test_prepare_helpers import PTBXL_ROWS, make_12sl, make_ptbxl, ptbxl_signal

REPO = Path(__file__).resolve().parents[1]
SHARED_PTBXL = REPO.parent / "shared" / "data" / "ptbxl_subset500"

TABLE = {"NORM": "NORM", "IMI": "MI", "ASMI": "MI", "NDT": "STTC", "LVH": "HYP", "CLBBB": "CD"}


@pytest.mark.parametrize("codes, expected", [
    ({"NORM": 100.0, "SR": 0.0}, ["NORM"]),
    ({"NORM": 80.0, "SBRAD": 0.0}, ["NORM", "BRADY"]),
    ({"IMI": 15.0, "PVC": 100.0, "AFLT": 0.0}, ["Old MI", "PVC", "AFIB/AFL"]),
    ({"ASMI": 100.0, "LVH": 50.0, "NDT": 0.0, "STACH": 0.0}, ["Old MI", "STTC", "HYP", "TACHY"]),
    ({"CLBBB": 100.0, "PAC": 0.0, "AFIB": 0.0, "PSVT": 0.0}, ["CD", "PAC", "AFIB/AFL", "TACHY"]),
    ({"SVTAC": 0.0}, ["TACHY"]),
    ({"INVT": 0.0, "SR": 0.0}, []),   # form statements do not set a superclass
    ({}, []),
])
def test_label_rules(codes, expected):
    assert ptbxl_labels(codes, TABLE) == expected


def test_acute_mi_rules():
    # Acute MI by substring of the 12SL text; it replaces Old MI and does not need MI ∈ S.
    assert ptbxl_labels({"IMI": 100.0}, TABLE, "['IMI', 'ACUTEMI']", ["ACUTEMI"]) == ["Acute MI"]
    assert ptbxl_labels({"NORM": 100.0}, TABLE, "['ACUTEMI']", ["ACUTEMI"]) == ["NORM", "Acute MI"]
    assert ptbxl_labels({"IMI": 100.0}, TABLE, "['IMI']", ["ACUTEMI"]) == ["Old MI"]
    assert ptbxl_labels({"IMI": 100.0}, TABLE, None, ["ACUTEMI"]) == ["Old MI"]
    assert ptbxl_labels({"IMI": 100.0}, TABLE, "['XACUTEMIX']", ["ACUTEMI"]) == ["Acute MI"]


def test_labels_follow_class_order():
    labels = ptbxl_labels({"SBRAD": 0, "AFIB": 0, "PVC": 0, "PAC": 0, "LVH": 0, "CLBBB": 0,
                           "NDT": 0, "IMI": 0, "NORM": 0}, TABLE)
    assert labels == [c for c in CLASSES if c != "Acute MI" and c != "TACHY"]


def test_load_tables(tmp_path):
    root = make_ptbxl(tmp_path / "ptbxl", ids=())
    table = load_scp_statements(root / "scp_statements.csv")
    assert table["IMI"] == "MI" and table["NORM"] == "NORM" and "PVC" not in table
    statements, acronyms = load_12sl(*make_12sl(tmp_path))
    assert acronyms == ["ACUTEMI", "ANTEXAMI"]  # 700 is not acute; 904 has no acronym
    assert statements[3] == "['SR', 'IMI', 'ACUTEMI']"


def test_prepare_ptbxl_500(tmp_path, capsys):
    root = make_ptbxl(tmp_path / "ptbxl")
    out = tmp_path / "out"
    counts = prepare_ptbxl(root, out)
    printed = capsys.readouterr().out
    assert NO_12SL_MESSAGE in printed and "Label counts" in printed
    assert list(counts)[:11] == list(CLASSES)
    assert counts["NORM"] == 2 and counts["Old MI"] == 2 and counts["Acute MI"] == 0
    assert counts["STTC"] == 1 and counts["HYP"] == 1 and counts["CD"] == 1
    assert counts["PVC"] == 1 and counts["PAC"] == 1 and counts["AFIB/AFL"] == 2
    assert counts["TACHY"] == 2 and counts["BRADY"] == 1
    assert counts["unlabeled"] == 1 and counts["written"] == 6 and counts["failed"] == 0

    rec = out / "records500/00000/00002_hr"
    text = Path(f"{rec}.hea").read_text()
    lines = text.splitlines()
    assert lines[0] == "00002_hr 12 500 5000 12:55:37 14/11/1984"
    assert lines[-5:] == ["# Age: 90", "# Sex: Male", "# Height: 180", "# Weight: 70.5",
                          "# Labels: NORM, BRADY"]
    head = wfdb.rdheader(str(rec))
    assert head.fs == 500 and head.sig_len == 5000 and head.sig_name[3] == "AVR"
    assert str(head.base_date) == "1984-11-14"
    record = wfdb.rdrecord(str(rec))
    assert np.allclose(record.p_signal, ptbxl_signal(2, 5000), atol=1e-9)
    assert read_header(rec).labels == ["NORM", "BRADY"]
    # Unreadable date: time/date left out; missing demographics are Unknown; empty labels.
    h3 = Path(out / "records500/00000/00003_hr.hea").read_text().splitlines()
    assert h3[0] == "00003_hr 12 500 5000"
    assert "# Age: Unknown" in h3 and "# Sex: Unknown" in h3 and "# Labels: Old MI, PVC, AFIB/AFL" in h3
    assert Path(out / "records500/00000/00005_hr.hea").read_text().splitlines()[-1] == "# Labels: "
    assert wfdb.rdheader(str(out / "records500/00000/00005_hr")).comments[-1].strip() == "Labels:"
    assert not list(out.rglob("*.tmp")) and not (out / "records100").exists()


def test_prepare_ptbxl_100_folds_and_12sl(tmp_path):
    root = make_ptbxl(tmp_path / "ptbxl")
    statements, snomed = make_12sl(tmp_path)
    out = tmp_path / "out"
    counts = prepare_ptbxl(root, out, rate_hz=100, folds=[1, 3], statements_12sl=statements,
                           snomed_12sl=snomed, quiet=True)
    written = sorted(p.name for p in out.rglob("*.hea"))
    assert written == ["00001_lr.hea", "00003_lr.hea", "00004_lr.hea", "00005_lr.hea"]
    assert counts["Acute MI"] == 2 and counts["Old MI"] == 1  # 3 and 5 acute, 4 old
    assert wfdb.rdrecord(str(out / "records100/00000/00003_lr")).p_signal.shape == (1000, 12)
    assert read_header(out / "records100/00000/00005_lr").labels == ["Acute MI"]


def test_failures_do_not_stop_the_run(tmp_path, capsys):
    rows = dict(PTBXL_ROWS)
    rows[2] = ("{'NORM': 80.0", *rows[2][1:])  # unreadable scp_codes
    rows[7] = ("{'NORM': 100.0}", "50", "0", "", "", "1985-01-01 00:00:00", "4")  # no record on disk
    root = make_ptbxl(tmp_path / "ptbxl", rows=rows, with_100=False)
    (root / "records500/00000/00004_hr.dat").unlink()  # signal file missing
    out = tmp_path / "out"
    counts = prepare_ptbxl(root, out)
    printed = capsys.readouterr().out
    assert counts["written"] == 4 and counts["failed"] == 2
    assert "FAILED records500/00000/00002_hr" in printed and "scp_codes" in printed
    assert "FAILED records500/00000/00004_hr" in printed and "signal file" in printed
    assert "1 database row(s) without a record" in printed
    assert not (out / "records500/00000/00004_hr.hea").exists()


def test_bad_arguments(tmp_path):
    root = make_ptbxl(tmp_path / "ptbxl", ids=())
    with pytest.raises(ValueError, match="rate_hz"):
        prepare_ptbxl(root, tmp_path / "o", rate_hz=250)
    with pytest.raises(ValueError, match="both"):
        prepare_ptbxl(root, tmp_path / "o", statements_12sl=root / "x.csv")
    with pytest.raises(ValueError, match="input folder"):
        prepare_ptbxl(root, root)
    with pytest.raises(ValueError, match="ptbxl_database.csv"):
        prepare_ptbxl(tmp_path / "nothing", tmp_path / "o")


def test_cli_from_another_directory(tmp_path):
    root = make_ptbxl(tmp_path / "ptbxl", ids=(1, 2, 3))
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-m", "ecgpaper.prepare", "ptbxl", "-i", str(root), "-o", "out", "--folds", "2,3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Acute MI" in result.stdout and "cannot be derived" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.hea")) == ["00001_hr.hea", "00002_hr.hea"]


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_PTBXL / "ptbxl_database.csv").is_file(), reason="shared data absent")
def test_shared_ptbxl_subset_counts(tmp_path):
    """The 500 PTB-XL records: counts match the folder README's superclass counts."""
    out = tmp_path / "out"
    counts = prepare_ptbxl(SHARED_PTBXL, out, quiet=True)
    assert counts["written"] == 500 and counts["failed"] == 0
    assert (counts["NORM"], counts["STTC"], counts["CD"], counts["HYP"]) == (297, 96, 78, 40)
    assert counts["Old MI"] == 73 and counts["Acute MI"] == 0
    for rec in ("records500/00000/00001_hr", "records500/00000/00500_hr"):
        head = wfdb.rdheader(str(out / rec))
        assert head.n_sig == 12 and head.sig_len == 5000 and head.base_date is not None
        assert any(c.startswith("Labels:") for c in head.comments)
    assert wfdb.rdrecord(str(out / "records500/00000/00001_hr")).p_signal.shape == (5000, 12)
