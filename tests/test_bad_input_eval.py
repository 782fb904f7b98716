"""Bad input to the WFDB reader/writer and the scorer (issue 17, part B).

Every case is made on the fly in ``tmp_path``: impossible or tampered headers are
refused with a :class:`HeaderError` naming record and field, quickly and without
allocating what they claim; nothing is written that ``wfdb`` cannot read back; the
scorer warns about missing outputs and label typos without changing any score, and
fails before scoring when its output folder or a write target does not exist.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgcore.wfdbio import (MAX_SAMPLES, MAX_SIGNALS, HeaderError, parse_header, read_header,
                            write_record)
from ecgpaper.scoring import evaluate as ev
from ecgpaper.scoring import evaluate_folders, main, read_record
from ecgpaper.scoring.evaluate import score_record

REPO = Path(__file__).resolve().parents[1]
FS = 500
LEADS = ["I", "II"]
SIGNAL_LINES = "\nrec9.dat 16 1000.0(0)/mV 16 0 0 0 0 I\nrec9.dat 16 1000.0(0)/mV 16 0 0 0 0 II\n"


# --- 1. Header validation ------------------------------------------------------------------

@pytest.mark.parametrize("record_line, field", [
    ("rec9 2 0 5000", "sampling frequency"),
    ("rec9 2 -500 5000", "sampling frequency"),
    ("rec9 2 nan 5000", "sampling frequency"),
    ("rec9 2 inf 5000", "sampling frequency"),
    ("rec9 2 5x0 5000", "sampling frequency"),
    ("rec9 2 2e6 5000", "sampling frequency"),
    ("rec9 2 500 -10", "number of samples"),
    ("rec9 2 500 0", "number of samples"),
    ("rec9 2 500 50a0", "number of samples"),
    ("rec9 2 500 5000.5", "number of samples"),
    ("rec9 2 500 nan", "number of samples"),
    ("rec9 2 500 100000000", "number of samples.*MAX_SAMPLES"),
    ("rec9 2 500 10000000000", "number of samples.*MAX_SAMPLES"),
    ("rec9 -2 500 5000", "number of signals"),
    ("rec9 0 500 5000", "number of signals"),
    ("rec9 two 500 5000", "number of signals"),
    ("rec9 65 500 5000", "number of signals.*MAX_SIGNALS"),
])
def test_impossible_record_line_names_record_and_field(tmp_path, record_line, field):
    (tmp_path / "rec9.hea").write_text(record_line + SIGNAL_LINES)
    with pytest.raises(HeaderError, match=f"rec9: {field}"):
        read_header(tmp_path / "rec9")


@pytest.mark.parametrize("gain_field, field", [
    ("1e(0)/mV", "signal 1 gain"),
    ("1e999(0)/mV", "signal 1 gain"),
    ("1.2.3(0)/mV", "signal 1 gain"),
    ("1000(+-)/mV", "signal 1 baseline"),
])
def test_malformed_gain_or_baseline_names_the_signal(gain_field, field):
    text = f"rec9 1 500 5000\nrec9.dat 16 {gain_field} 16 0 0 0 0 I\n"
    with pytest.raises(HeaderError, match=f"data/rec9: {field}"):
        parse_header(text, "data/rec9")


def test_limits_are_generous_and_valid_headers_still_parse():
    assert MAX_SAMPLES >= 10 * 60 * 1000 and MAX_SIGNALS >= 12
    h = parse_header(f"rec9 2 500 {MAX_SAMPLES}" + SIGNAL_LINES)
    assert h.num_samples == MAX_SAMPLES
    h = parse_header("rec9 2 500/1000(0) 5000.0" + SIGNAL_LINES)   # counter frequency, "5000.0"
    assert (h.fs_hz, h.num_samples) == (500.0, 5000)
    hidden = parse_header("rec9 2 500\nrec9.dat 16 1000.0(0)/mV 16 0   I\n"
                          "rec9.dat 16 0/mV 16 0   II")
    assert hidden.num_samples is None and hidden.gains == [1000.0, 200.0]  # gain 0: WFDB default


def test_huge_sample_count_is_refused_fast_without_memory(tmp_path):
    """A hidden header claiming 10^8 (or 10^10) samples: refused in < 2 s, < 500 MB peak RSS."""
    for name, count in (("big8", 10**8), ("big10", 10**10)):
        for folder in ("ref", "out"):
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / f"{name}.hea").write_text(
                f"{name} 2 500 {count}\n{name}.dat 16 1000.0(0)/mV 16 0 0 0 0 I\n"
                f"{name}.dat 16 1000.0(0)/mV 16 0 0 0 0 II\n")
            (tmp_path / folder / f"{name}.dat").write_bytes(b"\0" * 4000)
    script = textwrap.dedent(f"""
        import json, resource, time
        from pathlib import Path
        from ecgcore.wfdbio import HeaderError, read_header, read_signal
        from ecgpaper.scoring.evaluate import ScoringError, main, read_record, score_record
        root = Path({str(tmp_path)!r})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        messages = []
        for name in ("big8", "big10"):
            for call in (lambda: read_header(root / "ref" / name),
                         lambda: read_signal(root / "ref" / name),
                         lambda: read_record(root / "ref" / name),
                         lambda: score_record(root / "ref", root / "out", name, intervals=False)):
                try:
                    call()
                    messages.append("accepted")
                except (HeaderError, ScoringError) as exc:
                    messages.append(str(exc))
        rc = main(["-d", str(root / "ref"), "-o", str(root / "out"), "-j", "1", "--no-intervals"])
        elapsed = time.perf_counter() - start
        growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(json.dumps({{"elapsed": elapsed, "growth_mb": growth_mb, "messages": messages,
                           "rc": rc}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["elapsed"] < 2.0 and out["growth_mb"] < 500.0, out
    assert len(out["messages"]) == 8
    for msg in out["messages"]:
        assert "big" in msg and "number of samples" in msg and "MAX_SAMPLES" in msg, msg
    assert out["rc"] == 2 and "number of samples" in proc.stderr


def test_oversized_estimate_is_a_warning_not_a_crash(tmp_path):
    x = _ecg(1000)
    write_record(tmp_path / "ref" / "r1", x, FS, LEADS, ["Labels: NORM"])
    write_record(tmp_path / "out" / "r1", x, FS, LEADS, ["Labels: NORM"])
    hea = tmp_path / "out" / "r1.hea"
    hea.write_text(hea.read_text().replace("r1 2 500 1000", "r1 2 500 100000000", 1))
    res = score_record(tmp_path / "ref", tmp_path / "out", "r1", intervals=False)
    assert not res.digitized and np.all(res.metrics["snr"] == 0.0)
    assert "r1" in res.warnings[0] and "number of samples" in res.warnings[0]


def test_reader_reads_only_the_declared_samples(tmp_path):
    """A .dat far longer than its header says is not loaded whole."""
    x = _ecg(1000)
    write_record(tmp_path / "r1", x, FS, LEADS)
    with open(tmp_path / "r1.dat", "ab") as fh:
        fh.write(b"\1" * 1001)                                        # odd tail, ignored
    signal, _ = read_record(tmp_path / "r1")
    np.testing.assert_array_equal(signal, wfdb.rdrecord(str(tmp_path / "r1")).p_signal)


# --- 2. Nothing written that wfdb cannot read back -----------------------------------------

def _ecg(n: int, leads: int = 2) -> np.ndarray:
    t = np.arange(n)[:, None] / FS
    return np.sin(2 * np.pi * 1.3 * t + np.arange(leads)) * (1.0 + 0.1 * np.arange(leads))


def _roundtrip(path: Path) -> np.ndarray:
    rec = wfdb.rdrecord(str(path))
    ours, header = read_record(path)
    np.testing.assert_array_equal(ours, rec.p_signal)
    assert header.num_samples == rec.sig_len and header.lead_names == rec.sig_name
    return rec.p_signal


def test_edge_signals_round_trip_through_wfdb(tmp_path, caplog):
    x = _ecg(50, 4)
    x[:, 0] = np.nan                                                  # an all-NaN lead
    x[5, 1], x[6, 1] = 1e300, -1e300                                   # huge values: clipped
    x[7, 2], x[8, 2] = np.inf, -np.inf                                 # inf: never written
    with caplog.at_level(logging.WARNING, logger="ecgcore.wfdbio"):
        write_record(tmp_path / "edge", x, FS, ["I", "II", "V1", "V2"], ["Labels: NORM"])
    p = _roundtrip(tmp_path / "edge")
    assert np.isnan(p[:, 0]).all()
    assert (p[5, 1], p[6, 1]) == (32.767, -32.767)
    assert np.isnan(p[7, 2]) and np.isnan(p[8, 2]) and np.isfinite(p[9:, 2]).all()
    np.testing.assert_allclose(p[:, 3], np.round(x[:, 3] * 1000) / 1000)
    assert "infinite" in caplog.text and "['V1']" in caplog.text
    assert "clipped" in caplog.text and "['II']" in caplog.text
    assert "edge" in caplog.text


def test_one_sample_odd_rate_gain_and_baseline_round_trip(tmp_path):
    write_record(tmp_path / "one", np.array([[0.5, -1.25]]), FS, LEADS)
    assert _roundtrip(tmp_path / "one").tolist() == [[0.5, -1.25]]
    fs = 1000.0 / 3.0
    x = _ecg(40)
    write_record(tmp_path / "odd", x, fs, LEADS, gains=[1234.5678, -200.0], baselines=[7.4, -3])
    rec = wfdb.rdrecord(str(tmp_path / "odd"))
    assert rec.fs == fs and rec.adc_gain == [1234.5678, -200.0] and rec.baseline == [7, -3]
    assert read_header(tmp_path / "odd").fs_hz == fs
    p = _roundtrip(tmp_path / "odd")
    np.testing.assert_allclose(p[:, 0], x[:, 0], atol=0.5 / 1234.5678 + 1e-12)
    np.testing.assert_allclose(p[:, 1], x[:, 1], atol=0.5 / 200 + 1e-12)


@pytest.mark.parametrize("change, field", [
    ({"signal_mv": np.zeros((0, 2))}, "number of samples"),
    ({"fs_hz": float("nan")}, "sampling frequency"),
    ({"fs_hz": 0.0}, "sampling frequency"),
    ({"gains": [1000.0, 0.0]}, "signal 2 .*gain"),
    ({"gains": [1000.0, np.inf]}, "signal 2 .*gain"),
    ({"baselines": [0, np.nan]}, "signal 2 .*baseline"),
    ({"lead_names": ["I", "lead II"]}, "signal 2 name"),
    ({"lead_names": ["I", ""]}, "signal 2 name"),
    ({"units": ["mV", "m V"]}, "signal 2 .*units"),
    ({"comments": ["Labels: NORM\nextra"]}, "comment"),
    ({"signal_mv": np.zeros((3, MAX_SIGNALS + 1)),
      "lead_names": [f"c{i}" for i in range(MAX_SIGNALS + 1)]}, "number of signals"),
])
def test_unreadable_records_are_refused_before_writing(tmp_path, change, field):
    kwargs = {"signal_mv": np.zeros((3, 2)), "fs_hz": FS, "lead_names": LEADS} | change
    with pytest.raises(ValueError, match=f"bad.*{field}"):
        write_record(tmp_path / "bad", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_record_name_wfdb_cannot_read_is_refused(tmp_path):
    with pytest.raises(ValueError, match="rec.1.*record name"):
        write_record(tmp_path / "rec.1", np.zeros((3, 2)), FS, LEADS)
    assert list(tmp_path.iterdir()) == []


# --- 3. evaluate_model.py -----------------------------------------------------------------

def _folders(root: Path, ref_labels: dict[str, str]) -> tuple[Path, Path]:
    ref, out = root / "ref", root / "out"
    for i, (name, labels) in enumerate(ref_labels.items()):
        write_record(ref / name, _ecg(1000) * (1 + 0.1 * i), FS, LEADS, [f"Labels: {labels}"])
    return ref, out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_missing_or_empty_output_folder_is_an_error(tmp_path, capsys):
    ref, out = _folders(tmp_path, {"r1": "NORM", "r2": "STTC"})
    assert main(["-d", str(ref), "-o", str(tmp_path / "outt"), "-j", "1"]) == 2
    err = _one_line_error(capsys)
    assert "outt" in err and "does not exist" in err
    (out / "sub").mkdir(parents=True)                                 # outputs one level too deep
    write_record(out / "sub" / "r1", _ecg(1000), FS, LEADS, ["Labels: NORM"])
    assert main(["-d", str(ref), "-o", str(out), "-j", "1"]) == 2
    err = _one_line_error(capsys)
    assert "no output record" in err and str(out) in err and "r1.hea" in err
    assert main(["-d", str(tmp_path / "reff"), "-o", str(out)]) == 2
    assert "reff" in _one_line_error(capsys)
    with pytest.raises(FileNotFoundError, match="no output record"):
        evaluate_folders(ref, out, jobs=1, intervals=False)


def test_entry_point_fails_with_one_line_for_a_mistyped_output_folder(tmp_path):
    ref, _ = _folders(tmp_path, {"r1": "NORM"})
    proc = subprocess.run([sys.executable, str(REPO / "evaluate_model.py"), "-d", str(ref),
                           "-o", str(tmp_path / "oupt"), "-s", "scores.txt"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "oupt" in proc.stderr
    assert not (tmp_path / "scores.txt").exists()


def test_missing_outputs_and_dat_files_are_warned_and_score_as_officially(tmp_path, caplog):
    ref, out = _folders(tmp_path, {f"r{i}": "NORM" for i in range(1, 9)})
    for i in (1, 2, 3, 4):
        write_record(out / f"r{i}", _ecg(1000) * (1 + 0.1 * (i - 1)) + 0.05, FS, LEADS,
                     ["Labels: NORM"])
    (out / "r2.dat").unlink()                                         # header, no .dat
    # r5 .. r8: no output at all
    with caplog.at_level(logging.WARNING, logger="ecgpaper.scoring"):
        res = evaluate_folders(ref, out, jobs=1, intervals=False)
    missing = [w for w in res.input_warnings if "no output header" in w]
    no_dat = [w for w in res.input_warnings if "no signal file" in w]
    assert len(missing) == 1 and missing[0].startswith("4 of 8 reference records")
    assert str(out) in missing[0] and "r5, r6, r7, r8" in missing[0]
    assert len(no_dat) == 1 and no_dat[0].startswith("1 of 8 scored records") and "r2" in no_dat[0]
    assert missing[0] in caplog.text and no_dat[0] in caplog.text
    # Identical to the official meaning of a missing output: an all-NaN estimate (0 dB).
    for i in (2, 5, 6, 7, 8):
        write_record(out / f"r{i}", np.full((1000, 2), np.nan), FS, LEADS, ["Labels: NORM"])
    same = evaluate_folders(ref, out, jobs=1, intervals=False)
    assert same.input_warnings == []
    assert res.snr == same.snr and res.n_digitized == 3
    for a, b in zip(res.records, same.records):
        np.testing.assert_array_equal(a.metrics["snr"], b.metrics["snr"])
    assert res.f_measure == pytest.approx(2 * 4 / (2 * 4 + 4))        # NORM: TP r1-r4, FN r5-r8
    assert same.f_measure == 1.0                                      # all predict NORM now


def test_more_than_five_missing_names_are_cut(tmp_path):
    ref, out = _folders(tmp_path, {f"r{i}": "NORM" for i in range(8)})
    write_record(out / "r0", _ecg(1000), FS, LEADS)
    res = evaluate_folders(ref, out, jobs=1, intervals=False)
    assert res.input_warnings[0].endswith("r1, r2, r3, r4, r5, ...")


def test_label_typos_are_warned_and_ignored_as_officially(tmp_path, capsys):
    ref, out = _folders(tmp_path, {"r1": "NORM", "r2": "AFIB/AFL", "r3": "STTC", "r4": "NORM",
                                   "r5": "MI"})
    preds = {"r1": "norm", "r2": "AFIB", "r3": "FOO, norm", "r4": "NORM, BRADY", "r5": "MI"}
    for name, labels in preds.items():
        write_record(out / name, _ecg(1000), FS, LEADS, [f"Labels: {labels}"])
    res = evaluate_folders(ref, out, jobs=1, intervals=False)
    # Official: exact strings; norm/AFIB/FOO count for nothing, BRADY (no reference) is free.
    # AFIB/AFL 0 (FN r2), MI 1, NORM 2/3 (TP r4, FN r1), STTC 0 (FN r3).
    assert res.classes == ["AFIB/AFL", "MI", "NORM", "STTC"]
    assert res.f_measure == pytest.approx((0 + 1 + 2 / 3 + 0) / 4)
    pred_w = [w for w in res.input_warnings if "output header" in w]
    assert len(pred_w) == 1 and "'# Labels:' of 3 output header(s)" in pred_w[0]
    assert "'norm' in 2 record(s) (did you mean 'NORM'?)" in pred_w[0]
    assert "'AFIB' in 1 record(s) (did you mean 'AFIB/AFL'?)" in pred_w[0]
    assert "'FOO' in 1 record(s)" in pred_w[0] and "BRADY" not in pred_w[0]
    assert "'MI'" not in pred_w[0] and "records: r1, r2, r3" in pred_w[0]
    ref_w = [w for w in res.input_warnings if "reference header" in w]
    assert len(ref_w) == 1 and "'MI' in 1 record(s)" in ref_w[0] and str(ref) in ref_w[0]
    assert main(["-d", str(ref), "-o", str(out), "-j", "1", "--no-intervals"]) == 0
    printed = capsys.readouterr()
    assert "F-measure: 0.417" in printed.out and "did you mean 'NORM'" in printed.out


@pytest.mark.parametrize("flag", ["-s", "-ta", "-tb", "-ti"])
def test_unwritable_targets_fail_before_scoring(tmp_path, capsys, monkeypatch, flag):
    ref, out = _folders(tmp_path, {"r1": "NORM"})
    write_record(out / "r1", _ecg(1000), FS, LEADS, ["Labels: NORM"])

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before checking the write targets")

    monkeypatch.setattr(ev, "evaluate_folders", no_scoring)
    target = tmp_path / "no_such_folder" / "scores.txt"
    assert main(["-d", str(ref), "-o", str(out), flag, str(target)]) == 2
    err = _one_line_error(capsys)
    assert flag in err and "no_such_folder" in err and "does not exist" in err
    assert not target.parent.exists()
    assert main(["-d", str(ref), "-o", str(out), flag, str(out)]) == 2   # a folder, not a file
    assert "is a folder" in _one_line_error(capsys)
