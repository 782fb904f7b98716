"""CinC 2020/2021 preparation: SNOMED mapping, records, tolerance, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgcore.constants import CLASSES
from ecgcore.wfdbio import read_header, read_signal
from ecgpaper.prepare import SNOMED_TO_CLASS, prepare_cinc, snomed_to_labels
from ecgpaper.prepare.cinc import SINUS_CODES, split_codes
from tests.test_prepare_helpers import make_cinc_record

REPO = Path(__file__).resolve().parents[1]
SHARED_CINC = REPO.parent / "shared" / "data" / "cinc2021_sample"


@pytest.mark.parametrize("codes, expected", [
    (["426783006"], ["NORM"]),                                   # sinus rhythm only
    (["426783006", "427393009"], ["NORM"]),                      # + sinus arrhythmia
    (["427084000"], ["NORM", "TACHY"]),
    (["426783006", "59118001"], ["CD"]),                         # NSR + RBBB: not normal
    (["426783006", "55827005"], []),                             # NSR + LV high voltage: unmapped, not NORM
    (["164889003", "164890007"], ["AFIB/AFL"]),
    (["284470004", "63593006", "427172004", "17338001"], ["PAC", "PVC"]),
    (["164873001", "67741000119109", "89792004"], ["HYP"]),
    (["164934002", "59931005", "429622005", "428750005", "413444003"], ["STTC"]),
    (["270492004", "445118002", "713426002", "698252002"], ["CD"]),
    (["164865005"], ["Old MI"]),
    (["54329005", "57054005"], ["Acute MI"]),
    (["426761007", "67198005"], ["TACHY"]),
    (["426177001", "164909002"], ["CD", "BRADY"]),
    (["10370003"], []),                                          # pacing rhythm: no class
    ([], []),
])
def test_snomed_to_labels(codes, expected):
    assert snomed_to_labels(codes) == expected


def test_mapping_table_is_consistent():
    assert set(SNOMED_TO_CLASS.values()) <= set(CLASSES) - {"NORM"}
    assert all(code.isdigit() for code in SNOMED_TO_CLASS)
    assert not SINUS_CODES & {c for c, v in SNOMED_TO_CLASS.items() if v not in ("TACHY", "BRADY")}
    assert "413444003" not in {c for c, v in SNOMED_TO_CLASS.items() if "MI" in v}  # ischaemia, not MI


def test_split_codes():
    assert split_codes("164889003,59118001") == ["164889003", "59118001"]
    assert split_codes(" 426783006 ; 164889003.0 ") == ["426783006", "164889003"]
    assert split_codes("") == [] and split_codes(None) == []


def test_prepare_cinc(tmp_path, capsys):
    src = tmp_path / "cinc"
    val_e = make_cinc_record(src / "georgia", "E00001", "59118001,164889003", age="95", sex="Female",
                             mat_name_on_record_line=True, seed=1)
    val_a = make_cinc_record(src, "A0001", "426783006", age="NaN", sex="M", seed=2, n_samples=3000)
    make_cinc_record(src, "A0002", "251146004", seed=3)                  # unmapped code → no label
    make_cinc_record(src, "A0003", "426783006", seed=4)
    (src / "A0003.mat").unlink()                                          # broken: no signal file
    (src / "A0004.hea").write_text("A0004\n#Dx: 426783006\n")             # broken: no signal count
    make_cinc_record(src, "A0005", "", seed=5, extra_comments=("# Labels: stale",))
    out = tmp_path / "out"
    counts = prepare_cinc(src, out)
    printed = capsys.readouterr().out
    assert counts["written"] == 4 and counts["failed"] == 2
    assert "FAILED A0003" in printed and "signal file" in printed
    assert "FAILED A0004" in printed and "number of signals" in printed
    assert counts["NORM"] == 1 and counts["CD"] == 1 and counts["AFIB/AFL"] == 1
    assert counts["unlabeled"] == 2

    rec = out / "georgia" / "E00001"
    lines = Path(f"{rec}.hea").read_text().splitlines()
    assert lines[0] == "E00001 12 500 2500 14:50:55 05/05/2020"
    assert lines[1].startswith("E00001.dat 16 1000.0(0)/mV 16 0 ")
    assert "# Age: 90" in lines and "# Sex: Female" in lines and lines[-1] == "# Labels: CD, AFIB/AFL"
    record = wfdb.rdrecord(str(rec), physical=False)
    assert record.sig_name[3] == "aVR" and np.array_equal(record.d_signal.T, val_e)
    signal_mv, header = read_signal(out / "A0001")
    assert signal_mv.shape == (3000, 12) and np.allclose(signal_mv, val_a.T / 1000.0)
    assert header.labels == ["NORM"] and header.comment_value("Age") == "Unknown"
    assert header.comment_value("Sex") == "Male" and header.comment_value("Dx") == "426783006"
    h5 = read_header(out / "A0005")
    assert h5.labels == [] and not any("stale" in c for c in h5.comments)
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*.mat"))


def test_same_folder_refused(tmp_path):
    with pytest.raises(ValueError, match="input folder"):
        prepare_cinc(tmp_path, tmp_path)


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_CINC / "A0689.hea").is_file(), reason="shared data absent")
def test_shared_cinc_sample(tmp_path):
    """All 158 sample records (41 with the Georgia 'E0xxxx.mat' quirk fixed, the rest as is) convert."""
    counts = prepare_cinc(SHARED_CINC, tmp_path / "out", quiet=True)
    assert counts["written"] == 158 and counts["failed"] == 0
    assert counts["AFIB/AFL"] >= 12 and counts["PAC"] >= 28
    head = wfdb.rdheader(str(tmp_path / "out" / "A0689"))
    assert head.n_sig == 12 and "Labels: AFIB/AFL" in head.comments


def test_cli_exit_status(tmp_path, capsys):
    from ecgpaper.prepare.__main__ import main

    src = tmp_path / "cinc"
    make_cinc_record(src, "A0001", "164889003", seed=1)
    assert main(["-q", "cinc", "-i", str(src), "-o", str(tmp_path / "ok")]) == 0
    (src / "A0002.hea").write_text("A0002 x 500\n")
    assert main(["-q", "cinc", "-i", str(src), "-o", str(tmp_path / "some_failed")]) == 1
    assert main(["cinc", "-i", str(src), "-o", str(src)]) == 2
    assert "input folder" in capsys.readouterr().err
    assert read_header(tmp_path / "some_failed" / "A0001").labels == ["AFIB/AFL"]
